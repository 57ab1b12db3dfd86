//! The malformed-message table: each input gets the right error, the layer answers the
//! ones it can with the right status and reason, and nothing panics.

use super::*;
use crate::proto::checks::{HeaderKind, MessageError, parse};

const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.example.com>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\n";

pub(super) fn valid_invite() -> &'static str {
    INVITE
}

fn without(header: &str) -> Vec<u8> {
    INVITE
        .split_inclusive("\r\n")
        .filter(|line| !line.starts_with(&format!("{header}:")))
        .collect::<String>()
        .into_bytes()
}

fn replace(from: &str, to: &str) -> Vec<u8> {
    INVITE.replacen(from, to, 1).into_bytes()
}

fn not_utf8_header() -> Vec<u8> {
    let mut bytes = INVITE.as_bytes().to_vec();
    let at = INVITE.find("Alice").unwrap_or_default();
    bytes[at] = 0xC3;
    bytes[at + 1] = 0x28;
    bytes
}

fn huge() -> Vec<u8> {
    let mut text = INVITE.replace("Content-Length: 4", "Content-Length: 70000");
    text.push_str(&"a".repeat(70_000));
    text.into_bytes()
}

use HeaderKind as H;
use MessageError as E;

/// (name, input, error, whether the layer answers it).
fn cases() -> Vec<(&'static str, Vec<u8>, MessageError, bool)> {
    vec![
        ("empty", Vec::new(), E::Empty, false),
        ("only line breaks", b"\r\n\r\n".to_vec(), E::Empty, false),
        ("garbage", b"hello world".to_vec(), E::Unparseable, false),
        ("binary", vec![0xFF, 0x00, 0x13, 0x37], E::NotUtf8, false),
        ("non-UTF-8 header", not_utf8_header(), E::NotUtf8, false),
        ("SIP/3.0", replace("SIP/2.0\r\n", "SIP/3.0\r\n"), E::Unparseable, false),
        ("SIP/1.0", replace("SIP/2.0\r\n", "SIP/1.0\r\n"), E::UnsupportedVersion, true),
        ("unknown method", replace("INVITE sip", "FROB sip"), E::Unparseable, false),
        ("no Via", without("Via"), E::MissingHeader(H::Via), false),
        ("no From", without("From"), E::MissingHeader(H::From), false),
        ("no To", without("To"), E::MissingHeader(H::To), false),
        ("no Call-ID", without("Call-ID"), E::MissingHeader(H::CallId), false),
        ("no CSeq", without("CSeq"), E::MissingHeader(H::CSeq), false),
        (
            "no Max-Forwards",
            without("Max-Forwards"),
            E::MissingHeader(H::MaxForwards),
            true,
        ),
        ("From without tag", replace(";tag=1928301774", ""), E::MissingFromTag, true),
        (
            "CSeq not a number",
            replace("CSeq: 314159", "CSeq: abc"),
            E::MalformedHeader(H::CSeq),
            true,
        ),
        (
            "CSeq beyond u32",
            replace("CSeq: 314159", "CSeq: 99999999999"),
            E::MalformedHeader(H::CSeq),
            true,
        ),
        (
            "CSeq at 2^31",
            replace("CSeq: 314159", "CSeq: 2147483648"),
            E::CSeqOutOfRange(2_147_483_648),
            true,
        ),
        (
            "CSeq method mismatch",
            replace("314159 INVITE", "314159 BYE"),
            E::CSeqMethodMismatch {
                request: Method::Invite,
                cseq: Method::Bye,
            },
            true,
        ),
        (
            "Content-Length beyond the body",
            replace("Content-Length: 4", "Content-Length: 400"),
            E::BodyTooShort {
                declared: 400,
                actual: 4,
            },
            true,
        ),
        (
            "Content-Length not a number",
            replace("Content-Length: 4", "Content-Length: four"),
            E::MalformedHeader(H::ContentLength),
            true,
        ),
        (
            "huge",
            huge(),
            E::TooLarge {
                size: huge().len(),
                limit: 65_535,
            },
            false,
        ),
        (
            "branch without cookie",
            replace("branch=z9hG4bK776asdhds", "branch=776asdhds"),
            E::BranchWithoutCookie,
            true,
        ),
        (
            "bare cookie branch",
            replace("branch=z9hG4bK776asdhds", "branch=z9hG4bK"),
            E::BranchWithoutCookie,
            true,
        ),
        (
            "Via without branch",
            replace(";branch=z9hG4bK776asdhds", ""),
            E::MissingBranch,
            true,
        ),
        (
            "Via host with empty label",
            replace("pc33.atlanta.example.com:5060", "pc33..atlanta:5060"),
            E::BadViaHost,
            true,
        ),
        (
            "Request-URI host with underscore",
            replace("sip:bob@biloxi.example.com SIP", "sip:bob@bad_host SIP"),
            E::BadRequestUri,
            true,
        ),
        (
            "tel Request-URI (rsip rejects it)",
            replace("sip:bob@biloxi.example.com SIP", "tel:+15551234 SIP"),
            E::Unparseable,
            false,
        ),
        (
            "Request-URI host with a leading hyphen",
            replace("sip:bob@biloxi.example.com SIP", "sips:bob@-bad-.example.com SIP"),
            E::BadRequestUri,
            true,
        ),
        (
            "duplicate Call-ID",
            replace("CSeq:", "Call-ID: other@x\r\nCSeq:"),
            E::DuplicateHeader(H::CallId),
            true,
        ),
        (
            "Max-Forwards not a number",
            replace("Max-Forwards: 70", "Max-Forwards: many"),
            E::MalformedHeader(H::MaxForwards),
            true,
        ),
        (
            "empty Call-ID",
            replace("Call-ID: a84b4c76e66710@pc33.atlanta.example.com", "Call-ID: "),
            E::MalformedHeader(H::CallId),
            true,
        ),
        (
            "ACK without Max-Forwards is never answered",
            String::from_utf8_lossy(&without("Max-Forwards"))
                .replace("INVITE", "ACK")
                .into_bytes(),
            E::MissingHeader(H::MaxForwards),
            false,
        ),
        (
            "response with status 700",
            b"SIP/2.0 700 Nope\r\nVia: SIP/2.0/UDP h:5060;branch=z9hG4bKx1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n".to_vec(),
            E::BadStatus(700),
            false,
        ),
        (
            "response without Via",
            b"SIP/2.0 200 OK\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n".to_vec(),
            E::MissingHeader(H::Via),
            false,
        ),
        (
            "start line only",
            b"INVITE sip:bob@h SIP/2.0\r\n\r\n".to_vec(),
            E::MissingHeader(H::Via),
            false,
        ),
    ]
}

