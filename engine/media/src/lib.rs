//! # ramal-media
//!
//! Media for Ramal's calls: G.711 framing, DTMF detection (RFC 4733 telephone events and
//! in-band tones) as state machines that take samples, packets and time as input, prompts
//! and TTS, RTP sessions over tokio UDP that play, relay (bridge) and record, and
//! two-channel call recordings.
//!
//! - [`codec`] — G.711 µ-law / A-law ([`Codec`]), 20 ms frames.
//! - [`dtmf`] — RFC 4733 ([`TelephoneEventReceiver`]), in-band tones ([`InbandDetector`]),
//!   and [`DigitStream`], which merges both and drops a key reported by both.
//! - [`session`] — one RTP leg ([`RtpSession`]): playback, digits, relaying to another leg.
//! - [`record`] — two-channel WAV recordings ([`Recorder`]).

pub mod codec;
pub mod dtmf;
pub mod prompt;
pub mod record;
pub mod session;
pub mod tts;

pub use codec::Codec;
pub use dtmf::inband::InbandDetector;
pub use dtmf::rfc4733::{Rfc4733Error, TelephoneEvent, TelephoneEventReceiver};
pub use dtmf::{Digit, DigitSource, DigitStream};
pub use prompt::{Pcm, PromptError};
pub use record::{RecordError, Recorder, Recording};
pub use session::{
    AudioSink, Direction, MediaEvent, PlaybackId, RecordedFrame, RtpSession, SessionConfig,
    SessionError,
};
pub use tts::{CachedTts, EspeakTts, Tts, TtsError};
