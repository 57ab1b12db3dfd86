//! A sans-IO SIP user agent: [`UserAgent`] owns a [`TransactionLayer`] and the
//! [`dialog`](super::dialog)s on top of it, answers what a UA answers by itself (OPTIONS,
//! CANCEL, BYE, 481 for unknown dialogs, 503 over the dialog limit, 488 for offers without a
//! common codec, re-INVITE refreshes), and reports calls to its TU as [`UaEvent`]s.
//!
//! Same shape as the transaction layer: inputs are [`UserAgent::handle_datagram`],
//! [`UserAgent::handle_timeout`] and the TU's calls ([`UserAgent::ringing`],
//! [`UserAgent::answer`], [`UserAgent::reject`], [`UserAgent::hangup`],
//! [`UserAgent::invite`]); outputs are [`UserAgent::poll_transmit`],
//! [`UserAgent::poll_event`] and [`UserAgent::poll_timeout`]. After any input, drain
//! `poll_transmit` and `poll_event`, then sleep until `poll_timeout`.
//!
//! Calls are reaped by time as well as by signalling: every call ends by
//! [`UaConfig::max_call_duration`], and a call whose INVITE asked for `Session-Expires`
//! (RFC 4028, with the peer as refresher) ends when no re-INVITE or UPDATE refreshes it in
//! time. An outgoing INVITE given [`UacCredentials`] answers one 401/407 challenge per
//! call (RFC 3261 §22.2, the digest of [`super::digest`], SHA-256 preferred) with a new
//! INVITE in the same dialog; a second challenge is the call's failure. Forking is not
//! handled.

mod challenge;
mod inbound;
mod register;

#[cfg(test)]
mod tests;

use super::dialog::{CallKey, CallState, Dialog, DialogTimer, EndCause, Role, header_uri};
use super::digest::Credential;
use super::message::{Header, Method, NewRequest, NewResponse};
use super::registrar::{RegisterOutcome, Registrar};
use super::sdp::{Offer, SdpLimits};
use super::time::Instant;
use super::transaction::{Config, SendError, TransactionId, TransactionLayer, Transmit};
use core::net::SocketAddr;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::Duration;
use thiserror::Error;

/// What the UA does with a re-INVITE in a confirmed dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReInvitePolicy {
    /// Answer 200 at once with our current SDP, its direction mirroring a hold.
    #[default]
    AutoAnswer,
    /// Report [`UaEvent::ReInvite`] and wait for [`UserAgent::answer`].
    AskTu,
}

/// The UA's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UaConfig {
    /// The transaction layer's.
    pub transaction: Config,
    /// Our Contact URI (`sip:ramal@203.0.113.5:5060`).
    pub contact: String,
    /// Dialogs at most; new INVITEs beyond it get 503 with Retry-After.
    pub max_dialogs: usize,
    /// The Retry-After of those 503s, in seconds.
    pub retry_after_secs: u32,
    /// Every call ends after this long, whatever the signalling says.
    pub max_call_duration: Duration,
    /// The smallest Session-Expires we accept (RFC 4028's Min-SE), 90 s.
    pub min_session_expires: Duration,
    /// Limits on SDP bodies.
    pub sdp_limits: SdpLimits,
    /// Re-INVITE handling.
    pub reinvite: ReInvitePolicy,
}

impl Default for UaConfig {
    fn default() -> Self {
        UaConfig {
            transaction: Config::default(),
            contact: "sip:ramal@127.0.0.1:5060".into(),
            max_dialogs: 1000,
            retry_after_secs: 5,
            max_call_duration: Duration::from_secs(4 * 3600),
            min_session_expires: Duration::from_secs(90),
            sdp_limits: SdpLimits::default(),
            reinvite: ReInvitePolicy::default(),
        }
    }
}

