//! Call recordings: a two-channel 8 kHz 16-bit WAV — left the peer (the caller), right what
//! the caller heard (prompts, or the agent or far end of a bridge).
//!
//! [`Timeline`] is the pure part: it places 20 ms frames on a sample clock from the time
//! they were heard, so the two channels stay aligned through jitter, silence suppression and
//! holds. A frame within [`SNAP_SAMPLES`] of where its channel left off continues it (jitter
//! does not leave clicks of silence); a later one leaves a silent gap. Samples more than
//! [`LATENESS_SAMPLES`] behind the newest frame are final and handed out to be written.
//!
//! [`Recorder::spawn`] runs a timeline on a blocking thread that writes the WAV under a
//! temporary name and renames it when the last sender is dropped, so a file under the final
//! name is always whole. [`Recorder::spawn_mono`] keeps one direction only (a voicemail
//! message: what the caller said).

use std::collections::VecDeque;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Instant;

use thiserror::Error;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::codec::{FRAME_SAMPLES, SAMPLE_RATE};
use crate::session::{Direction, Frame, RecordedFrame};

/// A frame this close after its channel's end continues it (60 ms).
pub const SNAP_SAMPLES: u64 = 480;
/// How long a frame may arrive late and still be placed (1 s).
pub const LATENESS_SAMPLES: u64 = SAMPLE_RATE as u64;
/// Frames a recorder's channel holds before senders start losing them (2 s of both sides).
pub const CHANNEL_FRAMES: usize = 200;

/// Places frames of two channels on one sample clock.
#[derive(Debug)]
pub struct Timeline {
    /// Sample index of `pending[0]`.
    written: u64,
    /// Samples not yet final, (left, right).
    pending: VecDeque<[i16; 2]>,
    /// Where each channel's next contiguous frame goes, once it has one.
    next: [Option<u64>; 2],
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline::new()
    }
}

impl Timeline {
    /// An empty timeline starting at sample 0.
    pub fn new() -> Timeline {
        Timeline {
            written: 0,
            pending: VecDeque::new(),
            next: [None, None],
        }
    }

    /// Places `frame` heard at sample `at` on `direction`'s channel and appends every sample
    /// that became final to `out` (interleaved left, right).
    pub fn push(&mut self, direction: Direction, at: u64, frame: &Frame, out: &mut Vec<i16>) {
        let channel = match direction {
            Direction::Received => 0,
            Direction::Sent => 1,
        };
        let position = match self.next[channel] {
            Some(next) if at <= next + SNAP_SAMPLES => next.max(self.written),
            _ => at.max(self.written),
        };
        let end = position + FRAME_SAMPLES as u64;
        let needed = usize::try_from(end - self.written).unwrap_or(usize::MAX);
        if self.pending.len() < needed {
            self.pending.resize(needed, [0, 0]);
        }
        let offset = usize::try_from(position - self.written).unwrap_or(usize::MAX);
        for (index, sample) in frame.iter().enumerate() {
            if let Some(slot) = self.pending.get_mut(offset + index) {
                slot[channel] = *sample;
            }
        }
        self.next[channel] = Some(end);
        let newest = self.next[0].max(self.next[1]).unwrap_or(0);
        let final_until = newest.saturating_sub(LATENESS_SAMPLES);
        self.drain_until(final_until, out);
    }

    /// Appends every remaining sample to `out`; the timeline is then empty.
    pub fn finish(&mut self, out: &mut Vec<i16>) {
        let end = self.written + self.pending.len() as u64;
        self.drain_until(end, out);
    }

    /// Samples handed out so far (per channel).
    pub fn written(&self) -> u64 {
        self.written
    }

    fn drain_until(&mut self, until: u64, out: &mut Vec<i16>) {
        while self.written < until {
            let Some([left, right]) = self.pending.pop_front() else {
                break;
            };
            out.push(left);
            out.push(right);
            self.written += 1;
        }
    }
}

/// Why a recording failed.
#[derive(Debug, Error)]
pub enum RecordError {
    /// Creating, writing or renaming the file.
    #[error("recording {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The WAV encoder.
    #[error("recording {path}: {source}")]
    Wav {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: hound::Error,
    },
    /// The writer thread died.
    #[error("the recording thread stopped: {0}")]
    Thread(String),
}

/// A finished recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// The WAV file.
    pub path: PathBuf,
    /// Its length.
    pub duration_ms: u64,
}

/// The task that finishes a recording.
pub type RecordingTask = JoinHandle<Result<Recording, RecordError>>;

/// Writes one recording.
#[derive(Debug)]
pub struct Recorder;

impl Recorder {
    /// Starts recording into `path` (its directory must exist): returns the sender to give
    /// to [`crate::RtpSession::record_to`] (clone it for more legs) and the task that
    /// finishes the file once every sender is dropped.
    pub fn spawn(path: &Path) -> Result<(mpsc::Sender<RecordedFrame>, RecordingTask), RecordError> {
        Recorder::start(path, None)
    }

