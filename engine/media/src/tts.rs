//! Text to speech: the [`Tts`] trait, [`EspeakTts`] (espeak-ng run as a subprocess, so its
//! GPL stays out of our binary) and [`CachedTts`], which keeps every synthesis on disk.
//!
//! [`Tts::synthesize`] is async (it returns a `Send` future; run it on tokio): espeak-ng is a
//! child process awaited with a timeout, and the cache reads and writes files with
//! `tokio::fs`.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use sha2::{Digest, Sha256};
use thiserror::Error;
use tokio::process::Command;

use crate::prompt::{self, Limits, Pcm, PromptError};

/// Default limit on the text's length, in characters.
pub const DEFAULT_MAX_TEXT_CHARS: usize = 2_000;
/// Default time espeak-ng may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why speech could not be synthesized.
#[derive(Debug, Error)]
pub enum TtsError {
    /// The voice (a language tag such as `pt-BR`) is not one the engine has.
    #[error("unknown TTS voice {voice:?}")]
    UnknownVoice {
        /// The voice asked for.
        voice: String,
    },
    /// Nothing to say.
    #[error("TTS text is empty")]
    EmptyText,
    /// The text is longer than the engine's limit.
    #[error("TTS text has {chars} characters, the limit is {limit}")]
    TextTooLong {
        /// The text's length in characters.
        chars: usize,
        /// The limit.
        limit: usize,
    },
    /// The engine's program could not be started (`cargo xtask test` installs espeak-ng).
    #[error("could not run {program:?} (is it installed? `cargo xtask test` installs espeak-ng)")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// The error from the OS.
        #[source]
        source: io::Error,
    },
    /// The engine did not finish in time (it was killed).
    #[error("TTS took longer than {timeout:?}")]
    Timeout {
        /// The limit.
        timeout: Duration,
    },
    /// The engine exited with an error.
    #[error("TTS exited with {status}: {stderr}")]
    Failed {
        /// Its exit status.
        status: ExitStatus,
        /// The start of its standard error.
        stderr: String,
    },
    /// The engine's audio could not be decoded.
    #[error("TTS produced unusable audio")]
    Audio(#[source] PromptError),
    /// The cache directory could not be read or written.
    #[error("TTS cache error at {path:?}")]
    Cache {
        /// The file or directory.
        path: PathBuf,
        /// The error from the OS.
        #[source]
        source: io::Error,
    },
}

/// A speech synthesizer producing 8 kHz mono [`Pcm`].
pub trait Tts: Send + Sync {
    /// The engine's name, part of the cache key (change it when the engine's output changes).
    fn engine(&self) -> &str;

    /// Speaks `text` with `voice`, a language tag such as `pt-BR`, `es` or `en`.
    fn synthesize(
        &self,
        text: &str,
        voice: &str,
    ) -> impl Future<Output = Result<Pcm, TtsError>> + Send;
}

/// espeak-ng, run once per synthesis as `espeak-ng -v <voice> --stdout -- <text>` (no shell).
#[derive(Clone, Debug)]
pub struct EspeakTts {
    program: PathBuf,
    timeout: Duration,
    max_text_chars: usize,
}

impl Default for EspeakTts {
    fn default() -> Self {
        EspeakTts::new("espeak-ng")
    }
}

impl EspeakTts {
    /// Runs `program` (usually `espeak-ng`), with the default timeout and text limit.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        EspeakTts {
            program: program.into(),
            timeout: DEFAULT_TIMEOUT,
            max_text_chars: DEFAULT_MAX_TEXT_CHARS,
        }
    }

    /// Sets how long one synthesis may take before the process is killed.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the longest text accepted, in characters.
    pub fn with_max_text_chars(mut self, max_text_chars: usize) -> Self {
        self.max_text_chars = max_text_chars;
        self
    }

    /// The espeak-ng voice for a language tag: `pt-BR`/`pt-br`/`pt_BR` → `pt-br`, `es` or
    /// `es-*` → `es`, `en` or `en-*` → `en`; anything else is unknown.
    pub fn voice_name(voice: &str) -> Option<&'static str> {
        let tag = voice.trim().to_ascii_lowercase().replace('_', "-");
        let language = tag.split('-').next().unwrap_or_default();
        match (language, tag.as_str()) {
            ("pt", "pt-br") => Some("pt-br"),
            ("es", _) => Some("es"),
            ("en", _) => Some("en"),
            _ => None,
        }
    }

    async fn run(&self, text: &str, voice: &str) -> Result<Pcm, TtsError> {
        let name = EspeakTts::voice_name(voice).ok_or_else(|| TtsError::UnknownVoice {
            voice: voice.to_owned(),
        })?;
        let chars = text.chars().count();
        if chars > self.max_text_chars {
            return Err(TtsError::TextTooLong {
                chars,
                limit: self.max_text_chars,
            });
        }
        if text.trim().is_empty() {
            return Err(TtsError::EmptyText);
        }
        let child = Command::new(&self.program)
            .args(["-v", name, "--stdout", "--", text])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| TtsError::Spawn {
                program: self.program.clone(),
                source,
            })?;
        let output = tokio::time::timeout(self.timeout, child.wait_with_output())
            .await
            .map_err(|_| TtsError::Timeout {
                timeout: self.timeout,
            })?
            .map_err(|source| TtsError::Spawn {
                program: self.program.clone(),
                source,
            })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(TtsError::Failed {
                status: output.status,
                stderr: stderr.chars().take(500).collect(),
            });
        }
        let mut wav = output.stdout;
        fix_streamed_sizes(&mut wav);
        prompt::decode_wav(&wav, Limits::default()).map_err(TtsError::Audio)
    }
}