/// What happened to a call, for the TU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UaEvent {
    /// A new INVITE outside any dialog, with an acceptable offer (or none).
    IncomingCall {
        /// The call.
        call: CallKey,
        /// The From header's value.
        from: String,
        /// The Request-URI's user part (the number dialled).
        to: String,
        /// The parsed SDP offer, if the INVITE carried one.
        offer: Option<Offer>,
        /// Where the INVITE came from.
        source: SocketAddr,
    },
    /// The ACK for our 200 arrived: the call is up.
    Established {
        /// The call.
        call: CallKey,
    },
    /// A re-INVITE in a confirmed dialog (hold, resume, refresh).
    ReInvite {
        /// The call.
        call: CallKey,
        /// Its parsed offer, if any.
        offer: Option<Offer>,
    },
    /// UAC: a provisional response.
    Progress {
        /// The call.
        call: CallKey,
        /// The status (180, 183…).
        status: u16,
    },
    /// UAC: the 2xx arrived and was acknowledged.
    Answered {
        /// The call.
        call: CallKey,
        /// The parsed SDP answer, if any and if it parses.
        answer: Option<Offer>,
    },
    /// UAC: the INVITE failed (a final response ≥ 300, or 408 for a timeout).
    Failed {
        /// The call.
        call: CallKey,
        /// The status.
        status: u16,
    },
    /// The call is over; its key is not valid any more.
    CallEnded {
        /// The call.
        call: CallKey,
        /// Why.
        cause: EndCause,
    },
    /// A REGISTER was answered by the UA's registrar (see [`UserAgent::with_registrar`]).
    Registration {
        /// Where it came from.
        source: SocketAddr,
        /// What it did.
        outcome: RegisterOutcome,
    },
    /// A new INVITE was refused by the UA itself (503 over the limit, 488 for its offer).
    Refused {
        /// Where it came from.
        source: SocketAddr,
        /// The status sent.
        status: u16,
    },
}

/// Why a TU call failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UaError {
    /// No live call has this key.
    #[error("{0} does not exist")]
    UnknownCall(CallKey),
    /// The call is not in a state that allows this.
    #[error("{call} is {state:?}; cannot {action}")]
    WrongState {
        /// The call.
        call: CallKey,
        /// Its state.
        state: CallState,
        /// What was asked.
        action: &'static str,
    },
    /// [`UaConfig::max_dialogs`] calls are alive.
    #[error("{limit} calls are alive already")]
    TooManyCalls {
        /// The limit.
        limit: usize,
    },
    /// The transaction layer refused.
    #[error(transparent)]
    Send(#[from] SendError),
}

/// What an outgoing call answers a 401/407 challenge with.
#[derive(Clone, PartialEq, Eq)]
pub struct UacCredentials {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for UacCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UacCredentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// An outgoing call's credentials and whether they were used already.
#[derive(Debug)]
struct UacAuth {
    credentials: UacCredentials,
    answered_challenge: bool,
}

/// What a client transaction of ours is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Invite,
    Bye,
    Cancel,
}

/// A user agent: dialogs over one transaction layer.
#[derive(Debug)]
pub struct UserAgent {
    config: UaConfig,
    layer: TransactionLayer,
    dialogs: HashMap<CallKey, Dialog>,
    /// (Call-ID, local tag) → call.
    by_tags: HashMap<(String, String), CallKey>,
    /// Our client transactions (and UAS INVITE server transactions) → call.
    by_transaction: HashMap<TransactionId, (CallKey, Purpose)>,
    /// Credentials of outgoing calls that may be challenged.
    uac_auth: HashMap<CallKey, UacAuth>,
    /// The registrar for phones, if this UA is one, and the users' credentials.
    registrar: Option<Registrar>,
    credentials: HashMap<String, Credential>,
    timers: BTreeSet<(Instant, CallKey, DialogTimer)>,
    events: VecDeque<UaEvent>,
    next_call: u64,
    counter: u64,
}

