//! SIP over a byte stream (TCP): cutting messages out of the bytes a connection delivers.
//!
//! RFC 3261 §18.3: over a stream every message carries `Content-Length` (compact `l`), and
//! the body is exactly that long. Empty lines between messages are skipped; a lone
//! `CRLF CRLF` is a keep-alive ping (RFC 5626 §3.5.1) answered with `CRLF`. Anything that
//! loses the framing — a header section or a message beyond the size limit, a missing or
//! unreadable `Content-Length` — is an error, and the connection must be closed: there is
//! no telling where the next message starts.
//!
//! Sans-IO like the rest of `proto`: [`StreamFramer::push`] the bytes read, then take
//! [`StreamFramer::next_frame`] until it answers `Ok(None)`.

use thiserror::Error;

/// What a connection said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// One whole SIP message, header and body.
    Message(Vec<u8>),
    /// A keep-alive ping (`CRLF CRLF`): answer [`PONG`].
    Ping,
}

/// The answer to a keep-alive ping.
pub const PONG: &[u8] = b"\r\n";

/// Why the framing was lost.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    /// The message (or its header section) is longer than the limit.
    #[error("a message longer than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// No `Content-Length`: over a stream it is mandatory.
    #[error("a message without Content-Length (mandatory over TCP)")]
    MissingContentLength,
    /// A `Content-Length` that is not a number, or two that differ.
    #[error("an unreadable Content-Length")]
    BadContentLength,
}

/// Cuts messages out of one connection's bytes.
#[derive(Debug)]
pub struct StreamFramer {
    buffer: Vec<u8>,
    max_message: usize,
}

impl StreamFramer {
    /// A framer for messages of at most `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        StreamFramer {
            buffer: Vec::new(),
            max_message,
        }
    }

    /// Bytes read from the connection.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// How many bytes wait for the rest of their message.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// The next frame, `Ok(None)` until one is whole.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if self.buffer.starts_with(b"\r\n\r\n") {
            self.buffer.drain(..4);
            return Ok(Some(Frame::Ping));
        }
        let blank = self
            .buffer
            .iter()
            .take_while(|&&byte| byte == b'\r' || byte == b'\n')
            .count();
        // A lone CR LF may be the first half of a ping: wait for the rest.
        if blank == self.buffer.len() && blank < 4 {
            return Ok(None);
        }
        self.buffer.drain(..blank);
        let Some(header_end) = find(&self.buffer, b"\r\n\r\n") else {
            return if self.buffer.len() > self.max_message {
                Err(FrameError::TooLarge {
                    limit: self.max_message,
                })
            } else {
                Ok(None)
            };
        };
        let body_start = header_end + 4;
        let length = content_length(&self.buffer[..header_end])?;
        let total = body_start
            .checked_add(length)
            .filter(|&total| total <= self.max_message)
            .ok_or(FrameError::TooLarge {
                limit: self.max_message,
            })?;
        if self.buffer.len() < total {
            return Ok(None);
        }
        let message = self.buffer.drain(..total).collect();
        Ok(Some(Frame::Message(message)))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The header section's `Content-Length` (or `l`); every occurrence must agree.