/// espeak-ng writes WAV to a pipe with placeholder sizes (`0x7ffff000`) in the RIFF and
/// `data` headers, as it cannot seek back; sets them to what actually arrived.
fn fix_streamed_sizes(wav: &mut [u8]) {
    let total = wav.len();
    if total < 12 || &wav[..4] != b"RIFF" || &wav[8..12] != b"WAVE" {
        return;
    }
    let riff_size = u32::try_from(total - 8).unwrap_or(u32::MAX);
    wav[4..8].copy_from_slice(&riff_size.to_le_bytes());
    let mut at = 12;
    while let Some(header) = wav.get(at..at + 8) {
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let rest = total - at - 8;
        if &header[..4] == b"data" {
            if size > rest {
                let fixed = u32::try_from(rest & !1).unwrap_or(u32::MAX);
                wav[at + 4..at + 8].copy_from_slice(&fixed.to_le_bytes());
            }
            return;
        }
        at += 8 + size + (size & 1);
    }
}

impl Tts for EspeakTts {
    fn engine(&self) -> &str {
        "espeak-ng"
    }

    fn synthesize(
        &self,
        text: &str,
        voice: &str,
    ) -> impl Future<Output = Result<Pcm, TtsError>> + Send {
        self.run(text, voice)
    }
}

/// A [`Tts`] whose results are kept in a directory as 8 kHz mono 16-bit WAV files named
/// `<sha256 of (engine, voice, text)>.wav` (each field length-prefixed). Files are written to
/// a temporary name and renamed, so a crash never leaves half a file under the final name; a
/// cached file that fails to decode is synthesized again and replaced.
#[derive(Clone, Debug)]
pub struct CachedTts<T> {
    inner: T,
    directory: PathBuf,
}

impl<T: Tts> CachedTts<T> {
    /// Caches `inner`'s output in `directory` (created when first written).
    pub fn new(inner: T, directory: impl Into<PathBuf>) -> Self {
        CachedTts {
            inner,
            directory: directory.into(),
        }
    }

    /// The wrapped engine.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// Where `text` in `voice` is (or would be) cached.
    pub fn cache_path(&self, text: &str, voice: &str) -> PathBuf {
        let mut hasher = Sha256::new();
        for field in [self.inner.engine(), voice, text] {
            hasher.update((field.len() as u64).to_le_bytes());
            hasher.update(field.as_bytes());
        }
        let hex: String = hasher
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        self.directory.join(format!("{hex}.wav"))
    }

    async fn lookup(&self, text: &str, voice: &str) -> Result<Pcm, TtsError> {
        let path = self.cache_path(text, voice);
        match tokio::fs::read(&path).await {
            Ok(bytes) => {
                if let Ok(pcm) = prompt::decode_wav(&bytes, Limits::default()) {
                    return Ok(pcm);
                }
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(TtsError::Cache { path, source }),
        }
        let pcm = self.inner.synthesize(text, voice).await?;
        store(&self.directory, &path, &pcm).await?;
        Ok(pcm)
    }
}

/// Writes `pcm` to `path` through a temporary file in the same directory.
async fn store(directory: &Path, path: &Path, pcm: &Pcm) -> Result<(), TtsError> {
    let cache_error = |path: &Path| {
        let path = path.to_owned();
        move |source| TtsError::Cache { path, source }
    };
    tokio::fs::create_dir_all(directory)
        .await
        .map_err(cache_error(directory))?;
    let temporary = path.with_extension(format!("wav.{:016x}.tmp", fastrand::u64(..)));
    tokio::fs::write(&temporary, prompt::encode_wav(pcm))
        .await
        .map_err(cache_error(&temporary))?;
    if let Err(source) = tokio::fs::rename(&temporary, path).await {
        let _ = tokio::fs::remove_file(&temporary).await;
        return Err(TtsError::Cache {
            path: path.to_owned(),
            source,
        });
    }
    Ok(())
}

impl<T: Tts> Tts for CachedTts<T> {
    fn engine(&self) -> &str {
        self.inner.engine()
    }

