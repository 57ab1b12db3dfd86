//! The endpoint: one tokio task owns a UDP socket and a TCP listener on the same address,
//! the TCP connections ([`super::tcp`]) and a [`UserAgent`]; a [`SipHandle`] sends it the
//! TU's commands.
//!
//! The task `select!`s over a datagram (64 KiB buffer), a message framed from a connection,
//! a new connection, a command, the UA's next deadline and the shutdown future; after each
//! input it sends every [`UserAgent::poll_transmit`] (over UDP, or over the peer's
//! connection when the UA says [`Transport::Tcp`]) and forwards every
//! [`UserAgent::poll_event`] to the event channel. Proto time is milliseconds since the
//! endpoint started. New requests beyond the per-source [`RateLimit`] are dropped before
//! parsing, whatever they came over. The task ends when every [`SipHandle`] is dropped or
//! the shutdown future completes.

use super::tcp::{Connections, StreamInput};
use crate::proto::dialog::CallKey;
use crate::proto::digest::Credential;
use crate::proto::framing::PONG;
use crate::proto::rate_limit::{RateLimit, RateLimiter, counts_against_limit};
use crate::proto::registrar::{Binding, Registrar, RegistrarConfig};
use crate::proto::time::Instant;
use crate::proto::transaction::Transport;
use crate::proto::user_agent::{UaConfig, UaError, UaEvent, UacCredentials, UserAgent};
use core::net::SocketAddr;
use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;
use thiserror::Error;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, oneshot};

/// The endpoint's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointConfig {
    /// The user agent's. Its Contact, Via sent-by and seed are set by
    /// [`SipEndpoint::bind`] from the bound (or advertised) address and fresh randomness.
    pub ua: UaConfig,
    /// The address to put in Contact and Via, if not the bound one (NAT, `0.0.0.0`).
    pub advertised: Option<SocketAddr>,
    /// The user part of our Contact URI.
    pub contact_user: String,
    /// Per-source limit on new requests.
    pub rate_limit: RateLimit,
    /// Capacity of the event channel; a full channel slows the endpoint down.
    pub event_capacity: usize,
    /// Answer REGISTERs (agents' phones) with a registrar like this one; `None`: 405.
    pub registrar: Option<RegistrarConfig>,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            ua: UaConfig::default(),
            advertised: None,
            contact_user: "ramal".into(),
            rate_limit: RateLimit::default(),
            event_capacity: 1024,
            registrar: None,
        }
    }
}

/// Why the endpoint could not start.
#[derive(Debug, Error)]
pub enum TransportError {
    /// Binding the UDP socket failed.
    #[error("cannot bind UDP {address}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Listening on TCP at the UDP socket's address failed.
    #[error("cannot listen on TCP {address}")]
    Listen {
        /// The address.
        address: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The bound socket has no local address.
    #[error("cannot read the bound socket's address")]
    LocalAddress(#[source] std::io::Error),
}

/// Why a command failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CommandError {
    /// The user agent refused it.
    #[error(transparent)]
    Ua(#[from] UaError),
    /// The endpoint has shut down.
    #[error("the SIP endpoint has shut down")]
    Closed,
}

/// An outgoing call's parameters (see [`UserAgent::invite`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingCall {
    /// The Request-URI.
    pub target_uri: String,
    /// The From value without tag.
    pub from: String,
    /// The To value.
    pub to: String,
    /// The SDP offer.
    pub offer_sdp: String,
    /// Where to send the INVITE.
    pub destination: SocketAddr,
    /// Over what (a TCP trunk: a connection is opened if there is none).
    pub transport: Transport,
    /// What to answer a 401/407 with, if the far end may challenge.
    pub credentials: Option<UacCredentials>,
}

type Reply<T> = oneshot::Sender<Result<T, UaError>>;

#[derive(Debug)]
enum Command {
    Ringing(CallKey, Reply<()>),
    Answer(CallKey, String, Reply<()>),
    Reject(CallKey, u16, String, Reply<()>),
    Hangup(CallKey, Reply<()>),
    Invite(Box<OutgoingCall>, Reply<CallKey>),
    SetCredentials(HashMap<String, Credential>),
    Lookup(String, oneshot::Sender<Vec<Binding>>),
}

/// The TU's side of an endpoint. Cloning shares the endpoint; it stops when every clone
/// is dropped.
#[derive(Debug, Clone)]
pub struct SipHandle {
    commands: mpsc::Sender<Command>,
    local_address: SocketAddr,
}

impl SipHandle {
    /// The address the socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_address
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, CommandError> {
        let (reply, response) = oneshot::channel();
        self.commands
            .send(make(reply))
            .await
            .map_err(|_| CommandError::Closed)?;
        Ok(response.await.map_err(|_| CommandError::Closed)??)
    }

