//! Call flows over the in-memory network: RFC 3261 timers in virtual time.

use super::*;

#[test]
fn invite_ringing_ok_ack_completes_and_both_layers_empty() {
    let mut pair = Pair::new(acking_uac(), answering_uas(Some(180), 200));
    pair.a_sends(Method::Invite);
    pair.drive_bounded(200);
    assert_eq!(
        labels(&pair.a.events),
        [
            "20 response 180 INVITE",
            "20 response 200 INVITE",
            "32020 terminated"
        ]
    );
    assert_eq!(
        labels(&pair.b.events),
        ["10 request INVITE", "30 ack (matched)", "32010 terminated"]
    );
    assert!(
        pair.sent(false, "SIP/2.0 100").is_empty(),
        "TU answered in time"
    );
    assert_eq!(
        pair.sent(false, "SIP/2.0 200"),
        [10],
        "ACK stopped the re-sends"
    );
    assert!(pair.a.layer.is_empty() && pair.b.layer.is_empty());
}

#[test]
fn lost_invites_are_resent_by_timer_a_doubling() {
    let mut pair = Pair::new(acking_uac(), answering_uas(Some(180), 200));
    let mut lost = 0;
    pair.drop = Box::new(move |wire| {
        let drop = wire.start_line.starts_with("INVITE") && lost < 3;
        lost += usize::from(drop);
        drop
    });
    pair.a_sends(Method::Invite);
    pair.drive_bounded(200);
    assert_eq!(pair.sent(true, "INVITE"), [0, 500, 1500, 3500]);
    let requests = labels(&pair.b.events);
    assert_eq!(requests[0], "3510 request INVITE");
    assert_eq!(labels(&pair.a.events)[1], "3520 response 200 INVITE");
}

#[test]
fn lost_acks_make_the_2xx_resend_doubling_up_to_t2_then_time_out() {
    let mut pair = Pair::new(acking_uac(), answering_uas(None, 200));
    pair.drop = Box::new(|wire| wire.start_line.starts_with("ACK"));
    pair.a_sends(Method::Invite);
    pair.drive_bounded(300);
    let resent = pair.sent(false, "SIP/2.0 200");
    let gaps: Vec<u64> = resent.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(&gaps[..5], [500, 1000, 2000, 4000, 4000]);
    assert!(gaps.iter().all(|gap| *gap <= 4000));
    assert!(labels(&pair.b.events).contains(&"32010 timeout".to_string()));
    // Every retransmitted 2xx reached A's TU, which ACKed it again.
    let oks = labels(&pair.a.events)
        .iter()
        .filter(|label| label.contains("response 200"))
        .count();
    assert_eq!(oks, resent.len());
    assert!(pair.a.layer.is_empty() && pair.b.layer.is_empty());
}

#[test]
fn a_non_2xx_final_is_acked_by_the_client_transaction_and_absorbed() {
    let mut pair = Pair::new(passive(), answering_uas(None, 486));
    pair.a_sends(Method::Invite);
    pair.drive_bounded(200);
    assert_eq!(pair.sent(true, "ACK"), [20]);
    assert_eq!(
        labels(&pair.a.events),
        ["20 response 486 INVITE", "32020 terminated"]
    );
    // The ACK matched the server transaction: no event for B's TU; timer I ends it.
    assert_eq!(
        labels(&pair.b.events),
        ["10 request INVITE", "5030 terminated"]
    );
}

#[test]
fn lost_acks_for_a_non_2xx_make_timer_g_resend_and_every_copy_is_acked() {
    let mut pair = Pair::new(passive(), answering_uas(None, 486));
    let mut lost = 0;
    pair.drop = Box::new(move |wire| {
        let drop = wire.start_line.starts_with("ACK") && lost < 5;
        lost += usize::from(drop);
        drop
    });
    pair.a_sends(Method::Invite);
    pair.drive_bounded(300);
    assert_eq!(
        pair.sent(false, "SIP/2.0 486"),
        [10, 510, 1510, 3510, 7510, 11510]
    );
    assert_eq!(pair.sent(true, "ACK").len(), 6);
    let finals = labels(&pair.a.events)
        .iter()
        .filter(|label| label.contains("486"))
        .count();
    assert_eq!(finals, 1, "retransmitted finals are absorbed");
    assert!(!labels(&pair.b.events).iter().any(|l| l.contains("timeout")));
}

