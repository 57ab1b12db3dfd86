//! RFC 3261 §17 transactions as state machines, owned by one [`TransactionLayer`].
//!
//! The layer is sans-IO in quinn's shape. Inputs: [`TransactionLayer::handle_datagram`],
//! [`TransactionLayer::handle_timeout`], [`TransactionLayer::handle_transport_error`], and
//! the TU's mutators ([`TransactionLayer::send_request`], [`TransactionLayer::send_response`],
//! [`TransactionLayer::send_cancel`], [`TransactionLayer::send_ack`]). Outputs:
//! [`TransactionLayer::poll_transmit`], [`TransactionLayer::poll_event`] and
//! [`TransactionLayer::poll_timeout`]. After any input, drain `poll_transmit` and
//! `poll_event` until both return `None`, then sleep until `poll_timeout` and call
//! `handle_timeout`. Nothing here reads a clock or touches a socket.
//!
//! Matching follows §17.1.3 (responses: top Via branch + CSeq method) and §17.2.3
//! (requests: branch + sent-by + method, with ACK matching its INVITE). CANCEL is its own
//! server transaction; [`TransactionEvent::RequestReceived::cancels`] names the INVITE it
//! matches, and an unmatched CANCEL is answered `481` by the layer. An ACK for a 2xx is
//! not part of any transaction: it reaches the TU as [`TransactionEvent::AckReceived`],
//! after stopping the 2xx re-sends of the INVITE it acknowledges.
//!
//! The layer answers by itself in three cases, each also reported as an event:
//! - a malformed request whose Via, From, To, Call-ID and CSeq could be read gets
//!   `400 <reason>` (505 for the version, 513 for the size); anything else malformed is
//!   dropped ([`TransactionEvent::Malformed`]);
//! - a new request when [`Config::max_transactions`] are alive gets `503 Service
//!   Unavailable` with `Retry-After` and creates no transaction
//!   ([`TransactionEvent::Overloaded`]); requests the TU sends meanwhile fail with
//!   [`SendError::Overloaded`];
//! - an INVITE the TU has not answered within [`Config::trying_delay`] gets `100 Trying`.
//!
//! Responses go back to the datagram's source address (symmetric response routing, as
//! `rport` asks), not to the Via's sent-by. Each peer has a [`Transport`]: UDP, or TCP once
//! a message came over a connection from it ([`TransactionLayer::handle_stream_message`])
//! or the TU asked for one ([`TransactionLayer::use_stream`]). Over TCP the Via says so and
//! timer retransmissions (A, E, and G for non-2xx finals) are not sent; the other timers
//! keep their UDP values, which only delays forgetting a finished transaction (a 2xx is
//! still re-sent until its ACK, as §13.3.1.4 asks of the UAS core on any transport).

mod client_invite;
mod client_non_invite;
mod config;
mod event;
mod server_invite;
mod server_non_invite;
mod timers;

#[cfg(test)]
mod tests;

use super::checks::{Rejected, parse_detailed};
use super::message::{
    Header, Message, Method, NewRequest, NewResponse, ReplyHeaders, Request, Response,
    build_request,
};
use super::time::Instant;
use client_invite::{CancelPlan, ClientInvite};
use client_non_invite::ClientNonInvite;
use core::net::SocketAddr;
use server_invite::ServerInvite;
use server_non_invite::ServerNonInvite;
use std::collections::{HashMap, HashSet, VecDeque};
use timers::TimerTable;

pub use config::Config;
pub use event::{SendError, TransactionEvent, TransactionId, Transmit, Transport};

/// The outputs every state machine writes to.
#[derive(Debug, Default)]
pub(crate) struct Io {
    pub(crate) timers: TimerTable,
    transmits: VecDeque<Transmit>,
    events: VecDeque<TransactionEvent>,
    /// Peers reached over a connection (a stream transport); every other peer is UDP.
    streams: HashSet<SocketAddr>,
}

impl Io {
    pub(crate) fn transport(&self, peer: SocketAddr) -> Transport {
        if self.streams.contains(&peer) {
            Transport::Tcp
        } else {
            Transport::Udp
        }
    }

    pub(crate) fn send(&mut self, destination: SocketAddr, bytes: Vec<u8>) {
        let transport = self.transport(destination);
        self.transmits.push_back(Transmit {
            destination,
            transport,
            bytes,
        });
    }