fn content_length(header: &[u8]) -> Result<usize, FrameError> {
    let mut found = None;
    for line in header.split(|&byte| byte == b'\n') {
        let Some(colon) = line.iter().position(|&byte| byte == b':') else {
            continue;
        };
        let name = line[..colon].trim_ascii();
        if !(name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l")) {
            continue;
        }
        let value = std::str::from_utf8(line[colon + 1..].trim_ascii())
            .ok()
            .filter(|value| !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|value| value.parse::<usize>().ok())
            .ok_or(FrameError::BadContentLength)?;
        if found.is_some_and(|earlier| earlier != value) {
            return Err(FrameError::BadContentLength);
        }
        found = Some(value);
    }
    found.ok_or(FrameError::MissingContentLength)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:ramal@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n";
    const WITH_BODY: &[u8] = b"MESSAGE sip:a@b SIP/2.0\r\nl: 5\r\n\r\nhello";

    fn frames(framer: &mut StreamFramer) -> Result<Vec<Frame>, FrameError> {
        let mut out = Vec::new();
        while let Some(frame) = framer.next_frame()? {
            out.push(frame);
        }
        Ok(out)
    }

    #[test]
    fn messages_are_cut_by_their_content_length() {
        let mut framer = StreamFramer::new(65_535);
        framer.push(OPTIONS);
        framer.push(WITH_BODY);
        framer.push(&WITH_BODY[..10]);
        assert_eq!(
            frames(&mut framer),
            Ok(vec![
                Frame::Message(OPTIONS.to_vec()),
                Frame::Message(WITH_BODY.to_vec())
            ])
        );
        assert_eq!(framer.buffered(), 10, "the partial message waits");
        framer.push(&WITH_BODY[10..]);
        assert_eq!(
            frames(&mut framer),
            Ok(vec![Frame::Message(WITH_BODY.to_vec())])
        );
        assert_eq!(framer.buffered(), 0);
    }

    #[test]
    fn a_keep_alive_is_a_ping_and_stray_line_ends_are_skipped() {
        let mut framer = StreamFramer::new(65_535);
        framer.push(b"\r\n");
        assert_eq!(frames(&mut framer), Ok(vec![]), "half a ping waits");
        framer.push(b"\r\n");
        assert_eq!(frames(&mut framer), Ok(vec![Frame::Ping]));
        framer.push(b"\r\n");
        framer.push(OPTIONS);
        assert_eq!(
            frames(&mut framer),
            Ok(vec![Frame::Message(OPTIONS.to_vec())])
        );
    }

    #[test]
    fn what_loses_the_framing_is_an_error() {
        let mut framer = StreamFramer::new(65_535);
        framer.push(b"OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n");
        assert_eq!(framer.next_frame(), Err(FrameError::MissingContentLength));

        let mut framer = StreamFramer::new(65_535);
        framer.push(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -3\r\n\r\n");
        assert_eq!(framer.next_frame(), Err(FrameError::BadContentLength));

        let mut framer = StreamFramer::new(65_535);
        framer.push(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nab");
        assert_eq!(framer.next_frame(), Err(FrameError::BadContentLength));

        let mut framer = StreamFramer::new(100);
        framer.push(b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 18446744073709551615\r\n\r\n");
        assert_eq!(
            framer.next_frame(),
            Err(FrameError::TooLarge { limit: 100 }),
            "a length that would overflow"
        );

        let mut framer = StreamFramer::new(100);
        framer.push(&[b'a'; 101]);
        assert_eq!(
            framer.next_frame(),
            Err(FrameError::TooLarge { limit: 100 }),
            "a header section that never ends"
        );
    }

    proptest! {
        /// However the connection splits the bytes, the same messages come out.
        #[test]
        fn any_split_gives_the_same_messages(cuts in proptest::collection::vec(0usize..300, 0..8)) {
            let mut stream = Vec::new();
            for _ in 0..3 {
                stream.extend_from_slice(OPTIONS);
                stream.extend_from_slice(b"\r\n");
                stream.extend_from_slice(WITH_BODY);
            }
            let mut cuts: Vec<usize> = cuts.into_iter().map(|cut| cut % (stream.len() + 1)).collect();
            cuts.sort_unstable();
            let mut framer = StreamFramer::new(65_535);
            let mut out = Vec::new();
            let mut from = 0;
            for cut in cuts.into_iter().chain([stream.len()]) {
                framer.push(&stream[from..cut]);
                from = cut;
                out.extend(frames(&mut framer).expect("well framed"));
            }
            let expected: Vec<Frame> = (0..3)
                .flat_map(|_| [Frame::Message(OPTIONS.to_vec()), Frame::Message(WITH_BODY.to_vec())])
                .collect();
            prop_assert_eq!(out, expected);
        }

        /// Garbage is an error or a wait, never a panic.
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut framer = StreamFramer::new(256);
            framer.push(&bytes);
            for _ in 0..600 {
                match framer.next_frame() {
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }
}
