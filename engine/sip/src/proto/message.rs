//! SIP messages as the rest of Ramal sees them: our own small types ([`Method`],
//! [`Request`], [`Response`]) with the fields transactions and dialogs need, and builders
//! that serialize requests and responses to bytes.
//!
//! Parsing goes through `rsip` and then our own checks (see [`parse`] and
//! [`super::checks`]); `rsip` types never leave this crate, so the parser stays replaceable.
//! Serialization is ours too: it writes the start line and the headers as text, which keeps
//! reason phrases exact (`400 Missing Call-ID`) and Content-Length always right.

use thiserror::Error;

pub use super::checks::{HeaderKind, MessageError, parse};

/// A SIP request method. `rsip` 0.4 knows exactly these; a request with any other method
/// fails to parse and is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `INVITE` (RFC 3261).
    Invite,
    /// `ACK` (RFC 3261).
    Ack,
    /// `BYE` (RFC 3261).
    Bye,
    /// `CANCEL` (RFC 3261).
    Cancel,
    /// `OPTIONS` (RFC 3261).
    Options,
    /// `REGISTER` (RFC 3261).
    Register,
    /// `INFO` (RFC 6086).
    Info,
    /// `MESSAGE` (RFC 3428).
    Message,
    /// `NOTIFY` (RFC 6665).
    Notify,
    /// `PRACK` (RFC 3262).
    Prack,
    /// `PUBLISH` (RFC 3903).
    Publish,
    /// `REFER` (RFC 3515).
    Refer,
    /// `SUBSCRIBE` (RFC 6665).
    Subscribe,
    /// `UPDATE` (RFC 3311).
    Update,
}

impl Method {
    /// The method as written on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Options => "OPTIONS",
            Method::Register => "REGISTER",
            Method::Info => "INFO",
            Method::Message => "MESSAGE",
            Method::Notify => "NOTIFY",
            Method::Prack => "PRACK",
            Method::Publish => "PUBLISH",
            Method::Refer => "REFER",
            Method::Subscribe => "SUBSCRIBE",
            Method::Update => "UPDATE",
        }
    }

    pub(crate) fn from_rsip(method: rsip::Method) -> Method {
        match method {
            rsip::Method::Ack => Method::Ack,
            rsip::Method::Bye => Method::Bye,
            rsip::Method::Cancel => Method::Cancel,
            rsip::Method::Info => Method::Info,
            rsip::Method::Invite => Method::Invite,
            rsip::Method::Message => Method::Message,
            rsip::Method::Notify => Method::Notify,
            rsip::Method::Options => Method::Options,
            rsip::Method::PRack => Method::Prack,
            rsip::Method::Publish => Method::Publish,
            rsip::Method::Refer => Method::Refer,
            rsip::Method::Register => Method::Register,
            rsip::Method::Subscribe => Method::Subscribe,
            rsip::Method::Update => Method::Update,
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One header line: its name (compact forms such as `v` or `i` expanded to `Via` and
/// `Call-ID`) and its value as received, without the line ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The header's name.
    pub name: String,
    /// The header's value.
    pub value: String,
}

impl Header {
    /// A header from a name and a value.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// The first value of header `name` (case-insensitive) in `headers`.
pub fn find_header<'a>(headers: &'a [Header], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|header| header.name.eq_ignore_ascii_case(name))
        .map(|header| header.value.as_str())
}

/// A request that passed the checks, with the fields transactions and dialogs use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method on the request line.
    pub method: Method,
    /// The Request-URI, as text.
    pub uri: String,
    /// The Call-ID.
    pub call_id: String,
    /// The CSeq number (at most 2^31 − 1).
    pub cseq: u32,
    /// The top Via's branch (starts with `z9hG4bK`).
    pub branch: String,
    /// The top Via's sent-by, normalized: lower-case host, `:`, port (5060 if absent).
    pub sent_by: String,
    /// The From tag.
    pub from_tag: String,
    /// The To tag, if any (a request inside a dialog has one).
    pub to_tag: Option<String>,
    /// Max-Forwards.
    pub max_forwards: u32,
    /// Every header, in order.
    pub headers: Vec<Header>,
    /// The body, cut to Content-Length.
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// A response that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code, 100–699.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// The Call-ID.
    pub call_id: String,
    /// The CSeq number.
    pub cseq: u32,
    /// The CSeq method: which request this answers.
    pub cseq_method: Method,
    /// The top Via's branch.
    pub branch: String,
    /// The top Via's sent-by, normalized as in [`Request::sent_by`].
    pub sent_by: String,
    /// The From tag, if any.
    pub from_tag: Option<String>,
    /// The To tag, if any.
    pub to_tag: Option<String>,
    /// Every header, in order.
    pub headers: Vec<Header>,
    /// The body, cut to Content-Length.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// Whether this is a provisional (1xx) response.
    pub fn is_provisional(&self) -> bool {
        self.status < 200
    }
}

