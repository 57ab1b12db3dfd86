//! `/api/nodes`: an admin uploads a real component (`cpf-check`, built by
//! `cargo xtask components`), supervisors list it for the palette; a broken upload is 422.

mod auth_support;

use auth_support::{Caller, app};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use ramal::api::SESSION_COOKIE;
use serde_json::Value;
use std::path::PathBuf;
use tower::ServiceExt;

fn component(name: &str) -> Option<Vec<u8>> {
    let exe = std::env::current_exe().expect("the test binary has a path");
    let dir = std::env::var_os("RAMAL_COMPONENTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            exe.ancestors()
                .nth(3)
                .expect("<target>/<profile>/deps/<test>")
                .join("wasm32-unknown-unknown/components")
        });
    let path = dir.join(format!("{name}.wasm"));
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(error) => {
            let message = format!(
                "\n!!! {} is missing ({error}): run `cargo xtask components` (cargo xtask test does).\n",
                path.display()
            );
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{message}under CI this is a failure"
            );
            eprintln!("{message}!!! this test did NOT run.\n");
            None
        }
    }
}

async fn upload(router: &axum::Router, caller: &Caller, bytes: Vec<u8>) -> (StatusCode, Value) {
    let Caller::Cookie(token) = caller else {
        panic!("a session caller")
    };
    let request = Request::builder()
        .method("POST")
        .uri("/api/nodes")
        .header("content-type", "application/wasm")
        .header("cookie", format!("{SESSION_COOKIE}={token}"))
        .body(Body::from(bytes))
        .expect("a valid request");
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("the router answers");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_installs_a_node_and_supervisors_see_it_in_the_palette() {
    let Some(wasm) = component("cpf-check") else {
        return;
    };
    let app = app().await;
    let admin = app.session("admin").await;
    let (status, body) = upload(&app.router, &admin, wasm.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["name"], "cpf-check");
    assert_eq!(body["version"], "1.0.0");
    assert_eq!(
        body["description"]["ports"],
        serde_json::json!(["match", "mismatch", "invalid-cpf"])
    );

    let (again, _) = upload(&app.router, &admin, wasm).await;
    assert_eq!(
        again,
        StatusCode::CREATED,
        "the same bytes again change nothing"
    );

    let supervisor = app.session("sara").await;
    let listed = app.call("GET", "/api/nodes", &supervisor, "").await;
    assert_eq!(listed.status, StatusCode::OK);
    let modules = listed.body.as_array().expect("a list");
    assert_eq!(modules.len(), 1);
    assert_eq!(modules[0]["description"]["params_schema"]["type"], "object");

    let (status, body) = upload(&app.router, &supervisor, b"\0asm".to_vec()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_a_component_is_refused_with_the_reason() {
    let app = app().await;
    let admin = app.session("admin").await;
    let (status, body) = upload(&app.router, &admin, b"not wasm".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "node.invalid");
    let listed = app.call("GET", "/api/nodes", &admin, "").await;
    assert_eq!(listed.body, serde_json::json!([]));
}

/// A flow pins a custom node's (module, version): publishing is refused until that version
/// is installed, and the node's ports are the module's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_is_published_only_against_an_installed_module_version() {
    let Some(wasm) = component("cpf-check") else {
        return;
    };
    let app = app().await;
    let admin = app.session("admin").await;
    let sara = app.session("sara").await;
    let flow = |version: &str| {
        serde_json::json!({"schema": "ramal.flow/v1", "id": "checks", "name": "Checks", "nodes": [
            {"id": "s", "kind": "start", "ports": {"next": "cpf"}},
            {"id": "cpf", "kind": "custom", "params": {"module": "cpf-check", "version": version},
             "ports": {"match": "h", "mismatch": "h", "invalid-cpf": "h", "error": "h"}},
            {"id": "h", "kind": "hangup", "params": {"reason": "normal"}}
        ]})
        .to_string()
    };
    // Publishing is refused with 422 and the one error `custom.unknown_module`.
    let refused_for_the_module = || async {
        let refused = app
            .call("POST", "/api/flows/checks/publish", &sara, "")
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{:?}",
            refused.body
        );
        let codes: Vec<&str> = refused.body["error"]["diagnostics"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter(|d| d["severity"] == "error")
                    .filter_map(|d| d["code"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(codes, ["custom.unknown_module"], "{:?}", refused.body);
    };
    let saved = app
        .call("PUT", "/api/flows/checks", &sara, &flow("1.0.0"))
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{:?}", saved.body);
    refused_for_the_module().await;

    let (status, body) = upload(&app.router, &admin, wasm).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let published = app
        .call("POST", "/api/flows/checks/publish", &sara, "")
        .await;
    assert_eq!(published.status, StatusCode::OK, "{:?}", published.body);
    assert_eq!(published.body["version"], 1);

    // A version that was never installed is refused even though the module is there.
    app.call("PUT", "/api/flows/checks", &sara, &flow("2.0.0"))
        .await;
    refused_for_the_module().await;
}
