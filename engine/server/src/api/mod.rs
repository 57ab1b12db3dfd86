//! The HTTP API (axum). `router(state)` builds it, so tests call it without a socket.

mod error;
mod flows;

pub use error::ApiError;

use crate::catalog::FlowCatalog;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::Html;
use axum::routing::{get, post};
use std::sync::Arc;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The loaded flows.
    pub catalog: Arc<FlowCatalog>,
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/flows", get(flows::list))
        .route("/api/flows/validate", post(flows::validate))
        .route("/api/flows/{id}", get(flows::get))
        .route("/api/flows/{id}/test", post(flows::test))
        .route("/api/schema/flow", get(flows::schema))
        .layer(DefaultBodyLimit::max(
            ramal_flow::document::MAX_DOCUMENT_BYTES,
        ))
        .with_state(state)
}

async fn index() -> Html<&'static str> {
    Html(concat!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Ramal</title></head>",
        "<body><h1>Ramal is running</h1>",
        "<p>The browser flow editor is not part of this build yet. The HTTP API is:</p><ul>",
        "<li><a href=\"/api/flows\">GET /api/flows</a> — the loaded flows and their diagnostics</li>",
        "<li>GET /api/flows/{id} — a flow document</li>",
        "<li>POST /api/flows/validate — validate a document (body: the JSON)</li>",
        "<li>POST /api/flows/{id}/test — run call scripts (body: the script text)</li>",
        "<li><a href=\"/api/schema/flow\">GET /api/schema/flow</a> — the JSON Schema</li>",
        "</ul></body></html>"
    ))
}
