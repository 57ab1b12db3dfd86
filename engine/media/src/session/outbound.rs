//! What a session sends on each 20 ms tick: the next packet of an RFC 4733 digit, or the next
//! frame of the prompt playing, or the next frame relayed from a bridged leg, or nothing. No IO and no clock: [`Outbound::tick`] is called
//! once per tick and writes at most one packet into the caller's buffer.

use std::collections::VecDeque;

use rtc_rtp::Header;
use rtc_shared::marshal::Marshal;

use super::PlaybackId;
use crate::codec::{Codec, FRAME_SAMPLES};
use crate::dtmf::rfc4733::TelephoneEvent;
use crate::prompt::Pcm;

/// Bytes of an RTP header without CSRCs or extensions.
pub const HEADER_LEN: usize = 12;
/// The largest packet [`Outbound::tick`] writes.
pub const MAX_PACKET: usize = HEADER_LEN + FRAME_SAMPLES;
/// Packets of one RFC 4733 event: three while the key is down, then the end packet three
/// times.
const EVENT_PACKETS: u8 = 6;
/// The key-down packets before the end packets.
const EVENT_DOWN_PACKETS: u8 = 3;
/// Volume of our RFC 4733 events, in −dBm0.
const EVENT_VOLUME: u8 = 10;
/// Relayed frames kept waiting at most (80 ms): a bridged leg that sends faster than our
/// clock loses its oldest frames instead of building up delay.
pub const LIVE_DEPTH: usize = 4;

/// One 20 ms frame of 8 kHz audio.
pub type Frame = [i16; FRAME_SAMPLES];

/// The prompt being played.
#[derive(Debug)]
struct Playing {
    id: PlaybackId,
    pcm: Pcm,
    frame: usize,
    looped: bool,
}

/// The digit being sent.
#[derive(Debug)]
struct Sending {
    key: char,
    timestamp: u32,
    packet: u8,
}

/// Where the packets go, as far as the sender cares.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// The audio codec.
    pub codec: Codec,
    /// The negotiated telephone-event payload type, if any.
    pub telephone_event_pt: Option<u8>,
}

/// The outbound half of a session: sequence numbers, timestamps, the player and the digits
/// queued for sending.
#[derive(Debug)]
pub struct Outbound {
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    sent_last_tick: bool,
    playing: Option<Playing>,
    digits: VecDeque<char>,
    sending: Option<Sending>,
    live: VecDeque<Frame>,
}

/// What one tick produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tick {
    /// The length of the packet written to the buffer, if one was.
    pub packet_len: Option<usize>,
    /// The prompt whose last frame this tick sent (or that was empty).
    pub finished: Option<PlaybackId>,
    /// The audio this tick sent (a prompt's or a relayed frame), for recording.
    pub audio: Option<Frame>,
}

impl Outbound {
    /// A sender with this SSRC, first sequence number and first timestamp (random per
    /// session, RFC 3550 section 5.1).
    pub fn new(ssrc: u32, sequence: u16, timestamp: u32) -> Outbound {
        Outbound {
            ssrc,
            sequence,
            timestamp,
            sent_last_tick: false,
            playing: None,
            digits: VecDeque::new(),
            sending: None,
            live: VecDeque::with_capacity(LIVE_DEPTH),
        }
    }

    /// Queues a frame relayed from a bridged leg, sent when no prompt or digit is; beyond
    /// [`LIVE_DEPTH`] the oldest waiting frame is dropped.
    pub fn push_live(&mut self, frame: Frame) {
        if self.live.len() >= LIVE_DEPTH {
            self.live.pop_front();
        }
        self.live.push_back(frame);
    }

    /// Starts `pcm`, replacing (silently stopping) whatever was playing.
    pub fn play(&mut self, id: PlaybackId, pcm: Pcm, looped: bool) {
        self.playing = Some(Playing {
            id,
            pcm,
            frame: 0,
            looped,
        });
    }

    /// Stops `id` if it is playing; returns whether it was.
    pub fn stop(&mut self, id: PlaybackId) -> bool {
        let playing = self.playing.as_ref().is_some_and(|p| p.id == id);
        if playing {
            self.playing = None;
        }
        playing
    }

    /// Queues a DTMF key (already validated) to send as RFC 4733 events.
    pub fn queue_digit(&mut self, key: char) {
        self.digits.push_back(key);
    }

