//! `/api/calls` — call records with the path each call took — and `/api/routes` — which
//! flow answers a number (supervisor and admin).

use super::{ApiError, AppState, CurrentUser, now_ms, parse_json};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue};
use ramal_store::CallRecord;
use serde::Deserialize;
use serde_json::{Value, json};

/// The most records one request returns.
const MAX_LIMIT: i64 = 500;

/// `GET /api/calls`' query.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    limit: Option<i64>,
    after: Option<String>,
    flow_id: Option<String>,
}

/// The header that carries the cursor of the next page.
const NEXT_AFTER: &str = "x-next-after";

/// `GET /api/calls?limit=N&after=CURSOR&flow_id=F`: the newest calls first (default 50,
/// at most 500). When the page is full, the `x-next-after` header holds the cursor of the
/// next one (`started_at.id` of the last call); the body stays a plain array.
pub(super) async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<(HeaderMap, Json<Vec<CallRecord>>), ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest {
            code: "query.limit",
            message: format!("limit must be 1 to {MAX_LIMIT}"),
        });
    }
    let after = match &query.after {
        None => None,
        Some(cursor) => Some(
            cursor
                .split_once('.')
                .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id)))
                .ok_or_else(|| ApiError::BadRequest {
                    code: "query.after",
                    message: format!("`{cursor}` is not a cursor from `{NEXT_AFTER}`"),
                })?,
        ),
    };
    let calls = state
        .store
        .calls_page(after, query.flow_id.as_deref(), limit)
        .await?;
    let mut headers = HeaderMap::new();
    if i64::try_from(calls.len()).is_ok_and(|count| count == limit)
        && let Some(last) = calls.last()
        && let Ok(value) = HeaderValue::from_str(&format!("{}.{}", last.started_at, last.id))
    {
        headers.insert(NEXT_AFTER, value);
    }
    Ok((headers, Json(calls)))
}

/// `GET /api/calls/{id}`: one call with its trace.
pub(super) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CallRecord>, ApiError> {
    Ok(Json(state.store.call_record(&id).await?))
}

/// The flow a number's calls run.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SetRoute {
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
