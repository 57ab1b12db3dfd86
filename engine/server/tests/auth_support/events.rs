//! `/api/events` over a real socket: a minimal RFC 6455 client for the tests.

use serde_json::Value;

/// Opens `/api/events` as `caller` on a real socket (a minimal RFC 6455 handshake).
pub async fn event_socket(address: std::net::SocketAddr, token: &str) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("the socket works");
    let request = format!(
        "GET /api/events HTTP/1.1\r\nHost: {address}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Cookie: ramal_session={token}\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("the socket works");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(stream.read_u8().await.expect("the socket works"));
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    stream
}

/// The next text frame's JSON (server frames are not masked).
pub async fn next_event(stream: &mut tokio::net::TcpStream) -> Value {
    use tokio::io::AsyncReadExt;
    let read = async {
        let opcode = stream.read_u8().await.expect("the socket works");
        assert_eq!(opcode, 0x81, "a final text frame");
        let length = match stream.read_u8().await.expect("the socket works") & 0x7f {
            126 => usize::from(stream.read_u16().await.expect("the socket works")),
            127 => usize::try_from(stream.read_u64().await.expect("the socket works"))
                .expect("the socket works"),
            short => usize::from(short),
        };
        let mut payload = vec![0; length];
        stream
            .read_exact(&mut payload)
            .await
            .expect("the socket works");
        serde_json::from_slice(&payload).expect("the socket works")
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), read)
        .await
        .expect("an event arrives")
}
