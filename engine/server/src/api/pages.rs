//! What a browser gets outside the JSON API: the editor at `/` and its files (from
//! `--editor DIR`), or — without an editor — the API's index page, which `/api` always
//! serves.
//!
//! Files come from tower-http's `ServeDir` (no `..` escapes, ranges, `Last-Modified`),
//! with `precompressed_gzip`: a browser that accepts gzip gets `<file>.gz`, written beside
//! each file by `cargo xtask editor`. The file names carry no content hash, so every file
//! is `Cache-Control: no-cache` (the browser revalidates, and a rebuilt editor is seen at
//! once).

use super::{Access, ApiError, AppState, routes};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use std::convert::Infallible;
use std::path::Path;
use std::sync::OnceLock;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

/// `GET /`: the editor's `index.html`, or the API's index page.
pub(super) async fn home(State(state): State<AppState>, request: Request) -> Response {
    match state.editor.as_deref() {
        Some(dir) => {
            let file = ServeFile::new(dir.join("index.html")).precompressed_gzip();
            editor_response(file.oneshot(request).await)
        }
        None => api_index().await.into_response(),
    }
}

/// Paths no route matches: `/api/…` is 404; anything else is a file of the editor, if any.
pub(super) async fn files(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    let is_api = path == "/api" || path.starts_with("/api/");
    match state.editor.as_deref() {
        Some(dir) if !is_api && matches!(*request.method(), Method::GET | Method::HEAD) => {
            editor_response(serve_dir(dir).oneshot(request).await)
        }
        _ if is_api => ApiError::NotFound(format!("no route {path}")).into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn serve_dir(dir: &Path) -> ServeDir {
    ServeDir::new(dir)
        .precompressed_gzip()
        .append_index_html_on_directories(false)
}

fn editor_response<B>(served: Result<axum::http::Response<B>, Infallible>) -> Response
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let Ok(response) = served;
    let mut response = response.map(Body::new);
    if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    response
}

/// `GET /api` (and `/` without an editor): every route, who may call it, how to log in.
pub(super) async fn api_index() -> Html<&'static str> {
    static PAGE: OnceLock<String> = OnceLock::new();
    Html(PAGE.get_or_init(|| {
        let mut page = String::from(concat!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Ramal</title></head>",
            "<body><h1>Ramal is running</h1>",
            "<p>The browser flow editor is served at <code>/</code> when Ramal is started with it: ",
            "build it with <code>cargo xtask editor</code>, then run ",
            "<code>ramal serve --editor flow-editor/dist</code> (<code>cargo xtask run</code> does both).</p>",
            "<p>Log in with <code>POST /api/auth/login</code> (a session cookie), or send ",
            "<code>Authorization: Bearer &lt;token&gt;</code>. The HTTP API is ",
            "(<a href=\"/api/docs\">documentation</a>):</p><ul>",
        ));
        for info in routes() {
            let who = match info.access {
                Access::Public => "anyone",
                Access::AnyUser => "any user",
                Access::Supervisor => "supervisor, admin",
                Access::Admin => "admin",
            };
            page.push_str(&format!(
                "<li><code>{} {}</code> — {} <small>({who})</small></li>",
                info.verb.method(),
                info.path,
                code_spans(&info.summary.replace('<', "&lt;")),
            ));
        }
        page.push_str("</ul></body></html>");
        page
    }))
}

/// `a `b` c` → `a <code>b</code> c`.
fn code_spans(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_owned()
            }
        })
        .collect()
}
