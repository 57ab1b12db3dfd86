//! `/api/agent`: the logged-in user as an agent — log in (with a registered SIP phone), log
//! out, pause with a configured reason, unpause, the call they are on or wrapping up (with
//! the campaign's script, the contacts that have the caller's number, the dispositions), and
//! its disposition, which ends wrap-up. `/api/agents`: every agent and queue, for
//! supervisors. An agent's id in the ACD is their user name (their phone's SIP user).
//!
//! The ACD lives in the call engine: with `--sip off` these routes answer 503.

use super::body::JsonBody;
use super::{ApiError, AppState, CurrentUser, now_ms};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ramal_call::{AgentAction, AgentError, AgentView, Agents, QueueStatus};
use ramal_store::{Campaign, Contact, Disposition, DispositionResult, NewDispositionResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// An agent as `GET /api/agent` shows them.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AgentStatus {
    /// The agent's user name (their SIP user).
    pub agent: String,
    /// `logged-out`, `ready`, `paused`, `reserved`, `ringing`, `on-call` or `wrap-up`.
    pub state: String,
    /// Why they are paused.
    pub reason: Option<String>,
    /// Since when, Unix ms.
    pub since: i64,
    /// Calls answered since the call engine started.
    pub answered: u32,
    /// The reasons they may pause with.
    pub pause_reasons: Vec<String>,
    /// The call offered, in progress or being wrapped up.
    pub call: Option<AgentCall>,
}

/// The call an agent is on, with what they need to handle it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AgentCall {
    /// The call (its record's id; dispositions name it).
    pub call_id: String,
    /// Who called.
    pub caller: String,
    /// The number dialled.
    pub callee: String,
    /// The queue it waited in.
    pub queue: String,
    /// The flow that queued it.
    pub flow_id: String,
    /// The flow's variables when it was queued (what the caller typed, say).
    pub variables: Value,
    /// When it was queued, Unix ms.
    pub queued_at: i64,
    /// The campaign the call is worked under, if the flow named one that exists.
    pub campaign: Option<AgentCampaign>,
    /// The campaign list's contacts with the caller's number.
    pub contacts: Vec<Contact>,
    /// The campaign's dispositions and their forms.
    pub dispositions: Vec<Disposition>,
}

/// What an agent sees of a campaign.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AgentCampaign {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The script to read.
    pub speech: String,
    /// The external CRM page for the call, if the campaign uses one.
    pub external_url: Option<String>,
}

/// Every agent and queue, for `GET /api/agents`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AgentsOverview {
    /// Every agent the ACD knows.
    pub agents: Vec<AgentSummary>,
    /// Every queue's wait.
    pub queues: Vec<QueueSummary>,
}

/// One agent in the overview.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AgentSummary {
    /// User name.
    pub agent: String,
    /// State.
    pub state: String,
    /// Why paused.
    pub reason: Option<String>,
    /// Since when, Unix ms.
    pub since: i64,
    /// Calls answered.
    pub answered: u32,
    /// The call they are on, if any.
    pub call_id: Option<String>,
}

/// One queue in the overview.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct QueueSummary {
    /// The queue's name.
    pub queue: String,
    /// Callers waiting.
    pub waiting: usize,
    /// The longest wait now, ms.
    pub longest_wait_ms: u64,
}

/// The body of `POST /api/agent/pause`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PauseBody {
    /// One of the configured reasons (`GET /api/agent` lists them).
    pub reason: String,
}

/// The body of `POST /api/agent/disposition`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentDisposition {
    /// One of the call's campaign's dispositions.
    pub disposition_id: i64,
    /// The contact the call was about, if known.
    #[serde(default)]
    pub contact_id: Option<i64>,
    /// The form's values, by field name.
    #[serde(default)]
    pub values: BTreeMap<String, Value>,
}

fn agents(state: &AppState) -> Result<&Agents, ApiError> {
    state.agents.as_ref().ok_or_else(|| {
        ApiError::Unavailable("the call engine is not running (`--sip off`): no agents".into())
    })
}

impl From<AgentError> for ApiError {
    fn from(error: AgentError) -> Self {
        match error {
            AgentError::Stopped => ApiError::Unavailable(error.to_string()),
            AgentError::Refused(ramal_acd::AcdError::UnknownPauseReason(_)) => {
                ApiError::Invalid(vec![ramal_store::FieldError {
                    path: "reason".into(),
                    code: "unknown_reason".into(),
                    message: error.to_string(),
                }])
            }
            AgentError::NoPhone(_) | AgentError::Refused(_) => {
                ApiError::Conflict(error.to_string())
            }
        }
    }
}

