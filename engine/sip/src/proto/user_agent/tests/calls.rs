//! Call flows between two user agents, and a third party's hand-made requests.

use super::*;

fn incoming_call(events: &[(u64, UaEvent)]) -> CallKey {
    events
        .iter()
        .find_map(|(_, event)| match event {
            UaEvent::IncomingCall { call, .. } => Some(*call),
            _ => None,
        })
        .expect("an incoming call")
}

fn ended(events: &[(u64, UaEvent)]) -> Vec<EndCause> {
    events
        .iter()
        .filter_map(|(_, event)| match event {
            UaEvent::CallEnded { cause, .. } => Some(*cause),
            _ => None,
        })
        .collect()
}

#[test]
fn full_call_over_a_lossy_network_with_either_side_hanging_up() {
    for seed in 1..=12 {
        let a_hangs_up = seed % 2 == 0;
        let mut pair = Pair::with_tus(passive(), answering()).lossy(seed);
        let call = pair.a_calls_b();
        pair.drive_until(30_000);
        assert!(
            names(&pair.a.events).contains(&"Answered".to_string()),
            "seed {seed}: {:?}",
            names(&pair.a.events)
        );
        assert!(
            names(&pair.b.events).contains(&"Established".to_string()),
            "seed {seed}"
        );
        let b_call = incoming_call(&pair.b.events);
        let now = pair.now;
        if a_hangs_up {
            pair.a.ua.hangup(call, now).expect("hangs up");
        } else {
            pair.b.ua.hangup(b_call, now).expect("hangs up");
        }
        pair.drive_bounded(2_000);
        let (local, remote) = if a_hangs_up {
            (&pair.a.events, &pair.b.events)
        } else {
            (&pair.b.events, &pair.a.events)
        };
        assert_eq!(ended(local), vec![EndCause::LocalHangup], "seed {seed}");
        assert_eq!(ended(remote), vec![EndCause::RemoteHangup], "seed {seed}");
        assert_eq!((pair.a.ua.call_count(), pair.b.ua.call_count()), (0, 0));
    }
}

#[test]
fn clean_call_reports_every_step_in_order() {
    let mut pair = Pair::with_tus(passive(), answering());
    pair.a_calls_b();
    pair.drive_until(1_000);
    assert_eq!(names(&pair.a.events), ["Progress 180", "Answered"]);
    assert_eq!(names(&pair.b.events), ["IncomingCall", "Established"]);
    let Some((
        _,
        UaEvent::IncomingCall {
            from, to, offer, ..
        },
    )) = pair.b.events.first()
    else {
        panic!("no incoming call");
    };
    assert!(from.contains("<sip:ramal@10.0.0.1>;tag="));
    assert_eq!(to, "1000");
    assert_eq!(offer.as_ref().map(|offer| offer.audio_port), Some(4000));
    let Some((_, UaEvent::Answered { answer, .. })) = pair.a.events.get(1) else {
        panic!("no answer");
    };
    assert_eq!(
        answer.as_ref().map(|answer| answer.audio_port),
        Some(30_000)
    );
    let ok = pair
        .wire
        .iter()
        .find(|w| !w.from_a && w.start_line() == "SIP/2.0 200 OK")
        .expect("a 200");
    assert!(ok.text.contains("Contact: <sip:ramal@10.0.0.2:5060>"));
    assert!(ok.text.contains("Content-Type: application/sdp"));
}

#[test]
fn cancel_before_answer_ends_both_sides() {
    let mut pair = Pair::with_tus(passive(), ringing_only());
    let call = pair.a_calls_b();
    pair.drive_until(1_000);
    assert_eq!(names(&pair.a.events), ["Progress 180"]);
    let now = pair.now;
    pair.a.ua.hangup(call, now).expect("cancels");
    pair.drive_bounded(500);
    assert_eq!(ended(&pair.a.events), [EndCause::LocalHangup]);
    assert_eq!(ended(&pair.b.events), [EndCause::Cancelled]);
    let b_sent: Vec<&str> = pair
        .wire
        .iter()
        .filter(|w| !w.from_a)
        .map(Wire::start_line)
        .collect();
    assert!(
        b_sent.contains(&"SIP/2.0 487 Request Terminated"),
        "{b_sent:?}"
    );
    assert_eq!((pair.a.ua.call_count(), pair.b.ua.call_count()), (0, 0));
}

