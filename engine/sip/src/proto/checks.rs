//! From bytes to a checked [`Message`]: `rsip` tokenizes, then our own checks reject what
//! it lets through but RFC 3261 (or a safe server) does not accept.
//!
//! What `rsip` 0.4 accepts and we reject: `SIP/1.0`; a missing Via, From, To, Call-ID,
//! CSeq or Max-Forwards (it parses headers lazily); a Via branch without the `z9hG4bK`
//! cookie; a request without a From tag; a CSeq whose method differs from the request
//! line's or whose number is 2^31 or more; duplicated Call-ID/CSeq/From/To; hosts that are
//! not host names or IP addresses; a Content-Length larger than the body (a longer body is
//! cut to Content-Length, as RFC 3261 §18.3 says for UDP). Compact header names (`v`, `i`,
//! `f`, `t`, `l`, `m`, …), which `rsip` keeps as unknown headers, are expanded first.
//!
//! Every failure is a [`MessageError`] whose [`MessageError::reason_phrase`] and
//! [`MessageError::status_code`] make the reply (`400 Missing Call-ID`). Nothing here
//! panics on any input.

use super::message::{Header, Message, Method, Request, Response, find_header};
use rsip::headers::{ToTypedHeader, UntypedHeader};
use thiserror::Error;

/// The headers the checks require, for error context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeaderKind {
    /// `Via`.
    Via,
    /// `From`.
    From,
    /// `To`.
    To,
    /// `Call-ID`.
    CallId,
    /// `CSeq`.
    CSeq,
    /// `Max-Forwards`.
    MaxForwards,
    /// `Content-Length`.
    ContentLength,
}

impl HeaderKind {
    /// The header's canonical name.
    pub const fn name(self) -> &'static str {
        match self {
            HeaderKind::Via => "Via",
            HeaderKind::From => "From",
            HeaderKind::To => "To",
            HeaderKind::CallId => "Call-ID",
            HeaderKind::CSeq => "CSeq",
            HeaderKind::MaxForwards => "Max-Forwards",
            HeaderKind::ContentLength => "Content-Length",
        }
    }
}

impl std::fmt::Display for HeaderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a datagram is not an acceptable SIP message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MessageError {
    /// Nothing but whitespace.
    #[error("empty message")]
    Empty,
    /// Larger than the configured limit.
    #[error("message of {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// The datagram's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The start line or headers are not UTF-8.
    #[error("the start line or headers are not UTF-8")]
    NotUtf8,
    /// `rsip` could not tokenize it (garbage, unknown method, bad start line).
    #[error("not a SIP message")]
    Unparseable,
    /// A version other than `SIP/2.0`.
    #[error("unsupported SIP version")]
    UnsupportedVersion,
    /// A mandatory header is absent.
    #[error("missing {0} header")]
    MissingHeader(HeaderKind),
    /// A header that may appear once appears more often.
    #[error("duplicate {0} header")]
    DuplicateHeader(HeaderKind),
    /// A header's value does not parse.
    #[error("malformed {0} header")]
    MalformedHeader(HeaderKind),
    /// The top Via has no branch parameter.
    #[error("the top Via has no branch")]
    MissingBranch,
    /// The top Via's branch lacks the RFC 3261 magic cookie `z9hG4bK`.
    #[error("the top Via's branch lacks the z9hG4bK cookie")]
    BranchWithoutCookie,
    /// The top Via's sent-by host is not a host name or IP address.
    #[error("the top Via's host is malformed")]
    BadViaHost,
    /// The Request-URI is not a sip/sips URI with a sane host.
    #[error("malformed Request-URI")]
    BadRequestUri,
    /// A request without a From tag.
    #[error("the From header has no tag")]
    MissingFromTag,
    /// The CSeq number is 2^31 or more.
    #[error("CSeq number {0} is not below 2^31")]
    CSeqOutOfRange(u32),
    /// The CSeq method differs from the request line's.
    #[error("CSeq method {cseq} differs from the request method {request}")]
    CSeqMethodMismatch {
        /// The request line's method.
        request: Method,
        /// The CSeq's method.
        cseq: Method,
    },
    /// Content-Length declares more bytes than the datagram carries.
    #[error("Content-Length {declared} exceeds the body of {actual} bytes")]
    BodyTooShort {
        /// Content-Length.
        declared: usize,
        /// The bytes after the headers.
        actual: usize,
    },
    /// A response's status code is outside 100–699.
    #[error("status code {0} is outside 100-699")]
    BadStatus(u16),
}

