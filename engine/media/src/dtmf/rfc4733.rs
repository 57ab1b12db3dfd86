//! RFC 4733 telephone events: the 4-byte payload (event, E bit, volume, duration) and
//! [`TelephoneEventReceiver`], which turns a stream of event packets into digits.
//!
//! Senders repeat every packet of an event: the start is usually marked and sent several
//! times, updates grow the duration, and the end packet (E bit) is sent three times. All
//! packets of one event share one RTP timestamp, and a new event gets a new one. The
//! receiver therefore **reports a digit on the first packet of a new timestamp** — not on the
//! end packet — so a digit is reported once, as early as possible, and still reported when
//! every end packet is lost (the end bit would only tell us the duration, which flows do not
//! use).

use thiserror::Error;

/// The DTMF keys in event-code order (RFC 4733 section 3.2: events 0–15).
const DTMF_KEYS: &[u8; 16] = b"0123456789*#ABCD";
/// A packet with a recent event's timestamp is a late duplicate if that event was seen within
/// this long; after that the timestamp counts as new (a sender restarted its timestamps).
const STALE_WINDOW_MS: u64 = 2_000;

/// Why a telephone-event payload was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum Rfc4733Error {
    /// The payload is shorter than the 4 bytes of one event.
    #[error("telephone-event payload has {len} bytes, needs 4")]
    TooShort {
        /// The payload's length.
        len: usize,
    },
    /// The character is not a DTMF key (0–9, *, #, A–D).
    #[error("{digit:?} is not a DTMF key")]
    NotDtmf {
        /// The character given.
        digit: char,
    },
}

/// One telephone event, as carried in an RTP payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code; 0–15 are the DTMF keys.
    pub event: u8,
    /// The E bit: this packet ends the event.
    pub end: bool,
    /// Power level in −dBm0 (0–63).
    pub volume: u8,
    /// Duration so far, in RTP timestamp units (samples at 8 kHz).
    pub duration: u16,
}

impl TelephoneEvent {
    /// The event for a DTMF key (`0`–`9`, `*`, `#`, `A`–`D`, also lower case).
    pub fn dtmf(digit: char, end: bool, volume: u8, duration: u16) -> Result<Self, Rfc4733Error> {
        let upper = digit.to_ascii_uppercase();
        let event = DTMF_KEYS
            .iter()
            .position(|&key| char::from(key) == upper)
            .ok_or(Rfc4733Error::NotDtmf { digit })?;
        Ok(TelephoneEvent {
            event: event as u8,
            end,
            volume: volume & 0x3F,
            duration,
        })
    }

    /// Parses the first event of a payload; any redundant events after it are ignored.
    pub fn parse(payload: &[u8]) -> Result<Self, Rfc4733Error> {
        let [event, flags, high, low, ..] = *payload else {
            return Err(Rfc4733Error::TooShort { len: payload.len() });
        };
        Ok(TelephoneEvent {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3F,
            duration: u16::from_be_bytes([high, low]),
        })
    }

    /// The 4-byte payload (the reserved bit is zero).
    pub fn to_bytes(self) -> [u8; 4] {
        let [high, low] = self.duration.to_be_bytes();
        let flags = if self.end { 0x80 } else { 0 } | (self.volume & 0x3F);
        [self.event, flags, high, low]
    }

    /// The DTMF key, for events 0–15.
    pub fn digit(self) -> Option<char> {
        DTMF_KEYS
            .get(usize::from(self.event))
            .map(|&key| char::from(key))
    }
}

/// How many earlier events' timestamps are remembered, to ignore their late packets.
const RECENT_EVENTS: usize = 4;

/// The event in progress, as the receiver remembers it.
#[derive(Clone, Copy, Debug)]
struct Current {
    timestamp: u32,
    event: u8,
    duration: u16,
    ended: bool,
}

/// Turns telephone-event packets into digits, each reported once.
///
/// Feed every packet of the telephone-event payload type with
/// [`handle_packet`](Self::handle_packet). A digit is returned on the first packet of a new
/// RTP timestamp; repeats of the start, updates and the (triple) end packet return `None`.
/// A late packet of one of the last few events (same timestamp, seen within the last two
/// seconds) is ignored, whatever the order of timestamps — separately recorded pcaps played
/// back to back do not keep timestamps increasing. A long event that the sender splits into
/// segments (RFC 4733 section 2.5.1.3: next timestamp = previous timestamp + duration, same
/// event, not ended, no marker) stays one digit. Non-DTMF events (flash, tones) are ignored.
#[derive(Clone, Debug, Default)]
pub struct TelephoneEventReceiver {
    current: Option<Current>,
    /// `(timestamp, last packet ms)` of recent events, the current one included.
    recent: [Option<(u32, u64)>; RECENT_EVENTS],
    next_slot: usize,
}

