//! `/api/nodes` — custom node modules (WebAssembly components): the editor's palette reads
//! them (supervisor, admin); uploading one is an admin's decision, since a module is code
//! that runs on every call that reaches it (sandboxed, but with HTTP to the allowlist).

use super::{ApiError, AppState, CurrentUser, now_ms};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use ramal_call::InstallError;
use ramal_store::{NodeModule, StoreError};

/// `GET /api/nodes`: every installed module with its description (ports, params schema).
pub(super) async fn list(State(state): State<AppState>) -> Result<Json<Vec<NodeModule>>, ApiError> {
    Ok(Json(state.store.node_modules().await?))
}

/// `POST /api/nodes` (body: the component's bytes): checks and installs a module.
pub(super) async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Bytes,
) -> Result<(StatusCode, Json<NodeModule>), ApiError> {
    if body.is_empty() {
        return Err(ApiError::BadRequest {
            code: "body.empty",
            message: "send the component's bytes (application/wasm) as the body".into(),
        });
    }
    let nodes = state.nodes()?;
    match nodes.install(body.to_vec(), Some(user.id), now_ms()).await {
        Ok(module) => Ok((StatusCode::CREATED, Json(module))),
        Err(InstallError::Load(error)) => Err(ApiError::Unprocessable {
            code: "node.invalid",
            message: error.to_string(),
            diagnostics: Vec::new(),
        }),
        Err(InstallError::Store(StoreError::Conflict(message))) => Err(ApiError::Conflict(message)),
        Err(InstallError::Store(error)) => Err(error.into()),
        Err(InstallError::Join) => Err(ApiError::Internal("the module check panicked".into())),
    }
}