impl UserAgent {
    /// A UA with no calls.
    pub fn new(config: UaConfig) -> Self {
        UserAgent {
            layer: TransactionLayer::new(config.transaction.clone()),
            config,
            dialogs: HashMap::new(),
            by_tags: HashMap::new(),
            by_transaction: HashMap::new(),
            uac_auth: HashMap::new(),
            registrar: None,
            credentials: HashMap::new(),
            timers: BTreeSet::new(),
            events: VecDeque::new(),
            next_call: 1,
            counter: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &UaConfig {
        &self.config
    }

    /// How many calls are alive.
    pub fn call_count(&self) -> usize {
        self.dialogs.len()
    }

    /// The state of `call`, while it is alive.
    pub fn call_state(&self, call: CallKey) -> Option<CallState> {
        self.dialogs.get(&call).map(|dialog| dialog.state)
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.layer.poll_transmit()
    }

    /// The next event for the TU.
    pub fn poll_event(&mut self) -> Option<UaEvent> {
        self.events.pop_front()
    }

    /// When [`Self::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let dialog_timer = self.timers.first().map(|(at, _, _)| *at);
        let expiry = self.registrar.as_ref().and_then(Registrar::poll_timeout);
        [self.layer.poll_timeout(), dialog_timer, expiry]
            .into_iter()
            .flatten()
            .min()
    }

    /// One datagram from `source`.
    pub fn handle_datagram(&mut self, source: SocketAddr, bytes: &[u8], now: Instant) {
        self.layer.handle_datagram(source, bytes, now);
        self.process(now);
    }

    /// One message from the connection with `source`
    /// ([`TransactionLayer::handle_stream_message`]).
    pub fn handle_stream_message(&mut self, source: SocketAddr, bytes: &[u8], now: Instant) {
        self.layer.handle_stream_message(source, bytes, now);
        self.process(now);
    }

    /// The connection with `peer` closed ([`TransactionLayer::handle_stream_closed`]).
    pub fn handle_stream_closed(&mut self, peer: SocketAddr) {
        self.layer.handle_stream_closed(peer);
    }

    /// Reach `peer` over a connection ([`TransactionLayer::use_stream`]).
    pub fn use_stream(&mut self, peer: SocketAddr) {
        self.layer.use_stream(peer);
    }

    /// Fires every timer due at `now`, the transaction layer's and the dialogs'.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.layer.handle_timeout(now);
        if let Some(registrar) = self.registrar.as_mut() {
            registrar.expire(now);
        }
        self.process(now);
        while let Some(&(at, call, timer)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            let Some(dialog) = self.dialogs.get(&call) else {
                continue;
            };
            let cause = match timer {
                DialogTimer::MaxDuration if dialog.max_end == at => EndCause::MaxDuration,
                DialogTimer::SessionExpiry if dialog.session_expiry == Some(at) => {
                    EndCause::SessionExpired
                }
                _ => continue,
            };
            if dialog.state != CallState::Ending {
                self.end_call(call, cause, now);
            }
        }
        self.process(now);
    }

    fn fresh(&mut self) -> u64 {
        self.counter += 1;
        let mut value =
            self.config.transaction.seed ^ self.counter.wrapping_mul(0xA076_1D64_78BD_642F);
        value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        value ^ (value >> 31)
    }

    fn new_tag(&mut self) -> String {
        format!("r{:011x}", self.fresh() & 0xFFF_FFFF_FFFF)
    }

    fn new_call_key(&mut self) -> CallKey {
        let key = CallKey(self.next_call);
        self.next_call += 1;
        key
    }

    fn contact_header(&self) -> Header {
        Header::new("Contact", format!("<{}>", self.config.contact))
    }

    fn insert_dialog(&mut self, dialog: Dialog) {
        self.by_tags.insert(
            (dialog.call_id.clone(), dialog.local_tag.clone()),
            dialog.key,
        );
        self.timers
            .insert((dialog.max_end, dialog.key, DialogTimer::MaxDuration));
        self.dialogs.insert(dialog.key, dialog);
    }

    fn remove_dialog(&mut self, call: CallKey) -> Option<Dialog> {
        let dialog = self.dialogs.remove(&call)?;
        self.by_tags
            .remove(&(dialog.call_id.clone(), dialog.local_tag.clone()));
        self.by_transaction.retain(|_, (key, _)| *key != call);
        self.uac_auth.remove(&call);
        Some(dialog)
    }

    fn finish(&mut self, call: CallKey, cause: EndCause) {
        if self.remove_dialog(call).is_some() {
            self.events.push_back(UaEvent::CallEnded { call, cause });
        }
    }

    /// Arms (or re-arms) the session-expiry guard of `call` from `now`.
    fn refresh_session(&mut self, call: CallKey, now: Instant) {
        if let Some(dialog) = self.dialogs.get_mut(&call)
            && let Some(interval) = dialog.session_interval
        {
            let at = now + interval;
            dialog.session_expiry = Some(at);
            self.timers.insert((at, call, DialogTimer::SessionExpiry));
        }
    }

