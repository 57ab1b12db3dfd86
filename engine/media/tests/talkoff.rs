//! Talk-off: synthetic speech (espeak-ng, see `fixtures/README.md`) must produce no key, as
//! linear 8 kHz audio and after a G.711 round trip, in several chunk sizes.

#![allow(clippy::unwrap_used)]

use ramal_media::dtmf::inband::FULL_SCALE_SINE_DBM0;
use ramal_media::{Codec, DigitStream, InbandDetector};

const FIXTURES: [&str; 3] = ["speech_pt.wav", "speech_es.wav", "speech_en.wav"];

fn read(name: &str) -> Vec<i16> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut reader = hound::WavReader::open(&path).unwrap();
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (8000, 1, 16),
        "{name}"
    );
    reader.samples::<i16>().map(Result::unwrap).collect()
}

#[test]
fn speech_produces_no_digits() {
    for name in FIXTURES {
        let linear = read(name);
        assert!(
            linear.len() > 8000 * 3,
            "{name} is too short to mean anything"
        );
        for codec in [None, Some(Codec::Pcmu), Some(Codec::Pcma)] {
            let samples: Vec<i16> = match codec {
                None => linear.clone(),
                Some(codec) => linear
                    .iter()
                    .map(|&s| codec.decode_sample(codec.encode_sample(s)))
                    .collect(),
            };
            for (chunk, gain) in [(160, 1.0), (80, 2.0), (333, 0.25)] {
                let scaled: Vec<i16> = samples
                    .iter()
                    .map(|&s| (f32::from(s) * gain).clamp(-32768.0, 32767.0) as i16)
                    .collect();
                let mut detector = InbandDetector::new();
                let keys: String = scaled
                    .chunks(chunk)
                    .flat_map(|c| detector.push_samples(c).collect::<Vec<_>>())
                    .collect();
                assert_eq!(keys, "", "{name} {codec:?} chunk {chunk} gain {gain}");
            }
        }
    }
}

#[test]
fn a_key_pressed_over_speech_is_still_found() {
    // The caller presses 5 (770 + 1336 Hz, -10 dBm0) while the prompt is heard faintly
    // (echo at -20 dB): barge-in must work.
    let speech = read("speech_en.wav");
    let amplitude = 32768.0 * 10f64.powf((-10.0 - f64::from(FULL_SCALE_SINE_DBM0)) / 20.0);
    let mut stream = DigitStream::default();
    let start = 16_000;
    let mixed: Vec<i16> = speech
        .iter()
        .enumerate()
        .map(|(n, &s)| {
            let echo = f64::from(s) * 0.1;
            let tone = if (start..start + 800).contains(&n) {
                let t = (n - start) as f64 / 8000.0;
                amplitude
                    * ((std::f64::consts::TAU * 770.0 * t).sin()
                        + (std::f64::consts::TAU * 1336.0 * t).sin())
            } else {
                0.0
            };
            (echo + tone) as i16
        })
        .collect();
    for (index, frame) in mixed.chunks(160).enumerate() {
        stream.handle_samples(frame, index as u64 * 20);
    }
    let keys: String = std::iter::from_fn(|| stream.poll_digit())
        .map(|digit| digit.key)
        .collect();
    assert_eq!(keys, "5");
}
