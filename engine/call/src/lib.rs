//! # ramal-call
//!
//! Real calls. This crate owns the [`CallEngine`]: the SIP endpoint (from `ramal-sip`), a
//! dispatcher that gives every new INVITE its own task, and that task — it answers with an
//! SDP answer, opens an RTP session (`ramal-media`), runs the call's flow in the sans-IO
//! executor (`ramal-flow`), carries out its commands (prompts from files or espeak-ng
//! speech, webhooks, hang-up) and stores the call record with the executed path
//! (`ramal-store`).
//!
//! **Architecture invariant:** this is a shell. Which node runs next, what a digit means,
//! when a timeout fires — all of that is the executor's; the SIP and media state machines
//! live in their crates. Here we only translate events and commands and own the tasks.
//!
//! Queues to agents run through the ACD task (`acd/`), whose [`Agents`] handle is the
//! API's way to log agents in, pause them and end their wrap-up. Custom Wasm nodes run
//! through [`NodeModules`] (`custom.rs`) on blocking threads. Not connected yet: outbound
//! (dialer) calls.

mod acd;
mod call;
mod config;
mod custom;
mod engine;
mod library;
mod notices;
mod prompts;
mod records;
mod transfer;
pub mod webhook;

pub use acd::{AcdNotice, AgentAction, AgentError, AgentView, Agents, QueueStatus, QueuedCall};
pub use config::{CallConfig, RewriteRule, TrunkConfig};
pub use custom::{InstallError, NodeModules, ReqwestHttp, custom_node_infos};
pub use engine::{CallEngine, Phones, StartError};
pub use library::{FlowLibrary, Resolved, RouteError, compile_published};
pub use notices::CallNotice;
pub use prompts::{PromptLoadError, Prompts};

/// Now, as Unix milliseconds.
pub(crate) fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A fresh random id (128 bits, hex); falls back to time and a counter if the OS
/// generator fails, so a call is never lost for want of an id.
pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_ok() {
        return bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    }
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{:x}-{count:x}", unix_ms())
}
