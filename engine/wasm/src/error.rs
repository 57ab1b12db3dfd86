//! What can go wrong, as values.

use std::time::Duration;

/// The host could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// wasmtime refused the configuration.
    #[error("the WebAssembly engine could not start: {0}")]
    Engine(String),
    /// An allowlist entry is not a host name.
    #[error("`{0}` is not a host name or `*.domain`")]
    Allowlist(String),
}

/// A module could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Not a valid WebAssembly component (a core module, garbage, a bad section…).
    #[error("not a valid WebAssembly component: {0}")]
    Invalid(String),
    /// A component that does not implement `ramal:node/node@0.1.0`: an import the host
    /// does not provide (WASI, for instance) or a missing export.
    #[error("the component does not fit the ramal:node@0.1.0 world: {0}")]
    World(String),
    /// `describe()` failed.
    #[error("describe() failed: {0}")]
    Describe(#[source] RunError),
    /// `describe()` returned something unusable.
    #[error("describe() returned a bad description: {0}")]
    BadDescription(String),
}

/// A run failed. The call takes the node's `error` port; the message goes to the trace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// The run burned its CPU budget (fuel): an endless loop, or far too much work.
    #[error("the node used up its CPU budget ({fuel} fuel)")]
    CpuLimit {
        /// The budget.
        fuel: u64,
    },
    /// The run used up its wall-clock budget.
    #[error("the node ran out of time ({} ms budget)", .budget.as_millis())]
    Timeout {
        /// The budget.
        budget: Duration,
    },
    /// The guest asked for more memory than a run may have.
    #[error("the node exceeded its memory limit ({limit} bytes)")]
    MemoryLimit {
        /// The limit.
        limit: usize,
    },
    /// The guest exhausted its stack (deep recursion).
    #[error("the node overflowed its stack")]
    StackOverflow,
    /// The guest trapped: a panic, `unreachable`, an out-of-bounds access…
    #[error("the node trapped: {0}")]
    Trap(String),
    /// The outcome is larger than allowed.
    #[error("the node's outcome is too large ({bytes} bytes; limit {limit})")]
    OutputTooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The outcome names a port the module did not declare, or sets a variable badly.
    #[error("the node returned a malformed outcome: {0}")]
    BadOutcome(String),
    /// The node rejected its params.
    #[error("the node rejected its params: {0}")]
    InvalidParams(String),
    /// The node reported a failure.
    #[error("the node failed: {0}")]
    Failed(String),
    /// Every pool slot is in use.
    #[error("too many custom nodes are running at once")]
    Busy,
    /// Instantiation failed for another reason.
    #[error("the node could not be instantiated: {0}")]
    Instantiate(String),
}