/// `GET /api/agent`.
pub(super) async fn me(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<AgentStatus>, ApiError> {
    let agents = agents(&state)?;
    let view = agents.agent(&user.username).await?;
    Ok(Json(status(&state, &user, view).await?))
}

/// `POST /api/agent/login`.
pub(super) async fn login(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<AgentStatus>, ApiError> {
    act(&state, &user, AgentAction::LogIn).await
}

/// `POST /api/agent/logout`.
pub(super) async fn logout(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<AgentStatus>, ApiError> {
    act(&state, &user, AgentAction::LogOut).await
}

/// `POST /api/agent/pause`.
pub(super) async fn pause(
    State(state): State<AppState>,
    user: CurrentUser,
    JsonBody(body): JsonBody<PauseBody>,
) -> Result<Json<AgentStatus>, ApiError> {
    act(
        &state,
        &user,
        AgentAction::Pause {
            reason: body.reason,
        },
    )
    .await
}

/// `POST /api/agent/unpause`.
pub(super) async fn unpause(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<AgentStatus>, ApiError> {
    act(&state, &user, AgentAction::Unpause).await
}

async fn act(
    state: &AppState,
    user: &CurrentUser,
    action: AgentAction,
) -> Result<Json<AgentStatus>, ApiError> {
    let view = agents(state)?.act(&user.username, action).await?;
    Ok(Json(status(state, user, view).await?))
}

/// `POST /api/agent/disposition`: stores the result against the agent's call and its
/// campaign, then ends wrap-up (a disposition saved during the call is kept; wrap-up then
/// runs its course).
pub(super) async fn disposition(
    State(state): State<AppState>,
    user: CurrentUser,
    JsonBody(body): JsonBody<AgentDisposition>,
) -> Result<(StatusCode, Json<DispositionResult>), ApiError> {
    let agents = agents(&state)?;
    let view = agents.agent(&user.username).await?;
    let Some(call) = view
        .call
        .filter(|_| matches!(view.state, "on-call" | "wrap-up"))
    else {
        return Err(ApiError::Conflict(format!(
            "you have no call to disposition (you are {})",
            view.state
        )));
    };
    let Some(campaign) = campaign_of(&state, call.campaign.as_deref()).await? else {
        return Err(ApiError::Conflict(
            "this call was queued without a campaign (name one on the queue node): it has no dispositions"
                .into(),
        ));
    };
    let recorded = state
        .store
        .record_disposition_result(
            campaign.id,
            user.id,
            &NewDispositionResult {
                call_id: call.call_id,
                disposition_id: body.disposition_id,
                contact_id: body.contact_id,
                values: body.values,
            },
            now_ms(),
        )
        .await?;
    super::campaigns::publish_progress(&state, &campaign).await;
    agents
        .act(&user.username, AgentAction::FinishWrapUp)
        .await?;
    Ok((StatusCode::CREATED, Json(recorded)))
}

/// `GET /api/agents`.
pub(super) async fn all(State(state): State<AppState>) -> Result<Json<AgentsOverview>, ApiError> {
    let agents = agents(&state)?;
    let views = agents.all().await?;
    let queues = agents.queues().await?;
    Ok(Json(AgentsOverview {
        agents: views
            .into_iter()
            .map(|view| AgentSummary {
                agent: view.agent,
                state: view.state.to_owned(),
                reason: view.reason,
                since: view.since,
                answered: view.answered,
                call_id: view.call.map(|call| call.call_id),
            })
            .collect(),
        queues: queues.into_iter().map(queue_summary).collect(),
    }))
}

fn queue_summary(queue: QueueStatus) -> QueueSummary {
    QueueSummary {
        queue: queue.queue,
        waiting: queue.waiting,
        longest_wait_ms: queue.longest_wait_ms,
    }
}

/// The campaign named `name`, if there is one.
async fn campaign_of(state: &AppState, name: Option<&str>) -> Result<Option<Campaign>, ApiError> {
    let Some(name) = name else {
        return Ok(None);
    };
    Ok(state.store.campaign_named(name).await?)
}

async fn status(
    state: &AppState,
    user: &CurrentUser,
    view: AgentView,
) -> Result<AgentStatus, ApiError> {
    let call = match view.call {
        None => None,
        Some(call) => {
            let campaign = campaign_of(state, call.campaign.as_deref()).await?;
            // An agent sees only campaigns they are assigned to.
            let campaign = match campaign {
                Some(campaign)
                    if user.role != ramal_store::Role::Agent
                        || state.store.is_assigned(campaign.id, user.id).await? =>
                {
                    Some(campaign)
                }
                _ => None,
            };
            let (contacts, dispositions) = match &campaign {
                Some(campaign) => (
                    match campaign.spec.contact_list_id {
                        // A caller ID that is no phone number of the list's country
                        // (`anonymous`) finds nobody.
                        Some(list) => {
                            match state.store.find_contacts_by_phone(list, &call.caller).await {
                                Err(ramal_store::StoreError::Validation(_)) => Vec::new(),
                                found => found?,
                            }
                        }
                        None => Vec::new(),
                    },
                    state.store.dispositions(campaign.id).await?,
                ),
                None => (Vec::new(), Vec::new()),
            };
            Some(AgentCall {
                call_id: call.call_id,
                caller: call.caller,
                callee: call.callee,
                queue: call.queue,
                flow_id: call.flow_id,
                variables: call.variables,
                queued_at: call.queued_at,
                campaign: campaign.map(|campaign| AgentCampaign {
                    id: campaign.id,
                    name: campaign.spec.name,
                    speech: campaign.spec.speech,
                    external_url: campaign.spec.external_url,
                }),
                contacts,
                dispositions,
            })
        }
    };
    Ok(AgentStatus {
        agent: view.agent,
        state: view.state.to_owned(),
        reason: view.reason,
        since: view.since,
        answered: view.answered,
        pause_reasons: agents(state)?.pause_reasons().to_vec(),
        call,
    })
}
