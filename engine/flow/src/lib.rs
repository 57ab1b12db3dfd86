//! # ramal-flow
//!
//! Ramal's flow language, with no IO: the `ramal.flow/v1` [document](document), the node
//! [catalog], [validation and compilation](compile), [expressions](expr) (a CEL subset with
//! hard limits), [business-hours schedules](schedule), [digit validation](digits), the
//! sans-IO [executor](execution) and the [flow-test runner](sim).
//!
//! **Architecture invariant:** this crate never reads a clock, a random number generator,
//! a file or a socket, and depends on nothing of Ramal's. Time comes in as arguments. It
//! builds and tests on `wasm32-unknown-unknown`, where the editor uses it to validate and
//! simulate flows in the browser with the same code the engine runs.

pub mod catalog;
pub mod compile;
pub mod diagnostic;
pub mod digits;
pub mod document;
pub mod execution;
pub mod expr;
pub(crate) mod flow;
pub mod schedule;
pub mod schema;
pub mod sim;
pub mod template;
pub mod time;

pub use compile::{Compilation, Environment, compile, compile_json};
pub use diagnostic::{Diagnostic, Severity};
pub use document::FlowDocument;
pub use execution::{CallInfo, Command, CommandId, Event, Execution};
pub use flow::Flow;
pub use time::{Instant, Millis};
