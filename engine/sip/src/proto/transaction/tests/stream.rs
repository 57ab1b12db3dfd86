//! Peers reached over a connection (TCP): the Via says so, and timers send nothing again.

use super::*;

/// A pair whose A reaches B over a connection and whose B hears A over it.
fn over_tcp(tu_a: Tu, tu_b: Tu) -> Pair {
    let mut pair = Pair::new(tu_a, tu_b);
    pair.stream = true;
    pair.a.layer.use_stream(address_b());
    pair
}

#[test]
fn a_request_over_tcp_names_tcp_in_its_via() {
    let mut layer = TransactionLayer::new(config(1));
    layer.use_stream(address_b());
    assert_eq!(layer.transport_to(address_b()), Transport::Tcp);
    assert_eq!(layer.transport_to(address_a()), Transport::Udp);
    layer
        .send_request(
            new_request(Method::Options, "c", 1),
            address_b(),
            Instant::from_millis(0),
        )
        .expect("sent");
    let transmit = layer.poll_transmit().expect("the request");
    assert_eq!(transmit.transport, Transport::Tcp);
    let text = String::from_utf8_lossy(&transmit.bytes);
    assert!(text.contains("\r\nVia: SIP/2.0/TCP "), "{text}");

    layer.handle_stream_closed(address_b());
    layer
        .send_request(
            new_request(Method::Options, "c", 2),
            address_b(),
            Instant::from_millis(0),
        )
        .expect("sent");
    let transmit = layer.poll_transmit().expect("the request");
    assert_eq!(transmit.transport, Transport::Udp, "the connection is gone");
    assert!(String::from_utf8_lossy(&transmit.bytes).contains("Via: SIP/2.0/UDP "));
}

#[test]
fn an_unanswered_invite_over_tcp_is_sent_once_and_timer_b_still_ends_it() {
    let mut pair = over_tcp(passive(), passive());
    // B hears the INVITE but nothing it says reaches A (not even its 100 Trying).
    pair.drop = Box::new(|wire| !wire.from_a);
    pair.a_sends(Method::Invite);
    pair.drive_bounded(100);
    assert_eq!(pair.sent(true, "INVITE"), [0], "no timer A over TCP");
    assert!(labels(&pair.a.events).contains(&"32000 timeout".to_owned()));
    assert!(
        pair.wire
            .iter()
            .all(|wire| wire.transport == Transport::Tcp)
    );
}

#[test]
fn a_non_invite_over_tcp_is_sent_once_and_answered_over_the_connection() {
    let mut pair = over_tcp(passive(), answering_uas(None, 200));
    pair.a_sends(Method::Options);
    pair.drive_bounded(100);
    assert_eq!(pair.sent(true, "OPTIONS"), [0], "no timer E over TCP");
    assert_eq!(pair.sent(false, "SIP/2.0 200"), [10]);
    assert!(
        pair.wire
            .iter()
            .filter(|wire| !wire.from_a)
            .all(|wire| wire.transport == Transport::Tcp),
        "B answers over the connection the request came on"
    );
}

#[test]
fn a_rejected_invite_over_tcp_gets_one_final_and_its_ack() {
    let mut pair = over_tcp(passive(), answering_uas(Some(180), 486));
    // Lose nothing, yet make the ACK slow: over UDP timer G would re-send the 486.
    pair.net.delay = 2_000;
    pair.a_sends(Method::Invite);
    pair.drive_bounded(200);
    assert_eq!(
        pair.sent(false, "SIP/2.0 486"),
        [2_000],
        "no timer G over TCP"
    );
    assert_eq!(pair.sent(true, "ACK"), [4_000]);
}
