//! `/api/flows`: the loaded flows, validation of a document, and running call scripts.

use super::{ApiError, AppState};
use crate::catalog::LoadedFlow;
use axum::Json;
use axum::extract::{Path, State};
use ramal_flow::sim::{Script, run_script};
use ramal_flow::{Diagnostic, compile_json};
use serde::Serialize;
use serde_json::{Value, json};

/// A flow in the list.
#[derive(Debug, Serialize)]
pub struct FlowSummary {
    id: String,
    name: Option<String>,
    version: Option<u32>,
    file: String,
    nodes: Option<usize>,
    compiled: bool,
    errors: usize,
    warnings: usize,
}

pub async fn list(State(state): State<AppState>) -> Json<Vec<FlowSummary>> {
    Json(
        state
            .catalog
            .flows
            .iter()
            .map(|(id, flow)| FlowSummary {
                id: id.clone(),
                name: flow.document.as_ref().map(|d| d.name.clone()),
                version: flow.document.as_ref().map(|d| d.version),
                file: flow.file.clone(),
                nodes: flow.document.as_ref().map(|d| d.nodes.len()),
                compiled: flow.compiled.is_some(),
                errors: flow.diagnostics.iter().filter(|d| d.is_error()).count(),
                warnings: flow.diagnostics.iter().filter(|d| !d.is_error()).count(),
            })
            .collect(),
    )
}

fn find<'a>(state: &'a AppState, id: &str) -> Result<&'a LoadedFlow, ApiError> {
    state
        .catalog
        .flows
        .get(id)
        .ok_or_else(|| ApiError::NotFound(format!("no flow `{id}`")))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let flow = find(&state, &id)?;
    Ok(Json(
        json!({ "document": flow.document, "diagnostics": flow.diagnostics, "file": flow.file }),
    ))
}

/// The result of validating a document: data, whatever the verdict.
#[derive(Debug, Serialize)]
pub struct Validation {
    ok: bool,
    diagnostics: Vec<Diagnostic>,
}

pub async fn validate(State(state): State<AppState>, body: String) -> Json<Validation> {
    let compilation = compile_json(&body, &state.catalog.environment());
    Json(Validation {
        ok: !compilation.has_errors(),
        diagnostics: compilation.diagnostics,
    })
}

pub async fn test(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: String,
) -> Result<Json<Value>, ApiError> {
    let flow = find(&state, &id)?;
    let compiled = flow.compiled.as_ref().ok_or_else(|| ApiError::BadRequest {
        code: "flow.not_compiled",
        message: format!("flow `{id}` has errors; see GET /api/flows/{id}"),
    })?;
    let script = Script::parse(&body).map_err(|error| ApiError::BadRequest {
        code: "script.syntax",
        message: error.to_string(),
    })?;
    let reports = run_script(compiled, &script);
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

pub async fn schema() -> Json<Value> {
    Json(ramal_flow::schema::document_schema())
}
