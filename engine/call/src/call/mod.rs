//! One task per call: answers it, gives it an RTP session, runs its flow and stores its
//! record. The task only translates — dialog and media events into executor events,
//! executor commands into SIP, RTP, prompt and webhook actions; every decision about the
//! call is the executor's.

use crate::acd::AcdOrder;
use crate::engine::Shared;
mod legs;
mod recording;

use crate::notices::{CallNotice, NodeAnnouncer};
use crate::transfer::Leg;
use legs::leg_media;
use ramal_flow::execution::{
    Command, CommandId, Direction, Ending, Event, QueueOutcome, TransferOutcome,
};
use ramal_flow::{CallInfo, Execution, Instant};
use ramal_media::{
    MediaEvent, PlaybackId, RecordedFrame, RtpSession, SessionConfig, record::RecordingTask,
};
use ramal_sip::proto::sdp::{self, LocalMedia, Offer};
use ramal_sip::{CallKey, EndCause, UaEvent};
use ramal_store::CallRecord;
use recording::{BEEP, Message};
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
    if record.flow_id.is_some() {
        shared.notices.send(CallNotice::Ended {
            call_id: record.id.clone(),
            end_reason: record.end_reason.clone(),
            at: record.ended_at,
        });
    }
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
    shared.notices.send(CallNotice::Started {
        call_id: record.id.clone(),
        caller: record.caller.clone(),
        callee: record.callee.clone(),
        flow_id: resolved.flow_id.clone(),
        at: crate::unix_ms(),
    });
    let offer = incoming
        .offer
        .ok_or_else(|| (488, "An SDP Offer Is Required".to_owned(), "no-sdp-offer"))?;
    let plan = sdp::choose_answer(&offer)
        .map_err(|_| (488, "Not Acceptable Here".to_owned(), "codec-mismatch"))?;
    let config = &shared.config;
    let mut rtp = bind_rtp(config).await.map_err(|error| {
        tracing::error!(%call, %error, "no RTP port");
        (503, "No Media Port".to_owned(), "no-media-port")
    })?;
    let codec = media_codec_of(plan.codec);
    rtp.set_remote(
        SocketAddr::new(offer.connection, offer.audio_port),
        codec,
        plan.telephone_event,
    );
    let local = local_media(config, &rtp);
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
        callee: record.callee.clone(),
        flow_id: resolved.flow_id.clone(),
        signal: incoming.signal,
        leg: None,
        recorder: None,
        message: None,
        queued: None,
        queue_campaign: None,
        rtp,
        clock: tokio::time::Instant::now(),
        execution: Execution::start(resolved.flow, info, Instant::from_millis(0)),
        pending_prompts: HashSet::new(),
        surveys: Vec::new(),
        completions: mpsc::unbounded_channel(),
        nodes_announced: NodeAnnouncer::default(),
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
    /// The number dialled.
    callee: String,
    /// The flow the call runs.
    flow_id: String,
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
    /// The campaign the caller was queued under (its settings say whether to record).
    queue_campaign: Option<String>,
    rtp: RtpSession,
    clock: tokio::time::Instant,
    execution: Execution,
    /// Prompts asked for and not cancelled: a prompt that loads after its cancel is dropped.
    pending_prompts: HashSet<CommandId>,
    surveys: Vec<Value>,
    /// Which node visits the notices have told.
    nodes_announced: NodeAnnouncer,
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
            for node in self.nodes_announced.entered(&self.execution) {
                self.shared.notices.send(CallNotice::NodeEntered {
                    call_id: self.record_id.clone(),
                    node,
                    at: crate::unix_ms(),
                });
            }
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
                    campaign,
                    ..
                } => match &self.shared.acd {
                    Some(acd) if self.queued.is_none() => {
                        self.queue_campaign.clone_from(&campaign);
                        let call = crate::QueuedCall {
                            call_id: self.record_id.clone(),
                            caller: self.caller.clone(),
                            callee: self.callee.clone(),
                            queue,
                            campaign,
                            flow_id: self.flow_id.clone(),
                            variables: Value::Object(self.execution.variables()),
                            queued_at: crate::unix_ms(),
                        };
                        acd.enqueue(call, priority, self.signal.clone());
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

pub(super) fn media_codec_of(codec: sdp::Codec) -> ramal_media::Codec {
    match codec {
        sdp::Codec::Pcmu => ramal_media::Codec::Pcmu,
        sdp::Codec::Pcma => ramal_media::Codec::Pcma,
    }
}

/// A caller ID made safe as a SIP URI user part: characters outside
/// `[A-Za-z0-9+*#._-]` are dropped; empty becomes `ramal`.
pub(super) fn sip_user(caller_id: &str) -> String {
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

/// A leg's RTP session on the configured address and port range.
pub(super) async fn bind_rtp(
    config: &crate::CallConfig,
) -> Result<RtpSession, ramal_media::SessionError> {
    let session_config = SessionConfig {
        rtp_timeout: config.rtp_timeout,
        ..SessionConfig::default()
    };
    RtpSession::bind(config.rtp_ip, config.rtp_ports.clone(), session_config).await
}

/// Our side of a leg's SDP.
pub(super) fn local_media(config: &crate::CallConfig, rtp: &RtpSession) -> LocalMedia {
    LocalMedia {
        address: config.rtp_ip,
        port: rtp.local_port(),
        session_id: crate::unix_ms().unsigned_abs(),
        session_version: 1,
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
