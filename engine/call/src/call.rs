//! One task per call: answers it, gives it an RTP session, runs its flow and stores its
//! record. The task only translates — dialog and media events into executor events,
//! executor commands into SIP, RTP, prompt and webhook actions; every decision about the
//! call is the executor's.

use crate::engine::Shared;
use ramal_flow::execution::{
    Command, CommandId, CustomOutcome, Direction, Ending, Event, QueueOutcome, TransferOutcome,
};
use ramal_flow::{CallInfo, Execution, Instant};
use ramal_media::{MediaEvent, PlaybackId, RtpSession, SessionConfig};
use ramal_sip::proto::sdp::{self, LocalMedia, Offer};
use ramal_sip::{CallKey, EndCause};
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
}

/// What the dispatcher forwards to a running call.
#[derive(Debug)]
pub(crate) enum Signal {
    /// The dialog is over (BYE, CANCEL, timers).
    Ended(EndCause),
    /// The engine is shutting down: hang up.
    Shutdown,
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
    let codec = match plan.codec {
        sdp::Codec::Pcmu => ramal_media::Codec::Pcmu,
        sdp::Codec::Pcma => ramal_media::Codec::Pcma,
    };
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
        rtp,
        clock: tokio::time::Instant::now(),
        execution: Execution::start(resolved.flow, info, Instant::from_millis(0)),
        pending_prompts: HashSet::new(),
        surveys: Vec::new(),
        completions: mpsc::unbounded_channel(),
    };
    let end_reason = driver.run(signals).await;
    record.end_reason = end_reason;
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
            tokio::select! {
                () = sleep_until(deadline) => {
                    let now = self.now();
                    self.execution.handle_timeout(now);
                }
                Some(event) = self.rtp.next_event() => match event {
                    MediaEvent::Digit { key } => self.handle(Event::Digit { digit: key }),
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
                    Some(Signal::Ended(cause)) => {
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
                }
                Command::Http { id, request } => {
                    let webhooks = self.shared.webhooks.clone();
                    let done = self.completions.0.clone();
                    tokio::spawn(async move {
                        let event = webhooks.perform(id, request).await;
                        let _ = done.send(Completion::Event(event));
                    });
                }
                Command::Enqueue { id, queue, .. } => {
                    tracing::warn!(call = %self.call, %queue, "queues are not connected to calls yet: no agents");
                    self.handle(Event::QueueEnded {
                        id,
                        outcome: QueueOutcome::NoAgents,
                    });
                }
                Command::Transfer { id, to, .. } => {
                    tracing::warn!(call = %self.call, %to, "transfers are not connected to calls yet");
                    self.handle(Event::TransferEnded {
                        id,
                        outcome: TransferOutcome::Failed,
                    });
                }
                Command::RunCustomNode { id, module, .. } => {
                    self.handle(Event::CustomNodeFinished {
                        id,
                        result: Err::<CustomOutcome, _>(format!(
                            "custom node `{module}`: Wasm nodes are not available on calls yet"
                        )),
                    });
                }
                Command::StartRecording { .. } => {
                    tracing::warn!(call = %self.call, "call recording is not available yet");
                }
                Command::RecordMessage { id, .. } => {
                    tracing::warn!(call = %self.call, "voicemail recording is not available yet");
                    self.handle(Event::RecordingFinished {
                        id,
                        recording: String::new(),
                    });
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

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
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
