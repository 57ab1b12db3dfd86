use super::*;
use crate::dtmf::goertzel::power;

fn wav(spec: WavSpec, frames: usize, value: impl Fn(usize, u16) -> f64) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    let mut writer = WavWriter::new(&mut bytes, spec).unwrap();
    for n in 0..frames {
        for channel in 0..spec.channels {
            let v = value(n, channel);
            match (spec.sample_format, spec.bits_per_sample) {
                (SampleFormat::Float, _) => writer.write_sample(v as f32).unwrap(),
                (SampleFormat::Int, 8) => writer.write_sample((v * 127.0) as i8).unwrap(),
                (SampleFormat::Int, 16) => writer.write_sample((v * 32767.0) as i16).unwrap(),
                (SampleFormat::Int, bits) => {
                    let scale = ((1i64 << (bits - 1)) - 1) as f64;
                    writer.write_sample((v * scale) as i32).unwrap()
                }
            }
        }
    }
    writer.finalize().unwrap();
    bytes.into_inner()
}

fn spec(rate: u32, channels: u16, format: SampleFormat, bits: u16) -> WavSpec {
    WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: format,
    }
}

fn sine(frequency: f64, rate: u32) -> impl Fn(usize, u16) -> f64 {
    move |n, _| 0.5 * (std::f64::consts::TAU * frequency * n as f64 / f64::from(rate)).sin()
}

fn share_at(samples: &[i16], frequency: f32) -> f32 {
    let block: Vec<f32> = samples.iter().map(|&s| f32::from(s)).collect();
    let total: f32 = block.iter().map(|s| s * s).sum();
    2.0 * power(&block, frequency, 8000.0) / (block.len() as f32 * total)
}

#[test]
fn every_common_format_decodes_to_a_clean_8k_tone() {
    let formats = [
        (8_000, SampleFormat::Int, 16),
        (16_000, SampleFormat::Int, 16),
        (22_050, SampleFormat::Int, 8),
        (44_100, SampleFormat::Int, 16),
        (44_100, SampleFormat::Int, 24),
        (48_000, SampleFormat::Float, 32),
        (48_000, SampleFormat::Int, 32),
    ];
    for (rate, format, bits) in formats {
        for channels in [1, 2] {
            let bytes = wav(
                spec(rate, channels, format, bits),
                rate as usize,
                sine(1000.0, rate),
            );
            let pcm = decode_wav(&bytes, Limits::default()).unwrap();
            let label = format!("{rate} Hz {bits}-bit {format:?} ×{channels}");
            assert_eq!(pcm.len(), 8000, "{label}");
            assert_eq!(pcm.duration_ms(), 1000, "{label}");
            let middle = &pcm.samples()[800..7200];
            let share = share_at(middle, 1000.0);
            assert!(share > 0.98, "{label}: 1 kHz holds {share} of the energy");
            let peak = middle.iter().map(|s| s.unsigned_abs()).max().unwrap();
            assert!((15_500..17_300).contains(&peak), "{label}: peak {peak}");
        }
    }
}

#[test]
fn stereo_is_averaged() {
    // Left +0.5, right −0.5: silence once mixed.
    let bytes = wav(spec(8000, 2, SampleFormat::Int, 16), 800, |_, channel| {
        if channel == 0 { 0.5 } else { -0.5 }
    });
    let pcm = decode_wav(&bytes, Limits::default()).unwrap();
    assert!(pcm.samples().iter().all(|&s| s.abs() <= 1));
}

#[test]
fn frames_are_20_ms_and_the_last_is_padded() {
    let pcm = Pcm::from((1..=400).map(|n| n as i16).collect::<Vec<_>>());
    assert_eq!(pcm.frame_count(), 3);
    let frames: Vec<_> = pcm.frames().collect();
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[0][0], 1);
    assert_eq!(frames[1][0], 161);
    assert_eq!(
        frames[2][..80],
        (321..=400).map(|n| n as i16).collect::<Vec<_>>()[..]
    );
    assert!(frames[2][80..].iter().all(|&s| s == 0));
    assert_eq!(pcm.frame(3), None);
    assert_eq!(Pcm::default().frame_count(), 0);
    assert_eq!(Pcm::from(vec![7; 320]).frames().count(), 2);
}

#[test]
fn encode_and_decode_round_trip() {
    let pcm = Pcm::from(
        (0..1000)
            .map(|n| (n * 37 % 2000 - 1000) as i16)
            .collect::<Vec<_>>(),
    );
    let bytes = encode_wav(&pcm);
    assert_eq!(decode_wav(&bytes, Limits::default()).unwrap(), pcm);
}

#[test]
fn bad_files_get_typed_errors() {
    let limits = Limits::default();
    assert!(matches!(
        decode_wav(b"not a wav file at all", limits),
        Err(PromptError::Malformed(_))
    ));
    let good = wav(
        spec(8000, 1, SampleFormat::Int, 16),
        8000,
        sine(440.0, 8000),
    );
    assert!(matches!(
        decode_wav(&good[..good.len() / 2], limits),
        Err(PromptError::Malformed(_))
    ));
    assert!(matches!(
        decode_wav(&good, Limits { max_bytes: 1000, ..limits }),
        Err(PromptError::TooLarge { bytes, limit: 1000 }) if bytes == good.len()
    ));
    assert!(matches!(
        decode_wav(
            &good,
            Limits {
                max_duration_ms: 500,
                ..limits
            }
        ),
        Err(PromptError::TooLong {
            duration_ms: 1000,
            limit_ms: 500
        })
    ));
    let slow = wav(spec(2000, 1, SampleFormat::Int, 16), 100, |_, _| 0.0);
    assert!(matches!(
        decode_wav(&slow, limits),
        Err(PromptError::UnsupportedRate { rate: 2000 })
    ));
    // The format tag (byte 20) of a PCM file changed to 2, ADPCM.
    let mut adpcm = good.clone();
    adpcm[20] = 2;
    assert!(matches!(
        decode_wav(&adpcm, limits),
        Err(PromptError::UnsupportedEncoding)
    ));
}
