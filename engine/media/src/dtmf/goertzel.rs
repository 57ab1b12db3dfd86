//! The Goertzel algorithm: the DFT at a few chosen frequencies, one multiply-add per sample
//! and frequency. [`GoertzelBank`] runs several frequencies over one block in lock-step (the
//! inner loop over the bank's array vectorises) and returns each frequency's complex DFT
//! value, so blocks can be joined into longer, overlapping windows by the caller.

/// A complex number, just enough for DFT values.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Complex {
    /// Real part.
    pub re: f32,
    /// Imaginary part.
    pub im: f32,
}

impl Complex {
    /// `|z|²`.
    pub fn norm_sqr(self) -> f32 {
        self.re * self.re + self.im * self.im
    }

    /// `e^(iθ)`.
    pub fn from_angle(theta: f32) -> Complex {
        Complex {
            re: theta.cos(),
            im: theta.sin(),
        }
    }
}

impl core::ops::Mul for Complex {
    type Output = Complex;

    fn mul(self, other: Complex) -> Complex {
        Complex {
            re: self.re * other.re - self.im * other.im,
            im: self.re * other.im + self.im * other.re,
        }
    }
}

impl core::ops::Add for Complex {
    type Output = Complex;

    fn add(self, other: Complex) -> Complex {
        Complex {
            re: self.re + other.re,
            im: self.im + other.im,
        }
    }
}

/// Goertzel filters for `N` frequencies with precomputed coefficients.
#[derive(Clone, Debug)]
pub struct GoertzelBank<const N: usize> {
    /// `2·cos(ω)` per frequency.
    coefficient: [f32; N],
    /// `cos(ω)` per frequency.
    cosine: [f32; N],
    /// `sin(ω)` per frequency.
    sine: [f32; N],
}

impl<const N: usize> GoertzelBank<N> {
    /// A bank for `frequencies` (Hz) at `sample_rate` (Hz). Frequencies need not fall on DFT
    /// bins.
    pub fn new(frequencies: [f32; N], sample_rate: f32) -> Self {
        let omega = frequencies.map(|frequency| core::f32::consts::TAU * frequency / sample_rate);
        GoertzelBank {
            coefficient: omega.map(|omega| 2.0 * omega.cos()),
            cosine: omega.map(f32::cos),
            sine: omega.map(f32::sin),
        }
    }

    /// Runs the bank over `block` and returns, per frequency, `Σ x[n]·e^(−iω(n − L + 1))`
    /// for a block of length `L`: the DFT value referred to the block's **last** sample.
    /// Its magnitude is the DFT magnitude; see [`GoertzelBank::new`] for the frequencies.
    pub fn run(&self, block: &[f32]) -> [Complex; N] {
        let mut s1 = [0.0f32; N];
        let mut s2 = [0.0f32; N];
        for &sample in block {
            for index in 0..N {
                // `sample - s2` does not wait for the previous step, so the loop-carried
                // chain is one multiply and one add.
                let s0 = (sample - s2[index]) + self.coefficient[index] * s1[index];
                s2[index] = s1[index];
                s1[index] = s0;
            }
        }
        core::array::from_fn(|index| Complex {
            re: s1[index] - self.cosine[index] * s2[index],
            im: self.sine[index] * s2[index],
        })
    }
}

/// The power `|X(f)|²` of one frequency over a block (a one-filter bank).
pub fn power(block: &[f32], frequency: f32, sample_rate: f32) -> f32 {
    let [value] = GoertzelBank::new([frequency], sample_rate).run(block);
    value.norm_sqr()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct_dft(block: &[f32], frequency: f32, sample_rate: f32) -> Complex {
        let last = block.len() as f32 - 1.0;
        block
            .iter()
            .enumerate()
            .fold(Complex::default(), |sum, (n, &x)| {
                let theta = -core::f32::consts::TAU * frequency / sample_rate * (n as f32 - last);
                sum + (Complex {
                    re: x * theta.cos(),
                    im: x * theta.sin(),
                })
            })
    }

    #[test]
    fn matches_a_direct_dft() {
        let block: Vec<f32> = (0..102)
            .map(|n| (n as f32 * 0.37).sin() * 0.5 + ((n * 7919) % 13) as f32 / 40.0)
            .collect();
        let frequencies = [697.0, 941.0, 1209.0, 1633.0, 2418.0, 3266.0];
        let results = GoertzelBank::new(frequencies, 8000.0).run(&block);
        for (frequency, goertzel) in frequencies.iter().zip(results) {
            let direct = direct_dft(&block, *frequency, 8000.0);
            assert!(
                (goertzel.re - direct.re).abs() < 1e-3,
                "{frequency}: {goertzel:?} {direct:?}"
            );
            assert!(
                (goertzel.im - direct.im).abs() < 1e-3,
                "{frequency}: {goertzel:?} {direct:?}"
            );
        }
    }

    #[test]
    fn a_sine_shows_at_its_frequency_only() {
        let block: Vec<f32> = (0..160)
            .map(|n| (core::f32::consts::TAU * 1000.0 * n as f32 / 8000.0).sin())
            .collect();
        // A full-scale sine over L samples gives |X|² = (L/2)².
        let on = power(&block, 1000.0, 8000.0);
        assert!((on - 80.0 * 80.0).abs() < 1.0, "{on}");
        let off = power(&block, 1300.0, 8000.0);
        assert!(off < on / 1000.0, "{off}");
    }
}