    /// Sends 180 Ringing ([`UserAgent::ringing`]).
    pub async fn ringing(&self, call: CallKey) -> Result<(), CommandError> {
        self.call(|reply| Command::Ringing(call, reply)).await
    }

    /// Answers with `answer_sdp` ([`UserAgent::answer`]).
    pub async fn answer(&self, call: CallKey, answer_sdp: String) -> Result<(), CommandError> {
        self.call(|reply| Command::Answer(call, answer_sdp, reply))
            .await
    }

    /// Refuses an incoming call ([`UserAgent::reject`]).
    pub async fn reject(
        &self,
        call: CallKey,
        status: u16,
        reason: String,
    ) -> Result<(), CommandError> {
        self.call(|reply| Command::Reject(call, status, reason, reply))
            .await
    }

    /// Hangs up ([`UserAgent::hangup`]).
    pub async fn hangup(&self, call: CallKey) -> Result<(), CommandError> {
        self.call(|reply| Command::Hangup(call, reply)).await
    }

    /// Replaces the credentials the registrar checks REGISTERs against (user name → HA1 or
    /// password, see [`Credential`]).
    pub async fn set_credentials(
        &self,
        credentials: HashMap<String, Credential>,
    ) -> Result<(), CommandError> {
        self.commands
            .send(Command::SetCredentials(credentials))
            .await
            .map_err(|_| CommandError::Closed)
    }

    /// The phones registered for `aor` now ([`UserAgent::lookup`]).
    pub async fn lookup(&self, aor: &str) -> Result<Vec<Binding>, CommandError> {
        let (reply, response) = oneshot::channel();
        self.commands
            .send(Command::Lookup(aor.to_owned(), reply))
            .await
            .map_err(|_| CommandError::Closed)?;
        response.await.map_err(|_| CommandError::Closed)
    }

    /// Places a call ([`UserAgent::invite`]).
    pub async fn invite(&self, call: OutgoingCall) -> Result<CallKey, CommandError> {
        self.call(|reply| Command::Invite(Box::new(call), reply))
            .await
    }
}

/// Starts endpoints (UDP and TCP on one address).
#[derive(Debug)]
pub struct SipEndpoint;

impl SipEndpoint {
    /// Binds `address` (UDP, then TCP on the port UDP got) and spawns the endpoint's task;
    /// it runs until every [`SipHandle`] is dropped.
    pub async fn bind(
        address: SocketAddr,
        config: EndpointConfig,
    ) -> Result<(SipHandle, mpsc::Receiver<UaEvent>), TransportError> {
        Self::bind_until(address, config, std::future::pending()).await
    }

    /// Like [`SipEndpoint::bind`], and also stops when `shutdown` completes.
    pub async fn bind_until(
        address: SocketAddr,
        mut config: EndpointConfig,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(SipHandle, mpsc::Receiver<UaEvent>), TransportError> {
        let (socket, listener, local_address) = bind_both(address).await?;
        let advertised = config.advertised.unwrap_or(local_address);
        config.ua.transaction.sent_by = advertised.to_string();
        config.ua.contact = format!("sip:{}@{advertised}", config.contact_user);
        config.ua.transaction.seed = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let (command_sender, commands) = mpsc::channel(64);
        let (events, event_receiver) = mpsc::channel(config.event_capacity.max(1));
        let (stream_inputs, stream_receiver) = mpsc::channel(256);
        let connections = Connections::new(stream_inputs, config.ua.transaction.max_message_size);
        let driver = Driver {
            socket,
            listener,
            connections,
            stream_inputs: stream_receiver,
            ua: match config.registrar {
                Some(registrar) => {
                    UserAgent::new(config.ua).with_registrar(Registrar::new(registrar))
                }
                None => UserAgent::new(config.ua),
            },
            limiter: RateLimiter::new(config.rate_limit),
            started: tokio::time::Instant::now(),
            events,
        };
        tokio::spawn(driver.run(commands, shutdown));
        let handle = SipHandle {
            commands: command_sender,
            local_address,
        };
        Ok((handle, event_receiver))
    }
}

/// A UDP socket and a TCP listener on one address. With port 0 the system picks the UDP
/// port; if that port is taken for TCP, another is tried (a few times).
async fn bind_both(
    address: SocketAddr,
) -> Result<(UdpSocket, TcpListener, SocketAddr), TransportError> {
    let mut attempts = 0;
    loop {
        let socket = UdpSocket::bind(address)
            .await
            .map_err(|source| TransportError::Bind { address, source })?;
        let local_address = socket.local_addr().map_err(TransportError::LocalAddress)?;
        match TcpListener::bind(local_address).await {
            Ok(listener) => return Ok((socket, listener, local_address)),
            Err(source)
                if address.port() == 0
                    && source.kind() == std::io::ErrorKind::AddrInUse
                    && attempts < 8 =>
            {
                attempts += 1;
            }
            Err(source) => {
                return Err(TransportError::Listen {
                    address: local_address,
                    source,
                });
            }
        }
    }
}

struct Driver {
    socket: UdpSocket,
    listener: TcpListener,
    connections: Connections,
    stream_inputs: mpsc::Receiver<StreamInput>,
    ua: UserAgent,
    limiter: RateLimiter,
    started: tokio::time::Instant,
    events: mpsc::Sender<UaEvent>,
}

impl Driver {
    fn now(&self) -> Instant {
        let elapsed = self.started.elapsed().as_millis();
        Instant::from_millis(u64::try_from(elapsed).unwrap_or(u64::MAX))
    }

