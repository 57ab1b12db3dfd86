//! The client non-INVITE transaction (RFC 3261 §17.1.2).
//!
//! Trying: the request is re-sent by timer E (T1, doubling up to T2) until timer F
//! (64·T1). Proceeding: a provisional arrived; re-sends continue every T2. Completed: a
//! final arrived and went to the TU; retransmitted finals are absorbed until timer K (T4).

use super::timers::TimerKind;
use super::{Config, Io, Status, TransactionEvent, TransactionId};
use crate::proto::message::Response;
use crate::proto::time::Instant;
use core::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Trying,
    Proceeding,
    Completed,
}

/// One client non-INVITE transaction.
#[derive(Debug)]
pub(crate) struct ClientNonInvite {
    id: TransactionId,
    destination: SocketAddr,
    bytes: Vec<u8>,
    state: State,
    interval: Duration,
}

impl ClientNonInvite {
    /// Sends the request and arms timers E and F.
    pub(crate) fn start(
        id: TransactionId,
        destination: SocketAddr,
        bytes: Vec<u8>,
        io: &mut Io,
        config: &Config,
        now: Instant,
    ) -> ClientNonInvite {
        io.send(destination, bytes.clone());
        io.timers.set(id, TimerKind::Retransmit, now + config.t1);
        io.timers.set(id, TimerKind::Timeout, now + config.t1 * 64);
        ClientNonInvite {
            id,
            destination,
            bytes,
            state: State::Trying,
            interval: config.t1,
        }
    }

    pub(crate) fn on_timer(
        &mut self,
        kind: TimerKind,
        io: &mut Io,
        config: &Config,
        now: Instant,
    ) -> Status {
        match (kind, self.state) {
            (TimerKind::Retransmit, State::Trying | State::Proceeding) => {
                io.resend(self.destination, self.bytes.clone());
                self.interval = if self.state == State::Proceeding {
                    config.t2
                } else {
                    (self.interval * 2).min(config.t2)
                };
                io.timers
                    .set(self.id, TimerKind::Retransmit, now + self.interval);
                Status::Alive
            }
            (TimerKind::Timeout, State::Trying | State::Proceeding) => {
                io.event(TransactionEvent::Timeout { id: self.id });
                Status::Terminated
            }
            (TimerKind::Linger, State::Completed) => Status::Terminated,
            _ => Status::Alive,
        }
    }

    pub(crate) fn on_response(
        &mut self,
        response: Response,
        source: SocketAddr,
        io: &mut Io,
        config: &Config,
        now: Instant,
    ) -> Status {
        let id = self.id;
        if self.state == State::Completed {
            return Status::Alive;
        }
        if response.is_provisional() {
            if self.state == State::Trying {
                self.state = State::Proceeding;
            }
        } else {
            self.state = State::Completed;
            io.timers.stop(id, TimerKind::Retransmit);
            io.timers.stop(id, TimerKind::Timeout);
            io.timers.set(id, TimerKind::Linger, now + config.t4);
        }
        io.event(TransactionEvent::ResponseReceived {
            id,
            response,
            source,
        });
        Status::Alive
    }
}