#[test]
fn timer_b_gives_up_after_64_t1_when_the_peer_is_gone() {
    let mut pair = Pair::new(passive(), passive());
    pair.net.loss_permille = 1000;
    pair.a_sends(Method::Invite);
    pair.drive_bounded(100);
    assert_eq!(
        pair.sent(true, "INVITE"),
        [0, 500, 1500, 3500, 7500, 15500, 31500]
    );
    assert_eq!(
        labels(&pair.a.events),
        ["32000 timeout", "32000 terminated"]
    );
    assert!(pair.b.events.is_empty());
}

#[test]
fn timers_e_and_f_resend_a_non_invite_capped_at_t2_then_give_up() {
    let mut pair = Pair::new(passive(), passive());
    pair.net.loss_permille = 1000;
    pair.a_sends(Method::Options);
    pair.drive_bounded(100);
    assert_eq!(
        pair.sent(true, "OPTIONS"),
        [
            0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ]
    );
    assert_eq!(
        labels(&pair.a.events),
        ["32000 timeout", "32000 terminated"]
    );
}

#[test]
fn a_provisional_keeps_non_invite_resends_at_t2_and_timer_k_ends_it() {
    let mut pair = Pair::new(passive(), passive());
    pair.a_sends(Method::Options);
    pair.drive_until(20);
    let (id, _) = received(&pair.b.events, Method::Options);
    pair.b
        .layer
        .send_response(id, NewResponse::new(183, "Progress"), pair.now)
        .expect("sent");
    pair.drive_until(6000);
    // Timer E fired in Proceeding at 500 ms, so it was reset to T2 (RFC 3261 §17.1.2.2).
    assert_eq!(pair.sent(true, "OPTIONS"), [0, 500, 4500]);
    pair.b
        .layer
        .send_response(id, NewResponse::new(200, "OK"), pair.now)
        .expect("sent");
    pair.drive_bounded(100);
    // The provisional answered each retransmission; then the final.
    assert_eq!(pair.sent(false, "SIP/2.0 183"), [20, 510, 4510]);
    assert_eq!(
        labels(&pair.a.events),
        [
            "30 response 183 OPTIONS",
            "520 response 183 OPTIONS",
            "4520 response 183 OPTIONS",
            "6010 response 200 OPTIONS",
            "11010 terminated"
        ]
    );
    // Timer J keeps B's transaction for 64·T1 to answer retransmissions.
    assert_eq!(labels(&pair.b.events)[1], "38000 terminated");
}

fn received(events: &[(u64, TransactionEvent)], method: Method) -> (TransactionId, Request) {
    events
        .iter()
        .find_map(|(_, event)| match event {
            TransactionEvent::RequestReceived { id, request, .. } if request.method == method => {
                Some((*id, request.clone()))
            }
            _ => None,
        })
        .expect("request received")
}

#[test]
fn retransmitted_requests_are_absorbed_and_get_the_last_response_again() {
    let mut pair = Pair::new(passive(), answering_uas(None, 200));
    let mut lost = 0;
    pair.drop = Box::new(move |wire| {
        let drop = wire.start_line.starts_with("SIP/2.0 200") && lost < 2;
        lost += usize::from(drop);
        drop
    });
    pair.a_sends(Method::Register);
    pair.drive_bounded(100);
    assert_eq!(pair.sent(true, "REGISTER"), [0, 500, 1500]);
    assert_eq!(pair.sent(false, "SIP/2.0 200"), [10, 510, 1510]);
    let requests = labels(&pair.b.events)
        .iter()
        .filter(|label| label.contains("request"))
        .count();
    assert_eq!(requests, 1);
    assert_eq!(labels(&pair.a.events)[0], "1520 response 200 REGISTER");
}

#[test]
fn an_unanswered_invite_gets_100_trying_after_200_ms_which_stops_timer_a() {
    let mut pair = Pair::new(passive(), passive());
    pair.a_sends(Method::Invite);
    pair.drive_until(5000);
    assert_eq!(pair.sent(false, "SIP/2.0 100 Trying"), [210]);
    assert_eq!(pair.sent(true, "INVITE"), [0]);
    assert_eq!(labels(&pair.a.events), ["220 response 100 INVITE"]);
}

#[test]
fn with_a_zero_trying_delay_100_goes_out_at_once() {
    let config_b = Config {
        trying_delay: Duration::ZERO,
        ..config(2)
    };
    let mut pair = Pair::with_configs(config(1), config_b, passive(), passive());
    pair.a_sends(Method::Invite);
    pair.drive_until(100);
    assert_eq!(pair.sent(false, "SIP/2.0 100 Trying"), [10]);
}

