//! The ACD on real calls: one task owns the pure [`ramal_acd::Acd`] and feeds it time; the
//! call tasks and the dispatcher send it events (a caller queued, an agent's phone rang,
//! answered, hung up; a phone registered), and its commands go to the call they are about
//! (offer this agent, cancel that offer, leave the queue with a result).
//!
//! Agents on SIP phones: an agent's id is its phone's SIP user; a phone that registers logs
//! its agent in (ready), one whose last binding goes logs it out. Pausing through the API
//! comes with the agent API.

use crate::call::Signal;
use ramal_acd::{Acd, AcdConfig, CallId, Command, Event, Instant};
use std::collections::HashMap;
use tokio::sync::mpsc;

/// What the ACD tells a call's task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AcdOrder {
    /// Ring this agent.
    Offer {
        /// The agent (its phone's SIP user).
        agent: String,
    },
    /// Stop ringing this agent.
    Cancel {
        /// The agent.
        agent: String,
    },
    /// The caller leaves the queue.
    Leave(ramal_acd::QueueResult),
}

/// Inputs of the ACD task.
#[derive(Debug)]
enum Input {
    /// A call's task, before it queues its caller.
    Join(CallId, mpsc::UnboundedSender<Signal>),
    /// Something happened.
    Event(Event),
}

/// The call engine's handle on the ACD task.
#[derive(Debug, Clone)]
pub(crate) struct AcdHandle {
    inputs: mpsc::UnboundedSender<Input>,
}

impl AcdHandle {
    /// Starts the ACD task with `config`.
    pub(crate) fn spawn(config: AcdConfig) -> AcdHandle {
        let (inputs, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run(Acd::new(config), receiver));
        AcdHandle { inputs }
    }

    /// Queues `call` (its task listens on `signal`).
    pub(crate) fn enqueue(
        &self,
        call: &str,
        queue: &str,
        priority: i64,
        signal: mpsc::UnboundedSender<Signal>,
    ) {
        let call = CallId(call.to_owned());
        let _ = self.inputs.send(Input::Join(call.clone(), signal));
        self.event(Event::CallQueued {
            call,
            queue: ramal_acd::QueueId(queue.to_owned()),
            priority,
            skills: Vec::new(),
        });
    }

    /// Reports an event (the task is gone only when the engine stops).
    pub(crate) fn event(&self, event: Event) {
        let _ = self.inputs.send(Input::Event(event));
    }
}

async fn run(mut acd: Acd, mut inputs: mpsc::UnboundedReceiver<Input>) {
    let started = tokio::time::Instant::now();
    let now = || Instant(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
    let mut calls: HashMap<CallId, mpsc::UnboundedSender<Signal>> = HashMap::new();
    let mut finished: Vec<CallId> = Vec::new();
    loop {
        let deadline = acd
            .poll_timeout()
            .map(|at| started + std::time::Duration::from_millis(at.0));
        tokio::select! {
            () = crate::call::sleep_until(deadline) => acd.handle_timeout(now()),
            input = inputs.recv() => match input {
                None => break,
                Some(Input::Join(call, signal)) => {
                    calls.insert(call, signal);
                }
                Some(Input::Event(event)) => {
                    if let Err(error) = acd.handle(event.clone(), now()) {
                        tracing::debug!(?event, %error, "the ACD refused an event");
                    }
                    // The call is over for the ACD once the caller or the agent hangs up.
                    if let Event::CallerHungUp { call } | Event::AgentHungUp { call } = &event {
                        finished.push(call.clone());
                    }
                }
            },
        }
        while let Some(command) = acd.poll_command() {
            let (call, order) = match command {
                Command::Offer { call, agent, .. } => (call, AcdOrder::Offer { agent: agent.0 }),
                Command::CancelOffer { call, agent } => (call, AcdOrder::Cancel { agent: agent.0 }),
                Command::Leave { call, result } => {
                    if !matches!(result, ramal_acd::QueueResult::Answered { .. }) {
                        finished.push(call.clone());
                    }
                    (call, AcdOrder::Leave(result))
                }
                Command::AgentChanged { agent, transition } => {
                    tracing::info!(agent = %agent.0, ?transition, "agent state");
                    continue;
                }
                Command::Moved { .. } | Command::Announce { .. } => continue,
            };
            if let Some(signal) = calls.get(&call) {
                let _ = signal.send(Signal::Acd(order));
            }
        }
        for call in finished.drain(..) {
            calls.remove(&call);
        }
    }
}
