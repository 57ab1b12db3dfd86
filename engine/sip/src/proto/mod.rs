//! The sans-IO SIP core: message parsing and checks ([`message`], [`checks`]), RFC 3261
//! transactions ([`transaction`]), dialogs ([`dialog`]) and the [`user_agent`] over them,
//! SDP offer/answer ([`sdp`]), a per-source request limit ([`rate_limit`]) and the time
//! they all run on ([`time`]).
//!
//! Contract (str0m's): nothing in `proto` opens a socket, spawns a thread or task, reads a
//! clock or draws randomness. Time comes in as [`time::Instant`], randomness as a seed in
//! [`transaction::Config`], datagrams as byte slices with their source address, and
//! everything that leaves is a value the caller drains (`poll_transmit`, `poll_event`,
//! `poll_timeout`). `xtask/src/tidy.rs` checks the purity.

pub mod checks;
pub mod dialog;
pub mod digest;
pub mod framing;
pub mod message;
pub mod rate_limit;
pub mod registrar;
pub mod sdp;
pub mod time;
pub mod transaction;
pub mod user_agent;
