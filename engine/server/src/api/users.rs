//! `/api/users` (admin only): list and create users.

use super::{ApiError, AppState, CurrentUser, now_ms, parse_json};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ramal_store::{NewUser, Role, User};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    username: String,
    #[serde(default)]
    display_name: String,
    password: String,
    role: Role,
}

/// `GET /api/users`.
pub(super) async fn list(State(state): State<AppState>) -> Result<Json<Vec<User>>, ApiError> {
    Ok(Json(state.store.users().await?))
}

/// `POST /api/users`: `{username, display_name, password, role}` → the user.
pub(super) async fn create(
    State(state): State<AppState>,
    admin: CurrentUser,
    body: String,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let request: CreateUser = parse_json(&body)?;
    let new = NewUser {
        display_name: if request.display_name.trim().is_empty() {
            request.username.clone()
        } else {
            request.display_name
        },
        username: request.username,
        password: request.password,
        role: request.role,
    };
    let user = state.store.create_user(&new, now_ms()).await?;
    tracing::info!(
        by = admin.id,
        user = user.id,
        role = user.role.as_str(),
        "user created"
    );
    Ok((StatusCode::CREATED, Json(user)))
}
