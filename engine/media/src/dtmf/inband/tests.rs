//! Generated-tone tests for the in-band detector: every key, level, frequency error, twist,
//! duration, gap and noise, after a µ-law round trip as audio arrives over RTP.

use super::*;
use crate::codec::Codec;

const KEYPAD: &str = "123A456B789C*0#D";

/// Deterministic noise: a 64-bit LCG and Box-Muller, so tests need no `rand`.
struct Noise(u64);

impl Noise {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn gaussian(&mut self) -> f64 {
        (-2.0 * self.uniform().ln()).sqrt() * (std::f64::consts::TAU * self.uniform()).cos()
    }
}

/// Amplitude (full scale 32768) of a sine at `dbm0` (+3.14 dBm0 = full scale).
fn amplitude(dbm0: f64) -> f64 {
    32768.0 * 10f64.powf((dbm0 - f64::from(FULL_SCALE_SINE_DBM0)) / 20.0)
}

/// How to generate one test signal.
#[derive(Clone, Copy)]
struct Signal {
    row_dbm0: f64,
    column_dbm0: f64,
    offset_percent: f64,
    on_ms: u32,
    off_ms: u32,
    /// Weaker tone power over noise power, dB; `None` = no noise.
    snr_db: Option<f64>,
}

const NOMINAL: Signal = Signal {
    row_dbm0: -10.0,
    column_dbm0: -10.0,
    offset_percent: 0.0,
    on_ms: 60,
    off_ms: 60,
    snr_db: None,
};

/// `keys` as tones separated by gaps, 100 ms of silence around them, µ-law round-tripped.
fn synthesize(keys: &str, signal: Signal) -> Vec<i16> {
    let mut samples = vec![0.0f64; 800];
    let (row_amplitude, column_amplitude) =
        (amplitude(signal.row_dbm0), amplitude(signal.column_dbm0));
    for key in keys.chars() {
        let index = KEYPAD.find(key).unwrap();
        let factor = 1.0 + signal.offset_percent / 100.0;
        let (row, column) = (
            f64::from(ROWS[index / 4]) * factor,
            f64::from(COLUMNS[index % 4]) * factor,
        );
        for n in 0..signal.on_ms * 8 {
            let t = f64::from(n) / 8000.0;
            samples.push(
                row_amplitude * (std::f64::consts::TAU * row * t).sin()
                    + column_amplitude * (std::f64::consts::TAU * column * t).sin(),
            );
        }
        samples.extend(std::iter::repeat_n(0.0, signal.off_ms as usize * 8));
    }
    samples.extend(std::iter::repeat_n(0.0, 800));
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let noise_rms = signal.snr_db.map_or(0.0, |snr| {
        row_amplitude.min(column_amplitude) / 2f64.sqrt() / 10f64.powf(snr / 20.0)
    });
    samples
        .into_iter()
        .map(|value| {
            let noisy = (value + noise_rms * noise.gaussian()).clamp(-32768.0, 32767.0) as i16;
            Codec::Pcmu.decode_sample(Codec::Pcmu.encode_sample(noisy))
        })
        .collect()
}

fn detect(samples: &[i16], chunk: usize) -> String {
    let mut detector = InbandDetector::new();
    let mut keys = String::new();
    for frame in samples.chunks(chunk) {
        keys.extend(detector.push_samples(frame));
    }
    keys
}

#[test]
fn every_key_in_every_chunk_size() {
    let samples = synthesize(KEYPAD, NOMINAL);
    for chunk in [1, 7, 51, 80, 160, 240, 1000, samples.len()] {
        assert_eq!(detect(&samples, chunk), KEYPAD, "chunk {chunk}");
    }
}

#[test]
fn levels() {
    // (dBm0 per tone, detect?)
    let table = [
        (-3.0, true),
        (-10.0, true),
        (-20.0, true),
        (-30.0, true),
        (-36.0, true),
        (-55.0, false),
    ];
    for (level, detects) in table {
        let signal = Signal {
            row_dbm0: level,
            column_dbm0: level,
            ..NOMINAL
        };
        let expected = if detects { KEYPAD } else { "" };
        assert_eq!(
            detect(&synthesize(KEYPAD, signal), 160),
            expected,
            "{level} dBm0"
        );
    }
}

#[test]
fn frequency_offsets() {
    // (offset %, detect?): Q.24 — operate within ±1.5 %, never beyond ±3.5 %.
    let table = [
        (-1.5, true),
        (-1.0, true),
        (1.0, true),
        (1.5, true),
        (-3.5, false),
        (3.5, false),
        (-4.0, false),
        (4.0, false),
        (-5.0, false),
        (5.0, false),
    ];
    for (offset, detects) in table {
        let signal = Signal {
            offset_percent: offset,
            ..NOMINAL
        };
        let expected = if detects { KEYPAD } else { "" };
        assert_eq!(
            detect(&synthesize(KEYPAD, signal), 160),
            expected,
            "{offset} %"
        );
    }
}

