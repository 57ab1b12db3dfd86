//! Table tests over real offers: sipp's default UAC, a softphone with several codecs, hold
//! re-INVITEs, and offers we must refuse.

use super::*;

const SIPP_UAC: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.1.1\r\ns=-\r\nc=IN IP4 127.0.1.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

const SOFTPHONE: &str = "v=0\r\no=- 3912345678 3912345679 IN IP4 192.168.1.20\r\ns=Linphone\r\nc=IN IP4 192.168.1.20\r\nt=0 0\r\nm=audio 7078 RTP/AVP 96 97 98 8 0 101\r\na=rtpmap:96 opus/48000/2\r\na=fmtp:96 useinbandfec=1\r\na=rtpmap:97 speex/16000\r\na=rtpmap:98 speex/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\nm=video 9078 RTP/AVP 103\r\na=rtpmap:103 VP8/90000\r\n";

const HOLD_SENDONLY: &str = "v=0\r\no=- 1 2 IN IP4 10.0.0.5\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\nc=IN IP4 10.0.0.5\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n";

const HOLD_2543: &str = "v=0\r\no=- 1 3 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8\r\n";

const ONLY_G729: &str = "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18 96\r\na=rtpmap:18 G729/8000\r\na=rtpmap:96 opus/48000/2\r\n";

fn local() -> LocalMedia {
    LocalMedia {
        address: "10.0.0.9".parse().expect("an address"),
        port: 20_000,
        session_id: 42,
        session_version: 1,
    }
}

fn answer(offer: &str) -> Result<(Offer, String), SdpError> {
    let offer = parse_offer(offer.as_bytes(), SdpLimits::default())?;
    let plan = choose_answer(&offer)?;
    Ok((offer.clone(), build_answer(&plan, &local())))
}

#[test]
fn offers_answer_as_expected() {
    struct Case {
        name: &'static str,
        offer: &'static str,
        connection: &'static str,
        port: u16,
        answer_lines: &'static [&'static str],
        hold: bool,
    }
    let cases = [
        Case {
            name: "sipp uac",
            offer: SIPP_UAC,
            connection: "127.0.1.1",
            port: 6000,
            answer_lines: &[
                "m=audio 20000 RTP/AVP 0",
                "a=rtpmap:0 PCMU/8000",
                "a=sendrecv",
            ],
            hold: false,
        },
        Case {
            name: "softphone",
            offer: SOFTPHONE,
            connection: "192.168.1.20",
            port: 7078,
            answer_lines: &[
                "m=audio 20000 RTP/AVP 8 101",
                "a=rtpmap:8 PCMA/8000",
                "a=rtpmap:101 telephone-event/8000",
                "a=fmtp:101 0-15",
                "a=ptime:20",
                "m=video 0 RTP/AVP 103",
            ],
            hold: false,
        },
        Case {
            name: "hold with sendonly and media-level c=",
            offer: HOLD_SENDONLY,
            connection: "10.0.0.5",
            port: 4000,
            answer_lines: &["m=audio 20000 RTP/AVP 0 101", "a=recvonly"],
            hold: true,
        },
        Case {
            name: "RFC 2543 hold",
            offer: HOLD_2543,
            connection: "0.0.0.0",
            port: 4000,
            answer_lines: &["m=audio 20000 RTP/AVP 8", "a=recvonly"],
            hold: true,
        },
    ];
    for case in cases {
        let (offer, text) = answer(case.offer).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(
            offer.connection.to_string(),
            case.connection,
            "{}",
            case.name
        );
        assert_eq!(offer.audio_port, case.port, "{}", case.name);
        assert_eq!(offer.is_hold(), case.hold, "{}", case.name);
        assert!(text.starts_with("v=0\r\no=ramal 42 1 IN IP4 10.0.0.9\r\n"));
        assert!(text.contains("c=IN IP4 10.0.0.9\r\n"), "{}", case.name);
        for line in case.answer_lines {
            assert!(
                text.lines().any(|l| l == *line),
                "{}: `{line}` missing in\n{text}",
                case.name
            );
        }
        // Our own answer parses back as an offer.
        let back = parse_offer(text.as_bytes(), SdpLimits::default()).expect("answer parses");
        assert_eq!(back.audio_port, 20_000, "{}", case.name);
    }
}

#[test]
fn softphone_offer_details() {
    let offer = parse_offer(SOFTPHONE.as_bytes(), SdpLimits::default()).expect("parses");
    assert_eq!(offer.payload_types, vec![96, 97, 98, 8, 0, 101]);
    assert_eq!(offer.telephone_event, Some(101));
    assert_eq!(offer.ptime, Some(20));
    assert_eq!(offer.direction, Direction::SendRecv);
    assert_eq!(offer.media.len(), 2);
}

#[test]
fn dynamic_payload_types_follow_their_rtpmap() {
    let text = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 5 RTP/AVP 0 99\r\na=rtpmap:0 opus/48000\r\na=rtpmap:99 PCMU/8000\r\n";
    let offer = parse_offer(text.as_bytes(), SdpLimits::default()).expect("parses");
    let plan = choose_answer(&offer).expect("a codec");
    assert_eq!((plan.codec, plan.payload_type), (Codec::Pcmu, 99));
}

