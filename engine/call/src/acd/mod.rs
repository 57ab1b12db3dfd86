//! The ACD on real calls: one task owns the pure [`ramal_acd::Acd`] and feeds it time; the
//! call tasks and the dispatcher send it events (a caller queued, an agent's phone rang,
//! answered, hung up; a phone's last registration went), the API sends it the agents'
//! requests ([`Agents`]: log in, pause, end wrap-up), and its commands go to the call they
//! are about (offer this agent, cancel that offer, leave the queue with a result). Agent
//! state changes and queue waits go out as [`AcdNotice`]s.
//!
//! Agents on SIP phones: an agent's id is its phone's SIP user. An agent logs in through
//! the API, which needs a registered phone; a phone whose last binding goes logs its agent
//! out.

mod agents;

pub use agents::{AcdNotice, AgentAction, AgentError, AgentView, Agents, QueueStatus, QueuedCall};

use crate::call::Signal;
use agents::{call_of, reason_of};
use ramal_acd::{Acd, AcdConfig, AcdError, AgentId, CallId, Command, Event, Instant, QueueId};
use ramal_sip::SipHandle;
use std::collections::HashMap;
use tokio::sync::{broadcast, mpsc, oneshot};

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
pub(super) enum Input {
    /// A call's task queues its caller.
    Join(Box<QueuedCall>, i64, mpsc::UnboundedSender<Signal>),
    /// Something happened.
    Event(Event),
    /// An agent's request.
    Act {
        agent: String,
        action: AgentAction,
        reply: oneshot::Sender<Result<AgentView, AcdError>>,
    },
    /// One agent's state, or every agent's.
    Views {
        agent: Option<String>,
        reply: oneshot::Sender<Vec<AgentView>>,
    },
    /// Every queue's wait.
    Queues {
        reply: oneshot::Sender<Vec<QueueStatus>>,
    },
    /// The queues changed.
    Reconfigure(Box<AcdConfig>),
}

/// The call engine's handle on the ACD task.
#[derive(Debug, Clone)]
pub(crate) struct AcdHandle {
    inputs: mpsc::UnboundedSender<Input>,
    agents: Agents,
}

impl AcdHandle {
    /// Starts the ACD task with `config`; `sip` answers where agents' phones are.
    pub(crate) fn spawn(config: AcdConfig, sip: SipHandle) -> AcdHandle {
        let (inputs, receiver) = mpsc::unbounded_channel();
        let notices = Agents::notice_channel();
        let agents = Agents {
            inputs: inputs.clone(),
            notices: notices.clone(),
            sip,
            pause_reasons: config.pause_reasons.clone(),
        };
        tokio::spawn(Task::new(Acd::new(config), notices).run(receiver));
        AcdHandle { inputs, agents }
    }

    /// The API's handle.
    pub(crate) fn agents(&self) -> Agents {
        self.agents.clone()
    }

    /// Queues `call` with `priority` (its task listens on `signal`).
    pub(crate) fn enqueue(
        &self,
        call: QueuedCall,
        priority: i64,
        signal: mpsc::UnboundedSender<Signal>,
    ) {
        let _ = self
            .inputs
            .send(Input::Join(Box::new(call), priority, signal));
    }

    /// Reports an event (the task is gone only when the engine stops).
    pub(crate) fn event(&self, event: Event) {
        let _ = self.inputs.send(Input::Event(event));
    }
}

/// A call the task knows: where its orders go and what its agent sees.
#[derive(Debug)]
struct Known {
    signal: Option<mpsc::UnboundedSender<Signal>>,
    call: QueuedCall,
}

/// The task's state: the ACD and what it needs to speak to calls and subscribers.
struct Task {
    acd: Acd,
    started: tokio::time::Instant,
    started_unix_ms: i64,
    calls: HashMap<CallId, Known>,
    notices: broadcast::Sender<AcdNotice>,
    /// The queue waits last published.
    published: HashMap<QueueId, (usize, Option<Instant>)>,
}

impl Task {
    fn new(acd: Acd, notices: broadcast::Sender<AcdNotice>) -> Task {
        Task {
            acd,
            started: tokio::time::Instant::now(),
            started_unix_ms: crate::unix_ms(),
            calls: HashMap::new(),
            notices,
            published: HashMap::new(),
        }
    }