#[test]
fn twist() {
    // (low group minus high group, dB; detect?)
    let table = [
        (6.0, true),
        (-3.0, true),
        (0.0, true),
        (10.0, false),
        (-6.0, false),
        (12.0, false),
    ];
    for (twist, detects) in table {
        let signal = Signal {
            row_dbm0: -10.0 + twist / 2.0,
            column_dbm0: -10.0 - twist / 2.0,
            ..NOMINAL
        };
        let expected = if detects { KEYPAD } else { "" };
        assert_eq!(
            detect(&synthesize(KEYPAD, signal), 160),
            expected,
            "{twist} dB"
        );
    }
}

#[test]
fn tone_durations() {
    // (tone ms, detect?)
    let table = [
        (10, false),
        (20, false),
        (40, true),
        (50, true),
        (200, true),
        (2000, true),
    ];
    for (on_ms, detects) in table {
        let signal = Signal { on_ms, ..NOMINAL };
        let expected = if detects { KEYPAD } else { "" };
        assert_eq!(
            detect(&synthesize(KEYPAD, signal), 160),
            expected,
            "{on_ms} ms"
        );
    }
}

#[test]
fn gaps_separate_repeated_keys() {
    // (gap ms, expected): one key pressed twice needs a real gap; a long tone is one key.
    let table = [(20, "1155990011"), (40, "1155990011"), (100, "1155990011")];
    for (off_ms, expected) in table {
        let signal = Signal {
            off_ms,
            on_ms: 50,
            ..NOMINAL
        };
        assert_eq!(
            detect(&synthesize("1155990011", signal), 160),
            expected,
            "{off_ms} ms gap"
        );
    }
}

#[test]
fn a_brief_break_inside_a_long_tone_is_one_key() {
    for break_samples in [8usize, 16, 24] {
        let mut samples = synthesize(
            "5",
            Signal {
                on_ms: 400,
                ..NOMINAL
            },
        );
        // Silence a few samples in the middle of the tone.
        let middle = 800 + 1600;
        samples[middle..middle + break_samples].fill(0);
        assert_eq!(
            detect(&samples, 160),
            "5",
            "break of {break_samples} samples"
        );
    }
}

#[test]
fn white_noise() {
    // (SNR dB, level dBm0)
    for (snr_db, level) in [(20.0, -20.0), (15.0, -20.0), (20.0, -30.0), (12.0, -10.0)] {
        let signal = Signal {
            snr_db: Some(snr_db),
            row_dbm0: level,
            column_dbm0: level,
            on_ms: 50,
            off_ms: 50,
            ..NOMINAL
        };
        assert_eq!(
            detect(&synthesize(KEYPAD, signal), 160),
            KEYPAD,
            "SNR {snr_db} dB at {level}"
        );
    }
}

#[test]
fn noise_and_silence_alone_give_nothing() {
    let mut noise = Noise(42);
    for rms in [0.0, 30.0, 300.0, 3000.0, 12000.0] {
        let samples: Vec<i16> = (0..80_000)
            .map(|_| (rms * noise.gaussian()).clamp(-32768.0, 32767.0) as i16)
            .collect();
        assert_eq!(detect(&samples, 160), "", "rms {rms}");
    }
}

#[test]
fn single_tones_and_wrong_pairs_give_nothing() {
    // (frequencies): one tone, two rows, two columns, a row with a harmonic-rich column.
    let table: [&[f64]; 5] = [
        &[697.0],
        &[1336.0],
        &[697.0, 852.0],
        &[1209.0, 1477.0],
        &[770.0, 1540.0 * 0.98],
    ];
    for frequencies in table {
        let samples: Vec<i16> = (0..8000)
            .map(|n| {
                let t = f64::from(n) / 8000.0;
                frequencies
                    .iter()
                    .map(|f| amplitude(-10.0) * (std::f64::consts::TAU * f * t).sin())
                    .sum::<f64>() as i16
            })
            .collect();
        assert_eq!(detect(&samples, 160), "", "{frequencies:?}");
    }
}

#[test]
fn a_strong_second_harmonic_is_rejected() {
    // '*' (941 + 1209 Hz) with the row's second harmonic at −8 dB: the two tones still hold
    // 93 % of the energy (the share test passes), so only the harmonic guard rejects it.
    let samples: Vec<i16> = (0..8000)
        .map(|n| {
            let t = f64::from(n) / 8000.0;
            let tau = std::f64::consts::TAU;
            let a = amplitude(-10.0);
            (a * (tau * 941.0 * t).sin()
                + a * 0.4 * (tau * 1882.0 * t).sin()
                + a * (tau * 1209.0 * t).sin()) as i16
        })
        .collect();
    assert_eq!(detect(&samples, 160), "");
}

#[test]
fn poll_digit_and_state() {
    let mut detector = InbandDetector::default();
    let samples = synthesize("#", NOMINAL);
    detector.handle_samples(&samples[..800 + 480]);
    assert!(detector.is_in_digit());
    assert_eq!(detector.poll_digit(), Some('#'));
    assert_eq!(detector.poll_digit(), None);
    detector.handle_samples(&samples[800 + 480..]);
    assert!(!detector.is_in_digit());
    assert_eq!(detector.poll_digit(), None);
}
