//! Recording on a call: the whole call (both sides, a `record` node) and voicemail
//! messages (the caller's side after a beep).

use super::Driver;
use ramal_flow::execution::{CommandId, Event};
use ramal_media::{PlaybackId, RecordedFrame, Recorder, record::RecordingTask};
use std::time::Duration;
use tokio::sync::mpsc;

impl Driver {
    /// Starts recording both sides of the call (once; a second `record` node is a no-op).
    pub(super) async fn start_recording(&mut self) {
        if self.recorder.is_some() {
            return;
        }
        let dir = &self.shared.config.recordings_dir;
        if let Err(error) = tokio::fs::create_dir_all(dir).await {
            tracing::error!(call = %self.call, dir = %dir.display(), %error, "cannot record");
            return;
        }
        let path = dir.join(format!("{}.wav", self.record_id));
        match Recorder::spawn(&path) {
            Ok((sender, task)) => {
                self.rtp.record_to(Some(sender.clone()));
                self.recorder = Some((sender, task));
            }
            Err(error) => tracing::error!(call = %self.call, %error, "cannot record"),
        }
    }

    /// Closes the recording, if any, and returns its file name once it is whole.
    pub(super) async fn finish_recording(&mut self) -> Option<String> {
        let (sender, task) = self.recorder.take()?;
        self.rtp.record_to(None);
        drop(sender);
        match task.await {
            Ok(Ok(recording)) => recording
                .path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned()),
            Ok(Err(error)) => {
                tracing::error!(call = %self.call, %error, "recording lost");
                None
            }
            Err(error) => {
                tracing::error!(call = %self.call, %error, "recording task failed");
                None
            }
        }
    }
}

/// The beep before a voicemail message (not an executor prompt: ids above `u32::MAX`).
pub(super) const BEEP: PlaybackId = PlaybackId(u64::MAX);

/// A voicemail message: the beep plays, then the caller's side is recorded until the
/// terminator key, the maximum duration or the hang-up.
pub(super) struct Message {
    pub(super) id: CommandId,
    pub(super) terminator: Option<char>,
    max_duration: Duration,
    path: std::path::PathBuf,
    /// The name reported to the flow: the path under the recordings directory.
    name: String,
    /// Set when the beep has played.
    pub(super) deadline: Option<tokio::time::Instant>,
    pub(super) recording: Option<(mpsc::Sender<RecordedFrame>, RecordingTask)>,
}

/// 400 ms of 1 kHz at −12 dBFS.
fn beep() -> ramal_media::Pcm {
    let samples: Vec<i16> = (0..3_200)
        .map(|n| {
            let phase = 2.0 * std::f64::consts::PI * 1_000.0 * f64::from(n) / 8_000.0;
            (phase.sin() * 8_200.0) as i16
        })
        .collect();
    ramal_media::Pcm::from(samples)
}

/// A mailbox name as a directory name: `[A-Za-z0-9_-]`, at most 64, `default` if empty.
fn mailbox_dir(mailbox: Option<&str>) -> String {
    let name: String = mailbox
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .take(64)
        .collect();
    if name.is_empty() {
        "default".into()
    } else {
        name
    }
}

impl Driver {
    /// `RecordMessage`: plays the beep; recording starts when it ends.
    pub(super) async fn begin_message(
        &mut self,
        id: CommandId,
        mailbox: Option<&str>,
        max_duration: Duration,
        terminator: Option<char>,
    ) {
        self.finish_message(false).await;
        let mailbox = mailbox_dir(mailbox);
        let name = format!("voicemail/{mailbox}/{}-{}.wav", self.record_id, id.0);
        let path = self.shared.config.recordings_dir.join(&name);
        if let Some(dir) = path.parent()
            && let Err(error) = tokio::fs::create_dir_all(dir).await
        {
            tracing::error!(call = %self.call, dir = %dir.display(), %error, "cannot take a message");
            self.handle(Event::RecordingFinished {
                id,
                recording: String::new(),
            });
            return;
        }
        self.rtp.play(BEEP, beep(), false);
        self.message = Some(Message {
            id,
            terminator,
            max_duration,
            path,
            name,
            deadline: None,
            recording: None,
        });
    }

    /// The beep ended: record the caller.
    pub(super) fn start_message(&mut self) {
        let Some(message) = self.message.as_mut() else {
            return;
        };
        if message.recording.is_some() {
            return;
        }
        match Recorder::spawn_mono(&message.path, ramal_media::Direction::Received) {
            Ok((sender, task)) => {
                self.rtp.record_message_to(Some(sender.clone()));
                message.recording = Some((sender, task));
                message.deadline = Some(tokio::time::Instant::now() + message.max_duration);
            }
            Err(error) => {
                tracing::error!(call = %self.call, %error, "cannot take a message");
                let id = message.id;
                self.message = None;
                self.handle(Event::RecordingFinished {
                    id,
                    recording: String::new(),
                });
            }
        }
    }

    /// Ends the message being taken, if any; with `deliver`, tells the executor its name
    /// (empty when nothing was recorded).
    pub(super) async fn finish_message(&mut self, deliver: bool) {
        let Some(message) = self.message.take() else {
            return;
        };
        self.rtp.stop(BEEP);
        let mut recording = String::new();
        if let Some((sender, task)) = message.recording {
            self.rtp.record_message_to(None);
            drop(sender);
            match task.await {
                Ok(Ok(_)) => recording = message.name,
                Ok(Err(error)) => tracing::error!(call = %self.call, %error, "message lost"),
                Err(error) => tracing::error!(call = %self.call, %error, "message task failed"),
            }
        }
        if deliver {
            self.handle(Event::RecordingFinished {
                id: message.id,
                recording,
            });
        }
    }
}
