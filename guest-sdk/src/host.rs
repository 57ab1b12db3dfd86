//! The host calls a node may make: nothing else reaches outside the sandbox.

/// Ramal's log, tagged with the module and the call.
pub mod log {
    use crate::bindings::ramal::node::log as wit;

    /// Logs at debug level.
    pub fn debug(message: &str) {
        wit::log(wit::Level::Debug, message);
    }
    /// Logs at info level.
    pub fn info(message: &str) {
        wit::log(wit::Level::Info, message);
    }
    /// Logs at warn level.
    pub fn warn(message: &str) {
        wit::log(wit::Level::Warn, message);
    }
    /// Logs at error level.
    pub fn error(message: &str) {
        wit::log(wit::Level::Error, message);
    }
}

/// The module's own small key-value store (bounded by the host).
pub mod kv {
    use crate::bindings::ramal::node::kv as wit;
    pub use wit::KvError;

    /// The value under `key`.
    pub fn get(key: &str) -> Option<Vec<u8>> {
        wit::get(key)
    }
    /// Stores `value` under `key`.
    pub fn set(key: &str, value: &[u8]) -> Result<(), KvError> {
        wit::set(key, value)
    }
    /// Removes `key`; true if it was there.
    pub fn delete(key: &str) -> bool {
        wit::delete(key)
    }
}

/// HTTP to the hosts the operator allowed.
pub mod http {
    use crate::bindings::ramal::node::http as wit;
    pub use wit::{Header, HttpError, Request, Response};

    /// Sends `request`.
    pub fn send(request: &Request) -> Result<Response, HttpError> {
        wit::send(request)
    }

    /// `GET url` with a timeout in milliseconds.
    pub fn get(url: &str, timeout_ms: u32) -> Result<Response, HttpError> {
        send(&Request {
            method: "GET".to_owned(),
            url: url.to_owned(),
            headers: vec![Header {
                name: "accept".to_owned(),
                value: "application/json".to_owned(),
            }],
            body: Vec::new(),
            timeout_ms,
        })
    }

    /// The response body as JSON.
    pub fn json(response: &Response) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_slice(&response.body)
    }
}
