//! RTP sessions over tokio UDP: one [`RtpSession`] per call leg plays prompts and sends
//! RFC 4733 digits to the peer, and reports the peer's digits (RFC 4733 or in-band) and its
//! silence as [`MediaEvent`]s.
//!
//! Each session is a tokio task owning the socket; the [`RtpSession`] handle talks to it over
//! channels and aborts it when dropped.
//!
//! - **Pacing.** A `tokio::time::interval` of 20 ms with [`MissedTickBehavior::Delay`]: one
//!   packet per tick at most, never a burst after a late tick (the stream then runs slightly
//!   slow instead). The sender never paces itself.
//! - **Numbering.** SSRC, first sequence number and first timestamp are random per session.
//!   The RTP clock advances 160 per tick whether or not a packet goes out, so timestamps
//!   track real time across prompts and gaps; sequence numbers advance per packet. The first
//!   packet after a tick without one carries the marker bit.
//! - **Silence.** When nothing plays, nothing is sent (no comfort noise, no zero frames).
//! - **Playback.** [`RtpSession::play`] replaces whatever was playing; a prompt that ends
//!   by itself reports [`MediaEvent::PlaybackFinished`], one stopped by
//!   [`RtpSession::stop`] or replaced by another `play` reports nothing. A digit being
//!   sent pauses the prompt for its six packets.
//! - **Latching** (symmetric RTP). Until the first valid packet of a negotiated payload type
//!   arrives, packets go to the address given to [`RtpSession::set_remote`]; that first
//!   packet's source becomes the remote address, and later packets from any other address are
//!   dropped. Calling `set_remote` again un-latches.
//! - **Timeout.** [`MediaEvent::RtpTimeout`] is reported once when no packet has arrived for
//!   [`SessionConfig::rtp_timeout`] since `set_remote` or the last packet, and again only
//!   after packets resume and stop again.
//! - **Bridging.** [`RtpSession::relay_to`] sends the peer's audio, decoded and cut into
//!   20 ms frames, to another session, which sends it on its own clock and in its own codec
//!   (so a PCMU leg and a PCMA leg bridge); prompts and digits take precedence over relayed
//!   audio, and at most [`LIVE_DEPTH`] relayed frames wait (no delay builds up).
//! - **Recording.** [`RtpSession::record_to`] copies both directions — the peer's audio and
//!   what this session sends (prompts or relayed audio) — as [`RecordedFrame`]s to a
//!   [`crate::record::Recorder`]. A full recorder loses frames, never stalls the call.
//! - RTCP is neither sent nor read (the odd port is not reserved).

mod outbound;
mod task;

pub use outbound::{Frame, LIVE_DEPTH};

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use thiserror::Error;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
#[cfg(doc)]
use tokio::time::MissedTickBehavior;

use crate::codec::Codec;
use crate::dtmf::rfc4733::TelephoneEvent;
use crate::prompt::Pcm;

/// Default [`SessionConfig::rtp_timeout`].
pub const DEFAULT_RTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Identifies one [`RtpSession::play`], chosen by the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PlaybackId(pub u64);

/// Something that happened on a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaEvent {
    /// A prompt played to its end (not reported for stopped or replaced prompts).
    PlaybackFinished {
        /// The prompt.
        id: PlaybackId,
    },
    /// The peer pressed a key (RFC 4733 or in-band, each press once).
    Digit {
        /// `0`–`9`, `*`, `#` or `A`–`D`.
        key: char,
    },
    /// No packet arrived for [`SessionConfig::rtp_timeout`].
    RtpTimeout,
}

/// A session's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// How long without inbound packets before [`MediaEvent::RtpTimeout`].
    pub rtp_timeout: Duration,
    /// Window within which one key from both RFC 4733 and the audio is one press (ms).
    pub dtmf_dedup_window_ms: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            rtp_timeout: DEFAULT_RTP_TIMEOUT,
            dtmf_dedup_window_ms: crate::dtmf::DEFAULT_DEDUP_WINDOW_MS,
        }
    }
}