#[test]
fn unacknowledged_2xx_ends_in_bye_and_ack_timeout() {
    let mut pair = Pair::with_tus(passive(), answering());
    pair.drop = Box::new(|wire| wire.start_line().starts_with("ACK "));
    pair.a_calls_b();
    pair.drive_bounded(2_000);
    assert_eq!(ended(&pair.b.events), [EndCause::AckTimeout]);
    assert_eq!(ended(&pair.a.events), [EndCause::RemoteHangup]);
    let bye = pair
        .wire
        .iter()
        .find(|w| w.start_line().starts_with("BYE "))
        .expect("a BYE");
    assert!(!bye.from_a && bye.at >= 32_000, "BYE at {}", bye.at);
}

#[test]
fn dialog_limit_refuses_with_503_and_retry_after() {
    let config_b = UaConfig {
        max_dialogs: 1,
        ..ua_config(2, address_b())
    };
    let mut pair = Pair::new(ua_config(1, address_a()), config_b, passive(), answering());
    pair.a_calls_b();
    pair.drive_until(1_000);
    let second = pair.a_calls_b();
    pair.drive_until(2_000);
    assert!(names(&pair.a.events).contains(&"Failed 503".to_string()));
    assert!(names(&pair.b.events).contains(&"Refused 503".to_string()));
    let refusal = pair
        .wire
        .iter()
        .find(|w| w.start_line().starts_with("SIP/2.0 503"))
        .expect("a 503");
    assert!(refusal.text.contains("Retry-After: 5"));
    assert_eq!(pair.a.ua.call_state(second), None);
}

#[test]
fn offer_without_a_common_codec_gets_488() {
    let mut pair = Pair::with_tus(passive(), answering());
    let now = pair.now;
    let g729 = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\n";
    pair.a
        .ua
        .invite(
            "sip:1000@10.0.0.2",
            "<sip:a@10.0.0.1>",
            "<sip:1000@10.0.0.2>",
            g729,
            address_b(),
            now,
        )
        .expect("sent");
    pair.drive_bounded(500);
    assert_eq!(names(&pair.a.events), ["Failed 488"]);
    assert_eq!(names(&pair.b.events), ["Refused 488"]);
}

#[test]
fn max_call_duration_hangs_up() {
    let config_b = UaConfig {
        max_call_duration: Duration::from_secs(60),
        ..ua_config(2, address_b())
    };
    let mut pair = Pair::new(ua_config(1, address_a()), config_b, passive(), answering());
    pair.a_calls_b();
    pair.drive_bounded(2_000);
    assert_eq!(ended(&pair.b.events), [EndCause::MaxDuration]);
    assert_eq!(ended(&pair.a.events), [EndCause::RemoteHangup]);
    let (at, _) = pair.b.events.last().expect("events");
    assert!((60_000..61_000).contains(at), "ended at {at}");
}

#[test]
fn uac_invite_without_answer_fails_with_408() {
    let mut pair = Pair::with_tus(passive(), passive());
    pair.drop = Box::new(|wire| wire.from_a);
    pair.a_calls_b();
    pair.drive_bounded(500);
    assert_eq!(names(&pair.a.events), ["Failed 408"]);
}

/// C calls B (answered by B's TU) and ACKs; returns B's local tag.
fn c_call_established(pair: &mut Pair, headers: &str) -> String {
    let invite = Raw {
        headers,
        body: OFFER,
        ..raw("INVITE", "c-call", 1, "inv1")
    };
    pair.c_sends_to_b(&invite.bytes());
    let call = incoming_call(&pair.b.events);
    let tag = pair.b.ua.dialogs[&call].local_tag.clone();
    let ack = Raw {
        to_tag: Some(&tag),
        ..raw("ACK", "c-call", 1, "ack1")
    };
    pair.c_sends_to_b(&ack.bytes());
    assert_eq!(names(&pair.b.events), ["IncomingCall", "Established"]);
    tag
}

