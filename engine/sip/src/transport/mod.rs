//! Transports: thin tokio shells around the sans-IO [`UserAgent`](crate::proto::user_agent::UserAgent).
//! They own sockets and read the clock; everything they decide is delegated to `proto`.

pub mod endpoint;
pub(crate) mod tcp;
