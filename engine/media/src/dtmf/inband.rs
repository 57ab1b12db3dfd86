//! In-band DTMF: [`InbandDetector`] finds keypad tones in 8 kHz linear samples.
//!
//! How it decides, in the style of ITU-T Q.24 receivers (and spandsp's, our reference):
//!
//! * **Analysis.** Goertzel filters at the eight DTMF frequencies run over half-blocks of
//!   51 samples; each pair of consecutive halves is joined (with a phase rotation) into a
//!   102-sample window (12.75 ms, bins ~78 Hz wide). So a window is judged every 6.4 ms
//!   while the per-sample cost stays one filter pass. f32 throughout, no allocation.
//! * **A window hits a key** when: the strongest row and column tones are each at least
//!   −45 dBm0; the twist is within limits (low group up to 8.5 dB above the high group, high
//!   group up to 4.5 dB above the low group: Q.24's 8 / 4 dB with a half-dB margin for the
//!   filters' own error, in the sign convention of the spandsp bench); each is at least 8 dB
//!   above the other tones of its group; the two tones carry at least 80 % of the window's
//!   energy (this also bounds the frequency error: about ±2 % passes, ±3 % never does); and
//!   neither tone's second harmonic is more than −10 dB relative to it (voiced speech is rich
//!   in harmonics; a DTMF generator is not). These are the talk-off guards.
//! * **Duration.** A key is reported once, when three consecutive windows hit it (about
//!   26 ms of clean tone: 20 ms tones never register, 30 ms always do). It ends after three
//!   consecutive windows that do not hit it, so a break of ~4 ms inside a long tone does not
//!   double the key, while gaps of 15 ms and more always separate two presses of one key.
//!
//! Levels are dBm0 per tone with a full-scale sine at +3.14 dBm0 (spandsp's convention).

use std::collections::VecDeque;

use super::goertzel::{Complex, GoertzelBank};

/// The sample rate the detector expects.
pub const SAMPLE_RATE: u32 = 8000;

/// The level of a full-scale sine (peak ±32768), dBm0 — spandsp's `DBM0_MAX_SINE_POWER`.
#[expect(
    clippy::approx_constant,
    reason = "a level in dB that happens to start like π"
)]
pub const FULL_SCALE_SINE_DBM0: f32 = 3.14;

const HALF: usize = 51;
const WINDOW: usize = 2 * HALF;
const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
const COLUMNS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYS: &[u8; 16] = b"123A456B789C*0#D";
/// Weakest accepted tone, dBm0.
const MIN_LEVEL_DBM0: f32 = -45.0;
/// Low group may exceed the high group by this much (dB).
const MAX_LOW_OVER_HIGH_DB: f32 = 8.5;
/// High group may exceed the low group by this much (dB).
const MAX_HIGH_OVER_LOW_DB: f32 = 4.5;
/// The best tone of a group must beat the others of that group by this much (dB).
const RELATIVE_PEAK_DB: f32 = 8.0;
/// The two tones' share of the window's energy.
const MIN_TONE_SHARE: f32 = 0.80;
/// Largest accepted second-harmonic level relative to its fundamental (dB).
const MAX_HARMONIC_DB: f32 = -10.0;
/// Consecutive hitting windows that register a key.
const WINDOWS_TO_START: u8 = 3;
/// Consecutive non-hitting windows that end it.
const WINDOWS_TO_END: u8 = 3;

fn db_to_power_ratio(db: f32) -> f32 {
    10f32.powf(db / 10.0)
}

/// Detects DTMF keys in 8 kHz mono linear samples, fed in chunks of any size.
///
/// Sans-IO: push samples with [`handle_samples`](Self::handle_samples), then drain keys
/// with [`poll_digit`](Self::poll_digit) (or do both with
/// [`push_samples`](Self::push_samples)). Each key press yields its character once.
#[derive(Clone, Debug)]
pub struct InbandDetector {
    fundamentals: GoertzelBank<8>,
    harmonics: GoertzelBank<8>,
    /// `e^(iω·HALF)` per frequency: joins the previous half to the current one.
    rotation: [Complex; 8],
    /// `[previous half | current half]`; the current half has `filled` samples.
    window: [f32; WINDOW],
    filled: usize,
    previous: [Complex; 8],
    previous_energy: f32,
    min_tone_energy: f32,
    max_low_over_high: f32,
    max_high_over_low: f32,
    relative_peak: f32,
    max_harmonic: f32,
    in_digit: Option<u8>,
    misses: u8,
    candidate: Option<u8>,
    candidate_hits: u8,
    digits: VecDeque<char>,
}

impl Default for InbandDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl InbandDetector {
    /// A detector with the Q.24-style limits described in the module docs.
    pub fn new() -> Self {
        let frequencies = [ROWS, COLUMNS].concat();
        let frequencies: [f32; 8] = core::array::from_fn(|index| frequencies[index]);
        let sample_rate = SAMPLE_RATE as f32;
        // A sine of amplitude A (full scale = 1.0) over the window has energy A²·WINDOW/2.
        let amplitude = 10f32.powf((MIN_LEVEL_DBM0 - FULL_SCALE_SINE_DBM0) / 20.0);
        InbandDetector {
            fundamentals: GoertzelBank::new(frequencies, sample_rate),
            harmonics: GoertzelBank::new(frequencies.map(|frequency| 2.0 * frequency), sample_rate),
            rotation: frequencies.map(|frequency| {
                Complex::from_angle(core::f32::consts::TAU * frequency / sample_rate * HALF as f32)
            }),
            window: [0.0; WINDOW],
            filled: 0,
            previous: [Complex::default(); 8],
            previous_energy: 0.0,
            min_tone_energy: amplitude * amplitude * WINDOW as f32 / 2.0,
            max_low_over_high: db_to_power_ratio(MAX_LOW_OVER_HIGH_DB),
            max_high_over_low: db_to_power_ratio(MAX_HIGH_OVER_LOW_DB),
            relative_peak: db_to_power_ratio(RELATIVE_PEAK_DB),
            max_harmonic: db_to_power_ratio(MAX_HARMONIC_DB),
            in_digit: None,
            misses: 0,
            candidate: None,
            candidate_hits: 0,
            digits: VecDeque::with_capacity(8),
        }
    }