    /// As [`Recorder::spawn`], writing a mono WAV of `direction` only.
    pub fn spawn_mono(
        path: &Path,
        direction: Direction,
    ) -> Result<(mpsc::Sender<RecordedFrame>, RecordingTask), RecordError> {
        Recorder::start(path, Some(direction))
    }

    fn start(
        path: &Path,
        only: Option<Direction>,
    ) -> Result<(mpsc::Sender<RecordedFrame>, RecordingTask), RecordError> {
        let temporary = path.with_extension("wav.part");
        let spec = hound::WavSpec {
            channels: if only.is_some() { 1 } else { 2 },
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let file = File::create(&temporary).map_err(|source| RecordError::Io {
            path: temporary.clone(),
            source,
        })?;
        let writer = hound::WavWriter::new(BufWriter::new(file), spec).map_err(|source| {
            RecordError::Wav {
                path: temporary.clone(),
                source,
            }
        })?;
        let (sender, receiver) = mpsc::channel(CHANNEL_FRAMES);
        let start = Instant::now();
        let path = path.to_path_buf();
        let task = tokio::task::spawn_blocking(move || {
            write_all(receiver, writer, start, only, &temporary, &path)
        });
        let task = tokio::spawn(async move {
            task.await
                .map_err(|error| RecordError::Thread(error.to_string()))?
        });
        Ok((sender, task))
    }
}

fn write_all(
    mut receiver: mpsc::Receiver<RecordedFrame>,
    mut writer: hound::WavWriter<BufWriter<File>>,
    start: Instant,
    only: Option<Direction>,
    temporary: &Path,
    path: &Path,
) -> Result<Recording, RecordError> {
    // Interleaved (left, right) samples; a mono file keeps one of each pair.
    let keep = |index: usize| match only {
        None => true,
        Some(Direction::Received) => index.is_multiple_of(2),
        Some(Direction::Sent) => !index.is_multiple_of(2),
    };
    let wav_error = |source| RecordError::Wav {
        path: temporary.to_path_buf(),
        source,
    };
    let mut timeline = Timeline::new();
    let mut out = Vec::with_capacity(4 * FRAME_SAMPLES);
    while let Some(frame) = receiver.blocking_recv() {
        let at = frame.at.saturating_duration_since(start);
        let at =
            u64::try_from(at.as_micros() * u128::from(SAMPLE_RATE) / 1_000_000).unwrap_or(u64::MAX);
        if only.is_some_and(|direction| direction != frame.direction) {
            continue;
        }
        timeline.push(frame.direction, at, &frame.samples, &mut out);
        for (index, sample) in out.drain(..).enumerate() {
            if keep(index) {
                writer.write_sample(sample).map_err(wav_error)?;
            }
        }
    }
    timeline.finish(&mut out);
    for (index, sample) in out.drain(..).enumerate() {
        if keep(index) {
            writer.write_sample(sample).map_err(wav_error)?;
        }
    }
    writer.finalize().map_err(wav_error)?;
    std::fs::rename(temporary, path).map_err(|source| RecordError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Recording {
        path: path.to_path_buf(),
        duration_ms: timeline.written() * 1000 / u64::from(SAMPLE_RATE),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(value: i16) -> Frame {
        [value; FRAME_SAMPLES]
    }

    fn channel(out: &[i16], channel: usize) -> Vec<i16> {
        out.iter().skip(channel).step_by(2).copied().collect()
    }

    #[test]
    fn both_channels_line_up_on_one_clock() {
        let mut timeline = Timeline::new();
        let mut out = Vec::new();
        timeline.push(Direction::Received, 0, &frame(1), &mut out);
        timeline.push(Direction::Sent, 160, &frame(2), &mut out);
        timeline.finish(&mut out);
        assert_eq!(out.len(), 2 * 320);
        let left = channel(&out, 0);
        let right = channel(&out, 1);
        assert!(left[..160].iter().all(|&s| s == 1));
        assert!(left[160..].iter().all(|&s| s == 0));
        assert!(right[..160].iter().all(|&s| s == 0));
        assert!(right[160..].iter().all(|&s| s == 2));
    }

    #[test]
    fn jitter_continues_a_channel_and_a_long_gap_stays_silent() {
        let mut timeline = Timeline::new();
        let mut out = Vec::new();
        timeline.push(Direction::Received, 0, &frame(1), &mut out);
        // 30 ms late: still the next frame, no click of silence.
        timeline.push(Direction::Received, 400, &frame(2), &mut out);
        // Early (bunched): placed after the last, not over it.
        timeline.push(Direction::Received, 200, &frame(3), &mut out);
        // A second later: silence in between.
        timeline.push(Direction::Received, 8_480, &frame(4), &mut out);
        timeline.finish(&mut out);
        let left = channel(&out, 0);
        assert!(left[..160].iter().all(|&s| s == 1));
        assert!(left[160..320].iter().all(|&s| s == 2));
        assert!(left[320..480].iter().all(|&s| s == 3));
        assert!(left[480..8_480].iter().all(|&s| s == 0));
        assert!(left[8_480..8_640].iter().all(|&s| s == 4));
        assert_eq!(left.len(), 8_640);
    }

    #[test]
    fn samples_become_final_a_second_behind_the_newest_and_memory_stays_bounded() {
        let mut timeline = Timeline::new();
        let mut out = Vec::new();
        let mut written = 0;
        for index in 0..3_000u64 {
            timeline.push(Direction::Received, index * 160, &frame(5), &mut out);
            timeline.push(Direction::Sent, index * 160, &frame(6), &mut out);
            written += out.len();
            out.clear();
            assert!(timeline.pending.len() <= (LATENESS_SAMPLES as usize) + FRAME_SAMPLES);
        }
        timeline.finish(&mut out);
        written += out.len();
        assert_eq!(
            written,
            2 * 3_000 * 160,
            "a minute of both channels, nothing lost"
        );
    }

    #[test]
    fn a_frame_too_late_to_place_goes_after_what_was_written() {
        let mut timeline = Timeline::new();
        let mut out = Vec::new();
        timeline.push(Direction::Received, 0, &frame(1), &mut out);
        timeline.push(Direction::Received, 3 * 8_000, &frame(2), &mut out);
        assert!(timeline.written() > 8_000);
        // The sent side arrives with a timestamp long final: it is placed, not dropped.
        timeline.push(Direction::Sent, 0, &frame(9), &mut out);
        timeline.finish(&mut out);
        let right = channel(&out, 1);
        assert_eq!(right.iter().filter(|&&s| s == 9).count(), 160);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_mono_recorder_keeps_one_direction() {
        let dir = std::env::temp_dir().join(format!("ramal-record-mono-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let path = dir.join("message.wav");
        let (sender, task) = Recorder::spawn_mono(&path, Direction::Received).expect("starts");
        let start = Instant::now();
        for index in 0..25u32 {
            let at = start + std::time::Duration::from_millis(u64::from(index) * 20);
            for (direction, value) in [(Direction::Received, 100), (Direction::Sent, -100)] {
                sender
                    .send(RecordedFrame {
                        direction,
                        at,
                        samples: frame(value),
                    })
                    .await
                    .expect("the recorder is running");
            }
        }
        drop(sender);
        task.await.expect("joins").expect("finishes");
        let reader = hound::WavReader::open(&path).expect("a WAV");
        assert_eq!(reader.spec().channels, 1);
        let samples: Vec<i16> = reader
            .into_samples()
            .map(|s| s.expect("a sample"))
            .collect();
        assert!(samples.len() >= 25 * 160, "{}", samples.len());
        assert!(
            samples.iter().all(|&s| s == 100 || s == 0),
            "only the caller's side"
        );
        assert!(samples.iter().filter(|&&s| s == 100).count() >= 24 * 160);
        std::fs::remove_dir_all(&dir).expect("cleans up");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_recorder_writes_a_whole_stereo_wav_under_its_final_name_only_at_the_end() {
        let dir = std::env::temp_dir().join(format!("ramal-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let path = dir.join("call.wav");
        let (sender, task) = Recorder::spawn(&path).expect("starts");
        let start = Instant::now();
        for index in 0..50u32 {
            let at = start + std::time::Duration::from_millis(u64::from(index) * 20);
            for (direction, value) in [(Direction::Received, 100), (Direction::Sent, -100)] {
                sender
                    .send(RecordedFrame {
                        direction,
                        at,
                        samples: frame(value),
                    })
                    .await
                    .expect("the recorder is running");
            }
        }
        assert!(
            !path.exists(),
            "nothing under the final name while recording"
        );
        drop(sender);
        let recording = task.await.expect("joins").expect("finishes");
        assert!(recording.duration_ms >= 1_000, "{recording:?}");
        let reader = hound::WavReader::open(&path).expect("a WAV");
        let spec = reader.spec();
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (2, 8_000, 16)
        );
        let samples: Vec<i16> = reader
            .into_samples()
            .map(|s| s.expect("a sample"))
            .collect();
        let left = channel(&samples, 0);
        let right = channel(&samples, 1);
        assert!(left.iter().filter(|&&s| s == 100).count() >= 49 * 160);
        assert!(right.iter().filter(|&&s| s == -100).count() >= 49 * 160);
        std::fs::remove_dir_all(&dir).expect("cleans up");
    }
}
