//! `/api/flows`: flows in the store — a draft being edited and numbered published
//! versions. Documents are checked against the *published* flows (what `subflow` nodes
//! call at run time). A draft may be saved with errors (the editor saves work in
//! progress); it is published only without them. Saves and publishes are audited with the
//! caller's id.

use super::{ApiError, AppState, CurrentUser, now_ms};
use axum::Json;
use axum::extract::{Path, Query, State};
use ramal_flow::sim::{Script, run_script};
use ramal_flow::{Compilation, Diagnostic, FlowDocument, compile, compile_json};
use ramal_store::{Store, StoreError};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no flow `{id}`"))
}

/// A flow's document as stored: version `Some(n)` for a published one, `None` for the draft.
struct Stored {
    text: String,
    version: Option<i64>,
}

/// Version `version` of flow `id`, or else its draft, or else its latest published version.
async fn stored(store: &Store, id: &str, version: Option<i64>) -> Result<Stored, ApiError> {
    if let Some(version) = version {
        let found = store.flow_version(id, version).await?;
        return Ok(Stored {
            text: found.document,
            version: Some(version),
        });
    }
    match store.draft(id).await {
        Ok(text) => Ok(Stored {
            text,
            version: None,
        }),
        Err(StoreError::NotFound { .. }) => match store.published(id).await {
            Ok(found) => Ok(Stored {
                text: found.document,
                version: Some(found.version),
            }),
            Err(StoreError::NotFound { .. }) => Err(not_found(id)),
            Err(error) => Err(error.into()),
        },
        Err(error) => Err(error.into()),
    }
}

/// A flow in the list.
#[derive(Debug, Serialize)]
pub struct FlowSummary {
    id: String,
    name: String,
    published_version: Option<i64>,
    has_draft: bool,
    /// Of the draft when there is one, else of the latest published version.
    errors: usize,
    warnings: usize,
}

/// `GET /api/flows`.
pub(super) async fn list(
    State(state): State<AppState>,
) -> Result<Json<Vec<FlowSummary>>, ApiError> {
    let listed = state.store.flows_with_documents().await?;
    let summaries: Vec<_> = listed.iter().map(|(summary, _)| summary.clone()).collect();
    let environment = state
        .flow_cache
        .environment_of(&state.store, &summaries)
        .await?;
    let mut flows = Vec::new();
    for (summary, document) in listed {
        let (errors, warnings) =
            document.map_or((0, 0), |text| state.flow_cache.counts(&environment, &text));
        flows.push(FlowSummary {
            id: summary.id,
            name: summary.name,
            published_version: summary.published_version,
            has_draft: summary.has_draft,
            errors,
            warnings,
        });
    }
    Ok(Json(flows))
}

/// `GET /api/flows/{id}[?version=N]`: the document with its diagnostics.
pub(super) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let version = match query.get("version") {
        None => None,
        Some(text) => Some(text.parse::<i64>().map_err(|_| ApiError::BadRequest {
            code: "query.version",
            message: format!("`version` must be a number, not `{text}`"),
        })?),
    };
    let summary = state
        .store
        .flows()
        .await?
        .into_iter()
        .find(|summary| summary.id == id)
        .ok_or_else(|| not_found(&id))?;
    let current = stored(&state.store, &id, version).await?;
    let document: Value = serde_json::from_str(&current.text).map_err(|error| {
        ApiError::Internal(format!("flow `{id}` is stored as bad JSON: {error}"))
    })?;
    let compilation = compile_json(
        &current.text,
        &*state.flow_cache.environment(&state.store).await?,
    );
    Ok(Json(json!({
        "id": id,
        "name": summary.name,
        "draft": current.version.is_none(),
        "version": current.version,
        "published_version": summary.published_version,
        "document": document,
        "diagnostics": compilation.diagnostics,
    })))
}

/// Reads a document; one that cannot be read at all is a 422 with the diagnostic.
fn read_document(text: &str) -> Result<FlowDocument, ApiError> {
    FlowDocument::from_json(text).map_err(|diagnostic| ApiError::Unprocessable {
        code: "flow.unreadable",
        message: format!("the flow cannot be read: {}", diagnostic.message),
        diagnostics: vec![diagnostic],
    })
}