impl TelephoneEventReceiver {
    /// A receiver that has seen no event.
    pub fn new() -> Self {
        Self::default()
    }

    /// Handles one packet: its RTP timestamp, marker bit and payload, at `now_ms`
    /// (monotonic milliseconds). Returns the digit if this packet starts a new one.
    pub fn handle_packet(
        &mut self,
        rtp_timestamp: u32,
        marker: bool,
        payload: &[u8],
        now_ms: u64,
    ) -> Result<Option<char>, Rfc4733Error> {
        let event = TelephoneEvent::parse(payload)?;
        let Some(digit) = event.digit() else {
            return Ok(None);
        };
        let seen = self
            .recent
            .iter_mut()
            .flatten()
            .find(|(timestamp, last_ms)| {
                *timestamp == rtp_timestamp && now_ms.saturating_sub(*last_ms) < STALE_WINDOW_MS
            });
        if let Some((_, last_ms)) = seen {
            *last_ms = now_ms;
            if let Some(current) = &mut self.current
                && current.timestamp == rtp_timestamp
            {
                current.duration = current.duration.max(event.duration);
                current.ended |= event.end;
            }
            return Ok(None);
        }
        let continues_segment = self.current.is_some_and(|current| {
            !marker
                && !current.ended
                && event.event == current.event
                && rtp_timestamp == current.timestamp.wrapping_add(u32::from(current.duration))
        });
        self.current = Some(Current {
            timestamp: rtp_timestamp,
            event: event.event,
            duration: event.duration,
            ended: event.end,
        });
        self.recent[self.next_slot] = Some((rtp_timestamp, now_ms));
        self.next_slot = (self.next_slot + 1) % RECENT_EVENTS;
        Ok((!continues_segment).then_some(digit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_build_round_trip() {
        // (payload, event, end, volume, duration)
        let table: [([u8; 4], u8, bool, u8, u16); 5] = [
            ([0x01, 0x0A, 0x00, 0xA0], 1, false, 10, 160),
            ([0x0B, 0x8A, 0x03, 0x20], 11, true, 10, 800),
            ([0x0F, 0x3F, 0xFF, 0xFF], 15, false, 63, 65535),
            ([0x00, 0x80, 0x00, 0x00], 0, true, 0, 0),
            ([0x10, 0x07, 0x01, 0x00], 16, false, 7, 256),
        ];
        for (bytes, event, end, volume, duration) in table {
            let parsed = TelephoneEvent::parse(&bytes).unwrap();
            assert_eq!(
                parsed,
                TelephoneEvent {
                    event,
                    end,
                    volume,
                    duration
                }
            );
            assert_eq!(parsed.to_bytes(), bytes);
        }
        // The reserved bit is ignored on input and zero on output.
        let parsed = TelephoneEvent::parse(&[5, 0xCA, 0, 160]).unwrap();
        assert_eq!(parsed.to_bytes(), [5, 0x8A, 0, 160]);
    }

    #[test]
    fn digits_map_both_ways() {
        for (event, digit) in "0123456789*#ABCD".chars().enumerate() {
            let built = TelephoneEvent::dtmf(digit, false, 10, 0).unwrap();
            assert_eq!(usize::from(built.event), event);
            assert_eq!(built.digit(), Some(digit));
        }
        assert_eq!(TelephoneEvent::dtmf('a', false, 0, 0).unwrap().event, 12);
        assert_eq!(
            TelephoneEvent::dtmf('x', false, 0, 0),
            Err(Rfc4733Error::NotDtmf { digit: 'x' })
        );
        assert_eq!(TelephoneEvent::parse(&[16, 0, 0, 0]).unwrap().digit(), None);
    }

    #[test]
    fn short_payloads_are_errors() {
        for len in 0..4 {
            let payload = vec![1u8; len];
            assert_eq!(
                TelephoneEvent::parse(&payload),
                Err(Rfc4733Error::TooShort { len })
            );
            let mut receiver = TelephoneEventReceiver::new();
            assert_eq!(
                receiver.handle_packet(0, true, &payload, 0),
                Err(Rfc4733Error::TooShort { len })
            );
        }
        // Redundant events after the first are allowed and ignored.
        assert_eq!(
            TelephoneEvent::parse(&[2, 0, 0, 0, 1, 0x80, 0, 0])
                .unwrap()
                .event,
            2
        );
    }

    /// A packet of a stream: (rtp timestamp, marker, digit, end, duration, arrival ms).
    type Packet = (u32, bool, char, bool, u16, u64);

    /// The packets a typical sender emits for one key: the start three times (marked), an
    /// update every 20 ms, and the end three times — like sipp's dtmf_2833 pcaps.
    fn key_press(timestamp: u32, digit: char, start_ms: u64, updates: u16) -> Vec<Packet> {
        let mut packets = vec![(timestamp, true, digit, false, 0, start_ms)];
        packets.push((timestamp, true, digit, false, 0, start_ms));
        packets.push((timestamp, true, digit, false, 0, start_ms));
        for update in 1..=updates {
            packets.push((
                timestamp,
                false,
                digit,
                false,
                update * 160,
                start_ms + u64::from(update) * 20,
            ));
        }
        let end_ms = start_ms + u64::from(updates + 1) * 20;
        for _ in 0..3 {
            packets.push((timestamp, false, digit, true, (updates + 1) * 160, end_ms));
        }
        packets
    }

    fn run(packets: &[Packet]) -> String {
        let mut receiver = TelephoneEventReceiver::new();
        let mut digits = String::new();
        for &(timestamp, marker, digit, end, duration, now) in packets {
            let payload = TelephoneEvent::dtmf(digit, end, 10, duration)
                .unwrap()
                .to_bytes();
            if let Some(found) = receiver
                .handle_packet(timestamp, marker, &payload, now)
                .unwrap()
            {
                digits.push(found);
            }
        }
        digits
    }

    #[test]
    fn streams_yield_each_digit_once() {
        let two_keys = [key_press(1000, '1', 0, 5), key_press(3000, '2', 300, 5)].concat();
        let same_key_twice = [key_press(1000, '5', 0, 4), key_press(2600, '5', 200, 4)].concat();
        let mut lost_ends = key_press(1000, '7', 0, 3);
        lost_ends.retain(|packet| !packet.3);
        lost_ends.extend(key_press(4000, '8', 500, 3));
        let mut lost_start = key_press(1000, '9', 0, 3);
        lost_start.drain(..4);
        let mut reordered = [key_press(1000, '3', 0, 3), key_press(2000, '4', 150, 3)].concat();
        // A late end packet of '3' arrives after '4' started.
        reordered.insert(12, (1000, false, '3', true, 640, 160));
        let only_ends = vec![
            (500, false, '#', true, 800, 0),
            (500, false, '#', true, 800, 0),
        ];
        // A long key split into segments: the second segment starts at 1000 + 65535... here
        // with a small duration for the test: 1000 + 800 = 1800, same event, not ended.
        let segmented = vec![
            (1000, true, '0', false, 400, 0),
            (1000, false, '0', false, 800, 20),
            (1800, false, '0', false, 160, 40),
            (1800, false, '0', true, 320, 60),
        ];
        let table: [(&str, Vec<Packet>, &str); 7] = [
            ("two keys", two_keys, "12"),
            ("same key twice", same_key_twice, "55"),
            ("end packets lost", lost_ends, "78"),
            ("start packets lost", lost_start, "9"),
            ("late packet of the previous key", reordered, "34"),
            ("only end packets", only_ends, "#"),
            ("long key in segments", segmented, "0"),
        ];
        for (name, packets, expected) in table {
            assert_eq!(run(&packets), expected, "{name}");
        }
    }

    /// sipp's `dtmf_2833_{1,pound,0}.pcap` as tshark shows them: one marked start with
    /// duration 0, an update every 20 ms (+320), the end packet three times (same sequence
    /// number), volume 10. Played back to back by one sender, each keeps its own timestamp.
    fn sipp_pcap(timestamp: u32, digit: char, start_ms: u64) -> Vec<Packet> {
        let mut packets: Vec<Packet> = (0..7u16)
            .map(|update| {
                (
                    timestamp,
                    update == 0,
                    digit,
                    false,
                    update * 320,
                    start_ms + u64::from(update) * 20,
                )
            })
            .collect();
        packets.extend([(timestamp, false, digit, true, 2240, start_ms + 140); 3]);
        packets
    }

    #[test]
    fn sipp_pcaps_yield_one_digit_each() {
        let stream = [
            sipp_pcap(13280, '1', 0),
            sipp_pcap(92640, '#', 1000),
            sipp_pcap(17632, '0', 2000),
        ]
        .concat();
        assert_eq!(run(&stream), "1#0");
        // The same, with every packet duplicated by the network.
        let doubled: Vec<Packet> = stream.iter().flat_map(|&packet| [packet, packet]).collect();
        assert_eq!(run(&doubled), "1#0");
    }

    #[test]
    fn a_reused_timestamp_after_silence_is_a_new_key() {
        let packets = [key_press(100, '1', 0, 3), key_press(100, '2', 10_000, 3)].concat();
        assert_eq!(run(&packets), "12");
    }

    #[test]
    fn non_dtmf_events_are_ignored() {
        let mut receiver = TelephoneEventReceiver::new();
        let flash = TelephoneEvent {
            event: 16,
            end: false,
            volume: 10,
            duration: 0,
        };
        assert_eq!(
            receiver.handle_packet(1, true, &flash.to_bytes(), 0),
            Ok(None)
        );
    }
}
