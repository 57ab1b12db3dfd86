//! RFC 3261 §12 dialogs as the [`UserAgent`](super::user_agent::UserAgent) keeps them: the
//! Call-ID and both tags, the remote target (from Contact), both CSeq counters, the state of
//! the call, and the timers that reap it (maximum duration, session expiry).
//!
//! The route set is ignored for now: in-dialog requests go to the remote target's URI and
//! are sent to the address the dialog's requests came from (symmetric, NAT-friendly).

use super::message::{Method, NewRequest};
use super::sdp::Offer;
use super::time::Instant;
use super::transaction::TransactionId;
use core::net::SocketAddr;
use std::time::Duration;

/// A call's handle, unique for the user agent's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallKey(pub(crate) u64);

impl std::fmt::Display for CallKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "call{}", self.0)
    }
}

/// Which side of the call we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We received the INVITE.
    Uas,
    /// We sent the INVITE.
    Uac,
}

/// Where a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// UAS: the INVITE arrived and has no final response yet.
    Incoming,
    /// UAC: the INVITE is out and has no final response yet.
    Outgoing,
    /// UAC: we cancelled the INVITE and wait for its final response.
    Cancelling,
    /// UAS: we sent 200 and wait for the ACK.
    Answered,
    /// The dialog is confirmed: media flows.
    Confirmed,
    /// Our BYE is out.
    Ending,
}

/// Why a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndCause {
    /// We hung up (our BYE was answered or timed out, or our CANCEL took effect).
    LocalHangup,
    /// The peer sent BYE.
    RemoteHangup,
    /// The caller cancelled before we answered.
    Cancelled,
    /// Our 2xx was never acknowledged.
    AckTimeout,
    /// The negotiated session interval passed without a refresh (RFC 4028).
    SessionExpired,
    /// The call reached [`UaConfig::max_call_duration`](super::user_agent::UaConfig).
    MaxDuration,
}

/// The timers a dialog can arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum DialogTimer {
    MaxDuration,
    SessionExpiry,
}

/// One dialog (or early call) and everything needed to send requests in it.
#[derive(Debug, Clone)]
pub(crate) struct Dialog {
    pub(crate) key: CallKey,
    pub(crate) role: Role,
    pub(crate) state: CallState,
    pub(crate) call_id: String,
    pub(crate) local_tag: String,
    pub(crate) remote_tag: Option<String>,
    /// Our From/To value, without our tag.
    pub(crate) local_uri: String,
    /// The peer's From/To value, without its tag.
    pub(crate) remote_uri: String,
    pub(crate) remote_target: String,
    pub(crate) remote_address: SocketAddr,
    pub(crate) local_cseq: u32,
    pub(crate) remote_cseq: Option<u32>,
    /// UAS: the server INVITE; UAC: the client INVITE.
    pub(crate) invite: Option<TransactionId>,
    /// UAS: a re-INVITE waiting for the TU's answer.
    pub(crate) pending_reinvite: Option<(TransactionId, Option<Offer>)>,
    /// Our current SDP (the answer we gave, or the offer we made).
    pub(crate) local_sdp: Option<String>,
    /// UAC: the ACK for the 2xx, re-sent for every retransmitted 2xx.
    pub(crate) ack: Option<NewRequest>,
    /// Why the call is ending, once our BYE (or CANCEL) is out.
    pub(crate) ending: Option<EndCause>,
    pub(crate) max_end: Instant,
    /// The negotiated session interval, if any.
    pub(crate) session_interval: Option<Duration>,
    pub(crate) session_expiry: Option<Instant>,
}

impl Dialog {
    /// Our side's header value with our tag.
    pub(crate) fn local_header(&self) -> String {
        format!("{};tag={}", self.local_uri, self.local_tag)
    }

    /// The peer's header value with its tag (if known).
    pub(crate) fn remote_header(&self) -> String {
        match &self.remote_tag {
            Some(tag) => format!("{};tag={tag}", self.remote_uri),
            None => self.remote_uri.clone(),
        }
    }

    /// A request in this dialog with the next local CSeq.
    pub(crate) fn next_request(&mut self, method: Method) -> NewRequest {
        self.local_cseq = self.local_cseq.saturating_add(1).min((1 << 31) - 1);
        NewRequest::new(
            method,
            self.remote_target.clone(),
            self.local_header(),
            self.remote_header(),
            self.call_id.clone(),
            self.local_cseq,
        )
    }

    /// Whether the call has not been answered yet.
    pub(crate) fn is_early(&self) -> bool {
        matches!(
            self.state,
            CallState::Incoming | CallState::Outgoing | CallState::Cancelling
        )
    }
}

/// The URI in a name-addr (`"Bob" <sip:bob@host>;tag=x`) or addr-spec (`sip:bob@host;tag=x`).
pub(crate) fn header_uri(value: &str) -> &str {
    match (value.find('<'), value.find('>')) {
        (Some(start), Some(end)) if start < end => value.get(start + 1..end).unwrap_or_default(),
        _ => value.split(';').next().unwrap_or_default().trim(),
    }
}

/// A From/To value without its `tag` parameter.
pub(crate) fn without_tag(value: &str) -> String {
    let (head, params) = match value.rfind('>') {
        Some(end) => value.split_at(end + 1),
        None => match value.find(';') {
            Some(at) => value.split_at(at),
            None => (value, ""),
        },
    };
    let kept: String = params
        .split(';')
        .filter(|param| {
            let param = param.trim();
            !param.is_empty() && !param.to_ascii_lowercase().starts_with("tag=")
        })
        .map(|param| format!(";{param}"))
        .collect();
    format!("{}{kept}", head.trim_end())
}

/// The user part of a SIP URI (`sip:1000@host` → `1000`); empty if it has none.
pub(crate) fn uri_user(uri: &str) -> &str {
    let rest = uri
        .strip_prefix("sips:")
        .or_else(|| uri.strip_prefix("sip:"))
        .unwrap_or(uri);
    match rest.find('@') {
        Some(at) => rest
            .get(..at)
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default(),
        None => "",
    }
}

/// The delta-seconds of a `Session-Expires` value (`1800;refresher=uac`).
pub(crate) fn session_expires(value: &str) -> Option<u32> {
    value.split(';').next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_helpers_read_name_addrs_and_addr_specs() {
        assert_eq!(header_uri("\"Bob\" <sip:bob@h;lr>;tag=1"), "sip:bob@h;lr");
        assert_eq!(header_uri("sip:bob@h;tag=1"), "sip:bob@h");
        assert_eq!(
            without_tag("\"Bob\" <sip:bob@h>;tag=1;x=y"),
            "\"Bob\" <sip:bob@h>;x=y"
        );
        assert_eq!(without_tag("sip:bob@h;tag=1"), "sip:bob@h");
        assert_eq!(without_tag("<sip:bob@h>"), "<sip:bob@h>");
        assert_eq!(uri_user("sip:1000@10.0.0.1:5060;transport=udp"), "1000");
        assert_eq!(uri_user("sip:10.0.0.1"), "");
        assert_eq!(session_expires("1800;refresher=uac"), Some(1800));
        assert_eq!(session_expires("soon"), None);
    }
}
