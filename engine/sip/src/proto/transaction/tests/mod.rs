//! The test harness: two [`TransactionLayer`]s joined by [`Netem`], an in-memory network
//! with seeded loss, duplication and delay, on a virtual clock (str0m's `tests/common.rs`,
//! quinn's `Pair`). [`Pair::step`] jumps to whichever deadline comes first — a timer of
//! either layer or a datagram in flight — so 32 seconds of RFC 3261 timers run in
//! milliseconds, with no sockets and no sleeps.

mod flows;
mod malformed;
mod props;
mod stream;

use super::*;
use crate::proto::message::BuildError;
use std::time::Duration;

/// A deterministic PRNG (splitmix64) so every lossy run replays exactly.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(1);
        mix(self.0)
    }

    /// True with probability `permille` / 1000.
    pub(super) fn chance(&mut self, permille: u64) -> bool {
        self.next_u64() % 1000 < permille
    }
}

/// A datagram in flight.
struct Flight {
    at: Instant,
    order: u64,
    from: SocketAddr,
    to: SocketAddr,
    bytes: Vec<u8>,
}

/// A sans-IO network emulator: loss, duplication and delay with jitter, all seeded.
pub(super) struct Netem {
    pub(super) loss_permille: u64,
    pub(super) duplicate_permille: u64,
    pub(super) delay: u64,
    pub(super) jitter: u64,
    rng: Rng,
    in_flight: Vec<Flight>,
    order: u64,
}

impl Netem {
    pub(super) fn new(seed: u64) -> Self {
        Netem {
            loss_permille: 0,
            duplicate_permille: 0,
            delay: 10,
            jitter: 0,
            rng: Rng::new(seed),
            in_flight: Vec::new(),
            order: 0,
        }
    }

    fn send(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, bytes: Vec<u8>) {
        if self.rng.chance(self.loss_permille) {
            return;
        }
        let copies = if self.rng.chance(self.duplicate_permille) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let jitter = if self.jitter == 0 {
                0
            } else {
                self.rng.next_u64() % (self.jitter + 1)
            };
            self.order += 1;
            self.in_flight.push(Flight {
                at: now + Duration::from_millis(self.delay + jitter),
                order: self.order,
                from,
                to,
                bytes: bytes.clone(),
            });
        }
    }

    fn next(&self) -> Option<Instant> {
        self.in_flight.iter().map(|flight| flight.at).min()
    }

    fn take_due(&mut self, now: Instant) -> Vec<Flight> {
        let (mut due, rest): (Vec<_>, Vec<_>) = self
            .in_flight
            .drain(..)
            .partition(|flight| flight.at <= now);
        self.in_flight = rest;
        due.sort_by_key(|flight| (flight.at, flight.order));
        due
    }
}

/// What a node's TU does with each event it sees.
pub(super) type Tu = Box<dyn FnMut(&mut TransactionLayer, &TransactionEvent, Instant)>;

/// One endpoint: a layer, its TU, and everything it saw.
pub(super) struct Node {
    pub(super) address: SocketAddr,
    pub(super) layer: TransactionLayer,
    pub(super) tu: Tu,
    pub(super) events: Vec<(u64, TransactionEvent)>,
}

/// One line of the wire log: when, who sent it, and its start line.
#[derive(Debug, Clone)]
pub(super) struct Wire {
    pub(super) at: u64,
    pub(super) from_a: bool,
    pub(super) start_line: String,
    pub(super) transport: Transport,
}

/// Two nodes, one network, one virtual clock.
pub(super) struct Pair {
    pub(super) now: Instant,
    pub(super) a: Node,
    pub(super) b: Node,
    pub(super) net: Netem,
    /// Datagrams for which this returns true are dropped before the network.
    pub(super) drop: Box<dyn FnMut(&Wire) -> bool>,
    pub(super) wire: Vec<Wire>,
    /// Deliver as messages framed from a connection (`handle_stream_message`).
    pub(super) stream: bool,
}

pub(super) fn address_a() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 5060))
}

