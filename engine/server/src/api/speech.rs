//! Prompts for the editor: `GET /api/prompts` lists the prompt files a `file` prompt may
//! name; `GET /api/prompts/speech?text=&voice=` speaks a prompt's text with the engine's
//! own TTS (espeak-ng, through the same cache calls use), for the "listen" button.

use super::{AppState, error::ApiError};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use ramal_call::PromptLoadError;
use serde::Deserialize;

/// The longest text spoken, in characters (a prompt, not a book).
const MAX_TEXT_CHARS: usize = 2000;

#[derive(Debug, Deserialize)]
pub(super) struct SpeechQuery {
    text: String,
    voice: Option<String>,
}

/// Speaks `text`.
pub(super) async fn speak(
    State(state): State<AppState>,
    Query(query): Query<SpeechQuery>,
) -> Result<Response, ApiError> {
    let prompts = state
        .prompts
        .clone()
        .ok_or_else(|| ApiError::Internal("speech is not configured".into()))?;
    if query.text.trim().is_empty() {
        return Err(ApiError::BadRequest {
            code: "speech.empty",
            message: "`text` is empty: there is nothing to say".into(),
        });
    }
    if query.text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::BadRequest {
            code: "speech.too_long",
            message: format!("`text` is longer than {MAX_TEXT_CHARS} characters"),
        });
    }
    let voice = query.voice.as_deref().filter(|voice| !voice.is_empty());
    match prompts.speech_wav(&query.text, voice).await {
        Ok(wav) => Ok((
            [
                (CONTENT_TYPE, "audio/wav"),
                (CACHE_CONTROL, "private, max-age=3600"),
            ],
            wav,
        )
            .into_response()),
        Err(PromptLoadError::Tts(error)) => Err(ApiError::BadRequest {
            code: "speech.failed",
            message: format!("the text could not be spoken: {error}"),
        }),
        Err(error) => Err(ApiError::Internal(error.to_string())),
    }
}

/// Lists the prompt files.
pub(super) async fn files(State(state): State<AppState>) -> Result<Json<Vec<String>>, ApiError> {
    let prompts = state
        .prompts
        .clone()
        .ok_or_else(|| ApiError::Internal("prompts are not configured".into()))?;
    prompts
        .files()
        .await
        .map(Json)
        .map_err(|error| ApiError::Internal(format!("the prompts directory: {error}")))
}