    /// A timer's retransmission: sent over UDP only, since a connection already
    /// delivers reliably (RFC 3261 §17.1.1.2, §17.1.2.2, §17.2.1).
    pub(crate) fn resend(&mut self, destination: SocketAddr, bytes: Vec<u8>) {
        if self.transport(destination) == Transport::Udp {
            self.send(destination, bytes);
        }
    }

    pub(crate) fn event(&mut self, event: TransactionEvent) {
        self.events.push_back(event);
    }
}

/// Whether a state machine lives on after an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Alive,
    Terminated,
}

#[derive(Debug)]
enum Transaction {
    InviteClient(ClientInvite),
    NonInviteClient(ClientNonInvite),
    InviteServer(ServerInvite),
    NonInviteServer(ServerNonInvite),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ServerKey {
    branch: String,
    sent_by: String,
    method: Method,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    branch: String,
    method: Method,
}

/// How an ACK for a 2xx finds its INVITE: Call-ID, CSeq number, From tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct DialogKey {
    call_id: String,
    cseq: u32,
    from_tag: String,
}

#[derive(Debug, Clone)]
enum IndexKey {
    Server(ServerKey, Option<DialogKey>),
    Client(ClientKey),
}

#[derive(Debug)]
struct Entry {
    transaction: Transaction,
    key: IndexKey,
}

/// Every live transaction of one endpoint, with the matching and the timers.
#[derive(Debug)]
pub struct TransactionLayer {
    config: Config,
    entries: HashMap<TransactionId, Entry>,
    servers: HashMap<ServerKey, TransactionId>,
    clients: HashMap<ClientKey, TransactionId>,
    invites_by_dialog: HashMap<DialogKey, TransactionId>,
    io: Io,
    next_id: u64,
    counter: u64,
}

/// splitmix64: a small, well-mixed function for branches and tags.
fn mix(mut value: u64) -> u64 {
    value = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    value ^ (value >> 31)
}

impl TransactionLayer {
    /// An empty layer.
    pub fn new(config: Config) -> Self {
        TransactionLayer {
            config,
            entries: HashMap::new(),
            servers: HashMap::new(),
            clients: HashMap::new(),
            invites_by_dialog: HashMap::new(),
            io: Io::default(),
            next_id: 1,
            counter: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// How many transactions are alive.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no transaction is alive.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.io.transmits.pop_front()
    }

    /// The next event for the TU.
    pub fn poll_event(&mut self) -> Option<TransactionEvent> {
        self.io.events.pop_front()
    }

    /// When [`Self::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.io.timers.next()
    }

    fn fresh(&mut self) -> u64 {
        self.counter += 1;
        mix(self.config.seed ^ mix(self.counter))
    }

    fn new_id(&mut self) -> TransactionId {
        let id = TransactionId(self.next_id);
        self.next_id += 1;
        id
    }

    fn new_tag(&mut self) -> String {
        format!("{:012x}", self.fresh() & 0xFFFF_FFFF_FFFF)
    }

    /// A Via for a request to `destination`, naming the transport it goes over.
    fn new_via(&mut self, destination: SocketAddr) -> (String, String) {
        let branch = format!("z9hG4bK{:016x}", self.fresh());
        let transport = self.io.transport(destination).via_token();
        let via = format!(
            "SIP/2.0/{transport} {};branch={branch}",
            self.config.sent_by
        );
        (branch, via)
    }

    /// One datagram from `source`.
    pub fn handle_datagram(&mut self, source: SocketAddr, bytes: &[u8], now: Instant) {
        self.handle_message(source, bytes, now);
    }

    /// One message framed from the connection with `source` (see
    /// [`crate::proto::framing`]). From now on `source` is reached over that connection:
    /// answers and requests to it go as [`Transport::Tcp`], without timer retransmissions.
    pub fn handle_stream_message(&mut self, source: SocketAddr, bytes: &[u8], now: Instant) {
        self.io.streams.insert(source);
        self.handle_message(source, bytes, now);
    }

    /// Sends to `peer` over a connection from now on (an outbound TCP trunk); the
    /// transport opens one if it has none.
    pub fn use_stream(&mut self, peer: SocketAddr) {
        self.io.streams.insert(peer);
    }

    /// The connection with `peer` closed: what is still sent to it goes over UDP, as a
    /// peer that lost its connection may still listen there. Transactions live on and end
    /// by their timers.
    pub fn handle_stream_closed(&mut self, peer: SocketAddr) {
        self.io.streams.remove(&peer);
    }

