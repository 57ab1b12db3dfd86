//! The HTTP API, called through the router without a socket, and `run` on a real loopback
//! socket with a shutdown signal.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use ramal::api::{AppState, router};
use ramal::catalog::FlowCatalog;
use ramal::config::Config;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use tower::ServiceExt;

fn flows_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../flows")
}

fn app() -> axum::Router {
    let catalog = FlowCatalog::load(&flows_dir()).expect("the example flows load");
    router(AppState {
        catalog: Arc::new(catalog),
    })
}

async fn call(method: &str, uri: &str, body: &str) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::from(body.to_owned()))
        .expect("a valid request");
    let response = app().oneshot(request).await.expect("the router answers");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
}

#[tokio::test]
async fn the_example_flows_are_listed_compiled_and_clean() {
    let (status, body) = call("GET", "/api/flows", "").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["campaign-answer", "cpf-check", "reception", "survey"]);
    for flow in body.as_array().unwrap() {
        assert_eq!(flow["compiled"], true, "{flow}");
        assert_eq!(flow["errors"], 0, "{flow}");
    }
}

#[tokio::test]
async fn a_flow_document_is_served_and_an_unknown_one_is_a_404_with_a_code() {
    let (status, body) = call("GET", "/api/flows/cpf-check", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["document"]["schema"], "ramal.flow/v1");
    let (status, body) = call("GET", "/api/flows/nope", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn validation_returns_every_diagnostic_as_data() {
    let document = json!({"schema": "ramal.flow/v1", "id": "x", "name": "x", "nodes": [
        {"id": "s", "kind": "start", "ports": {"next": "sub"}},
        {"id": "sub", "kind": "subflow", "params": {"flow": "survey"}, "ports": {"done": "c"}},
        {"id": "c", "kind": "condition", "params": {"expr": "nope > 1"}, "ports": {"true": "gone"}}
    ]});
    let (status, body) = call("POST", "/api/flows/validate", &document.to_string()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["ok"], false);
    let codes: Vec<&str> = body["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"expr.unknown_variable"), "{codes:?}");
    assert!(codes.contains(&"port.dangling"), "{codes:?}");
    assert!(
        !codes.contains(&"subflow.unknown"),
        "the loaded flows are available as subflows: {codes:?}"
    );
    let (_, body) = call("POST", "/api/flows/validate", "{not json").await;
    assert_eq!(body["diagnostics"][0]["code"], "document.syntax");
}

#[tokio::test]
async fn call_scripts_run_against_a_loaded_flow() {
    let script = "call \"menu\"\n  expect play welcome\n  press 1\n  expect enqueue sales\n\ncall \"wrong\"\n  expect play nothing-like-this\n";
    let (status, body) = call("POST", "/api/flows/reception/test", script).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["passed"].as_u64(), body["failed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(body["calls"][1]["failure"]["line"], 7);
    assert!(!body["calls"][0]["trace"].as_array().unwrap().is_empty());
    let (status, body) = call("POST", "/api/flows/reception/test", "press 1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "script.syntax");
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let huge = "x".repeat(ramal_flow::document::MAX_DOCUMENT_BYTES + 1);
    let (status, _) = call("POST", "/api/flows/validate", &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn the_server_runs_on_a_loopback_socket_and_stops_on_shutdown() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = Config {
        http: address,
        flows: flows_dir(),
        data_dir: std::env::temp_dir().join("ramal-api-test-unused"),
        database_url: None,
    };
    let server = tokio::spawn(ramal::server::run(config, listener, async {
        let _ = stopped.await;
    }));
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("ok"), "{response}");
    stop.send(()).unwrap();
    let result = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
    assert!(
        matches!(result, Ok(Ok(Ok(())))),
        "the server stops cleanly: {result:?}"
    );
}
