//! # ramal-acd
//!
//! The automatic call distributor: agents' states, queues, routing strategies and offers,
//! as one sans-IO state machine.
//!
//! # Contract
//! [`Acd`] opens no sockets, spawns nothing and reads no clock. Feed it one input —
//! [`Acd::handle`] with an [`Event`] (an agent logged in, a flow queued a caller, a phone
//! answered…) or [`Acd::handle_timeout`] — then drain [`Acd::poll_command`] (offer this
//! call to that agent's phone, cancel an offer, the caller leaves the queue with a result,
//! an agent changed state), then wait until [`Acd::poll_timeout`].
//!
//! Guarantees, checked by property tests over random event sequences: every `Offer` is
//! closed by exactly one `CancelOffer` or by the caller leaving answered; a call is offered to
//! at most one agent at a time (several only in ring-all queues) and an agent has at most
//! one call; no agent stays reserved or ringing past its ring timeout; every queued caller
//! leaves exactly once — answered, timed out (after any overflow), no agents, full — or
//! hangs up. Refused input ([`AcdError`]) changes nothing.
//!
//! **Architecture invariant:** depends on nothing of Ramal's and does no IO.

mod acd;
pub mod agent;
pub mod config;
mod dispatch;
pub mod ids;
pub mod io;
mod reconfigure;
mod strategy;
#[cfg(test)]
mod tests;

pub use acd::{Acd, MAX_OVERFLOW_HOPS, QueueWait};
pub use agent::{Agent, AgentState, Transition};
pub use config::{AcdConfig, Member, Overflow, QueueConfig, Strategy};
pub use ids::{AgentId, CallId, Instant, QueueId};
pub use io::{AcdError, Command, Event, QueueResult};