#[test]
fn reinvite_hold_is_answered_with_the_mirrored_direction() {
    let mut pair = Pair::with_tus(passive(), answering());
    let tag = c_call_established(&mut pair, "");
    let hold = OFFER.replace("t=0 0\r\n", "t=0 0\r\na=sendonly\r\n");
    let reinvite = Raw {
        to_tag: Some(&tag),
        body: &hold,
        ..raw("INVITE", "c-call", 2, "inv2")
    };
    pair.c_sends_to_b(&reinvite.bytes());
    let last = pair.b.events.last().map(|(_, event)| event.clone());
    let Some(UaEvent::ReInvite {
        offer: Some(offer), ..
    }) = last
    else {
        panic!("no re-INVITE event: {last:?}");
    };
    assert!(offer.is_hold());
    let reply = pair
        .replies_to_c()
        .last()
        .map(|w| w.text.clone())
        .unwrap_or_default();
    assert!(reply.starts_with("SIP/2.0 200 OK"), "{reply}");
    assert!(
        reply.contains("a=recvonly\r\n") && reply.contains("o=ramal 7 2 "),
        "{reply}"
    );
}

#[test]
fn session_expires_without_refresh_ends_the_call() {
    let mut pair = Pair::with_tus(passive(), answering());
    let tag = c_call_established(&mut pair, "Session-Expires: 90\r\n");
    let ok = pair
        .replies_to_c()
        .into_iter()
        .find(|w| w.start_line() == "SIP/2.0 200 OK")
        .map(|w| w.text.clone())
        .unwrap_or_default();
    assert!(ok.contains("Session-Expires: 90;refresher=uac"), "{ok}");
    // A refresh at 60 s moves the expiry to 150 s.
    pair.drive_until(60_000);
    let refresh = Raw {
        to_tag: Some(&tag),
        ..raw("UPDATE", "c-call", 2, "upd2")
    };
    pair.c_sends_to_b(&refresh.bytes());
    pair.drive_until(149_000);
    assert_eq!(ended(&pair.b.events), []);
    pair.drive_until(151_000);
    let bye = pair
        .replies_to_c()
        .into_iter()
        .find(|w| w.start_line().starts_with("BYE "));
    assert!(bye.is_some_and(|w| w.at == 150_000));
    pair.drive_bounded(500);
    assert_eq!(ended(&pair.b.events), [EndCause::SessionExpired]);
}

#[test]
fn options_outside_a_dialog_get_200_with_allow() {
    let mut pair = Pair::with_tus(passive(), passive());
    pair.c_sends_to_b(&raw("OPTIONS", "ping", 1, "opt1").bytes());
    let reply = pair
        .replies_to_c()
        .last()
        .map(|w| w.text.clone())
        .unwrap_or_default();
    assert!(reply.starts_with("SIP/2.0 200 OK"), "{reply}");
    assert!(
        reply.contains("Allow: INVITE, ACK, CANCEL, BYE")
            && reply.contains("Accept: application/sdp")
    );
}

#[test]
fn requests_for_unknown_dialogs_get_481() {
    let mut pair = Pair::with_tus(passive(), passive());
    for (method, branch) in [("BYE", "bye1"), ("INVITE", "inv9")] {
        let stray = Raw {
            to_tag: Some("nobody"),
            ..raw(method, "gone", 5, branch)
        };
        pair.c_sends_to_b(&stray.bytes());
    }
    let replies: Vec<&str> = pair
        .replies_to_c()
        .into_iter()
        .map(Wire::start_line)
        .collect();
    assert!(
        replies.contains(&"SIP/2.0 481 Call/Transaction Does Not Exist"),
        "{replies:?}"
    );
    assert_eq!(pair.b.events.len(), 0);
}

#[test]
fn tu_misuse_is_an_error() {
    let mut pair = Pair::with_tus(passive(), passive());
    let call = pair.a_calls_b();
    let now = pair.now;
    assert!(matches!(
        pair.a.ua.answer(call, OFFER, now),
        Err(UaError::WrongState { .. })
    ));
    assert_eq!(
        pair.a.ua.ringing(CallKey(99), now),
        Err(UaError::UnknownCall(CallKey(99)))
    );
}
