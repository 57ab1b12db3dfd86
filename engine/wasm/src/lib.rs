//! `ramal-wasm`: the WebAssembly host for custom flow nodes.
//!
//! It owns everything between a component's bytes and a node's outcome: validating and
//! compiling components once (cached by the SHA-256 of their bytes), reading `describe()`,
//! and running `run(ctx)` in a fresh instance per call from a pre-linked
//! [`InstancePre`](wasmtime::component::InstancePre), under per-run limits — a CPU budget
//! (fuel) and a wall-clock backstop (epoch interruption), a memory cap, instance/table caps, a stack cap, an
//! output size cap, bounded logging, HTTP and key-value use. The guest world is
//! `ramal:node@0.1.0` (`guest-sdk/wit/node.wit`); it imports `log`, `kv` and `http` and
//! nothing else — no WASI.
//!
//! Every failure is a value ([`LoadError`], [`RunError`]); a module that loops, traps or
//! exhausts its memory only fails its own run, and the next run on the same module starts
//! from a clean instance. [`WasmHost::run`] is blocking CPU work (plus the guest's HTTP
//! calls through the injected [`HttpClient`]): async callers run it on a blocking thread.
//!
//! This crate knows nothing of flows, calls, SIP or storage: the call engine converts an
//! executor's `RunCustomNode` into a [`RunInput`] and the [`NodeOutcome`] back.

mod bindings;
mod config;
mod error;
mod host;
mod http;
mod kv;
mod runtime;

pub use config::{HostConfig, KvLimits, Limits};
pub use error::{HostError, LoadError, RunError};
pub use http::{Allowlist, HttpClient, HttpFailure, HttpRequest, HttpResponse, NoHttp};
pub use runtime::{Description, LoadedModule, ModuleHash, NodeOutcome, RunInput, WasmHost};
