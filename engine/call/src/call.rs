//! One task per call: answers it, gives it an RTP session, runs its flow and stores its
//! record. The task only translates — dialog and media events into executor events,
//! executor commands into SIP, RTP, prompt and webhook actions; every decision about the
//! call is the executor's.

use crate::acd::AcdOrder;
use crate::engine::Shared;
use crate::transfer::{self, Leg};
use ramal_flow::execution::{
    Command, CommandId, Direction, Ending, Event, QueueOutcome, TransferOutcome,
};
use ramal_flow::{CallInfo, Execution, Instant};
use ramal_media::{
    MediaEvent, PlaybackId, RecordedFrame, Recorder, RtpSession, SessionConfig,
    record::RecordingTask,
};
use ramal_sip::proto::sdp::{self, LocalMedia, Offer};
use ramal_sip::{CallKey, EndCause, OutgoingCall, UaEvent};
use ramal_store::CallRecord;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// A new INVITE, as the dispatcher hands it to the call's task.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub call: CallKey,
    pub from: String,
    pub to: String,
    pub offer: Option<Offer>,
    /// The sender of this call's own signals (an outgoing leg registers it for its events).
    pub signal: mpsc::UnboundedSender<Signal>,
}

/// What the dispatcher forwards to a running call.
#[derive(Debug)]
pub(crate) enum Signal {
    /// The dialog is over (BYE, CANCEL, timers).
    Ended(EndCause),
    /// The engine is shutting down: hang up.
    Shutdown,
    /// Something happened to the call's outgoing leg (a transfer or an agent).
    Leg(Box<UaEvent>),
    /// The ACD's order for this call.
    Acd(AcdOrder),
}

/// Work finished off the call's loop.
enum Completion {
    /// A prompt loaded (or failed to).
    Prompt {
        id: CommandId,
        looped: bool,
        result: Result<ramal_media::Pcm, String>,
    },
    /// An event for the executor (a webhook's outcome).
    Event(Event),
}

/// Runs the call to its end and stores its record. Returns the call's key for the
/// dispatcher's bookkeeping.
pub(crate) async fn run(
    shared: Arc<Shared>,
    incoming: Incoming,
    signals: mpsc::UnboundedReceiver<Signal>,
) -> CallKey {
    let call = incoming.call;
    let mut record = CallRecord {
        id: crate::random_id(),
        direction: "inbound".into(),
        caller: caller_of(&incoming.from),
        callee: incoming.to.clone(),
        flow_id: None,
        flow_version: None,
        started_at: crate::unix_ms(),
        answered_at: None,
        ended_at: 0,
        end_reason: String::new(),
        disposition: None,
        trace: json!([]),
        variables: json!({}),
        surveys: json!([]),
        recording: None,
    };
    if let Err((status, reason, end_reason)) =
        answer_and_run(&shared, incoming, signals, &mut record).await
    {
        tracing::info!(%call, status, %reason, "call refused");
        let _ = shared.sip.reject(call, status, reason).await;
        record.end_reason = end_reason.into();
    }
    record.ended_at = crate::unix_ms();
    shared.records.submit(record);
    call
}