    /// How messages to `peer` travel.
    pub fn transport_to(&self, peer: SocketAddr) -> Transport {
        self.io.transport(peer)
    }

    fn handle_message(&mut self, source: SocketAddr, bytes: &[u8], now: Instant) {
        match parse_detailed(bytes, self.config.max_message_size) {
            Err(rejected) => self.reject(source, rejected),
            Ok(Message::Request(request)) => self.on_request(source, request, now),
            Ok(Message::Response(response)) => self.on_response(source, response, now),
        }
    }

    fn reject(&mut self, source: SocketAddr, rejected: Rejected) {
        let answerable = rejected
            .request_method
            .is_some_and(|method| method != Method::Ack);
        let tag = self.new_tag();
        let reply = answerable
            .then(|| ReplyHeaders::collect(&rejected.headers).ok())
            .flatten()
            .and_then(|copied| {
                let error = &rejected.error;
                let response = NewResponse::new(error.status_code(), error.reason_phrase());
                copied.build(&response, &tag).ok()
            });
        let answered = reply.is_some();
        if let Some(bytes) = reply {
            self.io.send(source, bytes);
        }
        self.io.event(TransactionEvent::Malformed {
            source,
            error: rejected.error,
            answered,
        });
    }

    fn on_request(&mut self, source: SocketAddr, request: Request, now: Instant) {
        let key = ServerKey {
            branch: request.branch.clone(),
            sent_by: request.sent_by.clone(),
            method: match request.method {
                Method::Ack => Method::Invite,
                other => other,
            },
        };
        if let Some(&id) = self.servers.get(&key) {
            let mut unmatched_ack = false;
            if let Some(entry) = self.entries.get_mut(&id) {
                match (&mut entry.transaction, request.method) {
                    (Transaction::InviteServer(invite), Method::Ack) => {
                        unmatched_ack = !invite.on_ack(&mut self.io, &self.config, now);
                    }
                    (Transaction::InviteServer(invite), _) => {
                        invite.on_retransmission(&mut self.io)
                    }
                    (Transaction::NonInviteServer(other), _) => {
                        other.on_retransmission(&mut self.io);
                    }
                    _ => {}
                }
            }
            if unmatched_ack {
                self.on_2xx_ack(source, request);
            }
            return;
        }
        if request.method == Method::Ack {
            self.on_2xx_ack(source, request);
            return;
        }
        if self.entries.len() >= self.config.max_transactions {
            self.refuse_overloaded(source, &request);
            return;
        }
        let id = self.new_id();
        let to_tag = self.new_tag();
        let mut dialog = None;
        let mut cancels = None;
        let transaction = if request.method == Method::Invite {
            let dialog_key = DialogKey {
                call_id: request.call_id.clone(),
                cseq: request.cseq,
                from_tag: request.from_tag.clone(),
            };
            self.invites_by_dialog.insert(dialog_key.clone(), id);
            dialog = Some(dialog_key);
            Transaction::InviteServer(ServerInvite::start(
                id,
                source,
                request.clone(),
                to_tag,
                &mut self.io,
                &self.config,
                now,
            ))
        } else {
            let mut transaction = ServerNonInvite::new(id, source, request.clone(), to_tag);
            if request.method == Method::Cancel {
                let invite_key = ServerKey {
                    method: Method::Invite,
                    ..key.clone()
                };
                cancels = self.servers.get(&invite_key).copied();
                if cancels.is_none() {
                    let reply = NewResponse::new(481, "Call/Transaction Does Not Exist");
                    // The request passed the checks, so the copied headers are present;
                    // should building fail anyway, the CANCEL is simply not answered.
                    let _ = transaction.send_response(&reply, &mut self.io, &self.config, now);
                }
            }
            Transaction::NonInviteServer(transaction)
        };
        self.servers.insert(key.clone(), id);
        self.entries.insert(
            id,
            Entry {
                transaction,
                key: IndexKey::Server(key, dialog),
            },
        );
        if request.method == Method::Cancel && cancels.is_none() {
            return;
        }
        self.io.event(TransactionEvent::RequestReceived {
            id,
            request,
            source,
            cancels,
        });
    }

