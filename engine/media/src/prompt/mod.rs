//! Prompts: audio to play into a call, as 8 kHz mono 16-bit [`Pcm`] cut into 20 ms frames.
//!
//! [`decode_wav`] turns the bytes of a WAV file (any common rate, 8/16/24/32-bit integer or
//! 32-bit float, any number of channels, averaged to mono) into [`Pcm`], resampling with
//! [`resample`]'s windowed-sinc filter; [`encode_wav`] writes [`Pcm`] back as a WAV file. Pure:
//! the caller reads the file and passes the bytes in.

pub mod resample;

use std::io::Cursor;
use std::sync::Arc;

use hound::{SampleFormat, WavReader, WavSpec, WavWriter};
use thiserror::Error;

use crate::codec::{FRAME_SAMPLES, SAMPLE_RATE};

/// Lowest sample rate accepted.
pub const MIN_SAMPLE_RATE: u32 = 4_000;
/// Highest sample rate accepted.
pub const MAX_SAMPLE_RATE: u32 = 192_000;
/// Most channels accepted.
pub const MAX_CHANNELS: u16 = 8;

/// Audio ready to play: 8 kHz, mono, 16-bit linear samples, cheap to clone.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Pcm(Arc<[i16]>);

impl Pcm {
    /// Wraps 8 kHz mono samples.
    pub fn new(samples: impl Into<Arc<[i16]>>) -> Pcm {
        Pcm(samples.into())
    }

    /// The samples.
    pub fn samples(&self) -> &[i16] {
        &self.0
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Duration in milliseconds (rounded down).
    pub fn duration_ms(&self) -> u64 {
        self.0.len() as u64 * 1000 / u64::from(SAMPLE_RATE)
    }

    /// Number of 20 ms frames, counting a partial last frame.
    pub fn frame_count(&self) -> usize {
        self.0.len().div_ceil(FRAME_SAMPLES)
    }

    /// Frame `index` (160 samples); a partial last frame is padded with silence.
    pub fn frame(&self, index: usize) -> Option<[i16; FRAME_SAMPLES]> {
        let start = index.checked_mul(FRAME_SAMPLES)?;
        let chunk = self.0.get(start..)?.chunks(FRAME_SAMPLES).next()?;
        let mut frame = [0i16; FRAME_SAMPLES];
        frame[..chunk.len()].copy_from_slice(chunk);
        Some(frame)
    }

    /// All frames in order (see [`Pcm::frame`]).
    pub fn frames(&self) -> impl Iterator<Item = [i16; FRAME_SAMPLES]> + '_ {
        (0..self.frame_count()).filter_map(|index| self.frame(index))
    }
}

impl From<Vec<i16>> for Pcm {
    fn from(samples: Vec<i16>) -> Pcm {
        Pcm(samples.into())
    }
}

/// How much audio [`decode_wav`] accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest file, in bytes.
    pub max_bytes: usize,
    /// Longest audio, in milliseconds.
    pub max_duration_ms: u64,
}

impl Default for Limits {
    /// 64 MiB and 10 minutes.
    fn default() -> Limits {
        Limits {
            max_bytes: 64 << 20,
            max_duration_ms: 10 * 60 * 1000,
        }
    }
}