/// A parsed and checked message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

/// A request the TU wants sent. The transaction layer adds the Via (with a fresh branch)
/// and Content-Length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    /// The method.
    pub method: Method,
    /// The Request-URI.
    pub uri: String,
    /// The From header's value, with a tag.
    pub from: String,
    /// The To header's value (with a tag inside a dialog).
    pub to: String,
    /// The Call-ID.
    pub call_id: String,
    /// The CSeq number.
    pub cseq: u32,
    /// Max-Forwards, 70 by default.
    pub max_forwards: u32,
    /// Further headers (Contact, Route, Content-Type…), in order.
    pub headers: Vec<Header>,
    /// The body.
    pub body: Vec<u8>,
}

impl NewRequest {
    /// A request with no extra headers and no body.
    pub fn new(
        method: Method,
        uri: impl Into<String>,
        from: impl Into<String>,
        to: impl Into<String>,
        call_id: impl Into<String>,
        cseq: u32,
    ) -> Self {
        NewRequest {
            method,
            uri: uri.into(),
            from: from.into(),
            to: to.into(),
            call_id: call_id.into(),
            cseq,
            max_forwards: 70,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
}

/// A response the TU wants sent. Via, From, To, Call-ID and CSeq are copied from the
/// request; the To tag is added for anything but 100.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewResponse {
    /// The status code, 100–699.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// The To tag to add if the request's To has none; `None` lets the transaction layer
    /// pick one (the same for every response of a transaction).
    pub to_tag: Option<String>,
    /// Further headers (Contact, Content-Type, Retry-After…), in order.
    pub headers: Vec<Header>,
    /// The body.
    pub body: Vec<u8>,
}

impl NewResponse {
    /// A response with no extra headers and no body.
    pub fn new(status: u16, reason: impl Into<String>) -> Self {
        NewResponse {
            status,
            reason: reason.into(),
            to_tag: None,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
}

/// Why a message could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BuildError {
    /// A header name that is not a token, or a value with a line break.
    #[error("header `{name}` is not valid on the wire")]
    InvalidHeader {
        /// The header's name.
        name: String,
    },
    /// A status code outside 100–699.
    #[error("status code {status} is outside 100-699")]
    InvalidStatus {
        /// The code.
        status: u16,
    },
    /// A Request-URI, reason phrase or tag with spaces or line breaks.
    #[error("the {part} contains characters not allowed there")]
    InvalidText {
        /// Which part: `Request-URI`, `reason phrase`, `tag`.
        part: &'static str,
    },
    /// The request to answer lacks a header every response copies.
    #[error("the request has no {0} header to copy")]
    MissingHeader(HeaderKind),
}

fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&byte))
}

fn has_line_break(text: &str) -> bool {
    text.contains(['\r', '\n', '\0'])
}

fn push_header(out: &mut String, name: &str, value: &str) -> Result<(), BuildError> {
    if !is_token(name) || has_line_break(value) {
        return Err(BuildError::InvalidHeader {
            name: name.to_string(),
        });
    }
    out.push_str(name);
    out.push_str(": ");
    out.push_str(value);
    out.push_str("\r\n");
    Ok(())
}

