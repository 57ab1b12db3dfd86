//! `/api/campaigns`: campaigns, their status, their dispositions and the disposition
//! results agents record. Supervisors and admins manage them; an agent reads the campaigns
//! they are assigned to (others are 404 to them), their dispositions, and records and
//! reads their own results.

use super::body::{JsonBody, Page, PageQuery};
use super::{ApiError, AppState, CurrentUser, Event, now_ms};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use ramal_store::{
    Campaign, CampaignSpec, CampaignStatus, Disposition, DispositionResult, DispositionSpec,
    NewDispositionResult, Role,
};
use serde::Deserialize;

fn manages(user: &CurrentUser) -> bool {
    matches!(user.role, Role::Admin | Role::Supervisor)
}

/// Campaign `id` as `user` may see it: any for supervisors and admins; for an agent only
/// one they are assigned to (another is "not found", not "forbidden": its existence is
/// not theirs to know).
async fn visible(state: &AppState, user: &CurrentUser, id: i64) -> Result<Campaign, ApiError> {
    let campaign = state.store.campaign(id).await?;
    if manages(user) || state.store.is_assigned(id, user.id).await? {
        Ok(campaign)
    } else {
        Err(ApiError::NotFound(format!("no campaign `{id}`")))
    }
}

/// Tells `/api/events` where campaign `id` stands. A failure to count is logged, not
/// returned: the change it reports is already stored.
pub(super) async fn publish_progress(state: &AppState, campaign: &Campaign) {
    match state.store.positive_results(campaign.id).await {
        Ok(positive) => state.events.publish(Event::CampaignProgress {
            campaign_id: campaign.id,
            status: campaign.status.as_str().to_owned(),
            positive,
            objective: campaign.spec.objective,
            at: now_ms(),
        }),
        Err(error) => {
            tracing::warn!(campaign = campaign.id, %error, "campaign progress not published")
        }
    }
}

/// `GET /api/campaigns`: every campaign (an agent: theirs).
pub(super) async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<Campaign>>, ApiError> {
    let only = (!manages(&user)).then_some(user.id);
    Ok(Json(state.store.campaigns(only).await?))
}

/// `POST /api/campaigns`: a new campaign, as a draft.
pub(super) async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    JsonBody(spec): JsonBody<CampaignSpec>,
) -> Result<(StatusCode, Json<Campaign>), ApiError> {
    let campaign = state
        .store
        .create_campaign(&spec, Some(user.id), now_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(campaign)))
}

/// `GET /api/campaigns/{id}`.
pub(super) async fn get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Campaign>, ApiError> {
    Ok(Json(visible(&state, &user, id).await?))
}

/// `PUT /api/campaigns/{id}`.
pub(super) async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    JsonBody(spec): JsonBody<CampaignSpec>,
) -> Result<Json<Campaign>, ApiError> {
    Ok(Json(
        state
            .store
            .update_campaign(id, &spec, Some(user.id), now_ms())
            .await?,
    ))
}

/// `DELETE /api/campaigns/{id}`.
pub(super) async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .delete_campaign(id, Some(user.id), now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body of `POST /api/campaigns/{id}/status`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// The new status.
    pub status: CampaignStatus,
}

/// `POST /api/campaigns/{id}/status` `{status}`.
pub(super) async fn set_status(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    JsonBody(change): JsonBody<StatusChange>,
) -> Result<Json<Campaign>, ApiError> {
    let campaign = state
        .store
        .set_campaign_status(id, change.status, Some(user.id), now_ms())
        .await?;
    publish_progress(&state, &campaign).await;
    Ok(Json(campaign))
}

/// `GET /api/campaigns/{id}/dispositions`.
pub(super) async fn dispositions(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<Disposition>>, ApiError> {
    visible(&state, &user, id).await?;
    Ok(Json(state.store.dispositions(id).await?))
}

/// `POST /api/campaigns/{id}/dispositions`.
pub(super) async fn create_disposition(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    JsonBody(spec): JsonBody<DispositionSpec>,
) -> Result<(StatusCode, Json<Disposition>), ApiError> {
    let disposition = state
        .store
        .create_disposition(id, &spec, Some(user.id), now_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(disposition)))
}

/// `PUT /api/campaigns/{id}/dispositions/{disposition_id}`.
pub(super) async fn update_disposition(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, disposition_id)): Path<(i64, i64)>,
    JsonBody(spec): JsonBody<DispositionSpec>,
) -> Result<Json<Disposition>, ApiError> {
    Ok(Json(
        state
            .store
            .update_disposition(id, disposition_id, &spec, Some(user.id), now_ms())
            .await?,
    ))
}

/// `DELETE /api/campaigns/{id}/dispositions/{disposition_id}`.
pub(super) async fn delete_disposition(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, disposition_id)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .delete_disposition(id, disposition_id, Some(user.id), now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/campaigns/{id}/results?after=&limit=`: by id; an agent sees their own.
pub(super) async fn results(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<DispositionResult>>, ApiError> {
    let limit = page.limit()?;
    visible(&state, &user, id).await?;
    let only = (!manages(&user)).then_some(user.id);
    let items = state
        .store
        .disposition_results(id, only, page.after, limit)
        .await?;
    Ok(Json(Page::new(items, limit, |result| result.id)))
}

/// `POST /api/campaigns/{id}/results`: the caller dispositions a call. Agents must be
/// assigned to the campaign as agents.
pub(super) async fn record_result(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    JsonBody(result): JsonBody<NewDispositionResult>,
) -> Result<(StatusCode, Json<DispositionResult>), ApiError> {
    let campaign = visible(&state, &user, id).await?;
    let recorded = state
        .store
        .record_disposition_result(id, user.id, &result, now_ms())
        .await?;
    publish_progress(&state, &campaign).await;
    Ok((StatusCode::CREATED, Json(recorded)))
}
