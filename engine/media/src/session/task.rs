//! The task behind an [`RtpSession`](super::RtpSession): one loop that ticks every 20 ms
//! (send a packet, check the RTP timeout), receives datagrams (latch, parse, detect digits)
//! and obeys the handle's commands. Buffers are reused: no allocation per packet.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rtc_rtp::Header;
use rtc_shared::marshal::Unmarshal;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use super::outbound::{Frame, MAX_PACKET, Outbound, Target};
use super::{AudioSink, Command, Direction, MediaEvent, RecordedFrame, SessionConfig};
use crate::codec::{Codec, FRAME_SAMPLES};
use crate::dtmf::DigitStream;

/// The packet interval.
const TICK: Duration = Duration::from_millis(20);
/// Largest datagram read.
const MAX_DATAGRAM: usize = 1500;

/// The peer, as negotiated and (once a packet arrived) latched.
#[derive(Clone, Copy, Debug)]
struct Remote {
    addr: SocketAddr,
    codec: Codec,
    telephone_event_pt: Option<u8>,
    latched: bool,
}

/// Everything the loop owns besides the socket and channels.
struct State {
    config: SessionConfig,
    started: Instant,
    remote: Option<Remote>,
    outbound: Outbound,
    digits: DigitStream,
    decoded: Vec<i16>,
    last_received: Instant,
    timed_out: bool,
    events: mpsc::UnboundedSender<MediaEvent>,
    relay: Option<AudioSink>,
    /// The recording taps, by [`super::Tap`].
    recorders: [Option<mpsc::Sender<RecordedFrame>>; 2],
    /// The peer's samples not yet making a whole frame (for relaying and recording).
    partial: Frame,
    partial_len: usize,
}

/// Runs the session until the handle drops its command sender.
pub(super) async fn run(
    socket: Arc<UdpSocket>,
    config: SessionConfig,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<MediaEvent>,
) {
    let now = Instant::now();
    let mut state = State {
        config,
        started: now,
        remote: None,
        outbound: Outbound::new(fastrand::u32(..), fastrand::u16(..), fastrand::u32(..)),
        digits: DigitStream::new(config.dtmf_dedup_window_ms),
        decoded: Vec::with_capacity(MAX_DATAGRAM),
        last_received: now,
        timed_out: false,
        events,
        relay: None,
        recorders: [None, None],
        partial: [0; FRAME_SAMPLES],
        partial_len: 0,
    };
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut datagram = [0u8; MAX_DATAGRAM];
    let mut packet = [0u8; MAX_PACKET];
    loop {
        tokio::select! {
            received = socket.recv_from(&mut datagram) => {
                // Errors (e.g. ICMP unreachable reported on some systems) are not fatal.
                if let Ok((len, from)) = received {
                    state.receive(&datagram[..len], from);
                }
            }
            _ = ticks.tick() => {
                if let Some((len, to)) = state.tick(&mut packet) {
                    // A failed send is a lost packet; RTP carries on.
                    let _ = socket.send_to(&packet[..len], to).await;
                }
            }
            command = commands.recv() => match command {
                Some(command) => state.obey(command),
                None => break,
            },
        }
    }
}

