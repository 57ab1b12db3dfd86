//! DTMF: keys pressed by the caller, from RFC 4733 telephone events ([`rfc4733`]) and from
//! tones in the audio ([`inband`], on [`goertzel`] filters), merged by [`DigitStream`].

pub mod goertzel;
pub mod inband;
pub mod rfc4733;

use std::collections::VecDeque;

use inband::InbandDetector;
use rfc4733::{Rfc4733Error, TelephoneEventReceiver};

/// Default window within which the same key from the other source is the same press (ms).
pub const DEFAULT_DEDUP_WINDOW_MS: u64 = 200;

/// Where a key was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DigitSource {
    /// An RFC 4733 telephone event.
    Rfc4733,
    /// A tone in the audio.
    Inband,
}

/// A key press, as reported by [`DigitStream`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digit {
    /// `0`–`9`, `*`, `#` or `A`–`D`.
    pub key: char,
    /// The source that reported it first.
    pub source: DigitSource,
    /// When it was reported (the `now_ms` of the input that produced it).
    pub at_ms: u64,
}

/// The last key accepted, waiting for its twin from the other source.
#[derive(Clone, Copy, Debug)]
struct Unmatched {
    key: char,
    source: DigitSource,
    at_ms: u64,
}

/// One call's keys from both sources, each press reported once.
///
/// Some peers send RFC 4733 events *and* leave the tones in the audio. A key from one source
/// is dropped when the same key came from the other source within the window and has not
/// already been paired — so `5` `5` pressed quickly is still two presses, and a peer that
/// sends only one kind of DTMF loses nothing.
#[derive(Clone, Debug)]
pub struct DigitStream {
    rfc4733: TelephoneEventReceiver,
    inband: InbandDetector,
    window_ms: u64,
    unmatched: Option<Unmatched>,
    digits: VecDeque<Digit>,
}

impl Default for DigitStream {
    fn default() -> Self {
        Self::new(DEFAULT_DEDUP_WINDOW_MS)
    }
}

impl DigitStream {
    /// A stream that treats the same key from both sources within `window_ms` as one press.
    pub fn new(window_ms: u64) -> Self {
        DigitStream {
            rfc4733: TelephoneEventReceiver::new(),
            inband: InbandDetector::new(),
            window_ms,
            unmatched: None,
            digits: VecDeque::with_capacity(8),
        }
    }

    /// Handles one RFC 4733 packet (see [`TelephoneEventReceiver::handle_packet`]).
    pub fn handle_telephone_event(
        &mut self,
        rtp_timestamp: u32,
        marker: bool,
        payload: &[u8],
        now_ms: u64,
    ) -> Result<(), Rfc4733Error> {
        if let Some(key) = self
            .rfc4733
            .handle_packet(rtp_timestamp, marker, payload, now_ms)?
        {
            self.handle_digit(key, DigitSource::Rfc4733, now_ms);
        }
        Ok(())
    }

    /// Handles decoded audio (8 kHz linear) received at `now_ms`.
    pub fn handle_samples(&mut self, samples: &[i16], now_ms: u64) {
        self.inband.handle_samples(samples);
        while let Some(key) = self.inband.poll_digit() {
            self.handle_digit(key, DigitSource::Inband, now_ms);
        }
    }

    /// Handles a key found elsewhere (e.g. SIP INFO, or a detector run outside the stream).
    pub fn handle_digit(&mut self, key: char, source: DigitSource, now_ms: u64) {
        if let Some(previous) = self.unmatched {
            let twin = previous.key == key
                && previous.source != source
                && now_ms.abs_diff(previous.at_ms) <= self.window_ms;
            if twin {
                self.unmatched = None;
                return;
            }
        }
        self.unmatched = Some(Unmatched {
            key,
            source,
            at_ms: now_ms,
        });
        self.digits.push_back(Digit {
            key,
            source,
            at_ms: now_ms,
        });
    }

    /// The next key press, oldest first.
    pub fn poll_digit(&mut self) -> Option<Digit> {
        self.digits.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DigitSource::{Inband, Rfc4733};

    #[test]
    fn keys_from_both_sources_are_merged() {
        // (name, [(key, source, ms)], expected keys)
        type Input = (char, DigitSource, u64);
        let table: [(&str, Vec<Input>, &str); 7] = [
            (
                "rfc4733 only",
                vec![('1', Rfc4733, 0), ('2', Rfc4733, 300)],
                "12",
            ),
            (
                "inband only",
                vec![('1', Inband, 0), ('1', Inband, 120)],
                "11",
            ),
            (
                "both, event first",
                vec![('5', Rfc4733, 0), ('5', Inband, 40)],
                "5",
            ),
            (
                "both, tone first",
                vec![('5', Inband, 0), ('5', Rfc4733, 60)],
                "5",
            ),
            (
                "same key twice from both",
                vec![
                    ('7', Rfc4733, 0),
                    ('7', Inband, 35),
                    ('7', Rfc4733, 100),
                    ('7', Inband, 135),
                ],
                "77",
            ),
            (
                "other source but too late",
                vec![('9', Rfc4733, 0), ('9', Inband, 500)],
                "99",
            ),
            (
                "different keys are never merged",
                vec![
                    ('1', Rfc4733, 0),
                    ('2', Inband, 10),
                    ('1', Inband, 40),
                    ('2', Rfc4733, 50),
                ],
                "1212",
            ),
        ];
        for (name, inputs, expected) in table {
            let mut stream = DigitStream::default();
            for (key, source, at) in inputs {
                stream.handle_digit(key, source, at);
            }
            let keys: String = std::iter::from_fn(|| stream.poll_digit())
                .map(|d| d.key)
                .collect();
            assert_eq!(keys, expected, "{name}");
        }
    }

    #[test]
    fn packets_and_tones_make_one_press() {
        let mut stream = DigitStream::default();
        let start = rfc4733::TelephoneEvent::dtmf('8', false, 10, 0)
            .unwrap()
            .to_bytes();
        stream
            .handle_telephone_event(4000, true, &start, 1000)
            .unwrap();
        // 8 = 852 Hz + 1336 Hz, -10 dBm0 each, 60 ms, in 20 ms frames.
        let amplitude =
            32768.0 * 10f64.powf((-10.0 - f64::from(inband::FULL_SCALE_SINE_DBM0)) / 20.0);
        let tone: Vec<i16> = (0..480)
            .map(|n| {
                let t = f64::from(n) / 8000.0;
                let value = amplitude
                    * ((std::f64::consts::TAU * 852.0 * t).sin()
                        + (std::f64::consts::TAU * 1336.0 * t).sin());
                value as i16
            })
            .chain(std::iter::repeat_n(0, 800))
            .collect();
        for (index, frame) in tone.chunks(160).enumerate() {
            stream.handle_samples(frame, 1000 + 20 * index as u64);
        }
        let first = stream.poll_digit().unwrap();
        assert_eq!((first.key, first.source, first.at_ms), ('8', Rfc4733, 1000));
        assert_eq!(stream.poll_digit(), None);
        assert_eq!(
            stream.handle_telephone_event(1, false, &[1, 2], 2000),
            Err(Rfc4733Error::TooShort { len: 2 })
        );
    }
}