impl MessageError {
    /// The status code to answer a request with: 505 for the version, 513 for the size,
    /// 400 for everything else.
    pub fn status_code(&self) -> u16 {
        match self {
            MessageError::UnsupportedVersion => 505,
            MessageError::TooLarge { .. } => 513,
            _ => 400,
        }
    }

    /// A reason phrase for the reply's status line, e.g. `Missing Call-ID`.
    pub fn reason_phrase(&self) -> String {
        match self {
            MessageError::Empty => "Empty Message".into(),
            MessageError::TooLarge { .. } => "Message Too Large".into(),
            MessageError::NotUtf8 => "Headers Not UTF-8".into(),
            MessageError::Unparseable => "Malformed Message".into(),
            MessageError::UnsupportedVersion => "Version Not Supported".into(),
            MessageError::MissingHeader(kind) => format!("Missing {kind}"),
            MessageError::DuplicateHeader(kind) => format!("Duplicate {kind}"),
            MessageError::MalformedHeader(kind) => format!("Malformed {kind}"),
            MessageError::MissingBranch => "Missing Via Branch".into(),
            MessageError::BranchWithoutCookie => "Via Branch Lacks z9hG4bK".into(),
            MessageError::BadViaHost => "Malformed Via Host".into(),
            MessageError::BadRequestUri => "Malformed Request-URI".into(),
            MessageError::MissingFromTag => "Missing From Tag".into(),
            MessageError::CSeqOutOfRange(_) => "CSeq Out Of Range".into(),
            MessageError::CSeqMethodMismatch { .. } => "CSeq Method Mismatch".into(),
            MessageError::BodyTooShort { .. } => "Content-Length Exceeds Body".into(),
            MessageError::BadStatus(_) => "Bad Status Code".into(),
        }
    }
}

/// A message our checks refused, with what the transaction layer needs to answer it.
#[derive(Debug, Clone)]
pub(crate) struct Rejected {
    pub error: MessageError,
    /// The method when it was a request whose start line parsed.
    pub request_method: Option<Method>,
    /// Its headers, when `rsip` got that far.
    pub headers: Vec<Header>,
}

/// Parses `bytes` (one datagram) and checks it; `max_size` bounds the datagram.
pub fn parse(bytes: &[u8], max_size: usize) -> Result<Message, MessageError> {
    parse_detailed(bytes, max_size).map_err(|rejected| rejected.error)
}

fn reject(error: MessageError) -> Rejected {
    Rejected {
        error,
        request_method: None,
        headers: Vec::new(),
    }
}