#[test]
fn refusals_carry_typed_errors() {
    let limits = SdpLimits::default();
    let many_lines = format!("v=0\r\n{}", "a=x\r\n".repeat(300));
    let cases: Vec<(&str, Vec<u8>, SdpError)> = vec![
        (
            "no common codec",
            ONLY_G729.into(),
            SdpError::NoCommonCodec {
                offered: vec![18, 96],
            },
        ),
        (
            "too large",
            vec![b'a'; 9000],
            SdpError::TooLarge {
                size: 9000,
                limit: 8192,
            },
        ),
        (
            "too many lines",
            many_lines.into_bytes(),
            SdpError::TooManyLines { limit: 200 },
        ),
        ("empty", Vec::new(), SdpError::MissingVersion),
        (
            "not sdp",
            b"hello".to_vec(),
            SdpError::Malformed { line: 1, kind: '?' },
        ),
        ("not utf-8", vec![b'v', b'=', 0xff], SdpError::NotUtf8),
        (
            "no audio",
            b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=video 5 RTP/AVP 31\r\n".to_vec(),
            SdpError::NoAudio,
        ),
        (
            "audio rejected by port 0",
            b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 0 RTP/AVP 0\r\n".to_vec(),
            SdpError::NoAudio,
        ),
        (
            "no connection",
            b"v=0\r\nm=audio 5 RTP/AVP 0\r\n".to_vec(),
            SdpError::NoConnection,
        ),
        (
            "bad connection",
            b"v=0\r\nc=IN IP4 nowhere\r\n".to_vec(),
            SdpError::Malformed { line: 2, kind: 'c' },
        ),
        (
            "family mismatch",
            b"v=0\r\nc=IN IP6 1.2.3.4\r\n".to_vec(),
            SdpError::Malformed { line: 2, kind: 'c' },
        ),
        (
            "bad port",
            b"v=0\r\nm=audio 99999 RTP/AVP 0\r\n".to_vec(),
            SdpError::Malformed { line: 2, kind: 'm' },
        ),
        (
            "bad payload type",
            b"v=0\r\nm=audio 5 RTP/AVP 0 300\r\n".to_vec(),
            SdpError::Malformed { line: 2, kind: 'm' },
        ),
        (
            "bad rtpmap",
            b"v=0\r\nm=audio 5 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n".to_vec(),
            SdpError::Malformed { line: 3, kind: 'a' },
        ),
    ];
    for (name, body, expected) in cases {
        let result = parse_offer(&body, limits).and_then(|offer| choose_answer(&offer));
        assert_eq!(result.err(), Some(expected), "{name}");
    }
}

#[test]
fn reanswer_mirrors_hold_and_bumps_the_version() {
    let (_, first) = answer(SIPP_UAC).expect("answers");
    let hold = parse_offer(HOLD_SENDONLY.as_bytes(), SdpLimits::default()).expect("parses");
    let held = reanswer(&first, &hold).expect("our answer");
    assert!(held.contains("o=ramal 42 2 IN IP4"));
    assert!(held.contains("a=recvonly\r\n") && !held.contains("sendrecv"));
    let resume = parse_offer(SIPP_UAC.as_bytes(), SdpLimits::default()).expect("parses");
    let resumed = reanswer(&held, &resume).expect("our answer");
    assert!(resumed.contains("o=ramal 42 3 ") && resumed.contains("a=sendrecv\r\n"));
    let refreshed = reanswer(&resumed, &resume).expect("our answer");
    assert_eq!(refreshed, resumed, "a refresh keeps the version");
    assert_eq!(reanswer("v=0\r\n", &resume), None);
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut seed = 1u64;
    for _ in 0..2000 {
        let mut body = SOFTPHONE.as_bytes().to_vec();
        for _ in 0..4 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let at = (seed >> 33) as usize % body.len();
            body[at] = (seed >> 20) as u8;
        }
        let _ = parse_offer(&body, SdpLimits::default()).and_then(|o| choose_answer(&o));
    }
}

#[test]
fn our_offer_parses_and_an_answer_to_it_picks_what_the_far_end_chose() {
    let offer_text = build_offer(&local());
    let offer = parse_offer(offer_text.as_bytes(), SdpLimits::default()).expect("our offer parses");
    assert_eq!(offer.payload_types, [0, 8, 101]);
    assert_eq!(offer.audio_port, local().port);
    let plan = choose_answer(&offer).expect("a codec");
    assert_eq!(plan.codec, Codec::Pcmu);
    assert_eq!(plan.telephone_event, Some(101));
    // A far end that answers A-law only.
    let far = "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\nm=audio 7000 RTP/AVP 8\r\n";
    let answer = parse_offer(far.as_bytes(), SdpLimits::default()).expect("parses");
    let chosen = choose_answer(&answer).expect("a codec");
    assert_eq!((chosen.codec, chosen.telephone_event), (Codec::Pcma, None));
}
