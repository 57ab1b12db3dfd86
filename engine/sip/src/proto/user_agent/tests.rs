//! Two [`UserAgent`]s over a seeded lossy in-memory network on a virtual clock (the
//! transaction tests' `Pair`, one layer up). Requests a UA cannot send itself (re-INVITE,
//! OPTIONS, stray BYE, INVITE with Session-Expires) are injected as raw datagrams from a
//! third address, whose replies are logged and not delivered.

mod calls;
mod challenge;

use super::*;
use crate::proto::sdp::{LocalMedia, build_answer, choose_answer};

/// splitmix64, so every lossy run replays exactly.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut value = self.0;
        value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        value ^ (value >> 31)
    }

    fn chance(&mut self, permille: u64) -> bool {
        self.next_u64() % 1000 < permille
    }
}

struct Flight {
    at: Instant,
    order: u64,
    from: SocketAddr,
    to: SocketAddr,
    bytes: Vec<u8>,
}

/// A TU: reacts to each event of its UA.
type Tu = Box<dyn FnMut(&mut UserAgent, &UaEvent, Instant)>;

struct Node {
    address: SocketAddr,
    ua: UserAgent,
    tu: Tu,
    events: Vec<(u64, UaEvent)>,
}

/// One datagram as sent: when, by whom, to where, and its text.
#[derive(Debug, Clone)]
struct Wire {
    at: u64,
    from_a: bool,
    to: SocketAddr,
    text: String,
}

impl Wire {
    fn start_line(&self) -> &str {
        self.text.lines().next().unwrap_or_default()
    }
}

struct Pair {
    now: Instant,
    a: Node,
    b: Node,
    loss_permille: u64,
    duplicate_permille: u64,
    jitter: u64,
    rng: Rng,
    in_flight: Vec<Flight>,
    order: u64,
    drop: Box<dyn FnMut(&Wire) -> bool>,
    wire: Vec<Wire>,
}

fn address_a() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 5060))
}

fn address_b() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 2], 5060))
}

/// A third party whose datagrams are injected by hand.
fn address_c() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 3], 5060))
}

fn ua_config(seed: u64, address: SocketAddr) -> UaConfig {
    UaConfig {
        transaction: Config {
            seed,
            sent_by: address.to_string(),
            ..Config::default()
        },
        contact: format!("sip:ramal@{address}"),
        ..UaConfig::default()
    }
}

const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n";

/// The answer a TU builds for `offer`.
fn answer_for(offer: &Offer) -> String {
    let plan = choose_answer(offer).expect("a common codec");
    let local = LocalMedia {
        address: "10.0.0.2".parse().expect("an address"),
        port: 30_000,
        session_id: 7,
        session_version: 1,
    };
    build_answer(&plan, &local)
}

/// A TU that only watches.
fn passive() -> Tu {
    Box::new(|_, _, _| {})
}

/// A UAS TU: rings, then answers every incoming call with an SDP answer.
fn answering() -> Tu {
    Box::new(|ua, event, now| {
        if let UaEvent::IncomingCall { call, offer, .. } = event {
            ua.ringing(*call, now).expect("rings");
            let offer = offer.as_ref().expect("an offer");
            ua.answer(*call, &answer_for(offer), now).expect("answers");
        }
    })
}

/// A UAS TU that only rings.
fn ringing_only() -> Tu {
    Box::new(|ua, event, now| {
        if let UaEvent::IncomingCall { call, .. } = event {
            ua.ringing(*call, now).expect("rings");
        }
    })
}

impl Pair {
    fn new(config_a: UaConfig, config_b: UaConfig, tu_a: Tu, tu_b: Tu) -> Pair {
        Pair {
            now: Instant::from_millis(0),
            a: Node {
                address: address_a(),
                ua: UserAgent::new(config_a),
                tu: tu_a,
                events: Vec::new(),
            },
            b: Node {
                address: address_b(),
                ua: UserAgent::new(config_b),
                tu: tu_b,
                events: Vec::new(),
            },
            loss_permille: 0,
            duplicate_permille: 0,
            jitter: 0,
            rng: Rng(7),
            in_flight: Vec::new(),
            order: 0,
            drop: Box::new(|_| false),
            wire: Vec::new(),
        }
    }

    fn with_tus(tu_a: Tu, tu_b: Tu) -> Pair {
        Pair::new(
            ua_config(1, address_a()),
            ua_config(2, address_b()),
            tu_a,
            tu_b,
        )
    }

    fn lossy(mut self, seed: u64) -> Pair {
        self.loss_permille = 200;
        self.duplicate_permille = 50;
        self.jitter = 40;
        self.rng = Rng(seed);
        self
    }