impl State {
    fn emit(&self, event: MediaEvent) {
        // Nobody listening means the handle is gone and the task is about to stop.
        let _ = self.events.send(event);
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn obey(&mut self, command: Command) {
        match command {
            Command::SetRemote {
                addr,
                codec,
                telephone_event_pt,
            } => {
                self.remote = Some(Remote {
                    addr,
                    codec,
                    telephone_event_pt,
                    latched: false,
                });
                self.last_received = Instant::now();
                self.timed_out = false;
            }
            Command::Play { id, pcm, looped } => self.outbound.play(id, pcm, looped),
            Command::Stop { id } => {
                self.outbound.stop(id);
            }
            Command::SendDigit { key } => self.outbound.queue_digit(key),
            Command::RelayTo(sink) => {
                self.relay = sink;
                self.partial_len = 0;
            }
            Command::Live(frame) => self.outbound.push_live(frame),
            Command::RecordTo(tap, recorder) => self.recorders[tap as usize] = recorder,
        }
    }

    fn record(&self, direction: Direction, samples: Frame) {
        let frame = RecordedFrame {
            direction,
            at: std::time::Instant::now(),
            samples,
        };
        for recorder in self.recorders.iter().flatten() {
            // A recorder that falls behind loses frames; the call never waits for it.
            let _ = recorder.try_send(frame);
        }
    }

    /// The peer's decoded samples, cut into whole frames for the relay and the recorder.
    fn forward_received(&mut self) {
        if self.relay.is_none() && self.recorders.iter().all(Option::is_none) {
            return;
        }
        let mut offset = 0;
        while offset < self.decoded.len() {
            let take = (FRAME_SAMPLES - self.partial_len).min(self.decoded.len() - offset);
            self.partial[self.partial_len..self.partial_len + take]
                .copy_from_slice(&self.decoded[offset..offset + take]);
            self.partial_len += take;
            offset += take;
            if self.partial_len == FRAME_SAMPLES {
                self.partial_len = 0;
                let frame = self.partial;
                if let Some(relay) = &self.relay {
                    // The other leg ended: its frames have nowhere to go.
                    let _ = relay.commands.send(Command::Live(frame));
                }
                self.record(Direction::Received, frame);
            }
        }
    }

    /// One tick: the packet to send, if any, and the RTP timeout check.
    fn tick(&mut self, packet: &mut [u8; MAX_PACKET]) -> Option<(usize, SocketAddr)> {
        let target = self.remote.map(|remote| Target {
            codec: remote.codec,
            telephone_event_pt: remote.telephone_event_pt,
        });
        let tick = self.outbound.tick(target, packet);
        if let Some(id) = tick.finished {
            self.emit(MediaEvent::PlaybackFinished { id });
        }
        if let Some(audio) = tick.audio {
            self.record(Direction::Sent, audio);
        }
        let remote = self.remote?;
        if !self.timed_out && self.last_received.elapsed() >= self.config.rtp_timeout {
            self.timed_out = true;
            self.emit(MediaEvent::RtpTimeout);
        }
        tick.packet_len.map(|len| (len, remote.addr))
    }

    /// One datagram: dropped unless it is RTP of a negotiated payload type from the peer (or,
    /// before latching, from anywhere).
    fn receive(&mut self, datagram: &[u8], from: SocketAddr) {
        let Some(remote) = self.remote.as_mut() else {
            return;
        };
        if remote.latched && from != remote.addr {
            return;
        }
        let mut reader = datagram;
        let Ok(header) = Header::unmarshal(&mut reader) else {
            return;
        };
        if header.version != 2 {
            return;
        }
        let mut payload = reader;
        if header.padding {
            let padding = payload.last().map_or(0, |&last| usize::from(last));
            let Some(kept) = payload.len().checked_sub(padding) else {
                return;
            };
            payload = &payload[..kept];
        }
        let is_event = remote.telephone_event_pt == Some(header.payload_type);
        let is_audio = header.payload_type == remote.codec.payload_type();
        if !is_event && !is_audio {
            return;
        }
        remote.addr = from;
        remote.latched = true;
        let codec = remote.codec;
        self.last_received = Instant::now();
        self.timed_out = false;
        let now_ms = self.now_ms();
        if is_event {
            // A malformed event is ignored like any other bad packet.
            let _ = self.digits.handle_telephone_event(
                header.timestamp,
                header.marker,
                payload,
                now_ms,
            );
        } else {
            self.decoded.clear();
            codec.decode_into(
                &payload[..payload.len().min(MAX_DATAGRAM)],
                &mut self.decoded,
            );
            self.digits.handle_samples(&self.decoded, now_ms);
            self.forward_received();
        }
        while let Some(digit) = self.digits.poll_digit() {
            self.emit(MediaEvent::Digit { key: digit.key });
        }
    }
}