/// A refusal before answering: the status, its reason phrase, and the record's end reason.
type Refusal = (u16, String, &'static str);

async fn answer_and_run(
    shared: &Arc<Shared>,
    incoming: Incoming,
    signals: mpsc::UnboundedReceiver<Signal>,
    record: &mut CallRecord,
) -> Result<(), Refusal> {
    let call = incoming.call;
    let resolved = shared
        .library
        .resolve(&incoming.to)
        .await
        .map_err(|error| {
            tracing::warn!(%call, to = %incoming.to, %error, "no flow for the call");
            match error {
                crate::RouteError::NoRoute(_) => (404, "Not Found".to_owned(), "no-flow"),
                _ => (500, "Flow Unavailable".to_owned(), "flow-unavailable"),
            }
        })?;
    record.flow_id = Some(resolved.flow_id.clone());
    record.flow_version = Some(resolved.version);
    let offer = incoming
        .offer
        .ok_or_else(|| (488, "An SDP Offer Is Required".to_owned(), "no-sdp-offer"))?;
    let plan = sdp::choose_answer(&offer)
        .map_err(|_| (488, "Not Acceptable Here".to_owned(), "codec-mismatch"))?;
    let config = &shared.config;
    let session_config = SessionConfig {
        rtp_timeout: config.rtp_timeout,
        ..SessionConfig::default()
    };
    let mut rtp = RtpSession::bind(config.rtp_ip, config.rtp_ports.clone(), session_config)
        .await
        .map_err(|error| {
            tracing::error!(%call, %error, "no RTP port");
            (503, "No Media Port".to_owned(), "no-media-port")
        })?;
    let codec = media_codec(plan.codec);
    rtp.set_remote(
        SocketAddr::new(offer.connection, offer.audio_port),
        codec,
        plan.telephone_event,
    );
    let local = LocalMedia {
        address: config.rtp_ip,
        port: rtp.local_port(),
        session_id: crate::unix_ms().unsigned_abs(),
        session_version: 1,
    };
    if shared
        .sip
        .answer(call, sdp::build_answer(&plan, &local))
        .await
        .is_err()
    {
        // The caller gave up (CANCEL) between the INVITE and our answer.
        record.end_reason = "cancelled".into();
        return Ok(());
    }
    record.answered_at = Some(crate::unix_ms());
    tracing::info!(%call, flow = %resolved.flow_id, version = resolved.version, "call answered");
    let info = CallInfo {
        call_id: record.id.clone(),
        caller: record.caller.clone(),
        callee: record.callee.clone(),
        direction: Direction::Inbound,
        started_at_unix_ms: record.started_at,
        ..CallInfo::default()
    };
    let mut driver = Driver {
        shared: shared.clone(),
        call,
        record_id: record.id.clone(),
        caller: record.caller.clone(),
        signal: incoming.signal,
        leg: None,
        recorder: None,
        message: None,
        queued: None,
        rtp,
        clock: tokio::time::Instant::now(),
        execution: Execution::start(resolved.flow, info, Instant::from_millis(0)),
        pending_prompts: HashSet::new(),
        surveys: Vec::new(),
        completions: mpsc::unbounded_channel(),
    };
    let end_reason = driver.run(signals).await;
    driver.leave_queue().await;
    driver.hang_up_leg().await;
    driver.finish_message(false).await;
    record.end_reason = end_reason;
    if let Some(recording) = driver.finish_recording().await {
        record.recording = Some(recording);
    }
    if let Some(Ending::Flow { disposition, .. }) = driver.execution.ending() {
        record.disposition = disposition.clone();
    }
    record.trace = serde_json::to_value(driver.execution.trace()).unwrap_or(Value::Null);
    record.variables = Value::Object(driver.execution.variables());
    record.surveys = Value::Array(std::mem::take(&mut driver.surveys));
    Ok(())
}

/// The answered call's loop.
struct Driver {
    shared: Arc<Shared>,
    call: CallKey,
    /// The call record's id (recordings are named after it).
    record_id: String,
    /// The caller's user part (the caller ID a transfer shows by default).
    caller: String,
    /// This call's signal sender, for registering an outgoing leg.
    signal: mpsc::UnboundedSender<Signal>,
    /// A transfer's second leg, ringing or bridged.
    leg: Option<Leg>,
    /// The recording, once a `record` node started it.
    recorder: Option<(mpsc::Sender<RecordedFrame>, RecordingTask)>,
    /// A voicemail message being taken.
    message: Option<Message>,
    /// The `Enqueue` command while the caller is in a queue (or talking to its agent).
    queued: Option<CommandId>,
    rtp: RtpSession,
    clock: tokio::time::Instant,
    execution: Execution,
    /// Prompts asked for and not cancelled: a prompt that loads after its cancel is dropped.
    pending_prompts: HashSet<CommandId>,
    surveys: Vec<Value>,
    completions: (
        mpsc::UnboundedSender<Completion>,
        mpsc::UnboundedReceiver<Completion>,
    ),
}

impl Driver {
    fn now(&self) -> Instant {
        Instant::from_millis(u64::try_from(self.clock.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// Runs until the flow or the caller ends the call; returns the record's end reason.
    async fn run(&mut self, mut signals: mpsc::UnboundedReceiver<Signal>) -> String {
        loop {
            self.carry_out_commands().await;
            match self.execution.ending() {
                Some(Ending::Flow { reason, .. }) => {
                    let reason = reason.clone();
                    let _ = self.shared.sip.hangup(self.call).await;
                    return reason;
                }
                Some(Ending::Caller) => return "caller-hung-up".into(),
                None => {}
            }
            let deadline = self
                .execution
                .poll_timeout()
                .map(|at| self.clock + Duration::from_millis(at.as_millis()));
            let message_deadline = self.message.as_ref().and_then(|message| message.deadline);
            let ring_deadline = self
                .leg
                .as_ref()
                .filter(|leg| !leg.bridged)
                .and_then(|leg| leg.ring_deadline);
            tokio::select! {
                () = sleep_until(deadline) => {
                    let now = self.now();
                    self.execution.handle_timeout(now);
                }
                () = sleep_until(ring_deadline) => self.transfer_unanswered().await,
                () = sleep_until(message_deadline) => self.finish_message(true).await,
                Some(event) = leg_media(&mut self.leg) => {
                    if event == MediaEvent::RtpTimeout
                        && let Some(leg) = &self.leg
                    {
                        tracing::info!(call = %self.call, leg = %leg.call, "no RTP from the far end; hanging it up");
                        let _ = self.shared.sip.hangup(leg.call).await;
                    }
                }
                Some(event) = self.rtp.next_event() => match event {
                    MediaEvent::Digit { key } => {
                        let ends_message = self.message.as_ref().is_some_and(|message| {
                            message.recording.is_some() && message.terminator == Some(key)
                        });
                        if ends_message {
                            self.finish_message(true).await;
                        } else {
                            self.handle(Event::Digit { digit: key });
                        }
                    }
                    MediaEvent::PlaybackFinished { id: BEEP } => self.start_message(),
                    MediaEvent::PlaybackFinished { id } => {
                        let id = CommandId(u32::try_from(id.0).unwrap_or(u32::MAX));
                        if self.pending_prompts.remove(&id) {
                            self.handle(Event::PromptFinished { id });
                        }
                    }
                    MediaEvent::RtpTimeout => {
                        tracing::info!(call = %self.call, "no RTP from the caller; hanging up");
                        self.handle(Event::CallerHungUp);
                        let _ = self.shared.sip.hangup(self.call).await;
                        return "rtp-timeout".into();
                    }
                },
                Some(completion) = self.completions.1.recv() => self.complete(completion),
                signal = signals.recv() => match signal {
                    Some(Signal::Leg(event)) => self.on_leg_event(*event).await,
                    Some(Signal::Acd(order)) => self.on_acd_order(order).await,
                    Some(Signal::Ended(cause)) => {
                        // A message left before hanging up is kept and reaches the flow.
                        self.finish_message(true).await;
                        self.handle(Event::CallerHungUp);
                        return end_reason_of(cause).into();
                    }
                    Some(Signal::Shutdown) | None => {
                        self.handle(Event::CallerHungUp);
                        let _ = self.shared.sip.hangup(self.call).await;
                        return "shutdown".into();
                    }
                },
            }
        }
    }

    fn handle(&mut self, event: Event) {
        let now = self.now();
        self.execution.handle(event, now);
    }

    fn complete(&mut self, completion: Completion) {
        match completion {
            Completion::Prompt { id, looped, result } => {
                if !self.pending_prompts.contains(&id) {
                    return;
                }
                match result {
                    Ok(pcm) => self.rtp.play(PlaybackId(u64::from(id.0)), pcm, looped),
                    Err(reason) => {
                        tracing::warn!(call = %self.call, %reason, "prompt skipped");
                        self.pending_prompts.remove(&id);
                        self.handle(Event::PromptFinished { id });
                    }
                }
            }
            Completion::Event(event) => self.handle(event),
        }
    }

    /// Carries out every command the executor has issued.
    async fn carry_out_commands(&mut self) {
        while let Some(command) = self.execution.poll_command() {
            match command {
                Command::Play {
                    id, prompt, looped, ..
                } => {
                    self.pending_prompts.insert(id);
                    let shared = self.shared.clone();
                    let done = self.completions.0.clone();
                    tokio::spawn(async move {
                        let result = shared
                            .prompts
                            .load(&prompt)
                            .await
                            .map_err(|error| error.to_string());
                        let _ = done.send(Completion::Prompt { id, looped, result });
                    });
                }
                Command::Cancel { id } => {
                    if self.pending_prompts.remove(&id) {
                        self.rtp.stop(PlaybackId(u64::from(id.0)));
                    }
                    if self
                        .message
                        .as_ref()
                        .is_some_and(|message| message.id == id)
                    {
                        self.finish_message(false).await;
                    }
                    if self.queued == Some(id) {
                        // The flow stopped waiting (its own maximum wait): leave the queue.
                        self.leave_queue().await;
                    }
                }
                Command::Http { id, request } => {
                    let webhooks = self.shared.webhooks.clone();
                    let done = self.completions.0.clone();
                    tokio::spawn(async move {
                        let event = webhooks.perform(id, request).await;
                        let _ = done.send(Completion::Event(event));
                    });
                }
                Command::Enqueue {
                    id,
                    queue,
                    priority,
                    ..
                } => match &self.shared.acd {
                    Some(acd) if self.queued.is_none() => {
                        acd.enqueue(&self.record_id, &queue, priority, self.signal.clone());
                        self.queued = Some(id);
                    }
                    _ => {
                        tracing::warn!(call = %self.call, %queue, "no ACD is configured: no agents");
                        self.handle(Event::QueueEnded {
                            id,
                            outcome: QueueOutcome::NoAgents,
                        });
                    }
                },
                Command::Transfer {
                    id,
                    to,
                    trunk,
                    timeout,
                    caller_id,
                } => {
                    if let Err(reason) = self
                        .start_transfer(id, &to, trunk.as_deref(), timeout, caller_id.as_deref())
                        .await
                    {
                        tracing::warn!(call = %self.call, %to, %reason, "transfer failed");
                        self.handle(Event::TransferEnded {
                            id,
                            outcome: TransferOutcome::Failed,
                        });
                    }
                }
                Command::RunCustomNode {
                    id,
                    module,
                    version,
                    params,
                    variables,
                    call,
                    contact,
                    ..
                } => {
                    let nodes = self.shared.nodes.clone();
                    let done = self.completions.0.clone();
                    tokio::spawn(async move {
                        let result = nodes
                            .run(&module, &version, params, variables, &call, &contact)
                            .await;
                        let _ =
                            done.send(Completion::Event(Event::CustomNodeFinished { id, result }));
                    });
                }
                Command::StartRecording { .. } => self.start_recording().await,
                Command::RecordMessage {
                    id,
                    mailbox,
                    max_duration,
                    terminator,
                } => {
                    self.begin_message(id, mailbox.as_deref(), max_duration, terminator)
                        .await
                }
                Command::SurveyAnswered {
                    survey,
                    node,
                    value,
                } => self
                    .surveys
                    .push(json!({ "survey": survey, "node": node, "value": value })),
                Command::Hangup { .. } => {
                    // The executor's ending says it; the loop sends the BYE.
                }
            }
        }
    }
}

impl Driver {
    /// Rings the transfer target on a second leg; the executor hears of it through
    /// [`Self::on_leg_event`]. An error means nothing was sent.
    async fn start_transfer(
        &mut self,
        id: CommandId,
        to: &str,
        trunk: Option<&str>,
        timeout: Duration,
        caller_id: Option<&str>,
    ) -> Result<(), String> {
        if self.leg.is_some() {
            return Err("a transfer is already ringing".into());
        }
        let trunks = transfer::trunks(&self.shared.config, &self.shared.store).await;
        let config = &self.shared.config;
        let target = transfer::target(&trunks, to, trunk, caller_id, &self.caller)
            .map_err(|error| error.to_string())?;
        let destination = transfer::resolve(&target)
            .await
            .map_err(|error| error.to_string())?;
        let session_config = SessionConfig {
            rtp_timeout: config.rtp_timeout,
            ..SessionConfig::default()
        };
        let rtp = RtpSession::bind(config.rtp_ip, config.rtp_ports.clone(), session_config)
            .await
            .map_err(|error| error.to_string())?;
        let local = LocalMedia {
            address: config.rtp_ip,
            port: rtp.local_port(),
            session_id: crate::unix_ms().unsigned_abs(),
            session_version: 1,
        };
        let outgoing = OutgoingCall {
            target_uri: target.uri.clone(),
            from: format!(
                "<sip:{}@{}>",
                sip_user(&target.caller_id),
                self.shared.sip.local_addr()
            ),
            to: target.to.clone(),
            offer_sdp: sdp::build_offer(&local),
            destination,
            credentials: target.credentials.clone(),
        };
        let leg = self
            .shared
            .sip
            .invite(outgoing)
            .await
            .map_err(|error| error.to_string())?;
        // The dispatcher replays what the leg did before this registration reached it.
        let _ = self.shared.legs.send((leg, self.signal.clone()));
        tracing::info!(call = %self.call, %leg, uri = %target.uri, "transfer ringing");
        self.leg = Some(Leg {
            id,
            call: leg,
            rtp,
            to: to.to_owned(),
            ring_deadline: Some(tokio::time::Instant::now() + timeout),
            agent: None,
            ringing: false,
            bridged: false,
        });
        Ok(())
    }

    /// The ACD's order: ring an agent, stop ringing one, or leave the queue.
    async fn on_acd_order(&mut self, order: AcdOrder) {
        let (Some(acd), Some(id)) = (self.shared.acd.clone(), self.queued) else {
            return;
        };
        let call = ramal_acd::CallId(self.record_id.clone());
        match order {
            AcdOrder::Offer { agent } => {
                if let Err(reason) = self.ring_agent(id, &agent).await {
                    tracing::info!(call = %self.call, %agent, %reason, "offer failed");
                    acd.event(ramal_acd::Event::OfferFailed {
                        call,
                        agent: ramal_acd::AgentId(agent),
                    });
                }
            }
            AcdOrder::Cancel { agent } => {
                let ours = self
                    .leg
                    .as_ref()
                    .is_some_and(|leg| !leg.bridged && leg.agent.as_deref() == Some(&agent));
                if ours && let Some(leg) = self.leg.take() {
                    let _ = self.shared.sip.hangup(leg.call).await;
                }
            }
            AcdOrder::Leave(result) => {
                let outcome = match result {
                    // The conversation is on; the queue node ends when the agent hangs up.
                    ramal_acd::QueueResult::Answered { .. } => return,
                    ramal_acd::QueueResult::Timeout => QueueOutcome::Timeout,
                    ramal_acd::QueueResult::NoAgents | ramal_acd::QueueResult::Full => {
                        QueueOutcome::NoAgents
                    }
                };
                self.queued = None;
                if self
                    .leg
                    .as_ref()
                    .is_some_and(|leg| leg.agent.is_some() && !leg.bridged)
                    && let Some(leg) = self.leg.take()
                {
                    let _ = self.shared.sip.hangup(leg.call).await;
                }
                self.handle(Event::QueueEnded { id, outcome });
            }
        }
    }

    /// Rings `agent`'s registered phone on a second leg.
    async fn ring_agent(&mut self, id: CommandId, agent: &str) -> Result<(), String> {
        if self.leg.is_some() {
            return Err("the caller already has a second leg".into());
        }
        let bindings = self
            .shared
            .sip
            .lookup(agent)
            .await
            .map_err(|error| error.to_string())?;
        let binding = bindings
            .first()
            .ok_or_else(|| format!("`{agent}` has no registered phone"))?;
        let config = &self.shared.config;
        let session_config = SessionConfig {
            rtp_timeout: config.rtp_timeout,
            ..SessionConfig::default()
        };
        let rtp = RtpSession::bind(config.rtp_ip, config.rtp_ports.clone(), session_config)
            .await
            .map_err(|error| error.to_string())?;
        let local = LocalMedia {
            address: config.rtp_ip,
            port: rtp.local_port(),
            session_id: crate::unix_ms().unsigned_abs(),
            session_version: 1,
        };
        let outgoing = OutgoingCall {
            target_uri: binding.contact.clone(),
            from: format!(
                "<sip:{}@{}>",
                sip_user(&self.caller),
                self.shared.sip.local_addr()
            ),
            to: format!("<sip:{agent}@{}>", self.shared.sip.local_addr()),
            offer_sdp: sdp::build_offer(&local),
            destination: transfer::phone_address(&binding.contact, binding.source),
            credentials: None,
        };
        let leg = self
            .shared
            .sip
            .invite(outgoing)
            .await
            .map_err(|error| error.to_string())?;
        let _ = self.shared.legs.send((leg, self.signal.clone()));
        tracing::info!(call = %self.call, %leg, %agent, "ringing an agent");
        self.leg = Some(Leg {
            id,
            call: leg,
            rtp,
            to: agent.to_owned(),
            ring_deadline: None,
            agent: Some(agent.to_owned()),
            ringing: false,
            bridged: false,
        });
        Ok(())
    }

    /// Tells the ACD the caller is gone (from the queue, or from the agent).
    async fn leave_queue(&mut self) {
        if self.queued.take().is_none() {
            return;
        }
        if let Some(acd) = &self.shared.acd {
            acd.event(ramal_acd::Event::CallerHungUp {
                call: ramal_acd::CallId(self.record_id.clone()),
            });
        }
        if self.leg.as_ref().is_some_and(|leg| leg.agent.is_some())
            && let Some(leg) = self.leg.take()
        {
            let _ = self.shared.sip.hangup(leg.call).await;
        }
    }

    /// Reports an agent leg's progress to the ACD.
    fn tell_acd(&self, event: ramal_acd::Event) {
        if let Some(acd) = &self.shared.acd {
            acd.event(event);
        }
    }

    /// The transfer target did not answer in time: cancel it and tell the executor.
    async fn transfer_unanswered(&mut self) {
        if let Some(leg) = self.leg.take() {
            tracing::info!(call = %self.call, leg = %leg.call, "transfer not answered in time");
            let _ = self.shared.sip.hangup(leg.call).await;
            self.handle(Event::TransferEnded {
                id: leg.id,
                outcome: TransferOutcome::Failed,
            });
        }
    }

    /// A dialog event of the second leg (a transfer's or an agent's): ringing, answered
    /// (bridge), failed, or ended.
    async fn on_leg_event(&mut self, event: UaEvent) {
        let Some(leg) = self.leg.as_mut() else {
            return;
        };
        let acd_call = ramal_acd::CallId(self.record_id.clone());
        let agent = leg.agent.clone().map(ramal_acd::AgentId);
        match event {
            UaEvent::Progress { call, .. } if call == leg.call => {
                if let Some(agent) = agent
                    && !leg.ringing
                {
                    leg.ringing = true;
                    self.tell_acd(ramal_acd::Event::AgentRinging {
                        call: acd_call,
                        agent,
                    });
                }
            }
            UaEvent::Answered { call, answer } if call == leg.call => {
                let plan = answer
                    .as_ref()
                    .and_then(|answer| sdp::choose_answer(answer).ok().map(|plan| (answer, plan)));
                let Some((answer, plan)) = plan else {
                    tracing::warn!(call = %self.call, leg = %call, "the far end answered without a usable SDP; hanging up");
                    let _ = self.shared.sip.hangup(call).await;
                    return;
                };
                leg.rtp.set_remote(
                    SocketAddr::new(answer.connection, answer.audio_port),
                    media_codec(plan.codec),
                    plan.telephone_event,
                );
                leg.rtp.relay_to(Some(self.rtp.audio_sink()));
                self.rtp.relay_to(Some(leg.rtp.audio_sink()));
                leg.bridged = true;
                let (id, party) = (leg.id, leg.to.clone());
                tracing::info!(call = %self.call, leg = %call, "second leg answered; bridged");
                if let Some(agent) = agent {
                    self.tell_acd(ramal_acd::Event::AgentAnswered {
                        call: acd_call,
                        agent,
                    });
                }
                self.handle(Event::Connected { id, party });
            }
            UaEvent::Failed { call, status } if call == leg.call => {
                tracing::info!(call = %self.call, leg = %call, status, "second leg refused");
                let id = leg.id;
                self.leg = None;
                match agent {
                    Some(agent) => self.tell_acd(ramal_acd::Event::OfferFailed {
                        call: acd_call,
                        agent,
                    }),
                    None => self.handle(Event::TransferEnded {
                        id,
                        outcome: TransferOutcome::Failed,
                    }),
                }
            }
            UaEvent::CallEnded { call, cause } if call == leg.call => {
                tracing::info!(call = %self.call, leg = %call, ?cause, "second leg ended");
                self.rtp.relay_to(None);
                let (id, bridged) = (leg.id, leg.bridged);
                self.leg = None;
                match agent {
                    Some(_) if bridged => {
                        self.tell_acd(ramal_acd::Event::AgentHungUp { call: acd_call });
                        self.queued = None;
                        self.handle(Event::QueueEnded {
                            id,
                            outcome: QueueOutcome::Answered,
                        });
                    }
                    Some(agent) => self.tell_acd(ramal_acd::Event::OfferFailed {
                        call: acd_call,
                        agent,
                    }),
                    None => {
                        let outcome = if bridged {
                            TransferOutcome::Completed
                        } else {
                            TransferOutcome::Failed
                        };
                        self.handle(Event::TransferEnded { id, outcome });
                    }
                }
            }
            _ => {}
        }
    }

    /// Hangs the transfer's leg up (the call is ending).
    async fn hang_up_leg(&mut self) {
        if let Some(leg) = self.leg.take() {
            let _ = self.shared.sip.hangup(leg.call).await;
        }
    }

    /// Starts recording both sides of the call (once; a second `record` node is a no-op).
    async fn start_recording(&mut self) {
        if self.recorder.is_some() {
            return;
        }
        let dir = &self.shared.config.recordings_dir;
        if let Err(error) = tokio::fs::create_dir_all(dir).await {
            tracing::error!(call = %self.call, dir = %dir.display(), %error, "cannot record");
            return;
        }
        let path = dir.join(format!("{}.wav", self.record_id));
        match Recorder::spawn(&path) {
            Ok((sender, task)) => {
                self.rtp.record_to(Some(sender.clone()));
                self.recorder = Some((sender, task));
            }
            Err(error) => tracing::error!(call = %self.call, %error, "cannot record"),
        }
    }

    /// Closes the recording, if any, and returns its file name once it is whole.
    async fn finish_recording(&mut self) -> Option<String> {
        let (sender, task) = self.recorder.take()?;
        self.rtp.record_to(None);
        drop(sender);
        match task.await {
            Ok(Ok(recording)) => recording
                .path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned()),
            Ok(Err(error)) => {
                tracing::error!(call = %self.call, %error, "recording lost");
                None
            }
            Err(error) => {
                tracing::error!(call = %self.call, %error, "recording task failed");
                None
            }
        }
    }
}

/// The beep before a voicemail message (not an executor prompt: ids above `u32::MAX`).
const BEEP: PlaybackId = PlaybackId(u64::MAX);

/// A voicemail message: the beep plays, then the caller's side is recorded until the
/// terminator key, the maximum duration or the hang-up.
struct Message {
    id: CommandId,
    terminator: Option<char>,
    max_duration: Duration,
    path: std::path::PathBuf,
    /// The name reported to the flow: the path under the recordings directory.
    name: String,
    /// Set when the beep has played.
    deadline: Option<tokio::time::Instant>,
    recording: Option<(mpsc::Sender<RecordedFrame>, RecordingTask)>,
}

/// 400 ms of 1 kHz at −12 dBFS.
fn beep() -> ramal_media::Pcm {
    let samples: Vec<i16> = (0..3_200)
        .map(|n| {
            let phase = 2.0 * std::f64::consts::PI * 1_000.0 * f64::from(n) / 8_000.0;
            (phase.sin() * 8_200.0) as i16
        })
        .collect();
    ramal_media::Pcm::from(samples)
}

/// A mailbox name as a directory name: `[A-Za-z0-9_-]`, at most 64, `default` if empty.
fn mailbox_dir(mailbox: Option<&str>) -> String {
    let name: String = mailbox
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .take(64)
        .collect();
    if name.is_empty() {
        "default".into()
    } else {
        name
    }
}

impl Driver {
    /// `RecordMessage`: plays the beep; recording starts when it ends.
    async fn begin_message(
        &mut self,
        id: CommandId,
        mailbox: Option<&str>,
        max_duration: Duration,
        terminator: Option<char>,
    ) {
        self.finish_message(false).await;
        let mailbox = mailbox_dir(mailbox);
        let name = format!("voicemail/{mailbox}/{}-{}.wav", self.record_id, id.0);
        let path = self.shared.config.recordings_dir.join(&name);
        if let Some(dir) = path.parent()
            && let Err(error) = tokio::fs::create_dir_all(dir).await
        {
            tracing::error!(call = %self.call, dir = %dir.display(), %error, "cannot take a message");
            self.handle(Event::RecordingFinished {
                id,
                recording: String::new(),
            });
            return;
        }
        self.rtp.play(BEEP, beep(), false);
        self.message = Some(Message {
            id,
            terminator,
            max_duration,
            path,
            name,
            deadline: None,
            recording: None,
        });
    }

    /// The beep ended: record the caller.
    fn start_message(&mut self) {
        let Some(message) = self.message.as_mut() else {
            return;
        };
        if message.recording.is_some() {
            return;
        }
        match Recorder::spawn_mono(&message.path, ramal_media::Direction::Received) {
            Ok((sender, task)) => {
                self.rtp.record_message_to(Some(sender.clone()));
                message.recording = Some((sender, task));
                message.deadline = Some(tokio::time::Instant::now() + message.max_duration);
            }
            Err(error) => {
                tracing::error!(call = %self.call, %error, "cannot take a message");
                let id = message.id;
                self.message = None;
                self.handle(Event::RecordingFinished {
                    id,
                    recording: String::new(),
                });
            }
        }
    }

    /// Ends the message being taken, if any; with `deliver`, tells the executor its name
    /// (empty when nothing was recorded).
    async fn finish_message(&mut self, deliver: bool) {
        let Some(message) = self.message.take() else {
            return;
        };
        self.rtp.stop(BEEP);
        let mut recording = String::new();
        if let Some((sender, task)) = message.recording {
            self.rtp.record_message_to(None);
            drop(sender);
            match task.await {
                Ok(Ok(_)) => recording = message.name,
                Ok(Err(error)) => tracing::error!(call = %self.call, %error, "message lost"),
                Err(error) => tracing::error!(call = %self.call, %error, "message task failed"),
            }
        }
        if deliver {
            self.handle(Event::RecordingFinished {
                id: message.id,
                recording,
            });
        }
    }
}

/// The transfer leg's next media event, or never when there is no leg.
async fn leg_media(leg: &mut Option<Leg>) -> Option<MediaEvent> {
    match leg {
        Some(leg) => leg.rtp.next_event().await,
        None => std::future::pending().await,
    }
}

fn media_codec(codec: sdp::Codec) -> ramal_media::Codec {
    match codec {
        sdp::Codec::Pcmu => ramal_media::Codec::Pcmu,
        sdp::Codec::Pcma => ramal_media::Codec::Pcma,
    }
}

/// A caller ID made safe as a SIP URI user part: characters outside
/// `[A-Za-z0-9+*#._-]` are dropped; empty becomes `ramal`.
fn sip_user(caller_id: &str) -> String {
    let user: String = caller_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+*#._-".contains(*c))
        .take(64)
        .collect();
    if user.is_empty() {
        "ramal".into()
    } else {
        user
    }
}

pub(crate) async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn end_reason_of(cause: EndCause) -> &'static str {
    match cause {
        EndCause::LocalHangup => "local-hangup",
        EndCause::RemoteHangup => "caller-hung-up",
        EndCause::Cancelled => "cancelled",
        EndCause::AckTimeout => "ack-timeout",
        EndCause::SessionExpired => "session-expired",
        EndCause::MaxDuration => "max-duration",
    }
}

/// The caller's user part from a From value (`"Ana" <sip:1001@host>;tag=x` → `1001`), or
/// the value itself when it has none.
pub(crate) fn caller_of(from: &str) -> String {
    let uri = match (from.find('<'), from.find('>')) {
        (Some(open), Some(close)) if open < close => &from[open + 1..close],
        _ => from.split(';').next().unwrap_or(from),
    };
    let without_scheme = uri
        .trim()
        .strip_prefix("sips:")
        .or_else(|| uri.trim().strip_prefix("sip:"))
        .or_else(|| uri.trim().strip_prefix("tel:"))
        .unwrap_or(uri.trim());
    match without_scheme.split_once('@') {
        Some((user, _)) if !user.is_empty() => user.to_owned(),
        _ => without_scheme.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::caller_of;

    #[test]
    fn the_caller_is_the_from_user() {
        assert_eq!(
            caller_of("\"Ana\" <sip:1001@10.0.0.1:5060>;tag=abc"),
            "1001"
        );
        assert_eq!(
            caller_of("<sip:+5511999990000@carrier>;tag=1"),
            "+5511999990000"
        );
        assert_eq!(caller_of("sip:sipp@127.0.0.1:5061;tag=9"), "sipp");
        assert_eq!(caller_of("<tel:+551130000000>"), "+551130000000");
        assert_eq!(caller_of("anonymous"), "anonymous");
        assert_eq!(caller_of(""), "");
    }
}
