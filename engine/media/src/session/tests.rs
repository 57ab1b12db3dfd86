//! Sessions on 127.0.0.1 with real sockets; tokio timeouts only guard against hangs.

use std::net::{IpAddr, Ipv4Addr};

use rtc_rtp::Header;
use rtc_shared::marshal::{Marshal, Unmarshal};
use tokio::time::timeout;

use super::*;
use crate::codec::FRAME_SAMPLES;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const PORTS: RangeInclusive<u16> = 20_000..=59_998;
const GUARD: Duration = Duration::from_secs(5);
const TELEPHONE_EVENT: u8 = 101;

async fn session(config: SessionConfig) -> RtpSession {
    RtpSession::bind(LOCALHOST, PORTS, config).await.unwrap()
}

/// Two sessions sending to each other.
async fn pair(config: SessionConfig) -> (RtpSession, RtpSession) {
    let (mut a, mut b) = (session(config).await, session(config).await);
    a.set_remote(b.local_addr(), Codec::Pcmu, Some(TELEPHONE_EVENT));
    b.set_remote(a.local_addr(), Codec::Pcmu, Some(TELEPHONE_EVENT));
    (a, b)
}

/// A session sending to a plain socket.
async fn to_socket() -> (RtpSession, UdpSocket) {
    let socket = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let mut session = session(SessionConfig::default()).await;
    session.set_remote(
        socket.local_addr().unwrap(),
        Codec::Pcmu,
        Some(TELEPHONE_EVENT),
    );
    (session, socket)
}

/// The next packet, or `None` after `quiet` without one.
async fn packet(socket: &UdpSocket, quiet: Duration) -> Option<(Header, Vec<u8>)> {
    let mut buffer = [0u8; 1500];
    let (len, _) = timeout(quiet, socket.recv_from(&mut buffer))
        .await
        .ok()?
        .unwrap();
    let mut reader = &buffer[..len];
    let header = Header::unmarshal(&mut reader).unwrap();
    Some((header, reader.to_vec()))
}

async fn event(session: &mut RtpSession) -> MediaEvent {
    timeout(GUARD, session.next_event()).await.unwrap().unwrap()
}

/// Waits to see that no event comes within `quiet`.
async fn no_event(session: &mut RtpSession, quiet: Duration) {
    if let Ok(event) = timeout(quiet, session.next_event()).await {
        panic!("unexpected {event:?}");
    }
}

fn tone(frequencies: &[f64], ms: usize) -> Vec<i16> {
    (0..ms * 8)
        .map(|n| {
            let t = n as f64 / 8000.0;
            let sum: f64 = frequencies
                .iter()
                .map(|f| (std::f64::consts::TAU * f * t).sin())
                .sum();
            (6000.0 * sum) as i16
        })
        .collect()
}

#[tokio::test]
async fn a_prompt_is_sent_as_contiguous_paced_packets() {
    let (mut a, b) = to_socket().await;
    let prompt = Pcm::from(tone(&[440.0], 1000));
    a.play(PlaybackId(1), prompt.clone(), false);
    let mut packets = Vec::new();
    while packets.len() < 50 {
        packets.push(packet(&b, GUARD).await.expect("a packet"));
    }
    assert_eq!(
        event(&mut a).await,
        MediaEvent::PlaybackFinished { id: PlaybackId(1) }
    );
    assert!(
        packet(&b, Duration::from_millis(200)).await.is_none(),
        "silence sends nothing"
    );
    let first = &packets[0].0;
    assert!(first.marker);
    for (index, (header, payload)) in packets.iter().enumerate() {
        assert_eq!(header.payload_type, 0);
        assert_eq!(header.ssrc, first.ssrc);
        assert_eq!(header.marker, index == 0);
        assert_eq!(
            header.sequence_number,
            first.sequence_number.wrapping_add(index as u16)
        );
        assert_eq!(
            header.timestamp,
            first.timestamp.wrapping_add(160 * index as u32)
        );
        let frame = prompt.frame(index).unwrap();
        assert_eq!(payload[..], Codec::Pcmu.encode_frame(&frame)[..]);
    }
    // The next prompt continues the numbering; the clock ran on through the gap.
    a.play(
        PlaybackId(2),
        Pcm::from(vec![100; 2 * FRAME_SAMPLES]),
        false,
    );
    let (next, _) = packet(&b, GUARD).await.unwrap();
    let last = &packets[49].0;
    assert!(next.marker);
    assert_eq!(next.ssrc, first.ssrc);
    assert_eq!(next.sequence_number, last.sequence_number.wrapping_add(1));
    let gap = next.timestamp.wrapping_sub(last.timestamp);
    assert!(gap > 160 && gap % 160 == 0 && gap < 8000 * 5, "gap {gap}");
    assert_eq!(
        event(&mut a).await,
        MediaEvent::PlaybackFinished { id: PlaybackId(2) }
    );
}

