//! What the layer hands out: datagrams to send, events for the TU, and the errors of the
//! TU's calls.

use crate::proto::checks::MessageError;
use crate::proto::message::{BuildError, Method, Request, Response};
use core::net::SocketAddr;
use thiserror::Error;

/// A transaction's handle, unique for the layer's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransactionId(pub(crate) u64);

impl std::fmt::Display for TransactionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "tx{}", self.0)
    }
}

/// How a message travels to a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Transport {
    /// Datagrams; the layer retransmits.
    #[default]
    Udp,
    /// A TCP connection (RFC 3261 §18: reliable, so nothing is retransmitted by timer).
    Tcp,
}

impl Transport {
    /// The Via's transport token.
    pub fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub destination: SocketAddr,
    /// Over what: TCP for a peer the layer was told is reached over a connection
    /// ([`TransactionLayer::handle_stream_message`](super::TransactionLayer::handle_stream_message),
    /// [`TransactionLayer::use_stream`](super::TransactionLayer::use_stream)).
    pub transport: Transport,
    /// The message.
    pub bytes: Vec<u8>,
}

/// What happened, for the TU (a dialog layer or a test).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransactionEvent {
    /// A new request (not a retransmission); answer it with
    /// [`TransactionLayer::send_response`](super::TransactionLayer::send_response).
    RequestReceived {
        /// The server transaction.
        id: TransactionId,
        /// The request.
        request: Request,
        /// Where it came from.
        source: SocketAddr,
        /// For a CANCEL: the INVITE server transaction it cancels.
        cancels: Option<TransactionId>,
    },
    /// An ACK outside any transaction: the ACK for a 2xx.
    AckReceived {
        /// The ACK.
        request: Request,
        /// Where it came from.
        source: SocketAddr,
        /// The INVITE server transaction whose 2xx it acknowledges, if still alive.
        invite: Option<TransactionId>,
    },
    /// A response for a client transaction (retransmitted 2xx to an INVITE included, so
    /// the TU can re-send its ACK).
    ResponseReceived {
        /// The client transaction.
        id: TransactionId,
        /// The response.
        response: Response,
        /// Where it came from.
        source: SocketAddr,
    },
    /// A response that matches no transaction.
    StrayResponse {
        /// The response.
        response: Response,
        /// Where it came from.
        source: SocketAddr,
    },
    /// Timer B, F or H fired, or the ACK for a 2xx never came (timer L).
    Timeout {
        /// The transaction.
        id: TransactionId,
    },
    /// The shell reported that sending failed.
    TransportError {
        /// The transaction.
        id: TransactionId,
    },
    /// The transaction ended; its id is not valid any more.
    Terminated {
        /// The transaction.
        id: TransactionId,
    },
    /// A new request was refused with 503 because the layer is full.
    Overloaded {
        /// Where it came from.
        source: SocketAddr,
        /// Its method.
        method: Method,
    },
    /// A datagram failed the checks.
    Malformed {
        /// Where it came from.
        source: SocketAddr,
        /// Why.
        error: MessageError,
        /// Whether the layer answered it (400, 505 or 513).
        answered: bool,
    },
}

/// Why the TU's request or response was not sent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SendError {
    /// The layer holds [`Config::max_transactions`](super::Config::max_transactions) transactions.
    #[error("{limit} transactions are alive already")]
    Overloaded {
        /// The limit.
        limit: usize,
    },
    /// No live transaction has this id.
    #[error("transaction {0} does not exist")]
    UnknownTransaction(TransactionId),
    /// A server transaction that already sent its final response.
    #[error("transaction {0} already sent its final response")]
    FinalAlreadySent(TransactionId),
    /// A response was given for a client transaction.
    #[error("transaction {0} is not a server transaction")]
    NotAServerTransaction(TransactionId),
    /// CANCEL was asked for something that is not a client INVITE transaction.
    #[error("transaction {0} is not a client INVITE transaction")]
    NotAClientInvite(TransactionId),
    /// The INVITE already received a final response.
    #[error("transaction {0} received its final response; nothing to cancel")]
    TooLateToCancel(TransactionId),
    /// ACK and CANCEL have their own calls.
    #[error("{0} is sent with its own call (send_ack, send_cancel)")]
    WrongMethod(Method),
    /// The message could not be serialized.
    #[error(transparent)]
    Build(#[from] BuildError),
}
