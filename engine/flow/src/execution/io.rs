//! What goes into an [`Execution`](super::Execution) and what comes out: the call it runs
//! for, events (past-tense facts) and commands (imperatives). Every command that completes
//! later carries a [`CommandId`]; its completion echoes the id, so a late completion — a
//! prompt that finishes after the caller pressed a key — is recognised and dropped.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::time::Duration;

/// Identifies one command of one execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CommandId(pub u32);

/// Which way the call goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Someone called in.
    #[default]
    Inbound,
    /// Ramal called out (dialer, transfer).
    Outbound,
}

/// The call a flow runs for.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CallInfo {
    /// The call's id.
    pub call_id: String,
    /// Caller number or URI.
    pub caller: String,
    /// Called number (DID) or URI.
    pub callee: String,
    /// Inbound or outbound.
    pub direction: Direction,
    /// The campaign the call belongs to.
    pub campaign: Option<String>,
    /// Wall-clock time of the start, in milliseconds since the Unix epoch (UTC). The
    /// executor adds the monotonic time that passed to get "now" for business hours.
    pub started_at_unix_ms: i64,
    /// The contact's fields (from the contact list or a CRM lookup).
    pub contact: Map<String, Value>,
    /// Initial values for flow variables, overriding the document's defaults.
    pub variables: Map<String, Value>,
}

/// A prompt ready to play: templates already filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptSpec {
    /// A recording's name.
    pub file: Option<String>,
    /// Text for the TTS engine.
    pub text: Option<String>,
    /// TTS voice or language.
    pub voice: Option<String>,
}

impl PromptSpec {
    /// The file name or the text: what a person would call this prompt.
    pub fn label(&self) -> &str {
        self.file
            .as_deref()
            .or(self.text.as_deref())
            .unwrap_or_default()
    }
}

/// An HTTP request for the driver to make (one attempt).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// Upper-case method.
    pub method: String,
    /// The URL.
    pub url: String,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// JSON body text.
    pub body: Option<String>,
    /// The time allowed; the executor gives up by itself after it, too.
    pub timeout: Duration,
}

/// What the executor asks its driver to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum Command {
    /// Play a prompt; report [`Event::PromptFinished`] unless it loops.
    Play {
        /// Echo in `PromptFinished`.
        id: CommandId,
        /// What to play.
        prompt: PromptSpec,
        /// The executor stops it on a key (informational: the executor sends `Cancel`).
        barge_in: bool,
        /// Repeat it without a gap until cancelled (filler, hold music); no
        /// `PromptFinished` is expected.
        looped: bool,
    },
    /// Stop the work of an earlier command (playback, request, queue wait, transfer,
    /// recording) — its result is no longer wanted.
    Cancel {
        /// The command to stop.
        id: CommandId,
    },
    /// Make an HTTP request; report [`Event::HttpResponded`] or [`Event::HttpFailed`].
    Http {
        /// Echo in the answer.
        id: CommandId,
        /// The request.
        request: HttpRequest,
    },
    /// Run a custom Wasm node; report [`Event::CustomNodeFinished`].
    RunCustomNode {
        /// Echo in the answer.
        id: CommandId,
        /// Module id.
        module: String,
        /// Module version.
        version: String,
        /// The node's parameters.
        params: Value,
        /// A snapshot of the flow variables.
        variables: Map<String, Value>,
        /// The `call` and `contact` objects.
        call: Value,
        /// The contact's fields.
        contact: Value,
        /// Time the executor waits.
        timeout: Duration,
    },
    /// Put the caller in a queue; report [`Event::Connected`] when an agent answers and
    /// [`Event::QueueEnded`] at the end.
    Enqueue {
        /// Echo in the answers.
        id: CommandId,
        /// Queue id.
        queue: String,
        /// Longest wait.
        max_wait: Duration,
        /// Music on hold.
        music_on_hold: Option<String>,
        /// Announce the position.
        announce_position: bool,
        /// Announcement period.
        announce_every: Duration,
        /// Higher is served first.
        priority: i64,
        /// The campaign the agent works the call under (the node's, else the call's).
        campaign: Option<String>,
    },
    /// Connect the caller to a number or URI; report [`Event::Connected`] and
    /// [`Event::TransferEnded`].
    Transfer {
        /// Echo in the answers.
        id: CommandId,
        /// Number or `sip:` URI.
        to: String,
        /// Outbound trunk.
        trunk: Option<String>,
        /// Ring timeout.
        timeout: Duration,
        /// Caller ID to present.
        caller_id: Option<String>,
    },
    /// Start recording the call (no completion).
    StartRecording {
        /// The recording's id.
        id: CommandId,
    },
    /// Beep and record a message; report [`Event::RecordingFinished`].
    RecordMessage {
        /// Echo in the answer.
        id: CommandId,
        /// Mailbox.
        mailbox: Option<String>,
        /// Longest message.
        max_duration: Duration,
        /// Key that ends the message.
        terminator: Option<char>,
    },
    /// Store a survey answer (no completion).
    SurveyAnswered {
        /// Survey id.
        survey: String,
        /// The node that asked.
        node: String,
        /// The answer.
        value: u32,
    },
    /// Hang up the call. Nothing follows.
    Hangup {
        /// Stable reason code for the call record.
        reason: String,
        /// Disposition, if the flow set one.
        disposition: Option<String>,
    },
}

/// How a queue wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QueueOutcome {
    /// An agent talked to the caller; the agent's leg has ended, the caller is still here.
    Answered,
    /// Nobody answered within the wait.
    Timeout,
    /// No agent is logged in or able to take the call.
    NoAgents,
}

/// How a transfer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransferOutcome {
    /// The far end answered and the conversation is over.
    Completed,
    /// Busy, no answer, rejected or unreachable.
    Failed,
}

/// The result a custom node returns.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CustomOutcome {
    /// The port to continue from.
    pub port: String,
    /// Variables to set.
    pub variables: Map<String, Value>,
}

/// Something that happened to the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// The caller pressed a key (RFC 4733 or in-band; the media layer de-duplicates).
    Digit {
        /// `0`–`9`, `*`, `#`, `A`–`D`.
        digit: char,
    },
    /// A prompt finished playing.
    PromptFinished {
        /// The `Play` command's id.
        id: CommandId,
    },
    /// A webhook answered.
    HttpResponded {
        /// The `Http` command's id.
        id: CommandId,
        /// HTTP status.
        status: u16,
        /// Response body.
        body: String,
    },
    /// A webhook could not be reached.
    HttpFailed {
        /// The `Http` command's id.
        id: CommandId,
        /// Why.
        reason: String,
    },
    /// A custom node finished, or failed (trap, timeout, bad outcome).
    CustomNodeFinished {
        /// The `RunCustomNode` command's id.
        id: CommandId,
        /// Its outcome, or why it failed.
        result: Result<CustomOutcome, String>,
    },
    /// An agent or the transfer target answered.
    Connected {
        /// The `Enqueue` or `Transfer` command's id.
        id: CommandId,
        /// Who answered (agent id or number).
        party: String,
    },
    /// The queue is done with the caller.
    QueueEnded {
        /// The `Enqueue` command's id.
        id: CommandId,
        /// How.
        outcome: QueueOutcome,
    },
    /// The transfer is over.
    TransferEnded {
        /// The `Transfer` command's id.
        id: CommandId,
        /// How.
        outcome: TransferOutcome,
    },
    /// A voicemail message was recorded.
    RecordingFinished {
        /// The `RecordMessage` command's id.
        id: CommandId,
        /// The recording's name.
        recording: String,
    },
    /// The caller hung up.
    CallerHungUp,
}
