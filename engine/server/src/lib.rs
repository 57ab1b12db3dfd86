//! # ramal
//!
//! The Ramal binary and the code that wires the libraries together: the command line
//! (`ramal serve`, `ramal flow check|test|run|schema`), configuration, the first-start
//! setup, and the HTTP API with its users, roles, sessions and API tokens over the store.
//!
//! **Architecture invariant:** this crate holds no protocol or flow logic of its own; if a
//! branch here deserves a unit test, it belongs in a pure crate.

pub mod api;
pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod flows_dir;
pub mod phones;
pub mod server;