#[test]
fn cancel_matches_its_invite_and_the_487_is_acked() {
    let mut pair = Pair::new(passive(), passive());
    let invite = pair.a_sends(Method::Invite);
    pair.drive_until(1000);
    let (invite_at_b, _) = received(&pair.b.events, Method::Invite);
    pair.a.layer.send_cancel(invite, pair.now).expect("cancel");
    pair.drive_until(1100);
    let cancel_event = pair.b.events.iter().find_map(|(_, event)| match event {
        TransactionEvent::RequestReceived {
            id,
            request,
            cancels,
            ..
        } if request.method == Method::Cancel => Some((*id, *cancels)),
        _ => None,
    });
    let (cancel_at_b, cancels) = cancel_event.expect("CANCEL received");
    assert_eq!(cancels, Some(invite_at_b));
    let now = pair.now;
    let layer = &mut pair.b.layer;
    layer
        .send_response(cancel_at_b, NewResponse::new(200, "OK"), now)
        .expect("200 to CANCEL");
    layer
        .send_response(
            invite_at_b,
            NewResponse::new(487, "Request Terminated"),
            now,
        )
        .expect("487");
    pair.drive_bounded(200);
    let a = labels(&pair.a.events);
    assert!(a.contains(&"1110 response 200 CANCEL".to_string()), "{a:?}");
    assert!(a.contains(&"1110 response 487 INVITE".to_string()), "{a:?}");
    assert_eq!(pair.sent(true, "ACK"), [1110]);
}

#[test]
fn a_cancel_before_any_provisional_waits_for_one() {
    let config_b = Config {
        trying_delay: Duration::from_secs(2),
        ..config(2)
    };
    let mut pair = Pair::with_configs(config(1), config_b, passive(), passive());
    let invite = pair.a_sends(Method::Invite);
    pair.drive_until(5);
    pair.a.layer.send_cancel(invite, pair.now).expect("cancel");
    pair.drive_until(400);
    assert!(pair.sent(true, "CANCEL").is_empty());
    pair.drive_until(2100);
    // The retransmitted INVITE at 500 ms got the 100 Trying at once.
    assert_eq!(pair.sent(false, "SIP/2.0 100"), [510]);
    assert_eq!(pair.sent(true, "CANCEL").first(), Some(&520));
}

#[test]
fn a_cancel_matching_nothing_gets_481_from_the_layer() {
    let mut pair = Pair::new(passive(), passive());
    let cancel = "CANCEL sip:bob@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKnone\r\nMax-Forwards: 70\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>\r\nCall-ID: c1\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n";
    pair.b
        .layer
        .handle_datagram(address_a(), cancel.as_bytes(), pair.now);
    pair.drive_bounded(100);
    assert_eq!(pair.sent(false, "SIP/2.0 481"), [0]);
    assert_eq!(labels(&pair.b.events), ["32000 terminated"]);
    assert_eq!(labels(&pair.a.events), ["10 stray 481"]);
}

#[test]
fn responses_to_unknown_transactions_surface_as_stray() {
    let mut pair = Pair::new(passive(), passive());
    let response = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKgone\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    pair.a
        .layer
        .handle_datagram(address_b(), response.as_bytes(), pair.now);
    pair.flush();
    assert_eq!(labels(&pair.a.events), ["0 stray 200"]);
    assert!(pair.a.layer.is_empty());
}

#[test]
fn duplicated_datagrams_are_absorbed() {
    let mut pair = Pair::new(acking_uac(), answering_uas(Some(180), 200));
    pair.net.duplicate_permille = 1000;
    pair.a_sends(Method::Invite);
    pair.a
        .layer
        .send_request(
            new_request(Method::Options, "call-2", 1),
            address_b(),
            pair.now,
        )
        .expect("sent");
    pair.drive_bounded(300);
    let b = labels(&pair.b.events);
    assert_eq!(b.iter().filter(|l| l.contains("request INVITE")).count(), 1);
    assert_eq!(
        b.iter().filter(|l| l.contains("request OPTIONS")).count(),
        1
    );
    let a = labels(&pair.a.events);
    // Provisionals go up every time (RFC 3261 §17.1.1.2); finals to a non-INVITE once.
    assert!(a.iter().any(|l| l.contains("180")));
    assert_eq!(a.iter().filter(|l| l.contains("200 OPTIONS")).count(), 1);
    // Duplicated 2xx reach the TU (it re-ACKs them), as RFC 6026 asks.
    assert!(a.iter().filter(|l| l.contains("200 INVITE")).count() >= 1);
    assert!(pair.a.layer.is_empty() && pair.b.layer.is_empty());
}