    fn on_2xx_ack(&mut self, source: SocketAddr, request: Request) {
        let key = DialogKey {
            call_id: request.call_id.clone(),
            cseq: request.cseq,
            from_tag: request.from_tag.clone(),
        };
        let invite = self.invites_by_dialog.get(&key).copied();
        if let Some(id) = invite
            && let Some(Entry {
                transaction: Transaction::InviteServer(transaction),
                ..
            }) = self.entries.get_mut(&id)
        {
            transaction.on_2xx_ack(&mut self.io);
        }
        self.io.event(TransactionEvent::AckReceived {
            request,
            source,
            invite,
        });
    }

    fn refuse_overloaded(&mut self, source: SocketAddr, request: &Request) {
        let mut reply = NewResponse::new(503, "Service Unavailable");
        reply.headers.push(Header::new(
            "Retry-After",
            self.config.retry_after_secs.to_string(),
        ));
        let tag = self.new_tag();
        if let Ok(copied) = ReplyHeaders::collect(&request.headers)
            && let Ok(bytes) = copied.build(&reply, &tag)
        {
            self.io.send(source, bytes);
        }
        self.io.event(TransactionEvent::Overloaded {
            source,
            method: request.method,
        });
    }

    fn on_response(&mut self, source: SocketAddr, response: Response, now: Instant) {
        let key = ClientKey {
            branch: response.branch.clone(),
            method: response.cseq_method,
        };
        let Some(&id) = self.clients.get(&key) else {
            self.io
                .event(TransactionEvent::StrayResponse { response, source });
            return;
        };
        let mut pending_cancel = None;
        let status = match self
            .entries
            .get_mut(&id)
            .map(|entry| &mut entry.transaction)
        {
            Some(Transaction::InviteClient(invite)) => {
                let status = invite.on_response(response, source, &mut self.io, &self.config, now);
                pending_cancel = invite.take_pending_cancel().map(|(cancel_id, cancel)| {
                    (
                        cancel_id,
                        cancel,
                        invite.via().to_string(),
                        invite.destination(),
                    )
                });
                status
            }
            Some(Transaction::NonInviteClient(other)) => {
                other.on_response(response, source, &mut self.io, &self.config, now)
            }
            _ => Status::Alive,
        };
        if status == Status::Terminated {
            self.terminate(id);
        }
        if let Some((cancel_id, cancel, via, destination)) = pending_cancel {
            // A CANCEL that cannot be serialized now could not have been built earlier
            // either: the INVITE's own fields were checked when it was sent.
            let _ = self.start_client(cancel_id, cancel, via, destination, now);
        }
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for (id, kind) in self.io.timers.take_due(now) {
            let Some(entry) = self.entries.get_mut(&id) else {
                continue;
            };
            let (io, config) = (&mut self.io, &self.config);
            let status = match &mut entry.transaction {
                Transaction::InviteClient(t) => t.on_timer(kind, io, now),
                Transaction::NonInviteClient(t) => t.on_timer(kind, io, config, now),
                Transaction::InviteServer(t) => t.on_timer(kind, io, config, now),
                Transaction::NonInviteServer(t) => t.on_timer(kind),
            };
            if status == Status::Terminated {
                self.terminate(id);
            }
        }
    }

    /// The shell could not send a datagram of transaction `id`: the transaction ends.
    pub fn handle_transport_error(&mut self, id: TransactionId) {
        if self.entries.contains_key(&id) {
            self.io.event(TransactionEvent::TransportError { id });
            self.terminate(id);
        }
    }

    fn terminate(&mut self, id: TransactionId) {
        let Some(entry) = self.entries.remove(&id) else {
            return;
        };
        match entry.key {
            IndexKey::Server(key, dialog) => {
                self.servers.remove(&key);
                if let Some(dialog) = dialog
                    && self.invites_by_dialog.get(&dialog) == Some(&id)
                {
                    self.invites_by_dialog.remove(&dialog);
                }
            }
            IndexKey::Client(key) => {
                self.clients.remove(&key);
            }
        }
        self.io.timers.stop_all(id);
        self.io.event(TransactionEvent::Terminated { id });
    }