/// Why a WAV file could not become a prompt.
#[derive(Debug, Error)]
pub enum PromptError {
    /// The file is larger than [`Limits::max_bytes`].
    #[error("WAV file has {bytes} bytes, the limit is {limit}")]
    TooLarge {
        /// The file's size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The audio is longer than [`Limits::max_duration_ms`].
    #[error("WAV audio lasts {duration_ms} ms, the limit is {limit_ms} ms")]
    TooLong {
        /// The audio's duration.
        duration_ms: u64,
        /// The limit.
        limit_ms: u64,
    },
    /// The sample rate is outside [`MIN_SAMPLE_RATE`]..=[`MAX_SAMPLE_RATE`].
    #[error("WAV sample rate {rate} Hz is not supported")]
    UnsupportedRate {
        /// The file's rate.
        rate: u32,
    },
    /// No channels, or more than [`MAX_CHANNELS`].
    #[error("WAV with {channels} channels is not supported")]
    UnsupportedChannels {
        /// The file's channel count.
        channels: u16,
    },
    /// A sample format other than 8/16/24/32-bit integer or 32-bit float.
    #[error("WAV samples of {bits} bits ({format:?}) are not supported")]
    UnsupportedFormat {
        /// Integer or float.
        format: SampleFormat,
        /// Bits per sample.
        bits: u16,
    },
    /// A WAV encoding other than PCM or IEEE float (ADPCM, µ-law WAV and the like).
    #[error("WAV encoding is not supported (only PCM and IEEE float are)")]
    UnsupportedEncoding,
    /// Not a WAV file, or a truncated or corrupt one.
    #[error("malformed WAV file")]
    Malformed(#[source] hound::Error),
}

/// Decodes a WAV file to 8 kHz mono [`Pcm`], within `limits`.
pub fn decode_wav(bytes: &[u8], limits: Limits) -> Result<Pcm, PromptError> {
    if bytes.len() > limits.max_bytes {
        return Err(PromptError::TooLarge {
            bytes: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let reader = WavReader::new(Cursor::new(bytes)).map_err(wav_error)?;
    let spec = reader.spec();
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&spec.sample_rate) {
        return Err(PromptError::UnsupportedRate {
            rate: spec.sample_rate,
        });
    }
    if spec.channels == 0 || spec.channels > MAX_CHANNELS {
        return Err(PromptError::UnsupportedChannels {
            channels: spec.channels,
        });
    }
    let duration_ms = u64::from(reader.duration()) * 1000 / u64::from(spec.sample_rate);
    if duration_ms > limits.max_duration_ms {
        return Err(PromptError::TooLong {
            duration_ms,
            limit_ms: limits.max_duration_ms,
        });
    }
    let interleaved = read_normalised(reader, spec)?;
    let channels = usize::from(spec.channels);
    let mono: Vec<f32> = interleaved
        .chunks(channels)
        .map(|frame| frame.iter().sum::<f32>() / channels as f32)
        .collect();
    let resampled = resample::resample(&mono, spec.sample_rate, SAMPLE_RATE);
    Ok(Pcm::new(
        resampled
            .iter()
            .map(|&sample| (sample * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
            .collect::<Vec<_>>(),
    ))
}

/// Every sample as `f32` in −1.0..1.0, still interleaved.
fn read_normalised(
    mut reader: WavReader<Cursor<&[u8]>>,
    spec: WavSpec,
) -> Result<Vec<f32>, PromptError> {
    match (spec.sample_format, spec.bits_per_sample) {
        (SampleFormat::Float, 32) => reader
            .samples::<f32>()
            .map(|sample| sample.map(|value| value.clamp(-1.0, 1.0)))
            .collect::<Result<_, _>>()
            .map_err(wav_error),
        (SampleFormat::Int, bits @ (8 | 16 | 24 | 32)) => {
            let scale = 1.0 / (1u64 << (bits - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|sample| sample.map(|value| value as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(wav_error)
        }
        (format, bits) => Err(PromptError::UnsupportedFormat { format, bits }),
    }
}

fn wav_error(error: hound::Error) -> PromptError {
    match error {
        hound::Error::Unsupported => PromptError::UnsupportedEncoding,
        other => PromptError::Malformed(other),
    }
}

/// Encodes [`Pcm`] as a WAV file (8 kHz, mono, 16-bit).
pub fn encode_wav(pcm: &Pcm) -> Vec<u8> {
    let spec = WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: SampleFormat::Int,
    };
    let mut bytes = Cursor::new(Vec::with_capacity(44 + 2 * pcm.len()));
    // Writing 16-bit samples to memory cannot fail; the header fields are all in range.
    if let Ok(mut writer) = WavWriter::new(&mut bytes, spec) {
        let mut samples = writer.get_i16_writer(pcm.len() as u32);
        for &sample in pcm.samples() {
            samples.write_sample(sample);
        }
        let _ = samples.flush();
        let _ = writer.finalize();
    }
    bytes.into_inner()
}

#[cfg(test)]
mod tests;
