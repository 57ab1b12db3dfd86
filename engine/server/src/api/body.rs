//! Request bodies and list pages shared by the configuration endpoints (trunks, queues,
//! campaigns, contacts).
//!
//! [`JsonBody`] reads at most [`MAX_JSON_BYTES`] (413 `body.too_large` beyond), answers
//! malformed JSON with 400 `body.invalid`, and a well-formed body of the wrong shape — a
//! wrong type, a missing or unknown field — with 422 `validation.failed` and the field's
//! path, like the store's own validation.

use super::ApiError;
use axum::extract::{FromRequest, Request};
use ramal_store::FieldError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The largest JSON body these endpoints read (a campaign with thousands of agents fits).
pub const MAX_JSON_BYTES: usize = 256 * 1024;

/// A JSON request body, parsed into `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::to_bytes(request.into_body(), MAX_JSON_BYTES)
            .await
            .map_err(|_| ApiError::PayloadTooLarge {
                limit: MAX_JSON_BYTES,
            })?;
        parse(&bytes).map(JsonBody)
    }
}

/// Parses a JSON body (see the module docs for the errors).
pub(super) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let not_json = |error: &serde_json::Error| ApiError::BadRequest {
        code: "body.invalid",
        message: format!("the body is not JSON: {error}"),
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let inner = error.inner();
        if inner.is_data() {
            let path = error.path().to_string();
            ApiError::Invalid(vec![FieldError {
                path: if path == "." { String::new() } else { path },
                code: "type".into(),
                message: inner.to_string(),
            }])
        } else {
            not_json(inner)
        }
    })?;
    deserializer.end().map_err(|error| not_json(&error))?;
    Ok(value)
}

/// `?after=ID&limit=N`: keyset paging by id.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PageQuery {
    /// The last id of the previous page (default 0: from the start).
    #[serde(default)]
    pub after: i64,
    /// At most this many (default 100, at most 1,000).
    #[serde(default)]
    pub limit: Option<i64>,
}

impl PageQuery {
    /// The limit, checked.
    pub fn limit(&self) -> Result<i64, ApiError> {
        let limit = self.limit.unwrap_or(100);
        if (1..=1000).contains(&limit) {
            Ok(limit)
        } else {
            Err(ApiError::BadRequest {
                code: "query.limit",
                message: "limit must be 1 to 1000".into(),
            })
        }
    }
}

/// A page of a list.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `after` for the next page; none when this is the last.
    pub next_after: Option<i64>,
}

impl<T> Page<T> {
    /// A page of `items` that asked for `limit`; `id` tells an item's id.
    pub fn new(items: Vec<T>, limit: i64, id: impl Fn(&T) -> i64) -> Page<T> {
        let full = i64::try_from(items.len()).is_ok_and(|count| count >= limit);
        let next_after = if full { items.last().map(id) } else { None };
        Page { items, next_after }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        inner: Vec<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        port: u32,
    }

    fn error(body: &str) -> (String, Option<String>) {
        match parse::<Outer>(body.as_bytes()) {
            Err(ApiError::Invalid(fields)) => ("invalid".into(), Some(fields[0].path.clone())),
            Err(ApiError::BadRequest { code, .. }) => (code.into(), None),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrong_shapes_name_the_field_and_bad_json_is_a_bad_request() {
        assert_eq!(
            error(r#"{"inner": [{"port": 1}, {"port": "x"}]}"#),
            ("invalid".into(), Some("inner[1].port".into()))
        );
        assert_eq!(
            error(r#"{"inner": [{"port": 1, "extra": 2}]}"#),
            ("invalid".into(), Some("inner[0].extra".into()))
        );
        assert_eq!(
            error(r#"{"inner": [{"port": -1}]}"#),
            ("invalid".into(), Some("inner[0].port".into()))
        );
        assert_eq!(error(r#"{"inner": ["#), ("body.invalid".into(), None));
        assert_eq!(
            error(r#"{"inner": []} trailing"#),
            ("body.invalid".into(), None)
        );
        assert_eq!(error(""), ("body.invalid".into(), None));
    }
}
