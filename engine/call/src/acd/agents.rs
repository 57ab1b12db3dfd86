//! The agents' side of the ACD task, for the API and the event stream: log in (with a
//! registered phone), log out, pause with a reason, unpause, end wrap-up; read an agent's
//! state with the call they are on; and the notices (agent states, queue waits) the task
//! publishes.

use super::Input;
use ramal_acd::{AcdError, AgentState};
use ramal_sip::SipHandle;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot};

/// How many notices a slow subscriber may be behind before it misses some.
const NOTICE_BUFFER: usize = 1024;

/// A call in a queue, as the agent who takes it sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueuedCall {
    /// The call (its record's id).
    pub call_id: String,
    /// Who called.
    pub caller: String,
    /// The number dialled.
    pub callee: String,
    /// The queue it waited in (the first, before any overflow).
    pub queue: String,
    /// The campaign the agent works it under (its name), if the flow named one.
    pub campaign: Option<String>,
    /// The flow that queued it.
    pub flow_id: String,
    /// The flow's variables when it was queued (what the caller typed, a webhook's answer).
    pub variables: serde_json::Value,
    /// When it was queued, Unix ms.
    pub queued_at: i64,
}

/// An agent now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentView {
    /// The agent (their SIP user, which is their user name).
    pub agent: String,
    /// `logged-out`, `ready`, `paused`, `reserved`, `ringing`, `on-call` or `wrap-up`.
    pub state: &'static str,
    /// Why they are paused.
    pub reason: Option<String>,
    /// Since when, Unix ms (when the ACD started, for an agent who never changed state).
    pub since: i64,
    /// Calls answered since the ACD started.
    pub answered: u32,
    /// The call offered, in progress, or being wrapped up.
    pub call: Option<QueuedCall>,
}

/// A queue's wait now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueStatus {
    /// The queue.
    pub queue: String,
    /// Callers waiting.
    pub waiting: usize,
    /// How long the longest-waiting caller has waited, ms (0: nobody waits).
    pub longest_wait_ms: u64,
}

/// What the ACD task tells subscribers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "notice", rename_all = "kebab-case")]
pub enum AcdNotice {
    /// An agent changed state.
    Agent(Box<AgentView>),
    /// A queue's number of waiting callers changed.
    Queue(QueueStatus),
}

/// What an agent asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentAction {
    /// Start taking calls (needs a registered phone).
    LogIn,
    /// Stop (refused while on a call).
    LogOut,
    /// Stop taking calls for a while, for a configured reason.
    Pause {
        /// One of the configured reasons.
        reason: String,
    },
    /// Take calls again.
    Unpause,
    /// The disposition is saved: wrap-up ends.
    FinishWrapUp,
}

/// Why an agent's request was refused; nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The call engine is not running.
    #[error("the call engine has stopped")]
    Stopped,
    /// Logging in needs a phone registered for the agent's SIP user.
    #[error("no phone is registered for `{0}`: register a SIP phone with your user name first")]
    NoPhone(String),
    /// The ACD refused (the state does not allow it, an unknown pause reason).
    #[error(transparent)]
    Refused(#[from] AcdError),
}

/// The API's handle on the agents. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Agents {
    pub(super) inputs: mpsc::UnboundedSender<Input>,
    pub(super) notices: broadcast::Sender<AcdNotice>,
    pub(super) sip: SipHandle,
    pub(super) pause_reasons: Vec<String>,
}

impl Agents {
    pub(super) fn notice_channel() -> broadcast::Sender<AcdNotice> {
        broadcast::channel(NOTICE_BUFFER).0
    }

    /// Carries out `action` for `agent`; answers their state afterwards.
    pub async fn act(&self, agent: &str, action: AgentAction) -> Result<AgentView, AgentError> {
        if action == AgentAction::LogIn {
            let bindings = self
                .sip
                .lookup(agent)
                .await
                .map_err(|_| AgentError::Stopped)?;
            if bindings.is_empty() {
                return Err(AgentError::NoPhone(agent.to_owned()));
            }
        }
        let (reply, answer) = oneshot::channel();
        self.inputs
            .send(Input::Act {
                agent: agent.to_owned(),
                action,
                reply,
            })
            .map_err(|_| AgentError::Stopped)?;
        Ok(answer.await.map_err(|_| AgentError::Stopped)??)
    }

    /// `agent`'s state (logged out, for an agent the ACD has never seen).
    pub async fn agent(&self, agent: &str) -> Result<AgentView, AgentError> {
        let mut views = self.views(Some(agent.to_owned())).await?;
        views.pop().ok_or(AgentError::Stopped)
    }

    /// Every agent the ACD knows (the queues' members and whoever logged in).
    pub async fn all(&self) -> Result<Vec<AgentView>, AgentError> {
        self.views(None).await
    }

    async fn views(&self, agent: Option<String>) -> Result<Vec<AgentView>, AgentError> {
        let (reply, answer) = oneshot::channel();
        self.inputs
            .send(Input::Views { agent, reply })
            .map_err(|_| AgentError::Stopped)?;
        answer.await.map_err(|_| AgentError::Stopped)
    }

    /// Every queue's wait.
    pub async fn queues(&self) -> Result<Vec<QueueStatus>, AgentError> {
        let (reply, answer) = oneshot::channel();
        self.inputs
            .send(Input::Queues { reply })
            .map_err(|_| AgentError::Stopped)?;
        answer.await.map_err(|_| AgentError::Stopped)
    }

    /// Applies changed queues (members, strategies, timeouts) at once; see
    /// [`ramal_acd::Acd::reconfigure`].
    pub fn reconfigure(&self, config: ramal_acd::AcdConfig) -> Result<(), AgentError> {
        self.inputs
            .send(Input::Reconfigure(Box::new(config)))
            .map_err(|_| AgentError::Stopped)
    }

    /// Every notice from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<AcdNotice> {
        self.notices.subscribe()
    }

    /// The reasons agents may pause with.
    pub fn pause_reasons(&self) -> &[String] {
        &self.pause_reasons
    }
}

/// The pause reason in a state, if it is a pause.
pub(super) fn reason_of(state: &AgentState) -> Option<String> {
    match state {
        AgentState::Paused { reason } => Some(reason.clone()),
        _ => None,
    }
}

/// The call in a state, if it has one.
pub(super) fn call_of(state: &AgentState) -> Option<&ramal_acd::CallId> {
    match state {
        AgentState::Reserved { call }
        | AgentState::Ringing { call }
        | AgentState::OnCall { call }
        | AgentState::WrapUp { call } => Some(call),
        AgentState::LoggedOut | AgentState::Ready | AgentState::Paused { .. } => None,
    }
}
