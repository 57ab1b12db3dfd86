//! The server non-INVITE transaction (RFC 3261 §17.2.2).
//!
//! Trying: the request went to the TU; retransmissions are absorbed. Proceeding: the TU
//! sent a provisional, which answers each retransmission. Completed: the TU sent a final,
//! which answers each retransmission until timer J (64·T1).

use super::timers::TimerKind;
use super::{Config, Io, SendError, Status, TransactionId};
use crate::proto::message::{BuildError, NewResponse, ReplyHeaders, Request};
use crate::proto::time::Instant;
use core::net::SocketAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Trying,
    Proceeding,
    Completed,
}

/// One server non-INVITE transaction.
#[derive(Debug)]
pub(crate) struct ServerNonInvite {
    id: TransactionId,
    source: SocketAddr,
    request: Request,
    to_tag: String,
    last_response: Option<Vec<u8>>,
    state: State,
}

impl ServerNonInvite {
    /// A transaction for a new request.
    pub(crate) fn new(
        id: TransactionId,
        source: SocketAddr,
        request: Request,
        to_tag: String,
    ) -> ServerNonInvite {
        ServerNonInvite {
            id,
            source,
            request,
            to_tag,
            last_response: None,
            state: State::Trying,
        }
    }

    /// A retransmission of the request.
    pub(crate) fn on_retransmission(&mut self, io: &mut Io) {
        if let Some(bytes) = &self.last_response {
            io.send(self.source, bytes.clone());
        }
    }

    /// A response from the TU (or from the layer itself, e.g. 481 to an unmatched CANCEL).
    pub(crate) fn send_response(
        &mut self,
        response: &NewResponse,
        io: &mut Io,
        config: &Config,
        now: Instant,
    ) -> Result<(), SendError> {
        if self.state == State::Completed {
            return Err(SendError::FinalAlreadySent(self.id));
        }
        let copied = ReplyHeaders::collect(&self.request.headers)
            .map_err(|kind| SendError::Build(BuildError::MissingHeader(kind)))?;
        let tag = response.to_tag.as_deref().unwrap_or(&self.to_tag);
        let bytes = copied.build(response, tag)?;
        io.send(self.source, bytes.clone());
        self.last_response = Some(bytes);
        if response.status < 200 {
            self.state = State::Proceeding;
        } else {
            self.state = State::Completed;
            io.timers
                .set(self.id, TimerKind::Linger, now + config.t1 * 64);
        }
        Ok(())
    }

    pub(crate) fn on_timer(&mut self, kind: TimerKind) -> Status {
        match (kind, self.state) {
            (TimerKind::Linger, State::Completed) => Status::Terminated,
            _ => Status::Alive,
        }
    }
}