/// Why a session could not be created or asked something.
#[derive(Debug, Error)]
pub enum SessionError {
    /// Every even port in the range is taken.
    #[error("no free even UDP port on {ip} in {first}..={last}")]
    NoFreePort {
        /// The address to bind.
        ip: IpAddr,
        /// First port of the range.
        first: u16,
        /// Last port of the range.
        last: u16,
    },
    /// Binding failed for a reason other than the port being taken.
    #[error("could not bind UDP {addr}")]
    Bind {
        /// The address tried.
        addr: SocketAddr,
        /// The error from the OS.
        #[source]
        source: io::Error,
    },
    /// The key is not a DTMF key.
    #[error("{key:?} is not a DTMF key")]
    NotDtmf {
        /// The key given.
        key: char,
    },
    /// No telephone-event payload type was negotiated (see [`RtpSession::set_remote`]).
    #[error("the peer did not negotiate telephone-event")]
    NoTelephoneEvent,
}

/// Requests from the handle to the task.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "a relayed frame travels by value: boxing would allocate 50 times a second per leg"
)]
enum Command {
    SetRemote {
        addr: SocketAddr,
        codec: Codec,
        telephone_event_pt: Option<u8>,
    },
    Play {
        id: PlaybackId,
        pcm: Pcm,
        looped: bool,
    },
    Stop {
        id: PlaybackId,
    },
    SendDigit {
        key: char,
    },
    RelayTo(Option<AudioSink>),
    Live(Frame),
    RecordTo(Tap, Option<mpsc::Sender<RecordedFrame>>),
}

/// The session's two recording taps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tap {
    /// The whole call.
    Call = 0,
    /// A message (voicemail).
    Message = 1,
}

/// Where a session's relayed audio goes: another session (see [`RtpSession::relay_to`]).
#[derive(Debug, Clone)]
pub struct AudioSink {
    commands: mpsc::UnboundedSender<Command>,
}

/// Which way a recorded frame went, seen from the session's peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The peer's audio (the caller, on the caller's leg).
    Received,
    /// What the session sent to the peer (prompts, or the far end's relayed audio).
    Sent,
}

/// One 20 ms frame for a recording, with when it was heard.
#[derive(Clone, Copy, Debug)]
pub struct RecordedFrame {
    /// Which way it went.
    pub direction: Direction,
    /// When it was received or sent.
    pub at: std::time::Instant,
    /// The samples.
    pub samples: Frame,
}

/// Where the next port search starts (an offset into the range): calls take ports in turn,
/// so a range with many calls up is not scanned from its first port by every new call.
static NEXT_PORT: AtomicU32 = AtomicU32::new(0);

/// The even, non-zero ports of `first..=last`, starting `offset` ports in and wrapping.
fn candidate_ports(first: u16, last: u16, offset: u32) -> impl Iterator<Item = u16> {
    let start = u32::from(first) + u32::from(first % 2);
    let last = u32::from(last);
    let count = if last >= start {
        (last - start) / 2 + 1
    } else {
        0
    };
    let skip = if count == 0 { 0 } else { (offset / 2) % count };
    (0..count)
        .filter_map(move |index| u16::try_from(start + 2 * ((index + skip) % count)).ok())
        .filter(|port| *port != 0)
}

/// One call leg's RTP: a UDP socket on an even port and the task that serves it.
#[derive(Debug)]
pub struct RtpSession {
    local: SocketAddr,
    telephone_event_pt: Option<u8>,
    commands: mpsc::UnboundedSender<Command>,
    events: mpsc::UnboundedReceiver<MediaEvent>,
    task: JoinHandle<()>,
}

