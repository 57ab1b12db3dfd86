//! # ramal-sip
//!
//! SIP for Ramal. This crate owns the SIP wire format (parsed with `rsip`, whose types stay
//! inside it, then checked by our own rules), RFC 3261 transactions, dialogs and a user
//! agent ([`UserAgent`]), SDP offer/answer for audio ([`proto::sdp`]), a per-source rate
//! limit, Digest authentication for both sides ([`proto::digest`]), a registrar for the
//! agents' phones ([`Registrar`]), and the tokio shell ([`transport::endpoint`]): UDP and
//! TCP on one address, TCP framed by Content-Length ([`proto::framing`]).
//!
//! The [`proto`] core is sans-IO in the style of quinn-proto and str0m: a
//! [`TransactionLayer`] takes datagrams, TU requests and time (`now`) in, and hands
//! datagrams ([`Transmit`]), events ([`TransactionEvent`]) and its next deadline out.
//! It never reads a clock or touches a socket, so its tests run RFC 3261's 32-second timers
//! in virtual time over a lossy in-memory network. Transports are thin shells around it:
//! read a datagram, call `handle_datagram`, drain `poll_transmit` and `poll_event`, sleep
//! until `poll_timeout`, call `handle_timeout`.
//!
//! A dialog layer sits on top of [`TransactionEvent`]s: requests arrive with a server
//! transaction id to answer through, responses with the client transaction id they belong
//! to, and ACKs for 2xx as their own event.

pub mod proto;
pub mod transport;

pub use proto::checks::{HeaderKind, MessageError, parse};
pub use proto::dialog::{CallKey, CallState, EndCause};
pub use proto::digest::{
    Algorithm, AuthConfig, AuthFailure, Authenticator, Authorization, Challenge, Credential,
    DigestError, DigestRequest, QopAuth, authorize,
};
pub use proto::message::{
    BuildError, Header, Message, Method, NewRequest, NewResponse, Request, Response, build_response,
};
pub use proto::rate_limit::{RateLimit, RateLimiter};
pub use proto::registrar::{
    Binding, BindingLimit, Credentials, RegisterOutcome, RegisterReply, Registrar, RegistrarConfig,
};
pub use proto::sdp::{Offer, SdpError};
pub use proto::time::Instant;
pub use proto::transaction::{
    Config, SendError, TransactionEvent, TransactionId, TransactionLayer, Transmit, Transport,
};
pub use proto::user_agent::{
    ReInvitePolicy, UaConfig, UaError, UaEvent, UacCredentials, UserAgent,
};
pub use transport::endpoint::{
    CommandError, EndpointConfig, OutgoingCall, SipEndpoint, SipHandle, TransportError,
};

/// One fuzzing input: parses `bytes` and feeds them to a fresh [`TransactionLayer`] as a
/// datagram and as a TCP stream, then drains everything and fires every timer. A future `cargo-fuzz` target
/// calls this; it must never panic.
pub fn fuzz_one(bytes: &[u8]) {
    let _ = parse(bytes, 65_535);
    let mut layer = TransactionLayer::new(Config::default());
    let source = core::net::SocketAddr::from(([192, 0, 2, 1], 5060));
    let now = Instant::from_millis(0);
    layer.handle_datagram(source, bytes, now);
    layer.handle_datagram(source, bytes, now);
    // The same bytes as a TCP stream: framed, and each message handed over as one.
    let mut framer = proto::framing::StreamFramer::new(65_535);
    framer.push(bytes);
    while let Ok(Some(frame)) = framer.next_frame() {
        if let proto::framing::Frame::Message(message) = frame {
            layer.handle_stream_message(source, &message, now);
        }
    }
    while layer.poll_transmit().is_some() || layer.poll_event().is_some() {}
    let mut steps = 0;
    while let Some(deadline) = layer.poll_timeout() {
        layer.handle_timeout(deadline);
        while layer.poll_transmit().is_some() || layer.poll_event().is_some() {}
        steps += 1;
        if steps > 1000 {
            break;
        }
    }
}