#[test]
fn every_malformed_message_gets_its_error_and_the_right_answer() {
    let cases = cases();
    assert!(cases.len() >= 24);
    for (name, bytes, expected, answered) in cases {
        assert_eq!(
            parse(&bytes, 65_535).err(),
            Some(expected.clone()),
            "{name}"
        );
        let mut layer = TransactionLayer::new(config(1));
        layer.handle_datagram(address_a(), &bytes, Instant::from_millis(0));
        assert_eq!(
            layer.poll_event(),
            Some(TransactionEvent::Malformed {
                source: address_a(),
                error: expected.clone(),
                answered,
            }),
            "{name}"
        );
        let reply = layer.poll_transmit();
        assert_eq!(reply.is_some(), answered, "{name}");
        if let Some(reply) = reply {
            let text = String::from_utf8_lossy(&reply.bytes);
            let status_line = format!(
                "SIP/2.0 {} {}\r\n",
                expected.status_code(),
                expected.reason_phrase()
            );
            assert!(text.starts_with(&status_line), "{name}: {text}");
            assert!(
                text.ends_with("Content-Length: 0\r\n\r\n"),
                "{name}: {text}"
            );
            assert_eq!(reply.destination, address_a());
        }
        assert!(layer.is_empty(), "{name}");
    }
}

