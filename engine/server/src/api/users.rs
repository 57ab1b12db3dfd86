//! `/api/users` (admin only): list and create users.

use super::{ApiError, AppState, CurrentUser, now_ms, parse_json};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ramal_store::{NewUser, Role, User};
use serde::Deserialize;

/// A user to create.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateUser {
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

/// The password a user's SIP phone registers with.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SipPassword {
    password: String,
}

/// The shortest SIP password accepted (phones store it; digest is only as strong as it).
const MIN_SIP_PASSWORD: usize = 10;

/// `PUT /api/users/{id}/sip-password`: `{password}` → 204. Stored as the digest HA1s for
/// the server's SIP realm; the running registrar gets them at once.
pub(super) async fn set_sip_password(
    State(state): State<AppState>,
    admin: CurrentUser,
    Path(id): Path<i64>,
    body: String,
) -> Result<StatusCode, ApiError> {
    let request: SipPassword = parse_json(&body)?;
    let length = request.password.chars().count();
    if !(MIN_SIP_PASSWORD..=128).contains(&length) {
        return Err(ApiError::Invalid(vec![ramal_store::FieldError {
            path: "password".into(),
            code: "password.length".into(),
            message: format!("a SIP password is {MIN_SIP_PASSWORD} to 128 characters"),
        }]));
    }
    let user = state
        .store
        .users()
        .await?
        .into_iter()
        .find(|user| user.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("no user `{id}`")))?;
    let ramal_sip::Credential::Ha1 {
        md5: Some(md5),
        sha256: Some(sha256),
    } = ramal_sip::Credential::hashed(&user.username, &state.sip_realm, &request.password)
    else {
        return Err(ApiError::Internal("digest hashing gave no HA1".into()));
    };
    state
        .store
        .set_sip_account(
            id,
            &state.sip_realm,
            &md5,
            &sha256,
            Some(admin.id),
            now_ms(),
        )
        .await?;
    if let Some(phones) = &state.phones {
        crate::phones::refresh(&state.store, phones, &state.sip_realm).await;
    }
    tracing::info!(by = admin.id, user = id, "SIP password set");
    Ok(StatusCode::NO_CONTENT)
}
