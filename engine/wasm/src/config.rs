//! What the operator can tune: per-run limits, the pool, the HTTP allowlist.

use std::time::Duration;

/// Limits applied to every run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// CPU budget: fuel (about one unit per WebAssembly instruction) a run may burn —
    /// deterministic, so a busy machine never fails a run; 1–5 µs per `cpf-check` run
    /// (measured). 10 M is a few ms of CPU. `None`: the wall-clock budget alone.
    pub fuel: Option<u64>,
    /// Wall-clock backstop for a run's time in WebAssembly (waiting for HTTP answers does
    /// not count; being descheduled by a busy machine does). Checked every millisecond.
    pub time_budget: Duration,
    /// Linear memory per instance, in bytes.
    pub memory_bytes: usize,
    /// Core instances per run (a component made from one Rust crate has a few).
    pub instances: usize,
    /// Tables per run.
    pub tables: usize,
    /// Elements per table.
    pub table_elements: usize,
    /// WebAssembly stack per run, in bytes.
    pub stack_bytes: usize,
    /// Size of the outcome (port and variables as JSON), in bytes.
    pub output_bytes: usize,
    /// Log lines per run (later ones are dropped) and their length.
    pub log_lines: usize,
    /// Longest log line kept, in bytes.
    pub log_line_bytes: usize,
    /// HTTP requests per run.
    pub http_requests: usize,
    /// Longest HTTP timeout a guest may ask for.
    pub http_timeout: Duration,
    /// Largest HTTP request or response body, in bytes.
    pub http_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: Some(10_000_000),
            time_budget: Duration::from_millis(100),
            memory_bytes: 32 << 20,
            instances: 16,
            tables: 16,
            table_elements: 10_000,
            stack_bytes: 256 << 10,
            output_bytes: 64 << 10,
            log_lines: 20,
            log_line_bytes: 1024,
            http_requests: 4,
            http_timeout: Duration::from_secs(2),
            http_body_bytes: 1 << 20,
        }
    }
}

/// Bounds of each module's key-value store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvLimits {
    /// Keys per module.
    pub keys: usize,
    /// Longest key, in bytes.
    pub key_bytes: usize,
    /// Largest value, in bytes.
    pub value_bytes: usize,
    /// Keys and values together, per module, in bytes.
    pub total_bytes: usize,
}

impl Default for KvLimits {
    fn default() -> Self {
        KvLimits {
            keys: 1000,
            key_bytes: 256,
            value_bytes: 16 << 10,
            total_bytes: 1 << 20,
        }
    }
}

/// The host's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// Per-run limits.
    pub limits: Limits,
    /// Per-module key-value store bounds.
    pub kv: KvLimits,
    /// Use wasmtime's pooling allocator (pre-reserved slots, copy-on-write memory
    /// images): much faster instantiation. Off, instances are allocated on demand.
    pub pooling: bool,
    /// Runs that may be in flight at once (pool slots); one more fails with
    /// [`RunError::Busy`](crate::RunError::Busy).
    pub max_concurrent_runs: u32,
    /// Hosts the guests may reach over HTTP: exact names (`crm.example.com`) or
    /// `*.example.com` for its subdomains. Empty: no HTTP at all.
    pub http_allowlist: Vec<String>,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            limits: Limits::default(),
            kv: KvLimits::default(),
            pooling: true,
            max_concurrent_runs: 64,
            http_allowlist: Vec::new(),
        }
    }
}
