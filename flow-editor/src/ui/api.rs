//! The HTTP API client: `fetch` with the session cookie, JSON in and out, and the API's
//! error body (`{"error": {"code", "message", "diagnostics"?}}`) turned into a sentence.

use serde::de::DeserializeOwned;
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestCredentials, RequestInit, Response};

/// A failed request, as the supervisor should read it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status (0: the request never got an answer).
    pub status: u16,
    /// What went wrong.
    pub message: String,
    /// Diagnostics the server sent with a 422, if any.
    pub diagnostics: Vec<ramal_flow::Diagnostic>,
    /// Invalid fields the server named with a 422: (path such as `dialer.schedule`, message).
    pub fields: Vec<(String, String)>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn network(error: JsValue) -> ApiError {
    ApiError {
        status: 0,
        message: format!(
            "the server did not answer: {}",
            error.as_string().unwrap_or_else(|| format!("{error:?}"))
        ),
        diagnostics: Vec::new(),
        fields: Vec::new(),
    }
}

/// Sends a request; a body is sent as JSON (or as `content_type` when given).
pub async fn send(
    method: &str,
    path: &str,
    body: Option<String>,
    content_type: Option<&str>,
) -> Result<String, ApiError> {
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    if let Some(body) = &body {
        init.set_body(&JsValue::from_str(body));
    }
    let request = Request::new_with_str_and_init(path, &init).map_err(network)?;
    if body.is_some() {
        request
            .headers()
            .set("content-type", content_type.unwrap_or("application/json"))
            .map_err(network)?;
    }
    let window = web_sys::window().ok_or_else(|| network(JsValue::from_str("no window")))?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(network)?
        .dyn_into()
        .map_err(network)?;
    let text = JsFuture::from(response.text().map_err(network)?)
        .await
        .map_err(network)?
        .as_string()
        .unwrap_or_default();
    let status = response.status();
    if (200..300).contains(&status) {
        return Ok(text);
    }
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let message = body["error"]["message"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("the server answered {status}"));
    let diagnostics =
        serde_json::from_value(body["error"]["diagnostics"].clone()).unwrap_or_default();
    let fields = body["error"]["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|field| {
            Some((
                field["path"].as_str()?.to_owned(),
                field["message"].as_str()?.to_owned(),
            ))
        })
        .collect();
    Err(ApiError {
        status,
        message,
        diagnostics,
        fields,
    })
}

/// Sends a request and reads the JSON answer as `T`.
pub async fn json<T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<T, ApiError> {
    let text = send(method, path, body, None).await?;
    serde_json::from_str(if text.is_empty() { "null" } else { &text }).map_err(|error| ApiError {
        status: 200,
        message: format!("the server's answer could not be read: {error}"),
        diagnostics: Vec::new(),
        fields: Vec::new(),
    })
}

/// `GET` as JSON.
pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    json("GET", path, None).await
}

/// Percent-encodes a path segment or query value.
pub fn encode(text: &str) -> String {
    js_sys::encode_uri_component(text).into()
}

/// Saves `text` (a flow document) as the draft of flow `id`.
pub async fn save_flow(id: &str, text: String) -> Result<(), ApiError> {
    send(
        "PUT",
        &format!("/api/flows/{}", encode(id)),
        Some(text),
        None,
    )
    .await
    .map(|_| ())
}