#[test]
fn calls_complete_over_a_lossy_jittery_network_for_many_seeds() {
    for seed in 0..40 {
        let mut pair = Pair::with_configs(
            config(seed),
            config(seed + 100),
            acking_uac(),
            answering_uas(Some(180), 200),
        );
        pair.net = Netem::new(seed);
        pair.net.loss_permille = 200;
        pair.net.duplicate_permille = 100;
        pair.net.jitter = 300;
        pair.a_sends(Method::Invite);
        pair.drive_bounded(2000);
        let a = labels(&pair.a.events);
        let answered = a.iter().any(|l| l.contains("response 200 INVITE"));
        let timed_out = a.iter().any(|l| l.contains("timeout"));
        assert!(answered || timed_out, "seed {seed}: {a:?}");
        assert!(
            pair.a.layer.is_empty() && pair.b.layer.is_empty(),
            "seed {seed}"
        );
        let b = labels(&pair.b.events);
        assert!(
            b.iter().filter(|l| l.contains("request INVITE")).count() <= 1,
            "seed {seed}: {b:?}"
        );
    }
}

#[test]
fn a_full_layer_answers_503_with_retry_after_and_refuses_to_send() {
    let config_b = Config {
        max_transactions: 2,
        ..config(2)
    };
    let mut pair = Pair::with_configs(config(1), config_b, passive(), passive());
    for call in ["c1", "c2", "c3"] {
        pair.a
            .layer
            .send_request(new_request(Method::Invite, call, 1), address_b(), pair.now)
            .expect("sent");
    }
    pair.drive_until(50);
    assert_eq!(pair.sent(false, "SIP/2.0 503 Service Unavailable"), [10]);
    assert_eq!(labels(&pair.b.events)[2], "10 overloaded INVITE");
    let refused = pair.a.events.iter().find_map(|(_, event)| match event {
        TransactionEvent::ResponseReceived { response, .. } if response.status == 503 => {
            Some(response.header("Retry-After").map(str::to_string))
        }
        _ => None,
    });
    assert_eq!(refused, Some(Some("5".to_string())));
    let sent =
        pair.b
            .layer
            .send_request(new_request(Method::Options, "c4", 1), address_a(), pair.now);
    assert_eq!(sent, Err(SendError::Overloaded { limit: 2 }));
}

#[test]
fn a_transport_error_ends_the_transaction_and_is_reported() {
    let mut pair = Pair::new(passive(), passive());
    let id = pair.a_sends(Method::Options);
    pair.a.layer.handle_transport_error(id);
    pair.flush();
    assert_eq!(
        labels(&pair.a.events),
        ["0 transport error", "0 terminated"]
    );
    assert_eq!(pair.a.layer.poll_timeout(), None);
}

#[test]
fn misuse_of_the_tu_calls_is_an_error() {
    let mut pair = Pair::new(passive(), answering_uas(None, 200));
    let options = pair.a_sends(Method::Options);
    let now = pair.now;
    let layer = &mut pair.a.layer;
    let ack = new_request(Method::Ack, "c", 1);
    assert_eq!(
        layer.send_request(ack, address_b(), now),
        Err(SendError::WrongMethod(Method::Ack))
    );
    assert_eq!(
        layer.send_response(options, NewResponse::new(200, "OK"), now),
        Err(SendError::NotAServerTransaction(options))
    );
    assert_eq!(
        layer.send_cancel(options, now),
        Err(SendError::NotAClientInvite(options))
    );
    let mut bad = new_request(Method::Options, "c", 1);
    bad.headers
        .push(Header::new("X-Evil", "a\r\nVia: injected"));
    assert!(matches!(
        layer.send_request(bad, address_b(), now),
        Err(SendError::Build(BuildError::InvalidHeader { .. }))
    ));
    pair.drive_bounded(100);
    let (id, _) = received(&pair.b.events, Method::Options);
    assert_eq!(
        pair.b
            .layer
            .send_response(id, NewResponse::new(200, "OK"), pair.now),
        Err(SendError::UnknownTransaction(id))
    );
}
