//! The server INVITE transaction (RFC 3261 §17.2.1, with RFC 6026's Accepted state).
//!
//! Proceeding: the INVITE went to the TU. If the TU sends nothing within
//! `Config::trying_delay` (200 ms by default; zero sends it at once), the transaction sends
//! `100 Trying` itself. A retransmitted INVITE gets the last response again (or a 100).
//! Completed: a 300–699 final is re-sent by timer G (T1, doubling up to T2) until the ACK
//! arrives (→ Confirmed, absorbing ACKs until timer I = T4) or timer H (64·T1) gives up
//! and reports a timeout. Accepted: after a 2xx the transaction re-sends it on the same
//! schedule as G until the TU's ACK (a new transaction, matched by Call-ID, CSeq and From
//! tag) arrives, and absorbs retransmitted INVITEs until timer L (64·T1). No ACK by then
//! is reported as a timeout, so the dialog layer can hang up. Re-sending the 2xx here
//! rather than in the TU is a departure from RFC 3261 §13.3.1.4, which puts it in the UAS
//! core: it is the same timer schedule, and it keeps dialogs free of retransmission code.

use super::timers::TimerKind;
use super::{Config, Io, SendError, Status, TransactionEvent, TransactionId};
use crate::proto::message::{NewResponse, ReplyHeaders, Request};
use crate::proto::time::Instant;
use core::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Proceeding,
    Completed,
    Confirmed,
    Accepted,
}

/// One server INVITE transaction.
#[derive(Debug)]
pub(crate) struct ServerInvite {
    id: TransactionId,
    source: SocketAddr,
    request: Request,
    to_tag: String,
    last_response: Option<Vec<u8>>,
    state: State,
    interval: Duration,
    acked: bool,
}

impl ServerInvite {
    /// A transaction for a new INVITE; arms (or sends at once) the 100 Trying.
    pub(crate) fn start(
        id: TransactionId,
        source: SocketAddr,
        request: Request,
        to_tag: String,
        io: &mut Io,
        config: &Config,
        now: Instant,
    ) -> ServerInvite {
        let mut transaction = ServerInvite {
            id,
            source,
            request,
            to_tag,
            last_response: None,
            state: State::Proceeding,
            interval: config.t1,
            acked: false,
        };
        if config.trying_delay.is_zero() {
            transaction.send_trying(io);
        } else {
            io.timers
                .set(id, TimerKind::Trying, now + config.trying_delay);
        }
        transaction
    }

    /// The INVITE.
    pub(crate) fn request(&self) -> &Request {
        &self.request
    }

    fn send_trying(&mut self, io: &mut Io) {
        io.timers.stop(self.id, TimerKind::Trying);
        let trying = ReplyHeaders::collect(&self.request.headers)
            .ok()
            .and_then(|copied| copied.build(&NewResponse::new(100, "Trying"), "").ok());
        if let Some(bytes) = trying {
            io.send(self.source, bytes.clone());
            self.last_response = Some(bytes);
        }
    }

    /// A retransmission of the INVITE.
    pub(crate) fn on_retransmission(&mut self, io: &mut Io) {
        match (self.state, &self.last_response) {
            (State::Proceeding | State::Completed, Some(bytes)) => {
                io.send(self.source, bytes.clone());
            }
            (State::Proceeding, None) => self.send_trying(io),
            _ => {}
        }
    }

    /// An ACK with this transaction's branch: the ACK for a non-2xx final.
    pub(crate) fn on_ack(&mut self, io: &mut Io, config: &Config, now: Instant) -> bool {
        if self.state != State::Completed {
            return false;
        }
        self.state = State::Confirmed;
        io.timers.stop(self.id, TimerKind::Retransmit);
        io.timers.stop(self.id, TimerKind::Timeout);
        io.timers.set(self.id, TimerKind::Linger, now + config.t4);
        true
    }

    /// The TU's ACK for our 2xx (matched by dialog, not branch). Returns whether this
    /// transaction was waiting for it.
    pub(crate) fn on_2xx_ack(&mut self, io: &mut Io) -> bool {
        if self.state != State::Accepted || self.acked {
            return false;
        }
        self.acked = true;
        io.timers.stop(self.id, TimerKind::Retransmit);
        true
    }

    /// A response from the TU.
    pub(crate) fn send_response(
        &mut self,
        response: &NewResponse,
        io: &mut Io,
        config: &Config,
        now: Instant,
    ) -> Result<(), SendError> {
        let accepts_final = self.state == State::Proceeding;
        let is_2xx_again = self.state == State::Accepted && (200..300).contains(&response.status);
        if !accepts_final && !is_2xx_again {
            return Err(SendError::FinalAlreadySent(self.id));
        }
        let copied = ReplyHeaders::collect(&self.request.headers).map_err(|kind| {
            SendError::Build(crate::proto::message::BuildError::MissingHeader(kind))
        })?;
        let tag = response.to_tag.as_deref().unwrap_or(&self.to_tag);
        let bytes = copied.build(response, tag)?;
        io.timers.stop(self.id, TimerKind::Trying);
        io.send(self.source, bytes.clone());
        self.last_response = Some(bytes);
        let id = self.id;
        match response.status {
            100..=199 => {}
            200..=299 if self.state == State::Proceeding => {
                self.state = State::Accepted;
                self.interval = config.t1;
                io.timers.set(id, TimerKind::Retransmit, now + config.t1);
                io.timers.set(id, TimerKind::Timeout, now + config.t1 * 64);
            }
            200..=299 => {}
            _ => {
                self.state = State::Completed;
                self.interval = config.t1;
                io.timers.set(id, TimerKind::Retransmit, now + config.t1);
                io.timers.set(id, TimerKind::Timeout, now + config.t1 * 64);
            }
        }
        Ok(())
    }

    pub(crate) fn on_timer(
        &mut self,
        kind: TimerKind,
        io: &mut Io,
        config: &Config,
        now: Instant,
    ) -> Status {
        match (kind, self.state) {
            (TimerKind::Trying, State::Proceeding) => {
                if self.last_response.is_none() {
                    self.send_trying(io);
                }
                Status::Alive
            }
            (TimerKind::Retransmit, State::Completed | State::Accepted) => {
                match (&self.last_response, self.state) {
                    // A 2xx is re-sent until its ACK on every transport (§13.3.1.4).
                    (Some(bytes), State::Accepted) => io.send(self.source, bytes.clone()),
                    (Some(bytes), _) => io.resend(self.source, bytes.clone()),
                    (None, _) => {}
                }
                self.interval = (self.interval * 2).min(config.t2);
                io.timers
                    .set(self.id, TimerKind::Retransmit, now + self.interval);
                Status::Alive
            }
            (TimerKind::Timeout, State::Completed) => {
                io.event(TransactionEvent::Timeout { id: self.id });
                Status::Terminated
            }
            (TimerKind::Timeout, State::Accepted) => {
                if !self.acked {
                    io.event(TransactionEvent::Timeout { id: self.id });
                }
                Status::Terminated
            }
            (TimerKind::Linger, State::Confirmed) => Status::Terminated,
            _ => Status::Alive,
        }
    }
}
