//! The state of one run (a wasmtime store's data) and the host side of the imports:
//! `log`, `kv` and `http`. Every import checks its bounds first; errors the guest should
//! handle are WIT results, never traps.

use crate::bindings::ramal::node::{http as wit_http, kv as wit_kv, log as wit_log, types};
use crate::config::Limits;
use crate::http::{Allowlist, HttpClient, HttpFailure, HttpRequest};
use crate::kv::{KvRefusal, KvStores};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What every run of every module shares.
pub(crate) struct Shared {
    pub(crate) limits: Limits,
    pub(crate) kv: KvStores,
    pub(crate) http: Arc<dyn HttpClient>,
    pub(crate) allowlist: Allowlist,
}

/// One run's state.
pub(crate) struct RunState {
    pub(crate) shared: Arc<Shared>,
    pub(crate) module: Arc<str>,
    pub(crate) call_id: String,
    /// When the time budget runs out (moved later by time spent in HTTP).
    pub(crate) deadline: Instant,
    pub(crate) limiter: RunLimiter,
    http_requests: usize,
    log_lines: usize,
}

impl RunState {
    pub(crate) fn new(shared: Arc<Shared>, module: Arc<str>, call_id: String) -> Self {
        let limits = &shared.limits;
        let limiter = RunLimiter {
            memory_bytes: limits.memory_bytes,
            instances: limits.instances,
            tables: limits.tables,
            table_elements: limits.table_elements,
            memory_refused: false,
        };
        RunState {
            deadline: Instant::now() + limits.time_budget,
            shared,
            module,
            call_id,
            limiter,
            http_requests: 0,
            log_lines: 0,
        }
    }
}

/// The store limits, remembering whether memory was refused (so a trap that follows
/// is reported as [`RunError::MemoryLimit`](crate::RunError::MemoryLimit)).
pub(crate) struct RunLimiter {
    memory_bytes: usize,
    instances: usize,
    tables: usize,
    table_elements: usize,
    pub(crate) memory_refused: bool,
}

impl wasmtime::ResourceLimiter for RunLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired <= self.memory_bytes;
        if !allowed {
            self.memory_refused = true;
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.table_elements)
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn tables(&self) -> usize {
        self.tables
    }

    fn memories(&self) -> usize {
        self.instances
    }
}

impl types::Host for RunState {}

fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

impl wit_log::Host for RunState {
    fn log(&mut self, level: wit_log::Level, message: String) {
        self.log_lines += 1;
        let limits = &self.shared.limits;
        if self.log_lines > limits.log_lines {
            return;
        }
        let message = cut(&message, limits.log_line_bytes);
        let (module, call) = (&*self.module, self.call_id.as_str());
        match level {
            wit_log::Level::Debug => tracing::debug!(module, call, "{message}"),
            wit_log::Level::Info => tracing::info!(module, call, "{message}"),
            wit_log::Level::Warn => tracing::warn!(module, call, "{message}"),
            wit_log::Level::Error => tracing::error!(module, call, "{message}"),
        }
    }
}

impl wit_kv::Host for RunState {
    fn get(&mut self, key: String) -> Option<Vec<u8>> {
        self.shared.kv.get(&self.module, &key)
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), wit_kv::KvError> {
        self.shared
            .kv
            .set(&self.module, &key, &value)
            .map_err(|refusal| match refusal {
                KvRefusal::TooLarge => wit_kv::KvError::TooLarge,
                KvRefusal::Full => wit_kv::KvError::Full,
            })
    }

    fn delete(&mut self, key: String) -> bool {
        self.shared.kv.delete(&self.module, &key)
    }
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

impl wit_http::Host for RunState {
    fn send(
        &mut self,
        request: wit_http::Request,
    ) -> Result<wit_http::Response, wit_http::HttpError> {
        use wit_http::HttpError;
        let limits = &self.shared.limits;
        let url = match self.shared.allowlist.check(&request.url) {
            Err(problem) => return Err(HttpError::InvalidRequest(problem)),
            Ok(Err(host)) => {
                tracing::warn!(module = &*self.module, call = %self.call_id, host, "custom node tried a host not on the allowlist");
                return Err(HttpError::NotAllowed(host));
            }
            Ok(Ok(url)) => url,
        };
        let method = request.method.to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            return Err(HttpError::InvalidRequest(format!(
                "method `{}`",
                cut(&method, 16)
            )));
        }
        if request.body.len() > limits.http_body_bytes {
            return Err(HttpError::TooLarge);
        }
        if request.headers.len() > 32
            || request.headers.iter().any(|header| {
                header.name.is_empty()
                    || header.name.len() > 256
                    || header.value.len() > 4096
                    || !header
                        .name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    || header.value.bytes().any(|b| b == b'\r' || b == b'\n')
            })
        {
            return Err(HttpError::InvalidRequest("bad header".to_owned()));
        }
        if self.http_requests >= limits.http_requests {
            return Err(HttpError::TooManyRequests);
        }
        self.http_requests += 1;
        let timeout =
            Duration::from_millis(u64::from(request.timeout_ms.max(1))).min(limits.http_timeout);
        let started = Instant::now();
        let result = self.shared.http.send(
            HttpRequest {
                method,
                url,
                headers: request
                    .headers
                    .into_iter()
                    .map(|header| (header.name, header.value))
                    .collect(),
                body: request.body,
            },
            timeout,
            limits.http_body_bytes,
        );
        // Waiting for the network is not the guest's CPU time.
        self.deadline += started.elapsed();
        match result {
            Ok(response) if response.body.len() > limits.http_body_bytes => {
                Err(HttpError::TooLarge)
            }
            Ok(response) => Ok(wit_http::Response {
                status: response.status,
                headers: response
                    .headers
                    .into_iter()
                    .map(|(name, value)| wit_http::Header { name, value })
                    .collect(),
                body: response.body,
            }),
            Err(HttpFailure::Timeout) => Err(HttpError::Timeout),
            Err(HttpFailure::TooLarge) => Err(HttpError::TooLarge),
            Err(HttpFailure::Transport(reason)) => Err(HttpError::Transport(reason)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cut;

    #[test]
    fn cutting_respects_characters() {
        assert_eq!(cut("ação", 2), "a");
        assert_eq!(cut("abc", 5), "abc");
    }
}
