//! API errors: a status, a stable code and a message. Internal failures are logged with
//! their details and answered with a generic body.

use axum::Json;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ramal_flow::Diagnostic;
use ramal_store::{FieldError, StoreError, ValidationErrors};
use serde_json::json;

/// An error an endpoint returns.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Not logged in, or the session expired.
    #[error("log in first")]
    Unauthorized,
    /// Logged in, but the role may not do this.
    #[error("your role may not do this")]
    Forbidden,
    /// Wrong username or password.
    #[error("wrong username or password")]
    InvalidCredentials,
    /// Too many failed logins; try again later.
    #[error("too many failed logins; try again in {retry_after_secs} s")]
    TooManyAttempts {
        /// When to try again.
        retry_after_secs: i64,
    },
    /// No such resource.
    #[error("{0}")]
    NotFound(String),
    /// Collides with existing data.
    #[error("{0}")]
    Conflict(String),
    /// The request is malformed.
    #[error("{message}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// For people.
        message: String,
    },
    /// Well-formed but invalid: a flow with errors, a bad field.
    #[error("{message}")]
    Unprocessable {
        /// Stable code.
        code: &'static str,
        /// For people.
        message: String,
        /// Flow diagnostics, when the problem is a flow.
        diagnostics: Vec<Diagnostic>,
    },
    /// Invalid fields, each with its path (`schedule.windows[2].start`) and code.
    #[error("{} invalid field(s)", .0.len())]
    Invalid(Vec<FieldError>),
    /// The body is larger than the endpoint accepts.
    #[error("the body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit.
        limit: usize,
    },
    /// A part of the server this needs is not running (the call engine, with `--sip off`).
    #[error("{0}")]
    Unavailable(String),
    /// A failure of ours; the details are logged, not sent.
    #[error("internal error")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { .. } => ApiError::NotFound(error.to_string()),
            StoreError::Conflict(message) => ApiError::Conflict(message),
            StoreError::Validation(ValidationErrors(fields)) => ApiError::Invalid(fields),
            StoreError::Invalid { field, message } => ApiError::Unprocessable {
                code: "field.invalid",
                message: format!("{field}: {message}"),
                diagnostics: Vec::new(),
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "auth.required"),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "auth.forbidden"),
            ApiError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "auth.invalid_credentials"),
            ApiError::TooManyAttempts { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "auth.rate_limited")
            }
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, *code),
            ApiError::Unprocessable { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, *code),
            ApiError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation.failed"),
            ApiError::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "body.too_large"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(details) => {
                tracing::error!(%details, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        let mut body = json!({ "error": { "code": code, "message": self.to_string() } });
        if let ApiError::Unprocessable { diagnostics, .. } = &self
            && !diagnostics.is_empty()
        {
            body["error"]["diagnostics"] = json!(diagnostics);
        }
        if let ApiError::Invalid(fields) = &self {
            body["error"]["fields"] = json!(fields);
        }
        let mut response = (status, Json(body)).into_response();
        if let ApiError::TooManyAttempts { retry_after_secs } = self {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}
