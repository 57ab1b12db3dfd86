//! A sans-IO SIP registrar (RFC 3261 §10.3) for the agents' phones: it owns the bindings
//! from an address-of-record (the To URI's user, `1001`) to the Contact URIs where that
//! phone can be reached, and answers REGISTERs, authenticating them with Digest
//! ([`super::digest`]).
//!
//! Inputs are [`Registrar::handle_register`] (a checked REGISTER [`Request`], its source
//! address, where credentials come from, and `now`) and [`Registrar::expire`]; outputs are
//! the [`NewResponse`] to send through the REGISTER's server transaction
//! ([`TransactionLayer::send_response`](super::transaction::TransactionLayer::send_response),
//! as the user agent does) together with a [`RegisterOutcome`] for the TU, the live contacts
//! from [`Registrar::lookup`], and the next expiry from [`Registrar::poll_timeout`].
//!
//! What it answers: `401` with one challenge per algorithm when unauthenticated (or with
//! `stale=true` when only the nonce was old), `403` when the authenticated user is not the
//! AOR's, `423 Interval Too Brief` with `Min-Expires` under the minimum, `400` for a
//! malformed Contact, Expires or wildcard, `500 Out Of Order CSeq` for a CSeq not above the
//! last one seen with the same Call-ID, `503` over the per-AOR binding cap (or the oldest
//! binding is replaced, per [`BindingLimit`]), and otherwise `200` listing every binding
//! with its remaining `expires`. `expires=0` removes a binding and `Contact: *` with
//! `Expires: 0` removes them all. Each REGISTER is applied all or nothing.

#[cfg(test)]
mod tests;

use super::dialog::{header_uri, uri_user};
use super::digest::{AuthConfig, AuthFailure, Authenticator, Authorization, Credential};
use super::message::{Header, Method, NewResponse, Request};
use super::time::Instant;
use core::net::SocketAddr;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::time::Duration;

/// Where the registrar finds a user's stored credential.
pub trait Credentials {
    /// The credential of `username`, if the user exists.
    fn credential(&self, username: &str) -> Option<Credential>;
}

impl<S: BuildHasher> Credentials for HashMap<String, Credential, S> {
    fn credential(&self, username: &str) -> Option<Credential> {
        self.get(username).cloned()
    }
}

/// What to do with a REGISTER that would exceed [`RegistrarConfig::max_bindings_per_aor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BindingLimit {
    /// Refuse it with `503 Too Many Registered Contacts`.
    #[default]
    Reject,
    /// Drop the least recently refreshed bindings it does not refresh itself (a rebooted
    /// phone registering from a new port replaces its old binding).
    ReplaceOldest,
}

/// How the registrar behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// Digest settings; the realm is usually the SIP domain.
    pub auth: AuthConfig,
    /// If set, the To URI's host must be this domain (case-insensitive), or `404`.
    pub domain: Option<String>,
    /// The shortest registration accepted, in seconds (`423` below it).
    pub min_expires: u32,
    /// The longest registration granted, in seconds; longer requests are shortened.
    pub max_expires: u32,
    /// The registration length when neither the Contact nor an Expires header gives one.
    pub default_expires: u32,
    /// Bindings per AOR at most.
    pub max_bindings_per_aor: usize,
    /// What happens beyond that.
    pub over_limit: BindingLimit,
}

impl RegistrarConfig {
    /// Defaults around `auth`: 60 s minimum, 3600 s maximum and default, 5 bindings per
    /// AOR, rejecting beyond that, any domain.
    pub fn new(auth: AuthConfig) -> RegistrarConfig {
        RegistrarConfig {
            auth,
            domain: None,
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            max_bindings_per_aor: 5,
            over_limit: BindingLimit::Reject,
        }
    }
}

/// One binding: where an AOR's phone can be reached, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The Contact URI (`sip:1001@192.0.2.7:5062;transport=udp`).
    pub contact: String,
    /// Where the REGISTER came from (send there when the Contact is behind NAT).
    pub source: SocketAddr,
    /// The Call-ID of the REGISTER that last refreshed it.
    pub call_id: String,
    /// Its CSeq.
    pub cseq: u32,
    /// When it was last registered or refreshed.
    pub registered_at: Instant,
    /// When it expires.
    pub expires_at: Instant,
}

