//! Turning a `play` command's prompt into 8 kHz samples: a WAV file from the prompts
//! directory (decoded once and kept in memory), or speech from espeak-ng cached on disk by
//! (engine, voice, text).

use ramal_flow::execution::PromptSpec;
use ramal_media::prompt::{Limits, decode_wav, encode_wav};
use ramal_media::{CachedTts, EspeakTts, Pcm, Tts};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use tokio::sync::Mutex;

/// Why a prompt could not be loaded. The call goes on: the executor is told the prompt
/// finished, and the reason is logged.
#[derive(Debug, thiserror::Error)]
pub enum PromptLoadError {
    /// The prompt names neither a file nor text.
    #[error("the prompt names neither a file nor text")]
    Empty,
    /// The file name would leave the prompts directory.
    #[error("prompt file `{0}` is not a plain relative path inside the prompts directory")]
    OutsideDirectory(String),
    /// Reading the file failed.
    #[error("cannot read prompt `{path}`: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not usable audio.
    #[error("prompt `{path}`: {source}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// Why.
        source: ramal_media::PromptError,
    },
    /// Speech synthesis failed.
    #[error(transparent)]
    Tts(#[from] ramal_media::TtsError),
}

/// Prompt files and speech, shared by every call.
#[derive(Debug)]
pub struct Prompts {
    directory: PathBuf,
    default_voice: String,
    tts: CachedTts<EspeakTts>,
    files: Mutex<HashMap<PathBuf, Pcm>>,
}

impl Prompts {
    /// Files from `directory`; speech from `espeak` cached in `tts_cache`.
    pub fn new(
        directory: PathBuf,
        espeak: PathBuf,
        tts_cache: PathBuf,
        default_voice: String,
    ) -> Prompts {
        Prompts {
            directory,
            default_voice,
            tts: CachedTts::new(EspeakTts::new(espeak), tts_cache),
            files: Mutex::new(HashMap::new()),
        }
    }

    /// The samples for `prompt`: its file when it names one, else its text spoken.
    pub async fn load(&self, prompt: &PromptSpec) -> Result<Pcm, PromptLoadError> {
        if let Some(file) = &prompt.file {
            return self.file(file).await;
        }
        let text = prompt.text.as_deref().ok_or(PromptLoadError::Empty)?;
        let voice = prompt.voice.as_deref().unwrap_or(&self.default_voice);
        Ok(self.tts.synthesize(text, voice).await?)
    }

    /// The WAV files in the prompts directory (their names, sorted): what a `file` prompt may
    /// name. A missing directory has none.
    pub async fn files(&self) -> Result<Vec<String>, std::io::Error> {
        let mut names = Vec::new();
        let mut entries = match tokio::fs::read_dir(&self.directory).await {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(names),
            Err(error) => return Err(error),
        };
        while let Some(entry) = entries.next_entry().await? {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.to_ascii_lowercase().ends_with(".wav") && entry.file_type().await?.is_file() {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// `text` spoken with `voice` (the default voice when `None`) as a WAV file (8 kHz mono,
    /// 16-bit): what a call would hear, for the editor's "listen" button.
    pub async fn speech_wav(
        &self,
        text: &str,
        voice: Option<&str>,
    ) -> Result<Vec<u8>, PromptLoadError> {
        if text.trim().is_empty() {
            return Err(PromptLoadError::Empty);
        }
        let voice = voice.unwrap_or(&self.default_voice);
        let pcm = self.tts.synthesize(text, voice).await?;
        Ok(encode_wav(&pcm))
    }

    async fn file(&self, name: &str) -> Result<Pcm, PromptLoadError> {
        let relative = Path::new(name);
        let plain = !name.is_empty()
            && relative
                .components()
                .all(|component| matches!(component, Component::Normal(_)));
        if !plain {
            return Err(PromptLoadError::OutsideDirectory(name.to_owned()));
        }
        let path = self.directory.join(relative);
        if let Some(pcm) = self.files.lock().await.get(&path) {
            return Ok(pcm.clone());
        }
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|source| PromptLoadError::Read {
                path: path.clone(),
                source,
            })?;
        let pcm =
            decode_wav(&bytes, Limits::default()).map_err(|source| PromptLoadError::Decode {
                path: path.clone(),
                source,
            })?;
        self.files.lock().await.insert(path, pcm.clone());
        Ok(pcm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompts(directory: &Path) -> Prompts {
        Prompts::new(
            directory.to_path_buf(),
            "espeak-ng".into(),
            directory.join("cache"),
            "pt-BR".into(),
        )
    }

    fn file(name: &str) -> PromptSpec {
        PromptSpec {
            file: Some(name.into()),
            text: None,
            voice: None,
        }
    }

    #[tokio::test]
    async fn files_outside_the_directory_are_refused() {
        let prompts = prompts(Path::new("/nonexistent-ramal-prompts"));
        for name in ["../etc/passwd", "/etc/passwd", "a/../../b.wav", ""] {
            let result = prompts.load(&file(name)).await;
            assert!(
                matches!(result, Err(PromptLoadError::OutsideDirectory(_))),
                "{name}: {result:?}"
            );
        }
        assert!(matches!(
            prompts.load(&file("missing.wav")).await,
            Err(PromptLoadError::Read { .. })
        ));
    }

    #[tokio::test]
    async fn the_listing_names_the_wav_files_only() {
        let directory =
            std::env::temp_dir().join(format!("ramal-prompt-list-{}", std::process::id()));
        std::fs::create_dir_all(directory.join("sub.wav")).unwrap();
        for name in ["b.wav", "A.WAV", "notes.txt"] {
            std::fs::write(directory.join(name), b"x").unwrap();
        }
        let listed = prompts(&directory).files().await.unwrap();
        std::fs::remove_dir_all(&directory).unwrap();
        assert_eq!(listed, ["A.WAV", "b.wav"], "no directories, no other files");
        let none = prompts(Path::new("/nonexistent-ramal-prompts"))
            .files()
            .await;
        assert_eq!(none.unwrap(), Vec::<String>::new());
    }

    #[tokio::test]
    async fn a_wav_file_is_decoded_and_kept() {
        let directory = std::env::temp_dir().join(format!("ramal-prompts-{}", std::process::id()));
        std::fs::create_dir_all(directory.join("sub")).unwrap();
        let tone: Vec<i16> = (0..8000).map(|i| ((i % 40) * 400 - 8000) as i16).collect();
        let wav = ramal_media::prompt::encode_wav(&Pcm::new(tone));
        std::fs::write(directory.join("sub/tone.wav"), &wav).unwrap();
        std::fs::write(directory.join("garbage.wav"), b"not a wav").unwrap();
        let prompts = prompts(&directory);
        let pcm = prompts.load(&file("sub/tone.wav")).await.unwrap();
        assert_eq!(pcm.duration_ms(), 1000);
        std::fs::remove_file(directory.join("sub/tone.wav")).unwrap();
        assert_eq!(
            prompts.load(&file("sub/tone.wav")).await.unwrap().len(),
            8000,
            "served from memory once loaded"
        );
        assert!(matches!(
            prompts.load(&file("garbage.wav")).await,
            Err(PromptLoadError::Decode { .. })
        ));
        let empty = PromptSpec {
            file: None,
            text: None,
            voice: None,
        };
        assert!(matches!(
            prompts.load(&empty).await,
            Err(PromptLoadError::Empty)
        ));
        std::fs::remove_dir_all(&directory).unwrap();
    }
}
