//! The endpoint's TCP connections: accepted from peers on the endpoint's port, or opened to
//! a peer the user agent sends to over TCP (a TCP trunk). Each connection is one task that
//! reads, frames ([`StreamFramer`]) and hands whole messages to the endpoint's task, and
//! writes what the endpoint queues for that peer. Connections are keyed by the peer's
//! address, which is what the user agent sends to.
//!
//! Limits: at most [`MAX_CONNECTIONS`] at once (more are closed at accept), messages no
//! longer than the transaction layer's limit (a longer one closes the connection, as does
//! any framing error), [`CONNECT_TIMEOUT`] to open one.

use crate::proto::framing::{Frame, PONG, StreamFramer};
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

/// What a connection tells the endpoint's task.
#[derive(Debug)]
pub(super) enum StreamInput {
    /// A whole message from `peer`.
    Message(SocketAddr, Vec<u8>),
    /// The connection with `peer` is gone (closed, broken, unframeable or never opened).
    Closed(SocketAddr),
}

/// Every connection's writer, and where their readers send.
#[derive(Debug)]
pub(super) struct Connections {
    writers: HashMap<SocketAddr, mpsc::UnboundedSender<Vec<u8>>>,
    inputs: mpsc::Sender<StreamInput>,
    max_message: usize,
}

impl Connections {
    pub(super) fn new(inputs: mpsc::Sender<StreamInput>, max_message: usize) -> Self {
        Connections {
            writers: HashMap::new(),
            inputs,
            max_message,
        }
    }

    /// A connection a peer opened; refused (closed) beyond [`MAX_CONNECTIONS`].
    pub(super) fn accepted(&mut self, stream: TcpStream, peer: SocketAddr) {
        if self.writers.len() >= MAX_CONNECTIONS {
            tracing::warn!(%peer, "too many SIP connections: closing the new one");
            return;
        }
        let _ = stream.set_nodelay(true);
        let (writer, queue) = mpsc::unbounded_channel();
        self.writers.insert(peer, writer.clone());
        let (read, write) = stream.into_split();
        tokio::spawn(read_messages(
            read,
            peer,
            self.max_message,
            self.inputs.clone(),
            writer,
        ));
        tokio::spawn(write_messages(write, queue));
    }

    /// Sends `bytes` to `peer` over its connection, opening one if there is none.
    pub(super) fn send(&mut self, peer: SocketAddr, bytes: Vec<u8>) {
        if let Some(writer) = self.writers.get(&peer)
            && writer.send(bytes.clone()).is_ok()
        {
            return;
        }
        if self.writers.len() >= MAX_CONNECTIONS {
            tracing::warn!(%peer, "too many SIP connections: not opening another");
            let _ = self.inputs.try_send(StreamInput::Closed(peer));
            return;
        }
        let (writer, queue) = mpsc::unbounded_channel();
        let _ = writer.send(bytes);
        self.writers.insert(peer, writer.clone());
        tokio::spawn(connect(
            peer,
            self.max_message,
            self.inputs.clone(),
            writer,
            queue,
        ));
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
    writer: mpsc::UnboundedSender<Vec<u8>>,
    queue: mpsc::UnboundedReceiver<Vec<u8>>,
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
    read_messages(read, peer, max_message, inputs, writer).await;
}

/// Reads until the peer closes or the framing is lost; every message goes to the
/// endpoint, a keep-alive ping is answered on `writer`.
async fn read_messages(
    mut read: OwnedReadHalf,
    peer: SocketAddr,
    max_message: usize,
    inputs: mpsc::Sender<StreamInput>,
    writer: mpsc::UnboundedSender<Vec<u8>>,
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
                Ok(Some(Frame::Message(message))) => {
                    if inputs
                        .send(StreamInput::Message(peer, message))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Ok(Some(Frame::Ping)) => {
                    let _ = writer.send(PONG.to_vec());
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
async fn write_messages(mut write: OwnedWriteHalf, mut queue: mpsc::UnboundedReceiver<Vec<u8>>) {
    while let Some(bytes) = queue.recv().await {
        if write.write_all(&bytes).await.is_err() {
            break;
        }
    }
    let _ = write.shutdown().await;
}
