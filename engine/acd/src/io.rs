//! What goes into the ACD (events: past-tense facts from the API, the queue node and the
//! agents' phones) and what comes out (commands for the server to carry out).

use crate::agent::Transition;
use crate::ids::{AgentId, CallId, QueueId};
use serde::{Deserialize, Serialize};

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// The agent logged in (ready for calls).
    LoggedIn {
        /// Who.
        agent: AgentId,
    },
    /// The agent logged out.
    LoggedOut {
        /// Who.
        agent: AgentId,
    },
    /// The agent paused.
    Paused {
        /// Who.
        agent: AgentId,
        /// Why.
        reason: String,
    },
    /// The agent is ready again.
    Unpaused {
        /// Who.
        agent: AgentId,
    },
    /// A flow's queue node put a caller in a queue.
    CallQueued {
        /// The call.
        call: CallId,
        /// The queue.
        queue: QueueId,
        /// Higher is served first (VIPs).
        priority: i64,
        /// Skills the call needs: (skill, minimum level).
        skills: Vec<(String, u8)>,
    },
    /// The caller hung up (waiting, ringing an agent, or talking).
    CallerHungUp {
        /// The call.
        call: CallId,
    },
    /// The agent's phone rings.
    AgentRinging {
        /// The call offered.
        call: CallId,
        /// The agent.
        agent: AgentId,
    },
    /// The agent answered; the legs are bridged.
    AgentAnswered {
        /// The call.
        call: CallId,
        /// The agent.
        agent: AgentId,
    },
    /// The agent's phone failed (unregistered, unreachable, rejected).
    OfferFailed {
        /// The call.
        call: CallId,
        /// The agent.
        agent: AgentId,
    },
    /// The agent's side of the conversation ended (the caller may go on in the flow).
    AgentHungUp {
        /// The call.
        call: CallId,
    },
    /// The agent saved the disposition: wrap-up ends.
    DispositionSaved {
        /// Who.
        agent: AgentId,
    },
}

/// How a caller's time in queues ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum QueueResult {
    /// An agent answered.
    Answered {
        /// Who.
        agent: AgentId,
    },
    /// The wait ran out (after any overflow to other queues).
    Timeout,
    /// Nobody is logged in to the queue.
    NoAgents,
    /// The queue was full and has no overflow queue.
    Full,
}

/// What the server must do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum Command {
    /// Ring the agent's phone for the call.
    Offer {
        /// The call.
        call: CallId,
        /// The agent.
        agent: AgentId,
        /// How long it may ring.
        ring_timeout_ms: u64,
    },
    /// Stop ringing the agent's phone.
    CancelOffer {
        /// The call.
        call: CallId,
        /// The agent.
        agent: AgentId,
    },
    /// The caller leaves the queue (the flow continues from the queue node's port).
    Leave {
        /// The call.
        call: CallId,
        /// How.
        result: QueueResult,
    },
    /// The caller moved to an overflow queue.
    Moved {
        /// The call.
        call: CallId,
        /// From.
        from: QueueId,
        /// To.
        to: QueueId,
    },
    /// Tell the caller their position and, when known, the expected wait.
    Announce {
        /// The call.
        call: CallId,
        /// 1 is next.
        position: usize,
        /// An estimate from recent answered calls.
        expected_wait_ms: Option<u64>,
    },
    /// An agent changed state (for the event stream and the store).
    AgentChanged {
        /// Who.
        agent: AgentId,
        /// The transition.
        transition: Transition,
    },
}

/// Input the ACD refuses; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcdError {
    /// No such queue.
    #[error("no queue `{0}`")]
    UnknownQueue(QueueId),
    /// The call is already queued.
    #[error("call `{0}` is already in a queue")]
    AlreadyQueued(CallId),
    /// The pause reason is not in the configured list.
    #[error(
        "`{0}` is not a pause reason (the configured reasons are listed in the ACD's settings)"
    )]
    UnknownPauseReason(String),
    /// The agent cannot do that now.
    #[error("agent `{agent}` cannot {action} while {state}")]
    NotNow {
        /// Who.
        agent: AgentId,
        /// What was asked.
        action: &'static str,
        /// The agent's state.
        state: &'static str,
    },
}