/// `PUT /api/flows/{id}`: saves the draft, errors and all, unless it cannot be read, its
/// id is not `id`, or the id is not a valid flow id.
pub(super) async fn save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    body: String,
) -> Result<Json<Value>, ApiError> {
    let document = read_document(&body)?;
    if document.id != id {
        return Err(ApiError::Unprocessable {
            code: "flow.id_mismatch",
            message: format!("the document's id is `{}`, the URL's `{id}`", document.id),
            diagnostics: Vec::new(),
        });
    }
    let _writing = state.flow_writes.lock().await;
    let compilation = compile(
        &document,
        &*state.flow_cache.environment(&state.store).await?,
    );
    let bad_id: Vec<Diagnostic> = compilation
        .diagnostics
        .iter()
        .filter(|d| d.code == "flow.bad_id")
        .cloned()
        .collect();
    if !bad_id.is_empty() {
        return Err(ApiError::Unprocessable {
            code: "flow.bad_id",
            message: format!("`{id}` is not a valid flow id"),
            diagnostics: bad_id,
        });
    }
    state
        .store
        .save_draft(&id, &document.name, &body, Some(user.id), now_ms())
        .await?;
    Ok(Json(json!({
        "id": id,
        "saved": true,
        "ok": !compilation.has_errors(),
        "diagnostics": compilation.diagnostics,
    })))
}

/// `POST /api/flows/{id}/publish`: the draft becomes the next version, if it has no errors.
pub(super) async fn publish(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let _writing = state.flow_writes.lock().await;
    let draft = match state.store.draft(&id).await {
        Ok(draft) => draft,
        Err(StoreError::NotFound { .. }) => return Err(not_found(&id)),
        Err(error) => return Err(error.into()),
    };
    let compilation = compile_json(&draft, &*state.flow_cache.environment(&state.store).await?);
    if compilation.has_errors() {
        let (errors, _) = super::flow_cache::counts(&compilation.diagnostics);
        return Err(ApiError::Unprocessable {
            code: "flow.invalid",
            message: format!("flow `{id}` has {errors} error(s); fix them before publishing"),
            diagnostics: compilation.diagnostics,
        });
    }
    let version = state.store.publish(&id, Some(user.id), now_ms()).await?;
    Ok(Json(json!({
        "id": id,
        "version": version,
        "diagnostics": compilation.diagnostics,
    })))
}

/// The result of validating a document: data, whatever the verdict.
#[derive(Debug, Serialize)]
pub struct Validation {
    ok: bool,
    diagnostics: Vec<Diagnostic>,
}

/// `POST /api/flows/validate`.
pub(super) async fn validate(
    State(state): State<AppState>,
    body: String,
) -> Result<Json<Validation>, ApiError> {
    let compilation: Compilation =
        compile_json(&body, &*state.flow_cache.environment(&state.store).await?);
    Ok(Json(Validation {
        ok: !compilation.has_errors(),
        diagnostics: compilation.diagnostics,
    }))
}

/// `POST /api/flows/{id}/test`: runs call scripts (the body) against the draft.
pub(super) async fn test(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: String,
) -> Result<Json<Value>, ApiError> {
    let current = stored(&state.store, &id, None).await?;
    let compilation = compile_json(
        &current.text,
        &*state.flow_cache.environment(&state.store).await?,
    );
    let Some(flow) = compilation.flow else {
        return Err(ApiError::Unprocessable {
            code: "flow.not_compiled",
            message: format!("flow `{id}` has errors; fix them before testing"),
            diagnostics: compilation.diagnostics,
        });
    };
    let script = Script::parse(&body).map_err(|error| ApiError::BadRequest {
        code: "script.syntax",
        message: error.to_string(),
    })?;
    let reports = run_script(&flow, &script);
    let passed = reports.iter().filter(|report| report.passed()).count();
    let calls: Vec<Value> = reports
        .iter()
        .map(|report| {
            json!({
                "name": report.name, "line": report.line, "passed": report.passed(),
                "failure": report.failure.as_ref().map(|(line, message)| json!({"line": line, "message": message})),
                "transcript": report.transcript, "trace": report.trace,
            })
        })
        .collect();
    Ok(Json(
        json!({ "passed": passed, "failed": reports.len() - passed, "calls": calls }),
    ))
}

/// `GET /api/schema/flow`.
pub(super) async fn schema() -> Json<Value> {
    Json(ramal_flow::schema::document_schema())
}
