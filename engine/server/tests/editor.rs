//! The browser editor's files (`--editor DIR`): `/` is its `index.html`, other paths
//! outside `/api` are its files (gzip-precompressed when the browser accepts it), unknown
//! files are 404, and the API keeps its routes and its guard.

mod auth_support;

use auth_support::{Caller, TempDir, TestApp, app, config};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

const INDEX: &str = "<!doctype html><title>editor</title>";
/// A module's first bytes: `\0asm`, version 1.
const WASM: &[u8] = b"\0asm\x01\0\0\0 the editor";
const WASM_GZ: &[u8] = b"\x1f\x8b pretend this is the gzip of app.wasm";

/// The test app, serving an editor directory with `index.html`, `app.wasm` and its `.gz`.
async fn app_with_editor() -> (TestApp, TempDir) {
    let editor = TempDir::new();
    std::fs::write(editor.0.join("index.html"), INDEX).expect("written");
    std::fs::write(editor.0.join("app.wasm"), WASM).expect("written");
    std::fs::write(editor.0.join("app.wasm.gz"), WASM_GZ).expect("written");
    let mut app = app().await;
    app.router = ramal::api::router(app.state.clone().with_editor(Some(editor.0.clone())));
    (app, editor)
}

/// GET `uri` anonymously with `headers`: status, headers, the raw body.
async fn get(app: &TestApp, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, Bytes) {
    let mut request = Request::builder().uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Body::empty()).expect("a valid request");
    let response = app
        .router
        .clone()
        .oneshot(request)
        .await
        .expect("the router answers");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("a body").to_bytes();
    (parts.status, parts.headers, bytes)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

#[tokio::test]
async fn the_root_is_the_editors_index_page_never_cached_stale() {
    let (app, _editor) = app_with_editor().await;
    let (status, headers, body) = get(&app, "/", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], INDEX.as_bytes());
    assert!(
        header(&headers, "content-type").is_some_and(|kind| kind.starts_with("text/html")),
        "{headers:?}"
    );
    assert_eq!(header(&headers, "cache-control"), Some("no-cache"));
}

#[tokio::test]
async fn wasm_is_application_wasm_and_gzip_goes_to_browsers_that_accept_it() {
    let (app, _editor) = app_with_editor().await;
    let (status, headers, body) = get(&app, "/app.wasm", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), Some("application/wasm"));
    assert_eq!(header(&headers, "content-encoding"), None);
    assert_eq!(&body[..], WASM);

    let (status, headers, body) = get(
        &app,
        "/app.wasm",
        &[("accept-encoding", "gzip, deflate, br")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), Some("application/wasm"));
    assert_eq!(header(&headers, "content-encoding"), Some("gzip"));
    assert_eq!(header(&headers, "cache-control"), Some("no-cache"));
    assert_eq!(&body[..], WASM_GZ);
}

#[tokio::test]
async fn unknown_files_are_404_and_nothing_outside_the_directory_is_served() {
    let (app, _editor) = app_with_editor().await;
    for uri in [
        "/missing.js",
        "/../Cargo.toml",
        "/..%2f..%2fCargo.toml",
        "/%2e%2e/Cargo.toml",
    ] {
        let (status, _, body) = get(&app, uri, &[]).await;
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::BAD_REQUEST,
            "{uri}: {status} {body:?}"
        );
    }
}

#[tokio::test]
async fn the_api_keeps_its_routes_and_its_guard_beside_the_editor() {
    let (app, _editor) = app_with_editor().await;
    let reply = app.call("GET", "/api/flows", &Caller::Anonymous, "").await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::UNAUTHORIZED, "auth.required")
    );
    let reply = app.call("GET", "/healthz", &Caller::Anonymous, "").await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let reply = app.call("GET", "/api", &Caller::Anonymous, "").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply
            .body
            .as_str()
            .is_some_and(|page| page.contains("<code>GET /api/flows</code>")),
        "/api is the API's index page: {:?}",
        reply.body
    );
    // An unknown API path is the API's 404, not a file of the editor.
    let reply = app
        .call("GET", "/api/no-such-thing", &Caller::Anonymous, "")
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let sara = app.session("sara").await;
    let reply = app.call("GET", "/api/flows", &sara, "").await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn without_an_editor_the_root_is_the_api_page_and_there_are_no_files() {
    let app = app().await;
    let (status, headers, body) = get(&app, "/", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        header(&headers, "content-type").is_some_and(|kind| kind.starts_with("text/html")),
        "{headers:?}"
    );
    let page = String::from_utf8_lossy(&body);
    assert!(page.contains("<code>GET /api/flows</code>"), "{page}");
    assert!(page.contains("cargo xtask editor"), "{page}");
    let (status, _, _) = get(&app, "/app.wasm", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_editor_directory_without_index_html_is_refused_at_start() {
    let data = TempDir::new();
    let empty = TempDir::new();
    let mut config = config(data.0.clone(), Some(auth_support::ADMIN_PASSWORD));
    config.editor_dir = Some(empty.0.clone());
    let error = ramal::server::open(&config)
        .await
        .expect_err("no index.html, no start");
    assert!(
        format!("{error:#}").contains("cargo xtask editor"),
        "{error:#}"
    );
}