#[tokio::test]
async fn stopped_and_replaced_prompts_report_nothing() {
    let (mut a, b) = to_socket().await;
    let long = Pcm::from(vec![500; 8000 * 5]);
    a.play(PlaybackId(1), long.clone(), false);
    for _ in 0..5 {
        packet(&b, GUARD).await.expect("a packet");
    }
    a.stop(PlaybackId(1));
    a.stop(PlaybackId(99)); // Not playing: nothing happens.
    let mut after_stop = 0;
    while packet(&b, Duration::from_millis(300)).await.is_some() {
        after_stop += 1;
    }
    assert!(after_stop < 50, "{after_stop} packets after stop");
    // A looped prompt replaced by a short one: only the short one finishes.
    a.play(PlaybackId(2), Pcm::from(vec![500; 400]), true);
    for _ in 0..6 {
        packet(&b, GUARD).await.expect("a looped packet");
    }
    a.play(PlaybackId(3), Pcm::from(vec![500; 160]), false);
    assert_eq!(
        event(&mut a).await,
        MediaEvent::PlaybackFinished { id: PlaybackId(3) }
    );
    no_event(&mut a, Duration::from_millis(300)).await;
    // An empty prompt finishes at once.
    a.play(PlaybackId(4), Pcm::default(), true);
    assert_eq!(
        event(&mut a).await,
        MediaEvent::PlaybackFinished { id: PlaybackId(4) }
    );
}

#[tokio::test]
async fn an_rfc4733_digit_is_reported_once() {
    let (a, mut b) = pair(SessionConfig::default()).await;
    a.send_digit('5').unwrap();
    assert_eq!(event(&mut b).await, MediaEvent::Digit { key: '5' });
    no_event(&mut b, Duration::from_millis(500)).await;
    assert!(matches!(
        a.send_digit('x'),
        Err(SessionError::NotDtmf { key: 'x' })
    ));
    let mut c = session(SessionConfig::default()).await;
    c.set_remote(a.local_addr(), Codec::Pcma, None);
    assert!(matches!(
        c.send_digit('1'),
        Err(SessionError::NoTelephoneEvent)
    ));
}

#[tokio::test]
async fn rfc4733_packets_follow_the_spec() {
    let (a, b) = to_socket().await;
    a.send_digit('#').unwrap();
    let mut packets = Vec::new();
    for _ in 0..6 {
        packets.push(packet(&b, GUARD).await.expect("an event packet"));
    }
    let (first, _) = &packets[0];
    for (index, (header, payload)) in packets.iter().enumerate() {
        let event = TelephoneEvent::parse(payload).unwrap();
        assert_eq!(header.payload_type, TELEPHONE_EVENT);
        assert_eq!(header.marker, index == 0);
        assert_eq!(header.timestamp, first.timestamp);
        assert_eq!(
            header.sequence_number,
            first.sequence_number.wrapping_add(index as u16)
        );
        assert_eq!((event.digit(), event.end), (Some('#'), index >= 3));
        assert_eq!(usize::from(event.duration), 160 * (index.min(3) + 1));
    }
}

#[tokio::test]
async fn an_inband_tone_is_reported() {
    let (mut a, mut b) = pair(SessionConfig::default()).await;
    // 7 = 852 Hz + 1209 Hz, 100 ms, then 100 ms of silence.
    let mut samples = tone(&[852.0, 1209.0], 100);
    samples.extend(std::iter::repeat_n(0, 800));
    a.play(PlaybackId(7), Pcm::from(samples), false);
    assert_eq!(event(&mut b).await, MediaEvent::Digit { key: '7' });
    assert_eq!(
        event(&mut a).await,
        MediaEvent::PlaybackFinished { id: PlaybackId(7) }
    );
    no_event(&mut b, Duration::from_millis(300)).await;
}