    /// Analyses `samples` (8 kHz, linear). Keys found are queued for
    /// [`poll_digit`](Self::poll_digit).
    pub fn handle_samples(&mut self, samples: &[i16]) {
        const SCALE: f32 = 1.0 / 32768.0;
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (HALF - self.filled).min(rest.len());
            let start = HALF + self.filled;
            for (slot, &sample) in self.window[start..start + take]
                .iter_mut()
                .zip(&rest[..take])
            {
                *slot = f32::from(sample) * SCALE;
            }
            self.filled += take;
            rest = &rest[take..];
            if self.filled == HALF {
                self.finish_half();
                self.filled = 0;
            }
        }
    }

    /// The next key found, oldest first.
    pub fn poll_digit(&mut self) -> Option<char> {
        self.digits.pop_front()
    }

    /// [`handle_samples`](Self::handle_samples), then drains the keys found so far.
    pub fn push_samples(&mut self, samples: &[i16]) -> impl Iterator<Item = char> + '_ {
        self.handle_samples(samples);
        self.digits.drain(..)
    }

    /// Whether a key is sounding now (registered and not yet ended).
    pub fn is_in_digit(&self) -> bool {
        self.in_digit.is_some()
    }

    fn finish_half(&mut self) {
        let current = self.fundamentals.run(&self.window[HALF..]);
        let current_energy: f32 = self.window[HALF..]
            .iter()
            .map(|sample| sample * sample)
            .sum();
        let hit = self.classify(&current, self.previous_energy + current_energy);
        self.decide(hit);
        self.window.copy_within(HALF.., 0);
        self.previous = current;
        self.previous_energy = current_energy;
    }

    /// The key the current window shows, if it passes every test.
    fn classify(&self, current: &[Complex; 8], energy: f32) -> Option<u8> {
        // Energy of each tone in the window, in the same units as `energy`.
        let scale = 2.0 / WINDOW as f32;
        let tone: [f32; 8] = core::array::from_fn(|index| {
            (current[index] + self.previous[index] * self.rotation[index]).norm_sqr() * scale
        });
        let row = strongest(&tone[..4]);
        let column = strongest(&tone[4..]);
        let (row_energy, column_energy) = (tone[row], tone[4 + column]);
        if row_energy < self.min_tone_energy || column_energy < self.min_tone_energy {
            return None;
        }
        if row_energy > column_energy * self.max_low_over_high
            || column_energy > row_energy * self.max_high_over_low
        {
            return None;
        }
        let peaks_stand_out = (0..4).all(|other| {
            (other == row || tone[other] * self.relative_peak <= row_energy)
                && (other == column || tone[4 + other] * self.relative_peak <= column_energy)
        });
        if !peaks_stand_out || row_energy + column_energy < MIN_TONE_SHARE * energy {
            return None;
        }
        // Only candidates reach here, so the harmonic filters cost nothing on silence/speech.
        // The row's second harmonic lies within ~70 Hz of the column tone for keys 2, 6 and
        // C, whose leakage into that bin would fail the test: those check the column only.
        let harmonics = self.harmonics.run(&self.window);
        let row_harmonic_is_clear = (2.0 * ROWS[row] - COLUMNS[column]).abs() > 100.0;
        if (row_harmonic_is_clear
            && harmonics[row].norm_sqr() * scale > row_energy * self.max_harmonic)
            || harmonics[4 + column].norm_sqr() * scale > column_energy * self.max_harmonic
        {
            return None;
        }
        Some((row * 4 + column) as u8)
    }

    fn decide(&mut self, hit: Option<u8>) {
        if let Some(digit) = self.in_digit {
            if hit == Some(digit) {
                self.misses = 0;
            } else {
                self.misses += 1;
                if self.misses >= WINDOWS_TO_END {
                    self.in_digit = None;
                }
            }
        }
        if hit.is_some() && hit == self.candidate {
            self.candidate_hits = self.candidate_hits.saturating_add(1);
        } else {
            self.candidate = hit;
            self.candidate_hits = u8::from(hit.is_some());
        }
        if self.in_digit.is_none()
            && self.candidate_hits >= WINDOWS_TO_START
            && let Some(key) = self
                .candidate
                .and_then(|index| KEYS.get(usize::from(index)))
        {
            self.digits.push_back(char::from(*key));
            self.in_digit = self.candidate;
            self.misses = 0;
        }
    }
}

fn strongest(energies: &[f32]) -> usize {
    let mut best = 0;
    for (index, &energy) in energies.iter().enumerate() {
        if energy > energies[best] {
            best = index;
        }
    }
    best
}

#[cfg(test)]
mod tests;