impl RtpSession {
    /// Binds the first free even port of `ports` on `ip` and starts the session's task (on
    /// the current tokio runtime). Nothing is sent until [`RtpSession::set_remote`].
    pub async fn bind(
        ip: IpAddr,
        ports: RangeInclusive<u16>,
        config: SessionConfig,
    ) -> Result<RtpSession, SessionError> {
        let (first, last) = (*ports.start(), *ports.end());
        let mut socket = None;
        for port in candidate_ports(first, last, NEXT_PORT.fetch_add(2, Ordering::Relaxed)) {
            let addr = SocketAddr::new(ip, port);
            match UdpSocket::bind(addr).await {
                Ok(bound) => {
                    socket = Some(bound);
                    break;
                }
                Err(error) if error.kind() == io::ErrorKind::AddrInUse => {}
                Err(source) => return Err(SessionError::Bind { addr, source }),
            }
        }
        let socket = socket.ok_or(SessionError::NoFreePort { ip, first, last })?;
        let local = socket.local_addr().map_err(|source| SessionError::Bind {
            addr: SocketAddr::new(ip, first),
            source,
        })?;
        let (commands, command_receiver) = mpsc::unbounded_channel();
        let (event_sender, events) = mpsc::unbounded_channel();
        let task = tokio::spawn(task::run(
            Arc::new(socket),
            config,
            command_receiver,
            event_sender,
        ));
        Ok(RtpSession {
            local,
            telephone_event_pt: None,
            commands,
            events,
            task,
        })
    }

    /// The bound port (even).
    pub fn local_port(&self) -> u16 {
        self.local.port()
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Where to send and what was negotiated: the audio codec and the telephone-event
    /// payload type, if any. Starts the RTP timeout and forgets any latched address.
    pub fn set_remote(&mut self, addr: SocketAddr, codec: Codec, telephone_event_pt: Option<u8>) {
        self.telephone_event_pt = telephone_event_pt;
        self.command(Command::SetRemote {
            addr,
            codec,
            telephone_event_pt,
        });
    }

    /// Plays `pcm` from its start, replacing whatever was playing; `looped` repeats it until
    /// stopped or replaced.
    pub fn play(&self, id: PlaybackId, pcm: Pcm, looped: bool) {
        self.command(Command::Play { id, pcm, looped });
    }

    /// Stops `id` if it is still playing; no [`MediaEvent::PlaybackFinished`] follows.
    pub fn stop(&self, id: PlaybackId) {
        self.command(Command::Stop { id });
    }

    /// Sends a key as RFC 4733 events (three packets while down, the end packet three times),
    /// after any keys still being sent.
    pub fn send_digit(&self, key: char) -> Result<(), SessionError> {
        TelephoneEvent::dtmf(key, false, 0, 0).map_err(|_| SessionError::NotDtmf { key })?;
        if self.telephone_event_pt.is_none() {
            return Err(SessionError::NoTelephoneEvent);
        }
        self.command(Command::SendDigit { key });
        Ok(())
    }

    /// A handle other sessions relay their audio into (see [`RtpSession::relay_to`]).
    pub fn audio_sink(&self) -> AudioSink {
        AudioSink {
            commands: self.commands.clone(),
        }
    }

    /// Sends the peer's audio, from now on, to `sink` (another session's
    /// [`RtpSession::audio_sink`]); `None` stops relaying. Bridging two legs is each
    /// relaying to the other.
    pub fn relay_to(&self, sink: Option<AudioSink>) {
        self.command(Command::RelayTo(sink));
    }

    /// Copies both directions of this leg's audio to `recorder` from now on; `None` stops.
    pub fn record_to(&self, recorder: Option<mpsc::Sender<RecordedFrame>>) {
        self.command(Command::RecordTo(Tap::Call, recorder));
    }

    /// As [`Self::record_to`], on a second, independent tap — a voicemail message taken
    /// while the whole call is also being recorded.
    pub fn record_message_to(&self, recorder: Option<mpsc::Sender<RecordedFrame>>) {
        self.command(Command::RecordTo(Tap::Message, recorder));
    }

    /// The next event, waiting for it; `None` only if the task has ended.
    pub async fn next_event(&mut self) -> Option<MediaEvent> {
        self.events.recv().await
    }

    /// The next event if one is waiting.
    pub fn try_next_event(&mut self) -> Option<MediaEvent> {
        self.events.try_recv().ok()
    }

    fn command(&self, command: Command) {
        // The task only ends when this handle is dropped (or it panicked, in which case
        // there is nobody left to tell).
        let _ = self.commands.send(command);
    }
}

impl Drop for RtpSession {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests;