#[tokio::test]
async fn silence_from_the_peer_times_out() {
    let config = SessionConfig {
        rtp_timeout: Duration::from_millis(300),
        ..SessionConfig::default()
    };
    let (mut a, mut b) = pair(config).await;
    a.play(PlaybackId(1), Pcm::from(vec![300; 1600]), false);
    // B hears A for 200 ms, then nothing; A never hears B. Both time out, once.
    assert_eq!(event(&mut b).await, MediaEvent::RtpTimeout);
    let mut events = [event(&mut a).await, event(&mut a).await];
    events.sort_by_key(|event| matches!(event, MediaEvent::RtpTimeout));
    assert_eq!(
        events,
        [
            MediaEvent::PlaybackFinished { id: PlaybackId(1) },
            MediaEvent::RtpTimeout
        ]
    );
    no_event(&mut b, Duration::from_millis(500)).await;
}

#[tokio::test]
async fn the_session_latches_onto_the_real_source() {
    let peer = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let stranger = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let mut session = session(SessionConfig::default()).await;
    // The SDP said port 9 (discard); the peer really sends from elsewhere.
    session.set_remote(
        SocketAddr::new(LOCALHOST, 9),
        Codec::Pcmu,
        Some(TELEPHONE_EVENT),
    );
    let mut buffer = [0u8; 12 + 160];
    let header = Header {
        version: 2,
        payload_type: 0,
        sequence_number: 1,
        timestamp: 160,
        ssrc: 42,
        ..Header::default()
    };
    header.marshal_to(&mut buffer).unwrap();
    // Until a packet arrives, the audio goes to port 9.
    session.play(PlaybackId(1), Pcm::from(vec![0; 320]), true);
    // Not a negotiated payload type: ignored, no latch.
    let mut other = buffer;
    other[1] = 18;
    stranger
        .send_to(&other, session.local_addr())
        .await
        .unwrap();
    peer.send_to(&buffer, session.local_addr()).await.unwrap();
    assert!(
        packet(&peer, GUARD).await.is_some(),
        "the peer gets the audio"
    );
    // Once latched, a stranger's valid packets change nothing.
    stranger
        .send_to(&buffer, session.local_addr())
        .await
        .unwrap();
    for _ in 0..10 {
        assert!(
            packet(&peer, GUARD).await.is_some(),
            "the peer still gets the audio"
        );
    }
    assert!(
        packet(&stranger, Duration::from_millis(100))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn binding_uses_even_ports_and_reports_a_full_range() {
    let first = session(SessionConfig::default()).await;
    let port = first.local_port();
    assert_eq!(port % 2, 0);
    assert!(PORTS.contains(&port));
    assert!(matches!(
        RtpSession::bind(LOCALHOST, port..=port + 1, SessionConfig::default()).await,
        Err(SessionError::NoFreePort { first, last, .. }) if first == port && last == port + 1
    ));
    let second = RtpSession::bind(
        LOCALHOST,
        port..=PORTS.end().to_owned(),
        SessionConfig::default(),
    )
    .await
    .unwrap();
    assert!(second.local_port() > port && second.local_port() % 2 == 0);
}

#[test]
fn port_searches_start_in_turn_and_cover_every_even_port() {
    let all: Vec<u16> = super::candidate_ports(20_000, 20_009, 0).collect();
    assert_eq!(all, [20_000, 20_002, 20_004, 20_006, 20_008]);
    let rotated: Vec<u16> = super::candidate_ports(20_000, 20_009, 4).collect();
    assert_eq!(rotated, [20_004, 20_006, 20_008, 20_000, 20_002]);
    let wrapped: Vec<u16> = super::candidate_ports(20_000, 20_009, 10).collect();
    assert_eq!(wrapped, all, "the offset wraps around the range");
    let odd_start: Vec<u16> = super::candidate_ports(20_001, 20_005, 0).collect();
    assert_eq!(odd_start, [20_002, 20_004]);
    assert_eq!(super::candidate_ports(0, 3, 0).collect::<Vec<_>>(), [2]);
    assert_eq!(super::candidate_ports(65_535, 65_535, 7).count(), 0);
    assert_eq!(
        super::candidate_ports(65_534, 65_535, 9).collect::<Vec<_>>(),
        [65_534]
    );
}

/// Sends `frames` 20 ms frames of `value` as `codec` RTP from `socket` to `to`, paced.
async fn send_audio(socket: &UdpSocket, to: SocketAddr, codec: Codec, value: i16, frames: u16) {
    let payload = codec.encode_frame(&[value; FRAME_SAMPLES]);
    let mut ticks = tokio::time::interval(Duration::from_millis(20));
    for index in 0..frames {
        ticks.tick().await;
        let header = Header {
            version: 2,
            payload_type: codec.payload_type(),
            sequence_number: index,
            timestamp: u32::from(index) * FRAME_SAMPLES as u32,
            ssrc: 0x1234,
            ..Header::default()
        };
        let mut packet = header.marshal().unwrap().to_vec();
        packet.extend_from_slice(&payload);
        socket.send_to(&packet, to).await.unwrap();
    }
}

#[tokio::test]
async fn two_bridged_legs_relay_audio_each_in_its_own_codec() {
    let caller = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let agent = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let mut caller_leg = session(SessionConfig::default()).await;
    let mut agent_leg = session(SessionConfig::default()).await;
    caller_leg.set_remote(caller.local_addr().unwrap(), Codec::Pcmu, None);
    agent_leg.set_remote(agent.local_addr().unwrap(), Codec::Pcma, None);
    caller_leg.relay_to(Some(agent_leg.audio_sink()));
    agent_leg.relay_to(Some(caller_leg.audio_sink()));

    let to_caller_leg = caller_leg.local_addr();
    let sender = tokio::spawn(async move {
        send_audio(&caller, to_caller_leg, Codec::Pcmu, 1000, 25).await;
        caller
    });
    // The agent hears the caller, re-encoded as A-law, paced by the agent leg's clock.
    let mut heard = 0;
    let mut sequence = None;
    while let Some((header, payload)) = packet(&agent, Duration::from_millis(300)).await {
        assert_eq!(header.payload_type, Codec::Pcma.payload_type());
        assert_eq!(payload.len(), FRAME_SAMPLES);
        let decoded = Codec::Pcma.decode_frame(payload.as_slice().try_into().unwrap());
        assert!(
            decoded.iter().all(|&s| (s - 1000).abs() < 40),
            "{:?}",
            &decoded[..4]
        );
        if let Some(previous) = sequence {
            assert_eq!(header.sequence_number, u16::wrapping_add(previous, 1));
        }
        sequence = Some(header.sequence_number);
        heard += 1;
    }
    let caller = sender.await.unwrap();
    // A few frames may be dropped when the legs' clocks drift, never more than the depth.
    assert!(heard >= 25 - LIVE_DEPTH, "heard {heard} of 25 frames");

    // And the other way: the agent speaks, the caller hears µ-law.
    let to_agent_leg = agent_leg.local_addr();
    tokio::spawn(async move { send_audio(&agent, to_agent_leg, Codec::Pcma, -2000, 10).await });
    let (header, payload) = packet(&caller, GUARD)
        .await
        .expect("the caller hears the agent");
    assert_eq!(header.payload_type, Codec::Pcmu.payload_type());
    let decoded = Codec::Pcmu.decode_frame(payload.as_slice().try_into().unwrap());
    assert!(decoded.iter().all(|&s| (s + 2000).abs() < 80));

    // Unbridged, nothing more is relayed.
    caller_leg.relay_to(None);
    while packet(&caller, Duration::from_millis(100)).await.is_some() {}
    no_event(&mut caller_leg, Duration::from_millis(10)).await;
    no_event(&mut agent_leg, Duration::from_millis(10)).await;
}

#[tokio::test]
async fn a_recording_tap_sees_the_peer_and_what_was_played() {
    let (session, socket) = to_socket().await;
    let (tap, mut frames) = mpsc::channel(100);
    session.record_to(Some(tap));
    session.play(
        PlaybackId(1),
        Pcm::from(vec![300i16; 3 * FRAME_SAMPLES]),
        false,
    );
    let to_session = session.local_addr();
    send_audio(&socket, to_session, Codec::Pcmu, -700, 3).await;
    let mut sent = 0;
    let mut received = 0;
    while let Ok(Some(frame)) = timeout(Duration::from_millis(200), frames.recv()).await {
        match frame.direction {
            Direction::Sent => {
                assert!(frame.samples.iter().all(|&s| (s - 300).abs() < 20));
                sent += 1;
            }
            Direction::Received => {
                assert!(frame.samples.iter().all(|&s| (s + 700).abs() < 40));
                received += 1;
            }
        }
    }
    assert_eq!((sent, received), (3, 3));
}