    fn send(&mut self, from: SocketAddr, from_a: bool, to: SocketAddr, bytes: Vec<u8>) {
        let wire = Wire {
            at: self.now.as_millis(),
            from_a,
            to,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        };
        let dropped = (self.drop)(&wire);
        self.wire.push(wire);
        if dropped || self.rng.chance(self.loss_permille) {
            return;
        }
        let copies = if self.rng.chance(self.duplicate_permille) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let jitter = self.rng.next_u64() % (self.jitter + 1);
            self.order += 1;
            self.in_flight.push(Flight {
                at: self.now + Duration::from_millis(10 + jitter),
                order: self.order,
                from,
                to,
                bytes: bytes.clone(),
            });
        }
    }

    /// Drains both UAs: events to their TUs, datagrams to the network.
    fn flush(&mut self) {
        loop {
            let mut progressed = false;
            for from_a in [true, false] {
                let now = self.now;
                let node = if from_a { &mut self.a } else { &mut self.b };
                while let Some(event) = node.ua.poll_event() {
                    (node.tu)(&mut node.ua, &event, now);
                    node.events.push((now.as_millis(), event));
                    progressed = true;
                }
                let mut out = Vec::new();
                while let Some(transmit) = node.ua.poll_transmit() {
                    out.push(transmit);
                }
                let from = node.address;
                for transmit in out {
                    progressed = true;
                    self.send(from, from_a, transmit.destination, transmit.bytes);
                }
            }
            if !progressed {
                return;
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let flights = self.in_flight.iter().map(|flight| flight.at).min();
        [self.a.ua.poll_timeout(), self.b.ua.poll_timeout(), flights]
            .into_iter()
            .flatten()
            .min()
    }

    /// Advances to the next deadline and handles it; false when nothing is pending.
    fn step(&mut self) -> bool {
        self.flush();
        let Some(deadline) = self.next_deadline() else {
            return false;
        };
        self.now = self.now.max(deadline);
        let now = self.now;
        let (mut due, rest): (Vec<_>, Vec<_>) = self
            .in_flight
            .drain(..)
            .partition(|flight| flight.at <= now);
        self.in_flight = rest;
        due.sort_by_key(|flight| (flight.at, flight.order));
        for flight in due {
            if flight.to == self.a.address {
                self.a.ua.handle_datagram(flight.from, &flight.bytes, now);
            } else if flight.to == self.b.address {
                self.b.ua.handle_datagram(flight.from, &flight.bytes, now);
            }
            self.flush();
        }
        for node in [&mut self.a, &mut self.b] {
            if node.ua.poll_timeout().is_some_and(|at| at <= now) {
                node.ua.handle_timeout(now);
            }
        }
        self.flush();
        true
    }

    /// Steps until nothing is pending; fails if still busy after `max_steps`.
    fn drive_bounded(&mut self, max_steps: usize) {
        for _ in 0..max_steps {
            if !self.step() {
                return;
            }
        }
        panic!(
            "still busy after {max_steps} steps at {} ms",
            self.now.as_millis()
        );
    }

    /// Steps while the next deadline is at or before `until` (ms), then sets the clock there.
    fn drive_until(&mut self, until: u64) {
        for _ in 0..100_000 {
            self.flush();
            match self.next_deadline() {
                Some(at) if at.as_millis() <= until => {
                    self.step();
                }
                _ => break,
            }
        }
        self.now = self.now.max(Instant::from_millis(until));
    }

    /// A calls B with [`OFFER`].
    fn a_calls_b(&mut self) -> CallKey {
        let now = self.now;
        let call = self
            .a
            .ua
            .invite(
                "sip:1000@10.0.0.2",
                "<sip:ramal@10.0.0.1>",
                "<sip:1000@10.0.0.2>",
                OFFER,
                address_b(),
                now,
            )
            .expect("the INVITE goes out");
        self.flush();
        call
    }

    /// Injects `bytes` into B as if sent by [`address_c`].
    fn c_sends_to_b(&mut self, bytes: &[u8]) {
        let now = self.now;
        self.b.ua.handle_datagram(address_c(), bytes, now);
        self.flush();
    }

    /// What B sent to C, as start lines.
    fn replies_to_c(&self) -> Vec<&Wire> {
        self.wire.iter().filter(|w| w.to == address_c()).collect()
    }
}

/// Event names, for compact assertions.
fn names(events: &[(u64, UaEvent)]) -> Vec<String> {
    events
        .iter()
        .map(|(_, event)| match event {
            UaEvent::IncomingCall { .. } => "IncomingCall".into(),
            UaEvent::Established { .. } => "Established".into(),
            UaEvent::ReInvite { .. } => "ReInvite".into(),
            UaEvent::Progress { status, .. } => format!("Progress {status}"),
            UaEvent::Answered { .. } => "Answered".into(),
            UaEvent::Failed { status, .. } => format!("Failed {status}"),
            UaEvent::CallEnded { cause, .. } => format!("CallEnded {cause:?}"),
            UaEvent::Refused { status, .. } => format!("Refused {status}"),
            UaEvent::Registration { outcome, .. } => format!("Registration {outcome:?}"),
        })
        .collect()
}

/// A raw request from C, for what a UA does not send itself.
struct Raw<'a> {
    method: &'a str,
    call_id: &'a str,
    from_tag: &'a str,
    to_tag: Option<&'a str>,
    cseq: u32,
    branch: &'a str,
    headers: &'a str,
    body: &'a str,
}

impl Raw<'_> {
    fn bytes(&self) -> Vec<u8> {
        let to_tag = self
            .to_tag
            .map(|tag| format!(";tag={tag}"))
            .unwrap_or_default();
        format!(
            "{method} sip:1000@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.3:5060;branch=z9hG4bK{branch}\r\nMax-Forwards: 70\r\nFrom: <sip:c@10.0.0.3>;tag={from}\r\nTo: <sip:1000@10.0.0.2>{to_tag}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nContact: <sip:c@10.0.0.3>\r\n{headers}Content-Length: {length}\r\n\r\n{body}",
            method = self.method,
            branch = self.branch,
            from = self.from_tag,
            call_id = self.call_id,
            cseq = self.cseq,
            headers = self.headers,
            length = self.body.len(),
            body = self.body,
        )
        .into_bytes()
    }
}

fn raw<'a>(method: &'a str, call_id: &'a str, cseq: u32, branch: &'a str) -> Raw<'a> {
    Raw {
        method,
        call_id,
        from_tag: "c1",
        to_tag: None,
        cseq,
        branch,
        headers: "",
        body: "",
    }
}