impl Binding {
    /// Whole seconds left at `now`, rounded up.
    pub fn remaining_secs(&self, now: Instant) -> u64 {
        u64::try_from((self.expires_at - now).as_millis().div_ceil(1000)).unwrap_or(u64::MAX)
    }
}

/// What a REGISTER did, for the TU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterOutcome {
    /// Answered `401` with a challenge (`stale` when only the nonce was old).
    Challenged {
        /// Whether the challenge said `stale=true`.
        stale: bool,
    },
    /// Accepted: the AOR's bindings now (also for a query with no Contact), and those this
    /// request removed or found expired.
    Updated {
        /// The AOR.
        aor: String,
        /// Its live bindings after the request.
        bindings: Vec<Binding>,
        /// Bindings removed (`expires=0`, `*`, replaced over the cap, or expired).
        removed: Vec<Binding>,
    },
    /// Refused with this status (400, 403, 404, 405, 423, 500, 503); nothing changed.
    Refused {
        /// The status sent.
        status: u16,
    },
}

/// The answer to one REGISTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterReply {
    /// The response to send through the request's server transaction.
    pub response: NewResponse,
    /// What happened.
    pub outcome: RegisterOutcome,
}

/// Call-IDs remembered per AOR for CSeq ordering.
const SEQUENCES_PER_AOR: usize = 16;
/// Contacts accepted in one REGISTER.
const MAX_CONTACTS_PER_REQUEST: usize = 32;
/// The longest Contact URI accepted, in bytes.
const MAX_CONTACT_LEN: usize = 1024;

#[derive(Debug, Default)]
struct AorState {
    bindings: Vec<Binding>,
    /// (Call-ID, highest CSeq) of recent accepted REGISTERs, newest last.
    sequences: VecDeque<(String, u32)>,
}

/// A REGISTER's Contact list.
enum Contacts {
    Wildcard,
    List(Vec<(String, Option<u32>)>),
}

/// The registrar: authentication plus the binding table.
#[derive(Debug)]
pub struct Registrar {
    config: RegistrarConfig,
    auth: Authenticator,
    aors: HashMap<String, AorState>,
}

fn refuse(status: u16, reason: &str) -> RegisterReply {
    RegisterReply {
        response: NewResponse::new(status, reason),
        outcome: RegisterOutcome::Refused { status },
    }
}

/// Splits a header value on commas outside quotes and angle brackets.
fn split_list(value: &str) -> Vec<&str> {
    let (mut parts, mut start, mut quoted, mut angle, mut escaped) =
        (Vec::new(), 0, false, false, false);
    for (at, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                parts.push(value.get(start..at).unwrap_or_default().trim());
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(value.get(start..).unwrap_or_default().trim());
    parts.retain(|part| !part.is_empty());
    parts
}

/// A delta-seconds value; absurdly large ones saturate.
fn parse_seconds(text: &str) -> Option<u32> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        text.parse::<u64>()
            .map_or(u32::MAX, |secs| u32::try_from(secs).unwrap_or(u32::MAX)),
    )
}

/// The URI and `expires` parameter of one Contact entry.
fn parse_contact(entry: &str) -> Result<(String, Option<u32>), &'static str> {
    let uri = header_uri(entry).trim();
    let scheme_ok = ["sip:", "sips:", "tel:"].iter().any(|scheme| {
        uri.get(..scheme.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
    });
    if !scheme_ok || uri.len() > MAX_CONTACT_LEN || uri.contains(char::is_whitespace) {
        return Err("Invalid Contact");
    }
    let params = match entry.rfind('>') {
        Some(end) => entry.get(end + 1..).unwrap_or_default(),
        None => entry.split_once(';').map_or("", |(_, params)| params),
    };
    let mut expires = None;
    for param in params.split(';') {
        if let Some((name, value)) = param.split_once('=')
            && name.trim().eq_ignore_ascii_case("expires")
        {
            expires = Some(parse_seconds(value).ok_or("Invalid Contact Expires")?);
        }
    }
    Ok((uri.to_string(), expires))
}

fn parse_contacts(request: &Request) -> Result<Contacts, &'static str> {
    let entries: Vec<&str> = request
        .headers
        .iter()
        .filter(|header| header.name.eq_ignore_ascii_case("Contact"))
        .flat_map(|header| split_list(&header.value))
        .collect();
    if entries.len() > MAX_CONTACTS_PER_REQUEST {
        return Err("Too Many Contacts");
    }
    if entries.contains(&"*") {
        return if entries.len() == 1 {
            Ok(Contacts::Wildcard)
        } else {
            Err("Invalid Wildcard")
        };
    }
    entries
        .into_iter()
        .map(parse_contact)
        .collect::<Result<_, _>>()
        .map(Contacts::List)
}