pub(super) fn address_b() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 2], 5060))
}

/// A TU that only watches.
pub(super) fn passive() -> Tu {
    Box::new(|_, _, _| {})
}

/// A UAC TU: ACKs every 2xx to an INVITE (again for each retransmitted 2xx).
pub(super) fn acking_uac() -> Tu {
    Box::new(|layer, event, _| {
        if let TransactionEvent::ResponseReceived {
            response, source, ..
        } = event
            && response.cseq_method == Method::Invite
            && (200..300).contains(&response.status)
        {
            let to = response.header("To").unwrap_or_default().to_string();
            let from = response.header("From").unwrap_or_default().to_string();
            let ack = NewRequest::new(
                Method::Ack,
                "sip:bob@10.0.0.2",
                from,
                to,
                response.call_id.clone(),
                response.cseq,
            );
            layer.send_ack(ack, *source).expect("the ACK builds");
        }
    })
}

/// A UAS TU: answers every new request (not CANCEL) with `provisional` (if any), then
/// `final_status`.
pub(super) fn answering_uas(provisional: Option<u16>, final_status: u16) -> Tu {
    Box::new(move |layer, event, now| {
        if let TransactionEvent::RequestReceived { id, request, .. } = event
            && request.method != Method::Cancel
        {
            if let Some(status) = provisional {
                layer
                    .send_response(*id, NewResponse::new(status, "Ringing"), now)
                    .expect("provisional sent");
            }
            layer
                .send_response(*id, NewResponse::new(final_status, "Final"), now)
                .expect("final sent");
        }
    })
}

pub(super) fn config(seed: u64) -> Config {
    Config {
        seed,
        ..Config::default()
    }
}

impl Pair {
    pub(super) fn new(tu_a: Tu, tu_b: Tu) -> Pair {
        Pair::with_configs(config(1), config(2), tu_a, tu_b)
    }

    pub(super) fn with_configs(config_a: Config, config_b: Config, tu_a: Tu, tu_b: Tu) -> Pair {
        Pair {
            now: Instant::from_millis(0),
            a: Node {
                address: address_a(),
                layer: TransactionLayer::new(Config {
                    sent_by: "10.0.0.1:5060".into(),
                    ..config_a
                }),
                tu: tu_a,
                events: Vec::new(),
            },
            b: Node {
                address: address_b(),
                layer: TransactionLayer::new(Config {
                    sent_by: "10.0.0.2:5060".into(),
                    ..config_b
                }),
                tu: tu_b,
                events: Vec::new(),
            },
            net: Netem::new(7),
            drop: Box::new(|_| false),
            wire: Vec::new(),
            stream: false,
        }
    }

