//! The client INVITE transaction (RFC 3261 §17.1.1, with RFC 6026's Accepted state).
//!
//! Calling: the INVITE is re-sent by timer A (T1, doubling) until a response or timer B
//! (64·T1). Proceeding: a provisional stopped the re-sends; timer C (`Config::timer_c`)
//! bounds how long a peer may ring. Completed: a 300–699 final was answered with an ACK
//! that this transaction builds and re-sends for every retransmitted final, until timer D.
//! Accepted: a 2xx ended the transaction's duties; retransmitted 2xx still reach the TU
//! (which re-sends its own ACK) until timer M (64·T1).

use super::timers::TimerKind;
use super::{Config, Io, Status, TransactionEvent, TransactionId};
use crate::proto::message::{Header, NewRequest, Response, build_request};
use crate::proto::time::Instant;
use core::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Calling,
    Proceeding,
    Completed,
    Accepted,
}

/// The INVITE to send: where, what (kept to build CANCEL and ACK), its Via, its bytes.
pub(crate) struct Outgoing {
    pub(crate) destination: SocketAddr,
    pub(crate) request: NewRequest,
    pub(crate) via: String,
    pub(crate) bytes: Vec<u8>,
}

/// One client INVITE transaction.
#[derive(Debug)]
pub(crate) struct ClientInvite {
    id: TransactionId,
    destination: SocketAddr,
    request: NewRequest,
    via: String,
    bytes: Vec<u8>,
    state: State,
    interval: Duration,
    ack: Option<Vec<u8>>,
    cancel_pending: Option<TransactionId>,
}

impl ClientInvite {
    /// Sends the INVITE and arms timers A and B.
    pub(crate) fn start(
        id: TransactionId,
        outgoing: Outgoing,
        io: &mut Io,
        config: &Config,
        now: Instant,
    ) -> ClientInvite {
        let Outgoing {
            destination,
            request,
            via,
            bytes,
        } = outgoing;
        io.send(destination, bytes.clone());
        io.timers.set(id, TimerKind::Retransmit, now + config.t1);
        io.timers.set(id, TimerKind::Timeout, now + config.t1 * 64);
        ClientInvite {
            id,
            destination,
            request,
            via,
            bytes,
            state: State::Calling,
            interval: config.t1,
            ack: None,
            cancel_pending: None,
        }
    }

    /// The destination the INVITE went to.
    pub(crate) fn destination(&self) -> SocketAddr {
        self.destination
    }

    /// The CANCEL for this INVITE (same Request-URI, From, To, Call-ID, CSeq number and
    /// Via). Before any provisional response the CANCEL is held back (RFC 3261 §9.1) and
    /// released by [`Self::take_pending_cancel`] with the id reserved here.
    pub(crate) fn cancel(&mut self, cancel_id: TransactionId) -> CancelPlan {
        match self.state {
            State::Completed | State::Accepted => CancelPlan::TooLate,
            State::Calling if self.cancel_pending.is_some() => CancelPlan::TooLate,
            State::Calling => {
                self.cancel_pending = Some(cancel_id);
                CancelPlan::Deferred
            }
            State::Proceeding => CancelPlan::Now(self.cancel_request()),
        }
    }

    /// A CANCEL asked for while Calling, now that a provisional response arrived.
    pub(crate) fn take_pending_cancel(&mut self) -> Option<(TransactionId, NewRequest)> {
        if self.state == State::Proceeding {
            let id = self.cancel_pending.take()?;
            return Some((id, self.cancel_request()));
        }
        None
    }

    fn cancel_request(&self) -> NewRequest {
        NewRequest {
            method: crate::proto::message::Method::Cancel,
            headers: self.routes(),
            body: Vec::new(),
            ..self.request.clone()
        }
    }

    /// The INVITE's Via value (CANCEL and ACK reuse it).
    pub(crate) fn via(&self) -> &str {
        &self.via
    }

    fn routes(&self) -> Vec<Header> {
        self.request
            .headers
            .iter()
            .filter(|header| header.name.eq_ignore_ascii_case("Route"))
            .cloned()
            .collect()
    }

    pub(crate) fn on_timer(&mut self, kind: TimerKind, io: &mut Io, now: Instant) -> Status {
        match (kind, self.state) {
            (TimerKind::Retransmit, State::Calling) => {
                io.resend(self.destination, self.bytes.clone());
                self.interval *= 2;
                io.timers
                    .set(self.id, TimerKind::Retransmit, now + self.interval);
                Status::Alive
            }
            (TimerKind::Timeout, State::Calling | State::Proceeding) => {
                io.event(TransactionEvent::Timeout { id: self.id });
                Status::Terminated
            }
            (TimerKind::Timeout, State::Accepted) | (TimerKind::Linger, State::Completed) => {
                Status::Terminated
            }
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
        match (response.status, self.state) {
            (100..=199, State::Calling | State::Proceeding) => {
                self.state = State::Proceeding;
                io.timers.stop(id, TimerKind::Retransmit);
                io.timers.set(id, TimerKind::Timeout, now + config.timer_c);
                io.event(TransactionEvent::ResponseReceived {
                    id,
                    response,
                    source,
                });
            }
            (200..=299, State::Calling | State::Proceeding) => {
                self.state = State::Accepted;
                io.timers.stop(id, TimerKind::Retransmit);
                io.timers.set(id, TimerKind::Timeout, now + config.t1 * 64);
                io.event(TransactionEvent::ResponseReceived {
                    id,
                    response,
                    source,
                });
            }
            (200..=299, State::Accepted) => io.event(TransactionEvent::ResponseReceived {
                id,
                response,
                source,
            }),
            (300..=699, State::Calling | State::Proceeding) => {
                self.state = State::Completed;
                io.timers.stop(id, TimerKind::Retransmit);
                io.timers.stop(id, TimerKind::Timeout);
                io.timers.set(id, TimerKind::Linger, now + config.timer_d);
                self.ack = self.build_ack(&response);
                if let Some(ack) = &self.ack {
                    io.send(self.destination, ack.clone());
                }
                io.event(TransactionEvent::ResponseReceived {
                    id,
                    response,
                    source,
                });
            }
            (300..=699, State::Completed) => {
                if let Some(ack) = &self.ack {
                    io.send(self.destination, ack.clone());
                }
            }
            _ => {}
        }
        Status::Alive
    }

    /// The ACK for a non-2xx final (RFC 3261 §17.1.1.3): the INVITE's Request-URI, Via,
    /// From, Call-ID, CSeq number and Route headers, and the response's To.
    fn build_ack(&self, response: &Response) -> Option<Vec<u8>> {
        let ack = NewRequest {
            method: crate::proto::message::Method::Ack,
            to: response.header("To")?.to_string(),
            headers: self.routes(),
            body: Vec::new(),
            ..self.request.clone()
        };
        build_request(&ack, &self.via).ok()
    }
}

/// What [`ClientInvite::cancel`] decided.
pub(crate) enum CancelPlan {
    /// Send this CANCEL now.
    Now(NewRequest),
    /// Sent when the first provisional response arrives.
    Deferred,
    /// A final response arrived (or a CANCEL is already waiting): nothing to cancel.
    TooLate,
}