    /// Sends `request` to `destination` in a new client transaction; the layer adds the
    /// Via (fresh branch) and Content-Length. ACK and CANCEL have their own calls.
    pub fn send_request(
        &mut self,
        request: NewRequest,
        destination: SocketAddr,
        now: Instant,
    ) -> Result<TransactionId, SendError> {
        if matches!(request.method, Method::Ack | Method::Cancel) {
            return Err(SendError::WrongMethod(request.method));
        }
        if self.entries.len() >= self.config.max_transactions {
            return Err(SendError::Overloaded {
                limit: self.config.max_transactions,
            });
        }
        let (_, via) = self.new_via(destination);
        let id = self.new_id();
        self.start_client(id, request, via, destination, now)?;
        Ok(id)
    }

    fn start_client(
        &mut self,
        id: TransactionId,
        request: NewRequest,
        via: String,
        destination: SocketAddr,
        now: Instant,
    ) -> Result<(), SendError> {
        let bytes = build_request(&request, &via)?;
        let branch = via.split(";branch=").nth(1).unwrap_or_default().to_string();
        let key = ClientKey {
            branch,
            method: request.method,
        };
        let (io, config) = (&mut self.io, &self.config);
        let transaction = if request.method == Method::Invite {
            Transaction::InviteClient(ClientInvite::start(
                id,
                client_invite::Outgoing {
                    destination,
                    request,
                    via,
                    bytes,
                },
                io,
                config,
                now,
            ))
        } else {
            Transaction::NonInviteClient(ClientNonInvite::start(
                id,
                destination,
                bytes,
                io,
                config,
                now,
            ))
        };
        self.clients.insert(key.clone(), id);
        self.entries.insert(
            id,
            Entry {
                transaction,
                key: IndexKey::Client(key),
            },
        );
        Ok(())
    }

    /// Cancels client INVITE `invite` (RFC 3261 §9.1): a CANCEL in its own client
    /// transaction, sent now if a provisional response arrived, or as soon as one does.
    pub fn send_cancel(
        &mut self,
        invite: TransactionId,
        now: Instant,
    ) -> Result<TransactionId, SendError> {
        let cancel_id = TransactionId(self.next_id);
        let plan = match self.entries.get_mut(&invite).map(|e| &mut e.transaction) {
            Some(Transaction::InviteClient(transaction)) => {
                let plan = transaction.cancel(cancel_id);
                let via = transaction.via().to_string();
                (plan, via, transaction.destination())
            }
            Some(_) => return Err(SendError::NotAClientInvite(invite)),
            None => return Err(SendError::UnknownTransaction(invite)),
        };
        match plan {
            (CancelPlan::TooLate, _, _) => Err(SendError::TooLateToCancel(invite)),
            (CancelPlan::Deferred, _, _) => {
                self.next_id += 1;
                Ok(cancel_id)
            }
            (CancelPlan::Now(cancel), via, destination) => {
                self.next_id += 1;
                self.start_client(cancel_id, cancel, via, destination, now)?;
                Ok(cancel_id)
            }
        }
    }

    /// Sends an ACK for a 2xx (a request outside any transaction) once, with a fresh
    /// branch. The TU calls it again for every retransmitted 2xx.
    pub fn send_ack(
        &mut self,
        request: NewRequest,
        destination: SocketAddr,
    ) -> Result<(), SendError> {
        if request.method != Method::Ack {
            return Err(SendError::WrongMethod(request.method));
        }
        let (_, via) = self.new_via(destination);
        let bytes = build_request(&request, &via)?;
        self.io.send(destination, bytes);
        Ok(())
    }

    /// Sends the TU's response in server transaction `id`. Via, From, To, Call-ID and
    /// CSeq come from the request; the To tag is `response.to_tag` or one the layer chose
    /// for this transaction.
    pub fn send_response(
        &mut self,
        id: TransactionId,
        response: NewResponse,
        now: Instant,
    ) -> Result<(), SendError> {
        let (io, config) = (&mut self.io, &self.config);
        match self.entries.get_mut(&id).map(|e| &mut e.transaction) {
            Some(Transaction::InviteServer(t)) => t.send_response(&response, io, config, now),
            Some(Transaction::NonInviteServer(t)) => t.send_response(&response, io, config, now),
            Some(_) => Err(SendError::NotAServerTransaction(id)),
            None => Err(SendError::UnknownTransaction(id)),
        }
    }

    /// The request of server INVITE transaction `id`, while it is alive.
    pub fn invite_request(&self, id: TransactionId) -> Option<&Request> {
        match self.entries.get(&id).map(|e| &e.transaction) {
            Some(Transaction::InviteServer(t)) => Some(t.request()),
            _ => None,
        }
    }
}