    /// One 20 ms tick: writes the next packet for `target` into `buffer`, if there is one.
    /// Digits take precedence over the prompt, which pauses while a digit is sent. The RTP
    /// clock advances 160 every tick, packet or not; the sequence number only per packet.
    pub fn tick(&mut self, target: Option<Target>, buffer: &mut [u8; MAX_PACKET]) -> Tick {
        let mut tick = Tick::default();
        if let Some(target) = target {
            tick.packet_len = self.next_event_packet(target, buffer);
            if tick.packet_len.is_none() {
                tick.packet_len =
                    self.next_audio_packet(target, buffer, &mut tick.finished, &mut tick.audio);
            }
            if tick.packet_len.is_none() && tick.finished.is_none() {
                tick.packet_len = self.next_live_packet(target, buffer, &mut tick.audio);
            } else if tick.packet_len.is_some() {
                // A prompt or a digit is going out: relayed audio waits no longer than it
                // would be heard late.
                self.live.pop_front();
            }
        } else {
            // Nowhere to send yet: the prompt still runs on the clock.
            tick.finished = self.advance_without_sending();
            self.live.clear();
        }
        self.sent_last_tick = tick.packet_len.is_some();
        self.timestamp = self.timestamp.wrapping_add(FRAME_SAMPLES as u32);
        tick
    }

    fn advance_without_sending(&mut self) -> Option<PlaybackId> {
        let playing = self.playing.as_mut()?;
        playing.frame += 1;
        if playing.frame < playing.pcm.frame_count() {
            None
        } else if playing.looped && playing.pcm.frame_count() > 0 {
            playing.frame = 0;
            None
        } else {
            self.playing.take().map(|p| p.id)
        }
    }

    fn next_event_packet(
        &mut self,
        target: Target,
        buffer: &mut [u8; MAX_PACKET],
    ) -> Option<usize> {
        let Some(payload_type) = target.telephone_event_pt else {
            self.digits.clear();
            self.sending = None;
            return None;
        };
        if self.sending.is_none() {
            let key = self.digits.pop_front()?;
            self.sending = Some(Sending {
                key,
                timestamp: self.timestamp,
                packet: 0,
            });
        }
        let sending = self.sending.as_mut()?;
        let packet = sending.packet;
        let end = packet >= EVENT_DOWN_PACKETS;
        let ticks = u16::from(packet.min(EVENT_DOWN_PACKETS) + 1);
        let event =
            TelephoneEvent::dtmf(sending.key, end, EVENT_VOLUME, ticks * FRAME_SAMPLES as u16);
        let (timestamp, marker) = (sending.timestamp, packet == 0);
        sending.packet += 1;
        if sending.packet >= EVENT_PACKETS {
            self.sending = None;
        }
        let payload = event.ok()?.to_bytes();
        let len = self.write_header(buffer, payload_type, marker, timestamp)?;
        buffer[len..len + payload.len()].copy_from_slice(&payload);
        Some(len + payload.len())
    }

    fn next_audio_packet(
        &mut self,
        target: Target,
        buffer: &mut [u8; MAX_PACKET],
        finished: &mut Option<PlaybackId>,
        audio: &mut Option<Frame>,
    ) -> Option<usize> {
        let playing = self.playing.as_mut()?;
        if playing.frame >= playing.pcm.frame_count() {
            if playing.looped && playing.pcm.frame_count() > 0 {
                playing.frame = 0;
            } else {
                *finished = self.playing.take().map(|p| p.id);
                return None;
            }
        }
        let frame = playing.pcm.frame(playing.frame)?;
        playing.frame += 1;
        if playing.frame >= playing.pcm.frame_count() && !playing.looped {
            *finished = self.playing.take().map(|p| p.id);
        }
        let marker = !self.sent_last_tick;
        let len = self.write_header(buffer, target.codec.payload_type(), marker, self.timestamp)?;
        let payload = target.codec.encode_frame(&frame);
        buffer[len..len + FRAME_SAMPLES].copy_from_slice(&payload);
        *audio = Some(frame);
        Some(len + FRAME_SAMPLES)
    }

    fn next_live_packet(
        &mut self,
        target: Target,
        buffer: &mut [u8; MAX_PACKET],
        audio: &mut Option<Frame>,
    ) -> Option<usize> {
        let frame = self.live.pop_front()?;
        let marker = !self.sent_last_tick;
        let len = self.write_header(buffer, target.codec.payload_type(), marker, self.timestamp)?;
        let payload = target.codec.encode_frame(&frame);
        buffer[len..len + FRAME_SAMPLES].copy_from_slice(&payload);
        *audio = Some(frame);
        Some(len + FRAME_SAMPLES)
    }

    /// Writes a header with the next sequence number; returns its length.
    fn write_header(
        &mut self,
        buffer: &mut [u8; MAX_PACKET],
        payload_type: u8,
        marker: bool,
        timestamp: u32,
    ) -> Option<usize> {
        let header = Header {
            version: 2,
            marker,
            payload_type,
            sequence_number: self.sequence,
            timestamp,
            ssrc: self.ssrc,
            ..Header::default()
        };
        let len = header.marshal_to(&mut buffer[..HEADER_LEN]).ok()?;
        self.sequence = self.sequence.wrapping_add(1);
        Some(len)
    }
}