    fn deadline(&self) -> Option<tokio::time::Instant> {
        let at = self.ua.poll_timeout()?;
        Some(self.started + Duration::from_millis(at.as_millis()))
    }

    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        shutdown: impl Future<Output = ()> + Send,
    ) {
        let mut buffer = vec![0u8; 64 * 1024];
        tokio::pin!(shutdown);
        loop {
            let deadline = self.deadline();
            let timer = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = &mut shutdown => break,
                received = self.socket.recv_from(&mut buffer) => {
                    // Errors here are ICMP reports from earlier sends; the UA's timers
                    // cover lost peers, so the datagram is simply skipped.
                    if let Ok((length, source)) = received {
                        let now = self.now();
                        let datagram = buffer.get(..length).unwrap_or_default();
                        if !counts_against_limit(datagram) || self.limiter.allow(source.ip(), now) {
                            self.ua.handle_datagram(source, datagram, now);
                        }
                    }
                }
                accepted = self.listener.accept() => {
                    // An accept error is the peer's (reset before accept) or a full file
                    // table; either way there is no connection to serve.
                    if let Ok((stream, peer)) = accepted {
                        self.connections.accepted(stream, peer);
                    }
                }
                Some(input) = self.stream_inputs.recv() => match input {
                    StreamInput::Message(peer, message) => {
                        let now = self.now();
                        if !counts_against_limit(&message) || self.limiter.allow(peer.ip(), now) {
                            self.ua.handle_stream_message(peer, &message, now);
                        }
                    }
                    StreamInput::Ping(peer) => {
                        self.connections.send(peer, PONG.to_vec());
                    }
                    StreamInput::Closed(peer) => {
                        self.connections.closed(peer);
                        self.ua.handle_stream_closed(peer);
                    }
                },
                command = commands.recv() => match command {
                    Some(command) => self.apply(command),
                    None => break,
                },
                () = timer => {
                    let now = self.now();
                    self.ua.handle_timeout(now);
                }
            }
            self.drain().await;
        }
    }

    fn apply(&mut self, command: Command) {
        let now = self.now();
        // A TU that dropped its reply receiver does not care about the outcome.
        match command {
            Command::Ringing(call, reply) => {
                let _ = reply.send(self.ua.ringing(call, now));
            }
            Command::Answer(call, sdp, reply) => {
                let _ = reply.send(self.ua.answer(call, &sdp, now));
            }
            Command::Reject(call, status, reason, reply) => {
                let _ = reply.send(self.ua.reject(call, status, &reason, now));
            }
            Command::Hangup(call, reply) => {
                let _ = reply.send(self.ua.hangup(call, now));
            }
            Command::SetCredentials(credentials) => self.ua.set_credentials(credentials),
            Command::Lookup(aor, reply) => {
                let _ = reply.send(self.ua.lookup(&aor, now));
            }
            Command::Invite(outgoing, reply) => {
                let outgoing = *outgoing;
                if outgoing.transport == Transport::Tcp {
                    self.ua.use_stream(outgoing.destination);
                }
                let result = self.ua.invite_with(
                    &outgoing.target_uri,
                    &outgoing.from,
                    &outgoing.to,
                    &outgoing.offer_sdp,
                    outgoing.destination,
                    outgoing.credentials,
                    now,
                );
                let _ = reply.send(result);
            }
        }
    }

    async fn drain(&mut self) {
        while let Some(transmit) = self.ua.poll_transmit() {
            match transmit.transport {
                // A failed send is a lost datagram: retransmission timers recover or give up.
                Transport::Udp => {
                    let _ = self
                        .socket
                        .send_to(&transmit.bytes, transmit.destination)
                        .await;
                }
                Transport::Tcp => self.connections.send(transmit.destination, transmit.bytes),
            }
        }
        while let Some(event) = self.ua.poll_event() {
            // With the receiver gone nobody listens; the endpoint keeps answering SIP.
            let _ = self.events.send(event).await;
        }
    }
}

#[cfg(test)]
mod tests;
