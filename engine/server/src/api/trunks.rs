//! `/api/trunks` and `/api/queues` (supervisor and admin): outbound routes and queues.
//! A trunk's password is accepted, never returned.

use super::body::JsonBody;
use super::{ApiError, AppState, CurrentUser, now_ms};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ramal_store::{Queue, QueueSpec, Trunk, TrunkSpec};

/// `GET /api/trunks`.
pub(super) async fn list(State(state): State<AppState>) -> Result<Json<Vec<Trunk>>, ApiError> {
    Ok(Json(state.store.trunks().await?))
}

/// `POST /api/trunks`.
pub(super) async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    JsonBody(spec): JsonBody<TrunkSpec>,
) -> Result<(StatusCode, Json<Trunk>), ApiError> {
    let trunk = state
        .store
        .create_trunk(&spec, Some(user.id), now_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(trunk)))
}

/// `GET /api/trunks/{id}`.
pub(super) async fn get(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Trunk>, ApiError> {
    Ok(Json(state.store.trunk(id).await?))
}

/// `PUT /api/trunks/{id}`.
pub(super) async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    JsonBody(spec): JsonBody<TrunkSpec>,
) -> Result<Json<Trunk>, ApiError> {
    Ok(Json(
        state
            .store
            .update_trunk(id, &spec, Some(user.id), now_ms())
            .await?,
    ))
}

/// `DELETE /api/trunks/{id}`.
pub(super) async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .delete_trunk(id, Some(user.id), now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/queues`.
pub(super) async fn list_queues(
    State(state): State<AppState>,
) -> Result<Json<Vec<Queue>>, ApiError> {
    Ok(Json(state.store.queues().await?))
}

/// `POST /api/queues`.
pub(super) async fn create_queue(
    State(state): State<AppState>,
    user: CurrentUser,
    JsonBody(spec): JsonBody<QueueSpec>,
) -> Result<(StatusCode, Json<Queue>), ApiError> {
    let queue = state
        .store
        .create_queue(&spec, Some(user.id), now_ms())
        .await?;
    state.reload_queues().await;
    Ok((StatusCode::CREATED, Json(queue)))
}

/// `GET /api/queues/{id}`.
pub(super) async fn get_queue(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Queue>, ApiError> {
    Ok(Json(state.store.queue(id).await?))
}

/// `PUT /api/queues/{id}`.
pub(super) async fn update_queue(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    JsonBody(spec): JsonBody<QueueSpec>,
) -> Result<Json<Queue>, ApiError> {
    let queue = state
        .store
        .update_queue(id, &spec, Some(user.id), now_ms())
        .await?;
    state.reload_queues().await;
    Ok(Json(queue))
}

/// `DELETE /api/queues/{id}`.
pub(super) async fn delete_queue(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .delete_queue(id, Some(user.id), now_ms())
        .await?;
    state.reload_queues().await;
    Ok(StatusCode::NO_CONTENT)
}
