//! `/api/calls` — call records with the path each call took — and `/api/routes` — which
//! flow answers a number (supervisor and admin).

use super::{ApiError, AppState, CurrentUser, now_ms, parse_json};
use axum::Json;
use axum::extract::{Path, Query, State};
use ramal_store::CallRecord;
use serde::Deserialize;
use serde_json::{Value, json};

/// The most records one request returns.
const MAX_LIMIT: i64 = 500;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    limit: Option<i64>,
}

/// `GET /api/calls?limit=N`: the newest calls first (default 50, at most 500).
pub(super) async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<CallRecord>>, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest {
            code: "query.limit",
            message: format!("limit must be 1 to {MAX_LIMIT}"),
        });
    }
    Ok(Json(state.store.recent_calls(limit).await?))
}

/// `GET /api/calls/{id}`: one call with its trace.
pub(super) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CallRecord>, ApiError> {
    Ok(Json(state.store.call_record(&id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetRoute {
    flow_id: String,
}

/// `PUT /api/routes/{number}` `{flow_id}`: calls to `number` run that flow.
pub(super) async fn set_route(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(number): Path<String>,
    body: String,
) -> Result<Json<Value>, ApiError> {
    let request: SetRoute = parse_json(&body)?;
    state
        .store
        .set_inbound_route(&number, &request.flow_id, Some(user.id), now_ms())
        .await?;
    Ok(Json(
        json!({ "number": number, "flow_id": request.flow_id }),
    ))
}