    /// Ends `call` from our side for `cause`: BYE if answered, CANCEL or a final response
    /// if early. The `CallEnded` event follows when that is done.
    fn end_call(&mut self, call: CallKey, cause: EndCause, now: Instant) {
        let Some(dialog) = self.dialogs.get_mut(&call) else {
            return;
        };
        dialog.ending = Some(cause);
        match (dialog.role, dialog.state) {
            (_, CallState::Incoming) => {
                let invite = dialog.invite;
                let mut response = NewResponse::new(480, "Temporarily Unavailable");
                response.to_tag = Some(dialog.local_tag.clone());
                if let Some(id) = invite {
                    // The transaction may be gone already; the call ends either way.
                    let _ = self.layer.send_response(id, response, now);
                }
                self.finish(call, cause);
            }
            (_, CallState::Outgoing) => {
                dialog.state = CallState::Cancelling;
                let cancel = dialog.invite.map(|id| self.layer.send_cancel(id, now));
                match cancel {
                    Some(Ok(cancel_id)) => {
                        self.by_transaction
                            .insert(cancel_id, (call, Purpose::Cancel));
                    }
                    _ => self.finish(call, cause),
                }
            }
            (_, CallState::Cancelling | CallState::Ending) => {}
            (_, CallState::Answered | CallState::Confirmed) => {
                dialog.state = CallState::Ending;
                let mut bye = dialog.next_request(Method::Bye);
                bye.headers
                    .push(Header::new("Reason", reason_header(cause)));
                let destination = dialog.remote_address;
                match self.layer.send_request(bye, destination, now) {
                    Ok(id) => {
                        self.by_transaction.insert(id, (call, Purpose::Bye));
                    }
                    Err(_) => self.finish(call, cause),
                }
            }
        }
    }

    fn dialog_mut(&mut self, call: CallKey) -> Result<&mut Dialog, UaError> {
        self.dialogs
            .get_mut(&call)
            .ok_or(UaError::UnknownCall(call))
    }

    /// UAS: sends 180 Ringing for an incoming call.
    pub fn ringing(&mut self, call: CallKey, now: Instant) -> Result<(), UaError> {
        let contact = self.contact_header();
        let dialog = self.dialog_mut(call)?;
        let (CallState::Incoming, Some(invite)) = (dialog.state, dialog.invite) else {
            return Err(wrong_state(dialog, "ring"));
        };
        let mut response = NewResponse::new(180, "Ringing");
        response.to_tag = Some(dialog.local_tag.clone());
        response.headers.push(contact);
        self.layer.send_response(invite, response, now)?;
        self.process(now);
        Ok(())
    }

    /// UAS: answers an incoming call (or a re-INVITE waiting under
    /// [`ReInvitePolicy::AskTu`]) with 200, our Contact and `answer_sdp`. The transaction
    /// layer re-sends the 200 until the ACK arrives.
    pub fn answer(&mut self, call: CallKey, answer_sdp: &str, now: Instant) -> Result<(), UaError> {
        let contact = self.contact_header();
        let min_se = self.config.min_session_expires;
        let dialog = self.dialog_mut(call)?;
        let invite = match (dialog.state, dialog.invite, dialog.pending_reinvite.take()) {
            (CallState::Incoming, Some(invite), _) => invite,
            (CallState::Confirmed | CallState::Answered, _, Some((reinvite, _))) => reinvite,
            _ => return Err(wrong_state(dialog, "answer")),
        };
        let mut response = NewResponse::new(200, "OK");
        response.to_tag = Some(dialog.local_tag.clone());
        response.headers.push(contact);
        response.headers.push(allow_header());
        if let Some(interval) = dialog.session_interval {
            let secs = interval.max(min_se).as_secs();
            response.headers.push(Header::new(
                "Session-Expires",
                format!("{secs};refresher=uac"),
            ));
            response.headers.push(Header::new("Require", "timer"));
        }
        response
            .headers
            .push(Header::new("Content-Type", "application/sdp"));
        response.body = answer_sdp.as_bytes().to_vec();
        dialog.local_sdp = Some(answer_sdp.to_string());
        if dialog.state == CallState::Incoming {
            dialog.state = CallState::Answered;
        }
        self.layer.send_response(invite, response, now)?;
        self.refresh_session(call, now);
        self.process(now);
        Ok(())
    }

    /// UAS: refuses an incoming call with `status` (≥ 300) and `reason`. The call is gone
    /// at once; no `CallEnded` follows.
    pub fn reject(
        &mut self,
        call: CallKey,
        status: u16,
        reason: &str,
        now: Instant,
    ) -> Result<(), UaError> {
        let dialog = self.dialog_mut(call)?;
        let (CallState::Incoming, Some(invite)) = (dialog.state, dialog.invite) else {
            return Err(wrong_state(dialog, "reject"));
        };
        let mut response = NewResponse::new(status, reason);
        response.to_tag = Some(dialog.local_tag.clone());
        self.layer.send_response(invite, response, now)?;
        self.remove_dialog(call);
        self.process(now);
        Ok(())
    }