/// The host of a SIP URI (`sip:1001@Example.com:5060;x` → `Example.com`).
fn uri_host(uri: &str) -> &str {
    let rest = uri.split_once(':').map_or(uri, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let end = rest.find([':', ';', '?', '>']).unwrap_or(rest.len());
    rest.get(..end).unwrap_or_default()
}

impl Registrar {
    /// A registrar with no bindings.
    pub fn new(config: RegistrarConfig) -> Registrar {
        Registrar {
            auth: Authenticator::new(config.auth.clone()),
            config,
            aors: HashMap::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RegistrarConfig {
        &self.config
    }

    fn challenge(&mut self, now: Instant, stale: bool) -> RegisterReply {
        let mut response = NewResponse::new(401, "Unauthorized");
        for challenge in self.auth.challenge(now, stale) {
            response
                .headers
                .push(Header::new("WWW-Authenticate", challenge.to_header_value()));
        }
        RegisterReply {
            response,
            outcome: RegisterOutcome::Challenged { stale },
        }
    }

    /// Authenticates `request` for `user`: `None` if it may go on, else the reply to send.
    fn authenticate(
        &mut self,
        request: &Request,
        user: &str,
        credentials: &impl Credentials,
        now: Instant,
    ) -> Option<RegisterReply> {
        let ours = request
            .headers
            .iter()
            .filter(|header| header.name.eq_ignore_ascii_case("Authorization"))
            .filter_map(|header| Authorization::parse(&header.value).ok())
            .find(|auth| auth.realm == self.auth.realm());
        let Some(auth) = ours else {
            return Some(self.challenge(now, false));
        };
        if !auth.uri.eq_ignore_ascii_case(&request.uri) {
            return Some(refuse(400, "Authorization URI Mismatch"));
        }
        let Some(credential) = credentials.credential(&auth.username) else {
            return Some(self.challenge(now, false));
        };
        match self
            .auth
            .verify(&auth, request.method.as_str(), &credential, now)
        {
            Ok(()) if auth.username == user => None,
            Ok(()) => Some(refuse(403, "Forbidden")),
            Err(AuthFailure::Stale) => Some(self.challenge(now, true)),
            Err(_) => Some(self.challenge(now, false)),
        }
    }

    /// Answers a REGISTER from `source`. See the module docs for what it answers.
    pub fn handle_register(
        &mut self,
        request: &Request,
        source: SocketAddr,
        credentials: &impl Credentials,
        now: Instant,
    ) -> RegisterReply {
        if request.method != Method::Register {
            let mut reply = refuse(405, "Method Not Allowed");
            reply
                .response
                .headers
                .push(Header::new("Allow", "REGISTER"));
            return reply;
        }
        let Some(to) = request.header("To") else {
            return refuse(400, "Missing To");
        };
        let to_uri = header_uri(to);
        let aor = uri_user(to_uri).to_string();
        if aor.is_empty() {
            return refuse(400, "Invalid To");
        }
        if let Some(domain) = &self.config.domain
            && !uri_host(to_uri).eq_ignore_ascii_case(domain)
        {
            return refuse(404, "Not Found");
        }
        if let Some(reply) = self.authenticate(request, &aor, credentials, now) {
            return reply;
        }
        let header_expires = match request.header("Expires").map(parse_seconds) {
            None => None,
            Some(Some(secs)) => Some(secs),
            Some(None) => return refuse(400, "Invalid Expires"),
        };
        let contacts = match parse_contacts(request) {
            Ok(contacts) => contacts,
            Err(reason) => return refuse(400, reason),
        };
        self.apply(request, source, aor, contacts, header_expires, now)
    }

    fn apply(
        &mut self,
        request: &Request,
        source: SocketAddr,
        aor: String,
        contacts: Contacts,
        header_expires: Option<u32>,
        now: Instant,
    ) -> RegisterReply {
        let state = self.aors.entry(aor.clone()).or_default();
        let seen =
            |call_id: &String, cseq: u32| *call_id == request.call_id && request.cseq <= cseq;
        if state
            .sequences
            .iter()
            .any(|(call_id, cseq)| seen(call_id, *cseq))
            || state.bindings.iter().any(|b| seen(&b.call_id, b.cseq))
        {
            return refuse(500, "Out Of Order CSeq");
        }
        let (mut next, mut removed): (Vec<Binding>, Vec<Binding>) = state
            .bindings
            .iter()
            .cloned()
            .partition(|binding| binding.expires_at > now);
        match contacts {
            Contacts::Wildcard => {
                if header_expires != Some(0) {
                    return refuse(400, "Invalid Wildcard");
                }
                removed.append(&mut next);
            }
            Contacts::List(list) => {
                let config = &self.config;
                let mut touched = Vec::new();
                for (contact, expires) in list {
                    let expires = expires.or(header_expires).unwrap_or(config.default_expires);
                    if expires != 0 && expires < config.min_expires {
                        let mut reply = refuse(423, "Interval Too Brief");
                        let min = Header::new("Min-Expires", config.min_expires.to_string());
                        reply.response.headers.push(min);
                        return reply;
                    }
                    let existing = next.iter().position(|b| b.contact == contact);
                    if expires == 0 {
                        if let Some(at) = existing {
                            removed.push(next.remove(at));
                        }
                        continue;
                    }
                    let secs = expires.min(config.max_expires);
                    let binding = Binding {
                        contact,
                        source,
                        call_id: request.call_id.clone(),
                        cseq: request.cseq,
                        registered_at: now,
                        expires_at: now + Duration::from_secs(u64::from(secs)),
                    };
                    touched.push(binding.contact.clone());
                    match existing {
                        Some(at) => next[at] = binding,
                        None => next.push(binding),
                    }
                }
                let cap = config.max_bindings_per_aor;
                if next.len() > cap {
                    if config.over_limit == BindingLimit::Reject || touched.len() > cap {
                        return refuse(503, "Too Many Registered Contacts");
                    }
                    next.sort_by_key(|b| (touched.contains(&b.contact), b.registered_at));
                    let excess = next.len() - cap;
                    removed.extend(next.drain(..excess));
                }
            }
        }
        next.sort_by_key(|b| std::cmp::Reverse(b.registered_at));
        let mut response = NewResponse::new(200, "OK");
        for binding in &next {
            response.headers.push(Header::new(
                "Contact",
                format!(
                    "<{}>;expires={}",
                    binding.contact,
                    binding.remaining_secs(now)
                ),
            ));
        }
        state.bindings.clone_from(&next);
        state
            .sequences
            .retain(|(call_id, _)| *call_id != request.call_id);
        state
            .sequences
            .push_back((request.call_id.clone(), request.cseq));
        if state.sequences.len() > SEQUENCES_PER_AOR {
            state.sequences.pop_front();
        }
        RegisterReply {
            response,
            outcome: RegisterOutcome::Updated {
                aor,
                bindings: next,
                removed,
            },
        }
    }

    /// The live bindings of `aor` at `now`, most recently registered first.
    pub fn lookup(&self, aor: &str, now: Instant) -> Vec<Binding> {
        let mut live: Vec<Binding> = self
            .aors
            .get(aor)
            .map(|state| {
                state
                    .bindings
                    .iter()
                    .filter(|binding| binding.expires_at > now)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        live.sort_by_key(|b| std::cmp::Reverse(b.registered_at));
        live
    }

    /// Drops the bindings expired at `now` and returns them with their AORs.
    pub fn expire(&mut self, now: Instant) -> Vec<(String, Binding)> {
        let mut expired = Vec::new();
        for (aor, state) in &mut self.aors {
            let (live, dead): (Vec<Binding>, Vec<Binding>) = std::mem::take(&mut state.bindings)
                .into_iter()
                .partition(|binding| binding.expires_at > now);
            state.bindings = live;
            expired.extend(dead.into_iter().map(|binding| (aor.clone(), binding)));
        }
        expired
    }

    /// When the next binding expires (call [`Self::expire`] then).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.aors
            .values()
            .flat_map(|state| state.bindings.iter().map(|binding| binding.expires_at))
            .min()
    }

    /// Live and expired-but-not-yet-dropped bindings, over all AORs.
    pub fn binding_count(&self) -> usize {
        self.aors.values().map(|state| state.bindings.len()).sum()
    }
}
