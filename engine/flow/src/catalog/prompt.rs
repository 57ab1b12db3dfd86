//! What a caller hears: a recorded audio file or text spoken by the TTS engine.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A prompt: exactly one of `file` or `tts`. Text may hold `{{ expression }}` templates,
/// e.g. `"Olá {{ contact.name }}"`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Prompt {
    /// An uploaded recording, by name (`welcome` or `welcome.wav`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Text to speak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tts: Option<String>,
    /// TTS voice or language tag (`pt-BR`, `es`, `en`); the flow default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
}

impl Prompt {
    /// A prompt that plays a recording.
    pub fn file(name: &str) -> Prompt {
        Prompt {
            file: Some(name.to_owned()),
            ..Prompt::default()
        }
    }
    /// A prompt spoken by TTS.
    pub fn tts(text: &str) -> Prompt {
        Prompt {
            tts: Some(text.to_owned()),
            ..Prompt::default()
        }
    }
    /// Why the prompt is unusable, if it is.
    pub fn problem(&self) -> Option<&'static str> {
        match (&self.file, &self.tts) {
            (Some(_), Some(_)) => Some("a prompt has either `file` or `tts`, not both"),
            (None, None) => Some("a prompt needs `file` (a recording) or `tts` (text to speak)"),
            (Some(file), None) if file.trim().is_empty() => Some("`file` is empty"),
            (None, Some(text)) if text.trim().is_empty() => Some("`tts` is empty"),
            _ => None,
        }
    }
}