    /// Drains both layers: events to their TUs (which may send more), datagrams to the net.
    pub(super) fn flush(&mut self) {
        loop {
            let mut progressed = false;
            for from_a in [true, false] {
                let now = self.now;
                let (node, peer) = if from_a {
                    (&mut self.a, self.b.address)
                } else {
                    (&mut self.b, self.a.address)
                };
                while let Some(event) = node.layer.poll_event() {
                    (node.tu)(&mut node.layer, &event, now);
                    node.events.push((now.as_millis(), event));
                    progressed = true;
                }
                while let Some(transmit) = node.layer.poll_transmit() {
                    progressed = true;
                    let text = String::from_utf8_lossy(&transmit.bytes);
                    let wire = Wire {
                        at: now.as_millis(),
                        from_a,
                        start_line: text.lines().next().unwrap_or_default().to_string(),
                        transport: transmit.transport,
                    };
                    let dropped = (self.drop)(&wire);
                    self.wire.push(wire);
                    if !dropped {
                        let to = if transmit.destination == peer {
                            peer
                        } else {
                            transmit.destination
                        };
                        self.net.send(now, node.address, to, transmit.bytes);
                    }
                }
            }
            if !progressed {
                return;
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        [
            self.a.layer.poll_timeout(),
            self.b.layer.poll_timeout(),
            self.net.next(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Advances to the next deadline and handles it; false when nothing is pending.
    pub(super) fn step(&mut self) -> bool {
        self.flush();
        let Some(deadline) = self.next_deadline() else {
            return false;
        };
        self.now = self.now.max(deadline);
        for flight in self.net.take_due(self.now) {
            let node = if flight.to == self.a.address {
                &mut self.a
            } else {
                &mut self.b
            };
            if self.stream {
                node.layer
                    .handle_stream_message(flight.from, &flight.bytes, self.now);
            } else {
                node.layer
                    .handle_datagram(flight.from, &flight.bytes, self.now);
            }
            self.flush();
        }
        for node in [&mut self.a, &mut self.b] {
            if node.layer.poll_timeout().is_some_and(|at| at <= self.now) {
                node.layer.handle_timeout(self.now);
            }
        }
        self.flush();
        true
    }

    /// Steps until nothing is pending; fails if still busy after `max_steps` (a livelock).
    pub(super) fn drive_bounded(&mut self, max_steps: usize) {
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

    /// Steps while the next deadline is at or before `until` (ms).
    pub(super) fn drive_until(&mut self, until: u64) {
        for _ in 0..10_000 {
            self.flush();
            match self.next_deadline() {
                Some(at) if at.as_millis() <= until => {
                    self.step();
                }
                _ => {
                    self.now = self.now.max(Instant::from_millis(until));
                    return;
                }
            }
        }
        panic!("still busy before {until} ms");
    }

    /// Times (ms) at which datagrams whose start line begins with `prefix` left A or B.
    pub(super) fn sent(&self, from_a: bool, prefix: &str) -> Vec<u64> {
        self.wire
            .iter()
            .filter(|wire| wire.from_a == from_a && wire.start_line.starts_with(prefix))
            .map(|wire| wire.at)
            .collect()
    }

    /// A sends `method` to B in a new client transaction.
    pub(super) fn a_sends(&mut self, method: Method) -> TransactionId {
        let request = new_request(method, "call-1", 1);
        let id = self
            .a
            .layer
            .send_request(request, address_b(), self.now)
            .expect("request sent");
        self.flush();
        id
    }
}

pub(super) fn new_request(method: Method, call_id: &str, cseq: u32) -> NewRequest {
    let mut request = NewRequest::new(
        method,
        "sip:bob@10.0.0.2",
        "Alice <sip:alice@10.0.0.1>;tag=a1",
        "Bob <sip:bob@10.0.0.2>",
        call_id,
        cseq,
    );
    request
        .headers
        .push(Header::new("Contact", "<sip:alice@10.0.0.1>"));
    request
}

/// Events of one kind, as a short label each, for readable assertions.
pub(super) fn labels(events: &[(u64, TransactionEvent)]) -> Vec<String> {
    events
        .iter()
        .map(|(at, event)| match event {
            TransactionEvent::RequestReceived {
                request, cancels, ..
            } => format!(
                "{at} request {}{}",
                request.method,
                if cancels.is_some() { " (cancels)" } else { "" }
            ),
            TransactionEvent::AckReceived { invite, .. } => {
                format!(
                    "{at} ack{}",
                    if invite.is_some() { " (matched)" } else { "" }
                )
            }
            TransactionEvent::ResponseReceived { response, .. } => {
                format!("{at} response {} {}", response.status, response.cseq_method)
            }
            TransactionEvent::StrayResponse { response, .. } => {
                format!("{at} stray {}", response.status)
            }
            TransactionEvent::Timeout { .. } => format!("{at} timeout"),
            TransactionEvent::TransportError { .. } => format!("{at} transport error"),
            TransactionEvent::Terminated { .. } => format!("{at} terminated"),
            TransactionEvent::Overloaded { method, .. } => format!("{at} overloaded {method}"),
            TransactionEvent::Malformed {
                error, answered, ..
            } => {
                format!("{at} malformed {error} answered={answered}")
            }
        })
        .collect()
}