#[test]
fn reason_phrases_name_the_problem() {
    assert_eq!(
        E::MissingHeader(H::CallId).reason_phrase(),
        "Missing Call-ID"
    );
    assert_eq!(E::UnsupportedVersion.status_code(), 505);
    assert_eq!(E::MissingFromTag.status_code(), 400);
}

#[test]
fn a_valid_invite_parses_into_our_fields() {
    let Ok(Message::Request(request)) = parse(INVITE.as_bytes(), 65_535) else {
        panic!("valid INVITE rejected");
    };
    assert_eq!(request.method, Method::Invite);
    assert_eq!(request.cseq, 314_159);
    assert_eq!(request.branch, "z9hG4bK776asdhds");
    assert_eq!(request.sent_by, "pc33.atlanta.example.com:5060");
    assert_eq!(request.from_tag, "1928301774");
    assert_eq!(request.to_tag, None);
    assert_eq!(request.max_forwards, 70);
    assert_eq!(request.body, b"v=0\n");
    assert_eq!(request.header("content-type"), Some("application/sdp"));
}

#[test]
fn compact_headers_a_longer_body_and_folded_vias_are_accepted() {
    let text = "OPTIONS sip:bob@biloxi.example.com SIP/2.0\r\n\
v: SIP/2.0/UDP Host.Example.com;branch=z9hG4bKabc, SIP/2.0/UDP proxy.example.com;branch=z9hG4bKdef\r\n\
Max-Forwards: 70\r\n\
t: <sip:bob@biloxi.example.com>;tag=to1\r\n\
f: <sip:alice@atlanta.example.com>;tag=from1\r\n\
i: call-7\r\n\
CSeq: 2 OPTIONS\r\n\
l: 2\r\n\
\r\n\
hello";
    let Ok(Message::Request(request)) = parse(text.as_bytes(), 65_535) else {
        panic!("compact OPTIONS rejected");
    };
    assert_eq!(request.call_id, "call-7");
    assert_eq!(request.sent_by, "host.example.com:5060");
    assert_eq!(request.branch, "z9hG4bKabc");
    assert_eq!(request.to_tag.as_deref(), Some("to1"));
    assert_eq!(request.body, b"he");
}

#[test]
fn responses_keep_their_reason_phrase_and_to_tag() {
    let text = "SIP/2.0 486 Busy Here Today\r\nVia: SIP/2.0/UDP h.example.com:5070;branch=z9hG4bKx1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=9\r\nCall-ID: c\r\nCSeq: 5 INVITE\r\nContent-Length: 0\r\n\r\n";
    let Ok(Message::Response(response)) = parse(text.as_bytes(), 65_535) else {
        panic!("response rejected");
    };
    assert_eq!(response.status, 486);
    assert_eq!(response.reason, "Busy Here Today");
    assert_eq!(response.cseq_method, Method::Invite);
    assert_eq!(response.sent_by, "h.example.com:5070");
    assert_eq!(response.to_tag.as_deref(), Some("9"));
}

#[test]
fn built_responses_copy_the_dialog_headers_and_add_a_to_tag() {
    let Ok(Message::Request(request)) = parse(INVITE.as_bytes(), 65_535) else {
        panic!("valid INVITE rejected");
    };
    let mut ok = NewResponse::new(200, "OK");
    ok.headers
        .push(Header::new("Contact", "<sip:bob@10.0.0.2>"));
    ok.headers.push(Header::new("Content-Length", "999"));
    let bytes = crate::proto::message::build_response(&request, &ok, "tag7").expect("builds");
    let Ok(Message::Response(response)) = parse(&bytes, 65_535) else {
        panic!("our own response rejected");
    };
    assert_eq!(response.status, 200);
    assert_eq!(response.to_tag.as_deref(), Some("tag7"));
    assert_eq!(response.branch, request.branch);
    assert_eq!(response.cseq, request.cseq);
    assert_eq!(response.header("Content-Length"), Some("0"));
    let trying =
        crate::proto::message::build_response(&request, &NewResponse::new(100, "Trying"), "t")
            .expect("builds");
    assert!(!String::from_utf8_lossy(&trying).contains("tag=t"));
}
