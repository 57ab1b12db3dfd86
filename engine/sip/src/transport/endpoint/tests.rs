//! Two endpoints on real loopback sockets place, answer and hang up a call. Each wait is
//! bounded by a timeout that only guards against a hang.

use super::*;
use crate::proto::dialog::EndCause;
use crate::proto::sdp::{LocalMedia, SdpLimits, build_answer, choose_answer, parse_offer};

const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";

async fn next(events: &mut mpsc::Receiver<UaEvent>) -> UaEvent {
    tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("an event within the guard timeout")
        .expect("the endpoint is alive")
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

#[tokio::test]
async fn two_endpoints_place_answer_and_end_a_call() {
    place_answer_and_end(Transport::Udp).await;
}

/// The INVITE opens a connection; bob's answers and alice's ACK and BYE go over it.
#[tokio::test]
async fn two_endpoints_place_answer_and_end_a_call_over_tcp() {
    place_answer_and_end(Transport::Tcp).await;
}

async fn place_answer_and_end(transport: Transport) {
    let (alice, mut alice_events) = SipEndpoint::bind(loopback(), EndpointConfig::default())
        .await
        .expect("binds");
    let (bob, mut bob_events) = SipEndpoint::bind(loopback(), EndpointConfig::default())
        .await
        .expect("binds");
    let call = alice
        .invite(OutgoingCall {
            target_uri: format!("sip:1000@{}", bob.local_addr()),
            from: format!("<sip:alice@{}>", alice.local_addr()),
            to: format!("<sip:1000@{}>", bob.local_addr()),
            offer_sdp: OFFER.into(),
            destination: bob.local_addr(),
            transport,
            credentials: None,
        })
        .await
        .expect("the INVITE goes out");
    let UaEvent::IncomingCall {
        call: bob_call,
        to,
        offer,
        ..
    } = next(&mut bob_events).await
    else {
        panic!("expected an incoming call");
    };
    assert_eq!(to, "1000");
    let offer = offer.expect("an offer");
    let plan = choose_answer(&offer).expect("a codec");
    let answer = build_answer(
        &plan,
        &LocalMedia {
            address: "127.0.0.1".parse().expect("an address"),
            port: 30_000,
            session_id: 1,
            session_version: 1,
        },
    );
    bob.ringing(bob_call).await.expect("rings");
    bob.answer(bob_call, answer).await.expect("answers");
    assert_eq!(
        next(&mut alice_events).await,
        UaEvent::Progress { call, status: 180 }
    );
    let UaEvent::Answered { answer, .. } = next(&mut alice_events).await else {
        panic!("expected the answer");
    };
    assert_eq!(answer.map(|sdp| sdp.audio_port), Some(30_000));
    assert_eq!(
        next(&mut bob_events).await,
        UaEvent::Established { call: bob_call }
    );
    alice.hangup(call).await.expect("hangs up");
    assert_eq!(
        next(&mut alice_events).await,
        UaEvent::CallEnded {
            call,
            cause: EndCause::LocalHangup
        }
    );
    assert_eq!(
        next(&mut bob_events).await,
        UaEvent::CallEnded {
            call: bob_call,
            cause: EndCause::RemoteHangup
        }
    );
    assert_eq!(
        alice.hangup(call).await,
        Err(CommandError::Ua(UaError::UnknownCall(call)))
    );
    let _ = parse_offer(OFFER.as_bytes(), SdpLimits::default()).expect("parses");
}

#[tokio::test]
async fn the_endpoint_stops_when_its_handle_is_dropped_or_shutdown_fires() {
    let (handle, mut events) = SipEndpoint::bind(loopback(), EndpointConfig::default())
        .await
        .expect("binds");
    drop(handle);
    let closed = tokio::time::timeout(Duration::from_secs(10), events.recv()).await;
    assert_eq!(closed.ok(), Some(None), "the event channel closes");

    let (stop, stopped) = oneshot::channel::<()>();
    let (handle, mut events) =
        SipEndpoint::bind_until(loopback(), EndpointConfig::default(), async {
            let _ = stopped.await;
        })
        .await
        .expect("binds");
    let _ = stop.send(());
    let closed = tokio::time::timeout(Duration::from_secs(10), events.recv()).await;
    assert_eq!(closed.ok(), Some(None), "the event channel closes");
    assert_eq!(handle.hangup(CallKey(1)).await, Err(CommandError::Closed));
}

async fn read_until(stream: &mut tokio::net::TcpStream, what: &str) -> String {
    use tokio::io::AsyncReadExt;
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(what) {
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("an answer within the guard timeout")
            .expect("the connection reads");
        assert!(
            read > 0,
            "closed before {what:?}: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buffer[..read]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// A raw TCP peer: an OPTIONS split across writes is answered on the same connection, a
/// keep-alive ping gets its pong, and a message without Content-Length closes it.
#[tokio::test]
async fn a_tcp_peer_is_answered_on_its_connection_and_bad_framing_closes_it() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (endpoint, _events) = SipEndpoint::bind(loopback(), EndpointConfig::default())
        .await
        .expect("binds");
    let mut stream = tokio::net::TcpStream::connect(endpoint.local_addr())
        .await
        .expect("the endpoint listens on TCP at its UDP address");
    let me = stream.local_addr().expect("an address");
    let options = format!(
        "OPTIONS sip:ramal@{0} SIP/2.0\r\nVia: SIP/2.0/TCP {me};branch=z9hG4bKtcp1\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@{me}>;tag=1\r\nTo: <sip:ramal@{0}>\r\n\
         Call-ID: tcp-options-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        endpoint.local_addr()
    );
    let (first, second) = options.split_at(40);
    stream.write_all(first.as_bytes()).await.expect("writes");
    stream.flush().await.expect("flushes");
    tokio::time::sleep(Duration::from_millis(20)).await;
    stream.write_all(second.as_bytes()).await.expect("writes");
    let answer = read_until(&mut stream, "\r\n\r\n").await;
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
    assert!(answer.contains("tcp-options-1"), "{answer}");

    stream.write_all(b"\r\n\r\n").await.expect("writes");
    let mut pong = [0u8; 2];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut pong))
        .await
        .expect("a pong within the guard timeout")
        .expect("reads");
    assert_eq!(&pong, b"\r\n");

    stream
        .write_all(b"OPTIONS sip:ramal@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKx\r\n\r\n")
        .await
        .expect("writes");
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest))
        .await
        .expect("closed within the guard timeout");
    assert!(
        closed.is_ok() && rest.is_empty(),
        "closed without an answer: {rest:?}"
    );
}

/// A port whose TCP side is taken is a clear error naming it, not half an endpoint.
#[tokio::test]
async fn a_port_taken_for_tcp_is_a_clear_error() {
    let taken = tokio::net::TcpListener::bind(loopback())
        .await
        .expect("loopback");
    let address = taken.local_addr().expect("an address");
    match SipEndpoint::bind(address, EndpointConfig::default()).await {
        Err(TransportError::Listen { address: named, .. }) => assert_eq!(named, address),
        // Rarely the UDP port is taken too; that is the other clear error.
        Err(TransportError::Bind { .. }) => {}
        Err(other) => panic!("unexpected error: {other}"),
        Ok(_) => panic!("bound although TCP {address} is taken"),
    }
}
