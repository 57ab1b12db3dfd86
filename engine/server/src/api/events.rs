//! `GET /api/events`: a WebSocket stream of what happens — calls starting and ending,
//! nodes entered, agent states, campaign progress — for the editor and dashboards.
//!
//! The server owns one [`EventBus`] (a tokio broadcast channel); anything holding the
//! [`super::AppState`] publishes into it with [`EventBus::publish`] — today the API itself
//! (campaign progress when a result is recorded or a status changes) and the call engine
//! (calls started and ended, nodes entered; the ACD's agent states and queue waits —
//! forwarded by `server.rs`). Each socket gets every
//! event its caller may see: supervisors and admins everything; an agent their own agent
//! state and the progress of the campaigns they are assigned to. A socket that falls
//! behind by more than the channel holds is told how many events it missed
//! (`{"type": "lagged", "missed": n}`) rather than slowing anyone down.

use super::{AppState, CurrentUser};
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use ramal_store::Role;
use serde::Serialize;
use tokio::sync::broadcast;

/// Events a socket may be behind by before it is told it lagged.
pub const EVENT_BUFFER: usize = 1024;

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Event {
    /// A call arrived or was placed.
    CallStarted {
        /// The call.
        call_id: String,
        /// Who called.
        caller: String,
        /// The number dialled.
        callee: String,
        /// The flow it runs, if any.
        flow_id: Option<String>,
        /// When, Unix ms.
        at: i64,
    },
    /// A call ended.
    CallEnded {
        /// The call.
        call_id: String,
        /// Why (`normal`, `caller-hung-up`, …).
        end_reason: String,
        /// When, Unix ms.
        at: i64,
    },
    /// A call entered a node of its flow.
    NodeEntered {
        /// The call.
        call_id: String,
        /// The node's id.
        node: String,
        /// When, Unix ms.
        at: i64,
    },
    /// An agent changed state (`ready`, `paused`, `ringing`, `on-call`, `wrap-up`, …).
    AgentState {
        /// The agent's user name.
        agent: String,
        /// The new state.
        state: String,
        /// Why paused.
        reason: Option<String>,
        /// The call offered, in progress or being wrapped up.
        call_id: Option<String>,
        /// When, Unix ms.
        at: i64,
    },
    /// The number of callers waiting in a queue changed.
    QueueStatus {
        /// The queue's name.
        queue: String,
        /// Callers waiting.
        waiting: usize,
        /// The longest wait, ms.
        longest_wait_ms: u64,
        /// When, Unix ms.
        at: i64,
    },
    /// A campaign moved towards its objective or changed status.
    CampaignProgress {
        /// The campaign.
        campaign_id: i64,
        /// Its status.
        status: String,
        /// Positive dispositions so far.
        positive: i64,
        /// Positive dispositions expected (0: none set).
        objective: u32,
        /// When, Unix ms.
        at: i64,
    },
}

/// The server's event channel. Cheap to clone.
#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Event>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::new(EVENT_BUFFER)
    }
}

impl EventBus {
    /// A bus whose slowest socket may be `capacity` events behind.
    pub fn new(capacity: usize) -> EventBus {
        EventBus {
            sender: broadcast::channel(capacity.max(1)).0,
        }
    }

    /// Sends `event` to every open socket (none open: it is dropped).
    pub fn publish(&self, event: Event) {
        let _ = self.sender.send(event);
    }

    /// A receiver of every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }
}

/// Whether `user` may see `event`; `assigned` tells whether they are assigned to a
/// campaign (asked only for an agent and a campaign event).
pub async fn may_see<F, Fut>(user: &CurrentUser, event: &Event, assigned: F) -> bool
where
    F: FnOnce(i64) -> Fut,
    Fut: Future<Output = bool>,
{
    match (user.role, event) {
        (Role::Admin | Role::Supervisor, _) => true,
        (Role::Agent, Event::AgentState { agent, .. }) => *agent == user.username,
        (Role::Agent, Event::CampaignProgress { campaign_id, .. }) => assigned(*campaign_id).await,
        (Role::Agent, _) => false,
    }
}

/// `GET /api/events` (a WebSocket upgrade).
pub(super) async fn stream(
    State(state): State<AppState>,
    user: CurrentUser,
    upgrade: WebSocketUpgrade,
) -> Response {
    let events = state.events.subscribe();
    upgrade.on_upgrade(move |socket| forward(socket, events, state, user))
}

async fn forward(
    mut socket: WebSocket,
    mut events: broadcast::Receiver<Event>,
    state: AppState,
    user: CurrentUser,
) {
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {} // pings are answered by axum; nothing else is expected
            },
            event = events.recv() => {
                let text = match event {
                    Ok(event) => {
                        let store = &state.store;
                        let user_id = user.id;
                        let visible = may_see(&user, &event, |campaign| async move {
                            store.is_assigned(campaign, user_id).await.unwrap_or(false)
                        })
                        .await;
                        if !visible {
                            continue;
                        }
                        serde_json::to_string(&event)
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        serde_json::to_string(&serde_json::json!({"type": "lagged", "missed": missed}))
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                let Ok(text) = text else { continue };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Via;

    fn user(id: i64, role: Role) -> CurrentUser {
        CurrentUser {
            id,
            username: format!("user{id}"),
            display_name: String::new(),
            role,
            via: Via::Session,
        }
    }

    fn events() -> Vec<Event> {
        vec![
            Event::CallStarted {
                call_id: "c".into(),
                caller: "100".into(),
                callee: "4000".into(),
                flow_id: None,
                at: 1,
            },
            Event::NodeEntered {
                call_id: "c".into(),
                node: "menu".into(),
                at: 2,
            },
            Event::AgentState {
                agent: "user7".into(),
                state: "ready".into(),
                reason: None,
                call_id: None,
                at: 3,
            },
            Event::AgentState {
                agent: "user8".into(),
                state: "paused".into(),
                reason: Some("lunch".into()),
                call_id: None,
                at: 4,
            },
            Event::CampaignProgress {
                campaign_id: 1,
                status: "active".into(),
                positive: 3,
                objective: 10,
                at: 5,
            },
            Event::CampaignProgress {
                campaign_id: 2,
                status: "active".into(),
                positive: 0,
                objective: 0,
                at: 6,
            },
            Event::QueueStatus {
                queue: "sales".into(),
                waiting: 2,
                longest_wait_ms: 1_500,
                at: 7,
            },
        ]
    }

    async fn seen(user: &CurrentUser) -> Vec<i64> {
        let mut seen = Vec::new();
        for event in events() {
            if may_see(user, &event, |campaign| async move { campaign == 1 }).await {
                let at = serde_json::to_value(&event).expect("serialises")["at"]
                    .as_i64()
                    .expect("every event has a time");
                seen.push(at);
            }
        }
        seen
    }

    #[tokio::test]
    async fn agents_see_their_own_state_and_their_campaigns_supervisors_everything() {
        assert_eq!(seen(&user(7, Role::Agent)).await, [3, 5]);
        assert_eq!(seen(&user(8, Role::Agent)).await, [4, 5]);
        assert_eq!(
            seen(&user(1, Role::Supervisor)).await,
            [1, 2, 3, 4, 5, 6, 7]
        );
        assert_eq!(seen(&user(1, Role::Admin)).await, [1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn events_are_tagged_by_type() {
        let json = serde_json::to_value(&events()[4]).expect("serialises");
        assert_eq!(json["type"], "campaign-progress");
        assert_eq!(json["positive"], 3);
    }
}