    fn now(&self) -> Instant {
        Instant(u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    fn unix_ms(&self, at: Instant) -> i64 {
        self.started_unix_ms
            .saturating_add(i64::try_from(at.0).unwrap_or(i64::MAX))
    }

    async fn run(mut self, mut inputs: mpsc::UnboundedReceiver<Input>) {
        loop {
            let deadline = self
                .acd
                .poll_timeout()
                .map(|at| self.started + std::time::Duration::from_millis(at.0));
            tokio::select! {
                () = crate::call::sleep_until(deadline) => {
                    let now = self.now();
                    self.acd.handle_timeout(now);
                }
                input = inputs.recv() => match input {
                    None => break,
                    Some(input) => self.input(input),
                },
            }
            self.carry_out();
            self.publish_queue_waits();
        }
    }

    fn input(&mut self, input: Input) {
        let now = self.now();
        match input {
            Input::Join(call, priority, signal) => {
                let id = CallId(call.call_id.clone());
                let event = Event::CallQueued {
                    call: id.clone(),
                    queue: QueueId(call.queue.clone()),
                    priority,
                    skills: Vec::new(),
                };
                // A queue the ACD does not have (a flow naming a queue nobody made): the
                // caller leaves at once, as from a queue with no agents.
                if let Err(error) = self.acd.handle(event, now) {
                    tracing::warn!(call = %id.0, queue = %call.queue, %error, "cannot queue the caller");
                    let _ = signal.send(Signal::Acd(AcdOrder::Leave(
                        ramal_acd::QueueResult::NoAgents,
                    )));
                    return;
                }
                self.calls.insert(
                    id,
                    Known {
                        signal: Some(signal),
                        call: *call,
                    },
                );
            }
            Input::Event(event) => self.event(event, now),
            Input::Act {
                agent,
                action,
                reply,
            } => {
                let id = AgentId(agent.clone());
                let event = match action {
                    AgentAction::LogIn => Event::LoggedIn { agent: id },
                    AgentAction::LogOut => Event::LoggedOut { agent: id },
                    AgentAction::Pause { reason } => Event::Paused { agent: id, reason },
                    AgentAction::Unpause => Event::Unpaused { agent: id },
                    AgentAction::FinishWrapUp => Event::DispositionSaved { agent: id },
                };
                let result = self.acd.handle(event, now).map(|()| self.view_of(&agent));
                let _ = reply.send(result);
            }
            Input::Views { agent, reply } => {
                let views = match agent {
                    Some(agent) => vec![self.view_of(&agent)],
                    None => self
                        .acd
                        .agents()
                        .map(|a| a.id.0.clone())
                        .collect::<Vec<_>>()
                        .iter()
                        .map(|agent| self.view_of(agent))
                        .collect(),
                };
                let _ = reply.send(views);
            }
            Input::Queues { reply } => {
                let _ = reply.send(self.queue_statuses(now));
            }
            Input::Reconfigure(config) => self.acd.reconfigure(*config, now),
        }
    }

    fn event(&mut self, event: Event, now: Instant) {
        if let Err(error) = self.acd.handle(event.clone(), now) {
            tracing::debug!(?event, %error, "the ACD refused an event");
        }
        // The call no longer takes orders once the caller or the agent hangs up; what
        // the agent sees of it stays while they wrap it up.
        if let Event::CallerHungUp { call } | Event::AgentHungUp { call } = &event
            && let Some(known) = self.calls.get_mut(call)
        {
            known.signal = None;
        }
    }

    /// Sends the ACD's commands to the calls and the notices to subscribers.
    fn carry_out(&mut self) {
        while let Some(command) = self.acd.poll_command() {
            let (call, order) = match command {
                Command::Offer { call, agent, .. } => (call, AcdOrder::Offer { agent: agent.0 }),
                Command::CancelOffer { call, agent } => (call, AcdOrder::Cancel { agent: agent.0 }),
                Command::Leave { call, result } => (call, AcdOrder::Leave(result)),
                Command::AgentChanged { agent, .. } => {
                    let view = self.view_of(&agent.0);
                    tracing::info!(agent = %agent.0, state = view.state, "agent state");
                    let _ = self.notices.send(AcdNotice::Agent(Box::new(view)));
                    continue;
                }
                Command::Moved { .. } | Command::Announce { .. } => continue,
            };
            let answered = matches!(
                order,
                AcdOrder::Leave(ramal_acd::QueueResult::Answered { .. })
            );
            if let Some(known) = self.calls.get_mut(&call) {
                if let Some(signal) = &known.signal {
                    let _ = signal.send(Signal::Acd(order.clone()));
                }
                if matches!(order, AcdOrder::Leave(_)) && !answered {
                    known.signal = None;
                }
            }
        }
        self.forget_finished_calls();
    }

    /// Drops calls that take no more orders and that no agent holds.
    fn forget_finished_calls(&mut self) {
        let held: std::collections::HashSet<&CallId> = self
            .acd
            .agents()
            .filter_map(|agent| call_of(&agent.state))
            .collect();
        let acd = &self.acd;
        self.calls.retain(|id, known| {
            known.signal.is_some() || held.contains(id) || acd.waiting_in_any(id)
        });
    }

    fn view_of(&self, agent: &str) -> AgentView {
        let id = AgentId(agent.to_owned());
        match self.acd.agent(&id) {
            None => AgentView {
                agent: agent.to_owned(),
                state: "logged-out",
                reason: None,
                since: self.started_unix_ms,
                answered: 0,
                call: None,
            },
            Some(found) => AgentView {
                agent: agent.to_owned(),
                state: found.state.name(),
                reason: reason_of(&found.state),
                since: found
                    .history
                    .back()
                    .map_or(self.started_unix_ms, |t| self.unix_ms(t.at)),
                answered: found.answered,
                call: call_of(&found.state)
                    .and_then(|call| self.calls.get(call))
                    .map(|known| known.call.clone()),
            },
        }
    }

    fn queue_statuses(&self, now: Instant) -> Vec<QueueStatus> {
        self.acd
            .queue_waits()
            .into_iter()
            .map(|wait| QueueStatus {
                queue: wait.queue.0,
                waiting: wait.waiting,
                longest_wait_ms: wait.oldest.map_or(0, |at| now.since(at)),
            })
            .collect()
    }

    /// Publishes the queues whose number of waiting callers changed.
    fn publish_queue_waits(&mut self) {
        let now = self.now();
        for wait in self.acd.queue_waits() {
            let key = (wait.waiting, wait.oldest);
            if self.published.get(&wait.queue) == Some(&key) {
                continue;
            }
            self.published.insert(wait.queue.clone(), key);
            let _ = self.notices.send(AcdNotice::Queue(QueueStatus {
                longest_wait_ms: wait.oldest.map_or(0, |at| now.since(at)),
                queue: wait.queue.0,
                waiting: wait.waiting,
            }));
        }
    }
}
