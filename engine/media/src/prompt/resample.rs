//! A polyphase windowed-sinc resampler (Kaiser window) for mono `f32` audio at any pair of
//! integer rates.
//!
//! Output sample `n` sits at input position `n · from / to`. Its value is the input convolved
//! with a low-pass sinc cut at [`CUTOFF`] of the lower Nyquist frequency, windowed over
//! [`ZERO_CROSSINGS`] zero crossings each side. The kernel is tabulated per phase (the
//! fractional input position): exactly `to / gcd` phases when that is at most [`MAX_PHASES`],
//! otherwise [`MAX_PHASES`] phases with the position rounded to the nearest one (an error
//! below 1/1000 of a sample). Each phase is normalised to unit DC gain.

/// The cut-off as a fraction of the lower of the two Nyquist frequencies (0.45 of 8 kHz =
/// 3.6 kHz; the Kaiser transition band then ends below 4 kHz).
pub const CUTOFF: f64 = 0.9;
/// Zero crossings of the sinc kept on each side of the centre.
pub const ZERO_CROSSINGS: f64 = 24.0;
/// Kaiser window β (about 85 dB of stop-band attenuation).
pub const KAISER_BETA: f64 = 8.6;
/// The most phases tabulated.
pub const MAX_PHASES: u64 = 512;

/// Resamples `input` from `from` Hz to `to` Hz. Both rates must be non-zero (the caller
/// validates them); equal rates return a copy.
pub fn resample(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || from == 0 || to == 0 || input.is_empty() {
        return input.to_vec();
    }
    let divisor = gcd(u64::from(from), u64::from(to));
    let (up, down) = (u64::from(to) / divisor, u64::from(from) / divisor);
    let phases = up.min(MAX_PHASES);
    // Cut-off in cycles per input sample.
    let cutoff = CUTOFF * 0.5 * f64::from(from.min(to)) / f64::from(from);
    let half_width = ZERO_CROSSINGS / (2.0 * cutoff);
    let reach = half_width.ceil() as i64;
    let taps = (2 * reach) as usize;
    let table = kernel_table(phases, cutoff, half_width, reach);

    let output_len = (input.len() as u64 * up).div_ceil(down);
    let mut output = Vec::with_capacity(output_len as usize);
    let last = input.len() as i64 - 1;
    for n in 0..output_len {
        let position = n * down;
        let mut index = (position / up) as i64;
        let mut phase = ((position % up) * phases + up / 2) / up;
        if phase == phases {
            phase = 0;
            index += 1;
        }
        let coefficients = &table[phase as usize * taps..(phase as usize + 1) * taps];
        let first = index - reach + 1;
        let mut sum = 0.0f64;
        for (offset, &coefficient) in coefficients.iter().enumerate() {
            let at = first + offset as i64;
            if (0..=last).contains(&at) {
                sum += f64::from(input[at as usize]) * coefficient;
            }
        }
        output.push(sum as f32);
    }
    output
}

/// `phases` rows of `2 · reach` taps; row `q` holds the kernel for fractional position
/// `q / phases`, tap `j` weighting input `index - reach + 1 + j`.
fn kernel_table(phases: u64, cutoff: f64, half_width: f64, reach: i64) -> Vec<f64> {
    let taps = (2 * reach) as usize;
    let mut table = Vec::with_capacity(phases as usize * taps);
    let window_norm = bessel_i0(KAISER_BETA);
    for phase in 0..phases {
        let fraction = phase as f64 / phases as f64;
        let start = table.len();
        for tap in 0..taps as i64 {
            let distance = (tap - reach + 1) as f64 - fraction;
            let ratio = distance / half_width;
            let value = if ratio.abs() >= 1.0 {
                0.0
            } else {
                let window = bessel_i0(KAISER_BETA * (1.0 - ratio * ratio).sqrt()) / window_norm;
                2.0 * cutoff * sinc(2.0 * cutoff * distance) * window
            };
            table.push(value);
        }
        let sum: f64 = table[start..].iter().sum();
        if sum.abs() > f64::EPSILON {
            table[start..].iter_mut().for_each(|value| *value /= sum);
        }
    }
    table
}

fn sinc(x: f64) -> f64 {
    if x.abs() < 1e-12 {
        1.0
    } else {
        let angle = std::f64::consts::PI * x;
        angle.sin() / angle
    }
}

/// The modified Bessel function of the first kind, order 0 (power series).
fn bessel_i0(x: f64) -> f64 {
    let quarter_square = x * x / 4.0;
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..64 {
        term *= quarter_square / f64::from(k * k);
        sum += term;
        if term < sum * 1e-16 {
            break;
        }
    }
    sum
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtmf::goertzel::power;

    fn tone(frequency: f64, rate: u32, seconds: f64) -> Vec<f32> {
        let count = (f64::from(rate) * seconds) as usize;
        (0..count)
            .map(|n| {
                (0.5 * (std::f64::consts::TAU * frequency * n as f64 / f64::from(rate)).sin())
                    as f32
            })
            .collect()
    }

    /// Fraction of a block's energy at `frequency` (Goertzel power over total energy).
    fn energy_share(block: &[f32], frequency: f32) -> f32 {
        let total: f32 = block.iter().map(|s| s * s).sum();
        2.0 * power(block, frequency, 8000.0) / (block.len() as f32 * total)
    }

    #[test]
    fn a_tone_keeps_its_frequency_and_level_at_every_common_rate() {
        for from in [11_025, 16_000, 22_050, 44_100, 48_000, 96_000, 4_000] {
            let output = resample(&tone(1000.0, from, 0.5), from, 8000);
            assert_eq!(output.len(), 4000, "{from}");
            // Skip the edges, where the filter sees zeros outside the input.
            let middle = &output[400..3600];
            let share = energy_share(middle, 1000.0);
            assert!(
                share > 0.99,
                "{from}: 1 kHz holds only {share} of the energy"
            );
            let peak = middle.iter().fold(0.0f32, |max, s| max.max(s.abs()));
            assert!((peak - 0.5).abs() < 0.01, "{from}: peak {peak}");
        }
    }

    #[test]
    fn tones_above_the_new_nyquist_are_removed() {
        for (from, frequency) in [(44_100, 5_000.0), (48_000, 6_000.0), (22_050, 9_000.0)] {
            let input = tone(frequency, from, 0.5);
            let output = resample(&input, from, 8000);
            let middle = &output[400..3600];
            let energy: f32 = middle.iter().map(|s| s * s).sum::<f32>() / middle.len() as f32;
            // The input's mean energy is 0.125; demand more than 60 dB of rejection.
            assert!(energy < 0.125e-6, "{from} Hz, {frequency} Hz: {energy}");
        }
    }

    #[test]
    fn equal_rates_copy_and_gcd_works() {
        let input = [0.25f32, -0.5, 1.0];
        assert_eq!(resample(&input, 8000, 8000), input);
        assert!(resample(&[], 44_100, 8000).is_empty());
        assert_eq!(gcd(44_100, 8_000), 100);
    }
}
