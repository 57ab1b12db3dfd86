//! `/api/tokens`: API tokens for integrations (admin only). A token is `ramal_` and 32
//! random bytes in hex; the store keeps its SHA-256, so the secret is shown once, in the
//! answer to its creation.

use super::session::sha256_hex;
use super::{ApiError, AppState, CurrentUser, now_ms, parse_json};
use crate::bootstrap::random_token;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ramal_store::{ApiToken, NewApiToken, Role};
use serde::Deserialize;
use serde_json::{Value, json};

/// What every token starts with, so secret scanners and people recognise one.
const TOKEN_PREFIX: &str = "ramal_";

/// An API token to create.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewToken {
    name: String,
    role: Role,
    /// The user it acts as; default: the caller.
    user_id: Option<i64>,
}

/// `GET /api/tokens`.
pub(super) async fn list(State(state): State<AppState>) -> Result<Json<Vec<ApiToken>>, ApiError> {
    Ok(Json(state.store.tokens().await?))
}

/// `POST /api/tokens`: `{name, role, user_id?}` → the token, with its secret this once.
pub(super) async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    body: String,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let request: NewToken = parse_json(&body)?;
    let secret = format!(
        "{TOKEN_PREFIX}{}",
        random_token(32).map_err(|error| ApiError::Internal(error.to_string()))?
    );
    let new = NewApiToken {
        name: request.name,
        user_id: request.user_id.unwrap_or(user.id),
        role: request.role,
        token_hash: sha256_hex(&secret),
    };
    let token = state
        .store
        .create_token(&new, Some(user.id), now_ms())
        .await?;
    let mut body = json!(token);
    body["token"] = json!(secret);
    Ok((StatusCode::CREATED, Json(body)))
}

/// `DELETE /api/tokens/{id}`: revokes it; it stops working at once.
pub(super) async fn revoke(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no api token `{id}`")))?;
    state
        .store
        .revoke_token(id, Some(user.id), now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
