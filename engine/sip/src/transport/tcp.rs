//! The endpoint's TCP connections: accepted from peers on the endpoint's port, or opened to
//! a peer the user agent sends to over TCP (a TCP trunk). Each connection is one task that
//! reads, frames ([`StreamFramer`]) and hands whole messages to the endpoint's task, and
//! writes what the endpoint queues for that peer. Connections are keyed by the peer's
//! address, which is what the user agent sends to.
//!
//! Limits: at most [`MAX_CONNECTIONS`] at once (more are closed at accept), messages no
//! longer than the transaction layer's limit (a longer one closes the connection, as does
//! any framing error), [`CONNECT_TIMEOUT`] to open one, and [`MAX_QUEUED`] messages waiting
//! to be written: a peer that stops reading has its connection closed rather than growing
//! our memory.

use crate::proto::framing::{Frame, StreamFramer};
use core::net::SocketAddr;
use std::collections::HashMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

/// Connections alive at once, accepted and opened.
pub const MAX_CONNECTIONS: usize = 4096;

/// How long opening a connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Messages queued for one connection before it is given up as not reading (a trunk's
/// one connection may carry thousands of calls a second; the kernel's socket buffer is
/// in front of this queue).
pub const MAX_QUEUED: usize = 4096;

/// What a connection tells the endpoint's task.
#[derive(Debug)]
pub(super) enum StreamInput {
    /// A whole message from `peer`.
    Message(SocketAddr, Vec<u8>),
    /// A keep-alive ping from `peer`, to be answered.
    Ping(SocketAddr),
    /// The connection with `peer` is gone (closed, broken, unframeable or never opened).
    Closed(SocketAddr),
}

/// Every connection's writer, and where their readers send.
#[derive(Debug)]
pub(super) struct Connections {
    /// The only sender of each connection's write queue: forgetting it ends the writer.
    writers: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>,
    inputs: mpsc::Sender<StreamInput>,
    max_message: usize,
    max_queued: usize,
}

impl Connections {
    pub(super) fn new(inputs: mpsc::Sender<StreamInput>, max_message: usize) -> Self {
        Connections {
            writers: HashMap::new(),
            inputs,
            max_message,
            max_queued: MAX_QUEUED,
        }
    }

    /// A connection a peer opened; refused (closed) beyond [`MAX_CONNECTIONS`].
    pub(super) fn accepted(&mut self, stream: TcpStream, peer: SocketAddr) {
        if self.writers.len() >= MAX_CONNECTIONS {
            tracing::warn!(%peer, "too many SIP connections: closing the new one");
            return;
        }
        let _ = stream.set_nodelay(true);
        let (writer, queue) = mpsc::channel(self.max_queued);
        self.writers.insert(peer, writer);
        let (read, write) = stream.into_split();
        tokio::spawn(read_messages(
            read,
            peer,
            self.max_message,
            self.inputs.clone(),
        ));
        tokio::spawn(write_messages(write, queue));
    }

    /// Sends `bytes` to `peer` over its connection, opening one if there is none.
    pub(super) fn send(&mut self, peer: SocketAddr, bytes: Vec<u8>) {
        if let Some(writer) = self.writers.get(&peer) {
            match writer.try_send(bytes) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!(%peer, "a SIP connection is not reading: closing it");
                    self.writers.remove(&peer);
                    return;
                }
                // The writer ended (a failed write): open a new connection.
                Err(mpsc::error::TrySendError::Closed(bytes)) => {
                    self.writers.remove(&peer);
                    self.open(peer, bytes);
                    return;
                }
            }
        }
        self.open(peer, bytes);
    }

    fn open(&mut self, peer: SocketAddr, bytes: Vec<u8>) {
        if self.writers.len() >= MAX_CONNECTIONS {
            tracing::warn!(%peer, "too many SIP connections: not opening another");
            let _ = self.inputs.try_send(StreamInput::Closed(peer));
            return;
        }
        let (writer, queue) = mpsc::channel(self.max_queued);
        let _ = writer.try_send(bytes);
        self.writers.insert(peer, writer);
        tokio::spawn(connect(peer, self.max_message, self.inputs.clone(), queue));
    }

    /// Forgets `peer`'s connection (its tasks end on their own).
    pub(super) fn closed(&mut self, peer: SocketAddr) {
        self.writers.remove(&peer);
    }
}

async fn connect(
    peer: SocketAddr,
    max_message: usize,
    inputs: mpsc::Sender<StreamInput>,
    queue: mpsc::Receiver<Vec<u8>>,
) {
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(peer)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            tracing::info!(%peer, %error, "cannot open a SIP connection");
            let _ = inputs.send(StreamInput::Closed(peer)).await;
            return;
        }
        Err(_) => {
            tracing::info!(%peer, "opening a SIP connection timed out");
            let _ = inputs.send(StreamInput::Closed(peer)).await;
            return;
        }
    };
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    tokio::spawn(write_messages(write, queue));
    read_messages(read, peer, max_message, inputs).await;
}

/// Reads until the peer closes or the framing is lost; every message and ping goes to the
/// endpoint.
async fn read_messages(
    mut read: OwnedReadHalf,
    peer: SocketAddr,
    max_message: usize,
    inputs: mpsc::Sender<StreamInput>,
) {
    let mut framer = StreamFramer::new(max_message);
    let mut buffer = vec![0u8; 16 * 1024];
    'connection: loop {
        let read = match read.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        framer.push(buffer.get(..read).unwrap_or_default());
        loop {
            match framer.next_frame() {
                Ok(Some(frame)) => {
                    let input = match frame {
                        Frame::Message(message) => StreamInput::Message(peer, message),
                        Frame::Ping => StreamInput::Ping(peer),
                    };
                    if inputs.send(input).await.is_err() {
                        return;
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    tracing::info!(%peer, %error, "closing a SIP connection");
                    break 'connection;
                }
            }
        }
    }
    let _ = inputs.send(StreamInput::Closed(peer)).await;
}

/// Writes what the endpoint queues, until it forgets the connection or a write fails.
async fn write_messages(mut write: OwnedWriteHalf, mut queue: mpsc::Receiver<Vec<u8>>) {
    while let Some(bytes) = queue.recv().await {
        if write.write_all(&bytes).await.is_err() {
            break;
        }
    }
    let _ = write.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A peer that connects and never reads: once the kernel's buffers and the queue are
    /// full, its connection is forgotten (and its writer ends) instead of queueing forever.
    #[tokio::test]
    async fn a_peer_that_never_reads_is_dropped_when_its_queue_is_full() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("loopback");
        let client = TcpStream::connect(listener.local_addr().expect("an address"))
            .await
            .expect("connects");
        let (stream, peer) = listener.accept().await.expect("accepts");
        let (inputs, _events) = mpsc::channel(16);
        let mut connections = Connections::new(inputs, 65_535);
        connections.max_queued = 4;
        connections.accepted(stream, peer);
        let message = vec![b'x'; 60_000];
        let mut sent = 0;
        while connections.writers.contains_key(&peer) {
            assert!(sent < 5_000, "never given up after {sent} messages");
            connections.send(peer, message.clone());
            sent += 1;
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(sent > 4, "the kernel's buffers come first: {sent}");
        drop(client);
    }
}