pub(crate) fn parse_detailed(bytes: &[u8], max_size: usize) -> Result<Message, Rejected> {
    if bytes.len() > max_size {
        return Err(reject(MessageError::TooLarge {
            size: bytes.len(),
            limit: max_size,
        }));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(reject(MessageError::Empty));
    }
    let head_end = find(bytes, b"\r\n\r\n").map_or(bytes.len(), |at| at + 4);
    let head = bytes.get(..head_end).unwrap_or(bytes);
    let Ok(head_text) = std::str::from_utf8(head) else {
        return Err(reject(MessageError::NotUtf8));
    };
    let message =
        rsip::SipMessage::try_from(bytes).map_err(|_| reject(MessageError::Unparseable))?;
    let version = match &message {
        rsip::SipMessage::Request(request) => &request.version,
        rsip::SipMessage::Response(response) => &response.version,
    };
    let request_method = match &message {
        rsip::SipMessage::Request(request) => Some(Method::from_rsip(request.method)),
        rsip::SipMessage::Response(_) => None,
    };
    let (raw_headers, body) = match &message {
        rsip::SipMessage::Request(request) => (&request.headers, &request.body),
        rsip::SipMessage::Response(response) => (&response.headers, &response.body),
    };
    let headers: Vec<Header> = raw_headers.iter().map(expand).collect();
    let rejected = |error| Rejected {
        error,
        request_method,
        headers: headers.clone(),
    };
    if *version != rsip::Version::V2 {
        return Err(rejected(MessageError::UnsupportedVersion));
    }
    let common = check_common(&headers, request_method.is_some()).map_err(rejected)?;
    let body = check_body(&headers, body).map_err(rejected)?;
    match message {
        rsip::SipMessage::Request(request) => {
            let method = Method::from_rsip(request.method);
            check_request(method, &request.uri, &common, &headers).map_err(rejected)?;
            let max_forwards = find_header(&headers, "Max-Forwards")
                .ok_or(MessageError::MissingHeader(HeaderKind::MaxForwards))
                .and_then(|value| {
                    value
                        .trim()
                        .parse::<u32>()
                        .map_err(|_| MessageError::MalformedHeader(HeaderKind::MaxForwards))
                })
                .map_err(rejected)?;
            let from_tag = common
                .from_tag
                .clone()
                .ok_or(MessageError::MissingFromTag)
                .map_err(rejected)?;
            Ok(Message::Request(Request {
                method,
                uri: request.uri.to_string(),
                call_id: common.call_id,
                cseq: common.cseq,
                branch: common.branch,
                sent_by: common.sent_by,
                from_tag,
                to_tag: common.to_tag,
                max_forwards,
                headers,
                body,
            }))
        }
        rsip::SipMessage::Response(response) => {
            let status = response.status_code.code();
            if !(100..=699).contains(&status) {
                return Err(rejected(MessageError::BadStatus(status)));
            }
            let first_line = head_text.split("\r\n").next().unwrap_or_default();
            let reason = first_line.splitn(3, ' ').nth(2).unwrap_or_default();
            Ok(Message::Response(Response {
                status,
                reason: reason.to_string(),
                call_id: common.call_id,
                cseq: common.cseq,
                cseq_method: common.cseq_method,
                branch: common.branch,
                sent_by: common.sent_by,
                from_tag: common.from_tag,
                to_tag: common.to_tag,
                headers,
                body,
            }))
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// rsip's header as our [`Header`], with compact names expanded.
fn expand(header: &rsip::Header) -> Header {
    let line = header.to_string();
    let (name, value) = line.split_once(':').unwrap_or((line.as_str(), ""));
    let name = name.trim();
    let full = match name.to_ascii_lowercase().as_str() {
        "v" => "Via",
        "i" | "call-id" => "Call-ID",
        "f" => "From",
        "t" => "To",
        "l" => "Content-Length",
        "m" => "Contact",
        "c" => "Content-Type",
        "e" => "Content-Encoding",
        "k" => "Supported",
        "s" => "Subject",
        "cseq" => "CSeq",
        _ => name,
    };
    Header::new(full, value.trim())
}

/// What requests and responses share.
struct Common {
    call_id: String,
    cseq: u32,
    cseq_method: Method,
    branch: String,
    sent_by: String,
    from_tag: Option<String>,
    to_tag: Option<String>,
}

fn single(headers: &[Header], kind: HeaderKind) -> Result<&str, MessageError> {
    let mut values = headers
        .iter()
        .filter(|header| header.name.eq_ignore_ascii_case(kind.name()));
    let first = values.next().ok_or(MessageError::MissingHeader(kind))?;
    if values.next().is_some() {
        return Err(MessageError::DuplicateHeader(kind));
    }
    Ok(first.value.as_str())
}

fn check_common(headers: &[Header], is_request: bool) -> Result<Common, MessageError> {
    let top_via =
        find_header(headers, "Via").ok_or(MessageError::MissingHeader(HeaderKind::Via))?;
    let (branch, sent_by) = check_via(top_via)?;
    let from = single(headers, HeaderKind::From)?;
    let from_tag = tag_of(from, HeaderKind::From)?;
    let to = single(headers, HeaderKind::To)?;
    let to_tag = tag_of(to, HeaderKind::To)?;
    let call_id = single(headers, HeaderKind::CallId)?.trim();
    if call_id.is_empty() || call_id.contains(char::is_whitespace) {
        return Err(MessageError::MalformedHeader(HeaderKind::CallId));
    }
    let cseq = single(headers, HeaderKind::CSeq)?;
    let typed = rsip::headers::CSeq::new(cseq.trim())
        .typed()
        .map_err(|_| MessageError::MalformedHeader(HeaderKind::CSeq))?;
    if typed.seq >= 1 << 31 {
        return Err(MessageError::CSeqOutOfRange(typed.seq));
    }
    if is_request && from_tag.is_none() {
        return Err(MessageError::MissingFromTag);
    }
    Ok(Common {
        call_id: call_id.to_string(),
        cseq: typed.seq,
        cseq_method: Method::from_rsip(typed.method),
        branch,
        sent_by,
        from_tag,
        to_tag,
    })
}

fn tag_of(value: &str, kind: HeaderKind) -> Result<Option<String>, MessageError> {
    let parsed = match kind {
        HeaderKind::From => rsip::headers::From::new(value).tag(),
        _ => rsip::headers::To::new(value).tag(),
    };
    let tag = parsed.map_err(|_| MessageError::MalformedHeader(kind))?;
    match tag.map(|tag| tag.to_string()) {
        Some(tag) if tag.is_empty() => Err(MessageError::MalformedHeader(kind)),
        other => Ok(other),
    }
}

/// Checks the top Via (its first via-parm) and returns its branch and normalized sent-by.
fn check_via(value: &str) -> Result<(String, String), MessageError> {
    let first = value.split(',').next().unwrap_or_default().trim();
    let via = rsip::headers::Via::new(first)
        .typed()
        .map_err(|_| MessageError::MalformedHeader(HeaderKind::Via))?;
    if via.version != rsip::Version::V2 {
        return Err(MessageError::MalformedHeader(HeaderKind::Via));
    }
    let host = via.uri.host_with_port.host.to_string();
    if !host_is_sane(&host) {
        return Err(MessageError::BadViaHost);
    }
    let port = via.uri.host_with_port.port.map_or(5060, u16::from);
    let branch = via
        .branch()
        .map(ToString::to_string)
        .ok_or(MessageError::MissingBranch)?;
    if !branch.starts_with("z9hG4bK") {
        return Err(MessageError::BranchWithoutCookie);
    }
    if branch.len() <= "z9hG4bK".len() || branch.contains(char::is_whitespace) {
        return Err(MessageError::BranchWithoutCookie);
    }
    Ok((branch, format!("{}:{port}", host.to_ascii_lowercase())))
}

fn check_request(
    method: Method,
    uri: &rsip::Uri,
    common: &Common,
    headers: &[Header],
) -> Result<(), MessageError> {
    match &uri.scheme {
        Some(rsip::Scheme::Sip | rsip::Scheme::Sips) => {}
        _ => return Err(MessageError::BadRequestUri),
    }
    if !host_is_sane(&uri.host_with_port.host.to_string()) {
        return Err(MessageError::BadRequestUri);
    }
    if common.cseq_method != method {
        return Err(MessageError::CSeqMethodMismatch {
            request: method,
            cseq: common.cseq_method,
        });
    }
    single(headers, HeaderKind::MaxForwards).map(|_| ())
}

/// The body cut to Content-Length; an error when it declares more than arrived.
fn check_body(headers: &[Header], body: &[u8]) -> Result<Vec<u8>, MessageError> {
    let Some(declared) = find_header(headers, "Content-Length") else {
        return Ok(body.to_vec());
    };
    let declared: usize = declared
        .trim()
        .parse()
        .map_err(|_| MessageError::MalformedHeader(HeaderKind::ContentLength))?;
    match body.get(..declared) {
        Some(cut) => Ok(cut.to_vec()),
        None => Err(MessageError::BodyTooShort {
            declared,
            actual: body.len(),
        }),
    }
}

/// A host name (labels of letters, digits and `-`), an IPv4 address, or a bracketed IPv6.
pub(crate) fn host_is_sane(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<core::net::Ipv6Addr>().is_ok();
    }
    if host.parse::<core::net::IpAddr>().is_ok() {
        return true;
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}
