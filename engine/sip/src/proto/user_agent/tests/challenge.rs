//! An outgoing call through a trunk that challenges: the far end is played by hand with the
//! server half of [`crate::proto::digest`], so every byte the UA sends is checked.

use super::*;
use crate::proto::checks::parse;
use crate::proto::digest::{AuthConfig, Authenticator, Authorization, Credential};
use crate::proto::message::{Message, Request, build_response};

const TRUNK: &str = "10.0.0.9:5060";

fn trunk() -> SocketAddr {
    TRUNK.parse().expect("an address")
}

struct Harness {
    ua: UserAgent,
    now: Instant,
    server: Authenticator,
}

impl Harness {
    fn new() -> Harness {
        Harness {
            ua: UserAgent::new(ua_config(5, address_a())),
            now: Instant::from_millis(0),
            server: Authenticator::new(AuthConfig::new("trunk.example", b"secret".to_vec())),
        }
    }

    fn call(&mut self, credentials: Option<UacCredentials>) -> CallKey {
        self.ua
            .invite_with(
                "sip:5511999990000@10.0.0.9",
                "<sip:ramal@10.0.0.1>",
                "<sip:5511999990000@10.0.0.9>",
                OFFER,
                trunk(),
                credentials,
                self.now,
            )
            .expect("the INVITE goes out")
    }

    /// Every request the UA sent since the last call, parsed.
    fn sent(&mut self) -> Vec<Request> {
        let mut requests = Vec::new();
        while let Some(transmit) = self.ua.poll_transmit() {
            assert_eq!(transmit.destination, trunk());
            if let Ok(Message::Request(request)) = parse(&transmit.bytes, 65_535) {
                requests.push(request);
            }
        }
        requests
    }

    fn respond(&mut self, request: &Request, response: NewResponse) {
        let bytes = build_response(request, &response, "trunk1").expect("a response");
        self.ua.handle_datagram(trunk(), &bytes, self.now);
    }

    fn challenge(&mut self, request: &Request, status: u16) {
        let header = if status == 401 {
            "WWW-Authenticate"
        } else {
            "Proxy-Authenticate"
        };
        let mut response = NewResponse::new(status, "Unauthorized");
        for challenge in self.server.challenge(self.now, false) {
            response
                .headers
                .push(Header::new(header, challenge.to_header_value()));
        }
        self.respond(request, response);
    }

    fn events(&mut self) -> Vec<UaEvent> {
        std::iter::from_fn(|| self.ua.poll_event()).collect()
    }
}

fn credentials(password: &str) -> Option<UacCredentials> {
    Some(UacCredentials {
        username: "ramal".into(),
        password: password.into(),
    })
}

fn answer_ok(harness: &mut Harness, request: &Request) {
    let mut ok = NewResponse::new(200, "OK");
    ok.headers
        .push(Header::new("Contact", "<sip:5511999990000@10.0.0.9>"));
    ok.headers
        .push(Header::new("Content-Type", "application/sdp"));
    ok.body = OFFER.as_bytes().to_vec();
    harness.respond(request, ok);
}

#[test]
fn a_401_is_answered_once_with_a_digest_the_server_accepts() {
    for status in [401, 407] {
        let mut harness = Harness::new();
        let call = harness.call(credentials("s3cret"));
        let first = harness.sent();
        assert_eq!(first.len(), 1);
        assert!(first[0].header("Authorization").is_none());
        harness.challenge(&first[0], status);
        let sent = harness.sent();
        let methods: Vec<_> = sent.iter().map(|r| r.method).collect();
        assert_eq!(methods, [Method::Ack, Method::Invite], "status {status}");
        let retry = &sent[1];
        assert_eq!(retry.call_id, first[0].call_id, "same dialog");
        assert_eq!(retry.cseq, first[0].cseq + 1, "a new CSeq");
        assert_eq!(retry.from_tag, first[0].from_tag);
        assert!(retry.header("To").is_some_and(|to| !to.contains("tag=")));
        assert_eq!(retry.body, OFFER.as_bytes(), "the offer again");
        let header = if status == 401 {
            "Authorization"
        } else {
            "Proxy-Authorization"
        };
        let authorization =
            Authorization::parse(retry.header(header).expect("an authorization header"))
                .expect("it parses");
        assert_eq!(authorization.username, "ramal");
        assert_eq!(authorization.uri, "sip:5511999990000@10.0.0.9");
        let now = harness.now;
        harness
            .server
            .verify(
                &authorization,
                "INVITE",
                &Credential::hashed("ramal", "trunk.example", "s3cret"),
                now,
            )
            .expect("the trunk accepts the digest");
        assert!(harness.events().is_empty(), "the challenge is not reported");
        answer_ok(&mut harness, retry);
        let events = harness.events();
        assert!(
            matches!(events.as_slice(), [UaEvent::Answered { call: answered, .. }] if *answered == call),
            "{events:?}"
        );
        let ack = harness.sent();
        assert_eq!(ack.len(), 1);
        assert_eq!(ack[0].method, Method::Ack);
        assert_eq!(ack[0].cseq, retry.cseq);
    }
}

#[test]
fn a_second_challenge_fails_the_call() {
    let mut harness = Harness::new();
    let call = harness.call(credentials("wrong"));
    let first = harness.sent();
    harness.challenge(&first[0], 401);
    let retry = harness.sent().pop().expect("the retry");
    harness.challenge(&retry, 401);
    let sent = harness.sent();
    assert_eq!(
        sent.iter().map(|r| r.method).collect::<Vec<_>>(),
        [Method::Ack],
        "no third INVITE"
    );
    assert_eq!(harness.events(), [UaEvent::Failed { call, status: 401 }]);
    assert_eq!(harness.ua.call_count(), 0);
}

#[test]
fn without_credentials_a_challenge_is_a_failure() {
    let mut harness = Harness::new();
    let call = harness.call(None);
    let first = harness.sent();
    harness.challenge(&first[0], 407);
    assert_eq!(harness.events(), [UaEvent::Failed { call, status: 407 }]);
}

#[test]
fn hanging_up_after_the_challenge_cancels_the_new_invite() {
    let mut harness = Harness::new();
    let call = harness.call(credentials("s3cret"));
    let first = harness.sent();
    harness.challenge(&first[0], 401);
    let retry = harness.sent().pop().expect("the retry");
    harness.respond(&retry, NewResponse::new(180, "Ringing"));
    let now = harness.now;
    harness.ua.hangup(call, now).expect("hangs up");
    let sent = harness.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, Method::Cancel);
    assert_eq!(
        sent[0].cseq, retry.cseq,
        "the CANCEL matches the new INVITE"
    );
}

#[test]
fn credentials_do_not_show_in_debug_output() {
    let text = format!("{:?}", credentials("hunter2"));
    assert!(
        text.contains("ramal") && !text.contains("hunter2"),
        "{text}"
    );
}