    fn synthesize(
        &self,
        text: &str,
        voice: &str,
    ) -> impl Future<Output = Result<Pcm, TtsError>> + Send {
        self.lookup(text, voice)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::DigitStream;

    /// Fails loudly when espeak-ng is missing: the test needs it, and xtask installs it.
    async fn speak(text: &str, voice: &str) -> Pcm {
        match EspeakTts::default().synthesize(text, voice).await {
            Ok(pcm) => pcm,
            Err(error @ TtsError::Spawn { .. }) => {
                panic!("espeak-ng is needed: {error} — `cargo xtask test` installs it")
            }
            Err(error) => panic!("espeak-ng failed: {error}"),
        }
    }

    fn rms(samples: &[i16]) -> f64 {
        let sum: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
        (sum / samples.len().max(1) as f64).sqrt()
    }

    #[tokio::test]
    async fn espeak_speaks_portuguese_without_dialling() {
        let pcm = speak("Bom dia, obrigado por ligar.", "pt-BR").await;
        assert!(pcm.duration_ms() > 300, "{} ms", pcm.duration_ms());
        assert!(rms(pcm.samples()) > 300.0, "rms {}", rms(pcm.samples()));
        let mut stream = DigitStream::default();
        for (index, frame) in pcm.frames().enumerate() {
            stream.handle_samples(&frame, index as u64 * 20);
        }
        assert_eq!(stream.poll_digit(), None);
    }

    #[tokio::test]
    async fn bad_requests_are_refused() {
        let tts = EspeakTts::default().with_max_text_chars(10);
        assert!(matches!(
            tts.synthesize("olá", "klingon").await,
            Err(TtsError::UnknownVoice { voice }) if voice == "klingon"
        ));
        assert!(matches!(
            tts.synthesize("olá", "pt-PT").await,
            Err(TtsError::UnknownVoice { .. })
        ));
        assert!(matches!(
            tts.synthesize("um texto longo demais", "pt-BR").await,
            Err(TtsError::TextTooLong {
                chars: 21,
                limit: 10
            })
        ));
        assert!(matches!(
            tts.synthesize("  ", "es").await,
            Err(TtsError::EmptyText)
        ));
        let missing = EspeakTts::new("/nonexistent/espeak-ng");
        assert!(matches!(
            missing.synthesize("hola", "es").await,
            Err(TtsError::Spawn { .. })
        ));
        for (tag, name) in [
            ("pt-BR", "pt-br"),
            ("pt_br", "pt-br"),
            ("es-MX", "es"),
            ("EN", "en"),
        ] {
            assert_eq!(EspeakTts::voice_name(tag), Some(name), "{tag}");
        }
    }

    /// Counts syntheses; says a tone whose length is the text's.
    #[derive(Default)]
    struct Counting {
        runs: AtomicUsize,
    }

    impl Tts for Counting {
        fn engine(&self) -> &str {
            "counting"
        }

        async fn synthesize(&self, text: &str, voice: &str) -> Result<Pcm, TtsError> {
            if voice != "en" {
                return Err(TtsError::UnknownVoice {
                    voice: voice.to_owned(),
                });
            }
            self.runs.fetch_add(1, Ordering::SeqCst);
            Ok(Pcm::from(vec![1000; 80 * text.len()]))
        }
    }

    #[tokio::test]
    async fn the_cache_synthesizes_once_per_text() {
        let directory = tempfile::tempdir().unwrap();
        let cache = CachedTts::new(Counting::default(), directory.path().join("tts"));
        let path = cache.cache_path("hello", "en");
        assert!(!path.exists());
        let first = cache.synthesize("hello", "en").await.unwrap();
        assert!(path.exists());
        let second = cache.synthesize("hello", "en").await.unwrap();
        assert_eq!(first, second);
        assert_eq!(cache.inner().runs.load(Ordering::SeqCst), 1);
        // Another text or voice is another entry; errors are not cached.
        cache.synthesize("hello!", "en").await.unwrap();
        assert!(cache.synthesize("hello", "xx").await.is_err());
        assert_eq!(cache.inner().runs.load(Ordering::SeqCst), 2);
        assert_ne!(cache.cache_path("hello", "xx"), path);
        // No temporary file is left behind, and a corrupt entry is replaced.
        let names: Vec<_> = std::fs::read_dir(directory.path().join("tts"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        std::fs::write(&path, b"garbage").unwrap();
        assert_eq!(cache.synthesize("hello", "en").await.unwrap(), first);
        assert_eq!(cache.inner().runs.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn espeak_through_the_cache() {
        let directory = tempfile::tempdir().unwrap();
        let cache = CachedTts::new(EspeakTts::default(), directory.path());
        let spoken = match cache.synthesize("Hola, buenos días.", "es").await {
            Ok(pcm) => pcm,
            Err(error) => panic!("{error} — `cargo xtask test` installs espeak-ng"),
        };
        assert!(cache.cache_path("Hola, buenos días.", "es").exists());
        assert_eq!(
            cache.synthesize("Hola, buenos días.", "es").await.unwrap(),
            spoken
        );
    }
}