fn finish(mut text: String, body: &[u8]) -> Vec<u8> {
    text.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn is_framing(name: &str) -> bool {
    name.eq_ignore_ascii_case("Content-Length") || name.eq_ignore_ascii_case("l")
}

/// Serializes `request` with `via` (a full Via value) as its only Via.
pub(crate) fn build_request(request: &NewRequest, via: &str) -> Result<Vec<u8>, BuildError> {
    if request.uri.is_empty() || request.uri.contains([' ', '\t']) || has_line_break(&request.uri) {
        return Err(BuildError::InvalidText {
            part: "Request-URI",
        });
    }
    let mut text = format!("{} {} SIP/2.0\r\n", request.method, request.uri);
    push_header(&mut text, "Via", via)?;
    push_header(&mut text, "Max-Forwards", &request.max_forwards.to_string())?;
    push_header(&mut text, "From", &request.from)?;
    push_header(&mut text, "To", &request.to)?;
    push_header(&mut text, "Call-ID", &request.call_id)?;
    push_header(
        &mut text,
        "CSeq",
        &format!("{} {}", request.cseq, request.method),
    )?;
    for header in request.headers.iter().filter(|h| !is_framing(&h.name)) {
        push_header(&mut text, &header.name, &header.value)?;
    }
    Ok(finish(text, &request.body))
}

/// Whether a From or To value already carries a `tag` parameter (outside any `<…>`).
pub(crate) fn has_tag(value: &str) -> bool {
    let params = match value.rfind('>') {
        Some(end) => value.get(end..).unwrap_or_default(),
        None => value,
    };
    params
        .split(';')
        .skip(1)
        .any(|param| param.trim().to_ascii_lowercase().starts_with("tag="))
}

/// The headers a response copies from its request, as raw values.
pub(crate) struct ReplyHeaders<'a> {
    pub vias: Vec<&'a str>,
    pub from: &'a str,
    pub to: &'a str,
    pub call_id: &'a str,
    pub cseq: &'a str,
}

impl<'a> ReplyHeaders<'a> {
    /// Collects them from `headers`; `None` names the first one missing.
    pub(crate) fn collect(headers: &'a [Header]) -> Result<ReplyHeaders<'a>, HeaderKind> {
        let vias: Vec<&str> = headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("Via"))
            .map(|h| h.value.as_str())
            .collect();
        if vias.is_empty() {
            return Err(HeaderKind::Via);
        }
        let get = |kind: HeaderKind| find_header(headers, kind.name()).ok_or(kind);
        Ok(ReplyHeaders {
            vias,
            from: get(HeaderKind::From)?,
            to: get(HeaderKind::To)?,
            call_id: get(HeaderKind::CallId)?,
            cseq: get(HeaderKind::CSeq)?,
        })
    }

    /// Serializes a response: the copied headers, the To tag when needed, then `response`'s.
    pub(crate) fn build(
        &self,
        response: &NewResponse,
        to_tag: &str,
    ) -> Result<Vec<u8>, BuildError> {
        if !(100..=699).contains(&response.status) {
            return Err(BuildError::InvalidStatus {
                status: response.status,
            });
        }
        if has_line_break(&response.reason) {
            return Err(BuildError::InvalidText {
                part: "reason phrase",
            });
        }
        let mut text = format!("SIP/2.0 {} {}\r\n", response.status, response.reason);
        for via in &self.vias {
            push_header(&mut text, "Via", via)?;
        }
        push_header(&mut text, "From", self.from)?;
        if response.status > 100 && !has_tag(self.to) {
            if !is_token(to_tag) {
                return Err(BuildError::InvalidText { part: "tag" });
            }
            push_header(&mut text, "To", &format!("{};tag={to_tag}", self.to))?;
        } else {
            push_header(&mut text, "To", self.to)?;
        }
        push_header(&mut text, "Call-ID", self.call_id)?;
        push_header(&mut text, "CSeq", self.cseq)?;
        for header in response.headers.iter().filter(|h| !is_framing(&h.name)) {
            push_header(&mut text, &header.name, &header.value)?;
        }
        Ok(finish(text, &response.body))
    }
}

/// Serializes a response to `request`: copies its Via headers, From, To, Call-ID and CSeq,
/// adds `response.to_tag` (or `default_tag`) to To when the request's To has no tag and the
/// status is above 100, then `response`'s own headers, Content-Length and body.
pub fn build_response(
    request: &Request,
    response: &NewResponse,
    default_tag: &str,
) -> Result<Vec<u8>, BuildError> {
    let copied = ReplyHeaders::collect(&request.headers).map_err(BuildError::MissingHeader)?;
    let tag = response.to_tag.as_deref().unwrap_or(default_tag);
    copied.build(response, tag)
}
