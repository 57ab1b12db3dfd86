//! Carrying out the executor's webhook requests (`Command::Http`): one attempt each, with
//! the executor's timeout, a cap on the response size and few redirects. Retries, back-off
//! and the filler prompt are the executor's business; this module only reports what
//! happened as the completion event the executor waits for.

use ramal_flow::execution::{CommandId, Event, HttpRequest};
use std::time::Duration;

/// The largest response body read; a bigger one is a failed request.
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// Redirects followed.
const MAX_REDIRECTS: usize = 3;

/// Why the HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct ClientError(#[from] reqwest::Error);

/// The webhook client, shared by every call.
#[derive(Debug, Clone)]
pub struct Webhooks {
    client: reqwest::Client,
}

impl Webhooks {
    /// A client using rustls with the `ring` provider (installed once per process).
    pub fn new() -> Result<Webhooks, ClientError> {
        // Installing fails only when a provider is already installed, which is what we want.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .user_agent(concat!("Ramal/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        Ok(Webhooks { client })
    }

    /// Makes one attempt and reports it as `HttpResponded` or `HttpFailed` for `id`.
    pub async fn perform(&self, id: CommandId, request: HttpRequest) -> Event {
        match self.attempt(&request).await {
            Ok((status, body)) => Event::HttpResponded { id, status, body },
            Err(reason) => Event::HttpFailed { id, reason },
        }
    }

    async fn attempt(&self, request: &HttpRequest) -> Result<(u16, String), String> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| format!("`{}` is not an HTTP method", request.method))?;
        let mut builder = self
            .client
            .request(method, &request.url)
            .timeout(request.timeout);
        let mut has_content_type = false;
        for (name, value) in &request.headers {
            has_content_type |= name.eq_ignore_ascii_case("content-type");
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(body) = &request.body {
            if !has_content_type {
                builder = builder.header("content-type", "application/json");
            }
            builder = builder.body(body.clone());
        }
        let mut response = builder.send().await.map_err(describe)?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(describe)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(format!(
                    "the response is larger than {MAX_RESPONSE_BYTES} bytes"
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// A failure in a sentence for the trace (no internals beyond the kind and the URL).
fn describe(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_redirect() {
        "too many redirects"
    } else if error.is_builder() {
        "bad request (URL or header)"
    } else {
        "request failed"
    };
    match error.url() {
        Some(url) => format!("{kind}: {url}"),
        None => kind.to_owned(),
    }
}