    /// Hangs up: BYE in a dialog (`CallEnded { cause: LocalHangup }` when it is answered or
    /// times out), CANCEL for our unanswered INVITE, 480 for an unanswered incoming call.
    pub fn hangup(&mut self, call: CallKey, now: Instant) -> Result<(), UaError> {
        let dialog = self.dialog_mut(call)?;
        if matches!(dialog.state, CallState::Ending | CallState::Cancelling) {
            return Err(wrong_state(dialog, "hang up"));
        }
        self.end_call(call, EndCause::LocalHangup, now);
        self.process(now);
        Ok(())
    }

    /// UAC: calls `target_uri` at `destination` with `offer_sdp`. `from` and `to` are the
    /// From and To values without tags (`<sip:ramal@host>`). Progress arrives as
    /// [`UaEvent::Progress`], then [`UaEvent::Answered`] (the UA sends the ACK) or
    /// [`UaEvent::Failed`].
    pub fn invite(
        &mut self,
        target_uri: &str,
        from: &str,
        to: &str,
        offer_sdp: &str,
        destination: SocketAddr,
        now: Instant,
    ) -> Result<CallKey, UaError> {
        self.invite_with(target_uri, from, to, offer_sdp, destination, None, now)
    }

    /// UAC: as [`Self::invite`], answering one 401/407 challenge with `credentials`.
    #[allow(clippy::too_many_arguments)]
    pub fn invite_with(
        &mut self,
        target_uri: &str,
        from: &str,
        to: &str,
        offer_sdp: &str,
        destination: SocketAddr,
        credentials: Option<UacCredentials>,
        now: Instant,
    ) -> Result<CallKey, UaError> {
        if self.dialogs.len() >= self.config.max_dialogs {
            return Err(UaError::TooManyCalls {
                limit: self.config.max_dialogs,
            });
        }
        let call = self.new_call_key();
        let local_tag = self.new_tag();
        let host = header_uri(&format!("<{}>", self.config.contact))
            .rsplit('@')
            .next()
            .unwrap_or("ramal")
            .to_string();
        let call_id = format!("{:016x}@{host}", self.fresh());
        let mut dialog = Dialog {
            key: call,
            role: Role::Uac,
            state: CallState::Outgoing,
            call_id,
            local_tag,
            remote_tag: None,
            local_uri: from.to_string(),
            remote_uri: to.to_string(),
            remote_target: target_uri.to_string(),
            remote_address: destination,
            local_cseq: 0,
            remote_cseq: None,
            invite: None,
            pending_reinvite: None,
            local_sdp: Some(offer_sdp.to_string()),
            ack: None,
            ending: None,
            max_end: now + self.config.max_call_duration,
            session_interval: None,
            session_expiry: None,
        };
        let request = self.initial_invite(&mut dialog, None);
        let id = self.layer.send_request(request, destination, now)?;
        dialog.invite = Some(id);
        self.by_transaction.insert(id, (call, Purpose::Invite));
        self.insert_dialog(dialog);
        if let Some(credentials) = credentials {
            self.uac_auth.insert(
                call,
                UacAuth {
                    credentials,
                    answered_challenge: false,
                },
            );
        }
        self.process(now);
        Ok(call)
    }

    /// Drains the transaction layer's events into dialog changes and UA events.
    fn process(&mut self, now: Instant) {
        while let Some(event) = self.layer.poll_event() {
            self.on_transaction_event(event, now);
        }
    }

    fn send_ack(&mut self, request: NewRequest, destination: SocketAddr) {
        // The ACK is built from fields that already went out in the INVITE; should it
        // fail anyway, the peer's 2xx retransmissions end in its ACK timeout and a BYE.
        let _ = self.layer.send_ack(request, destination);
    }
}

fn wrong_state(dialog: &Dialog, action: &'static str) -> UaError {
    UaError::WrongState {
        call: dialog.key,
        state: dialog.state,
        action,
    }
}

fn allow_header() -> Header {
    Header::new("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO")
}

fn reason_header(cause: EndCause) -> String {
    let text = match cause {
        EndCause::LocalHangup | EndCause::RemoteHangup | EndCause::Cancelled => "normal",
        EndCause::AckTimeout => "ACK timeout",
        EndCause::SessionExpired => "session expired",
        EndCause::MaxDuration => "max call duration",
    };
    format!("SIP;cause=200;text=\"{text}\"")
}
