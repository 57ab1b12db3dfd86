//! # ramal
//!
//! The Ramal binary and the code that wires the libraries together: the command line
//! (`ramal serve`, `ramal flow check|test|run|schema`), configuration, the flow catalog
//! loaded from a directory, and the HTTP API. As the other crates land it gains the store,
//! and the per-call task that connects the executor to SIP and media.
//!
//! **Architecture invariant:** this crate holds no protocol or flow logic of its own; if a
//! branch here deserves a unit test, it belongs in a pure crate.

pub mod api;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod flows_dir;
pub mod server;
pub mod webhook;
