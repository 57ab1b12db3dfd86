//! G.711 µ-law (PCMU) and A-law (PCMA): 8 kHz, one byte per sample, 20 ms frames of 160
//! samples. The companding itself is the `audio-codec-algorithms` crate's; this module only
//! names the codecs, their static RTP payload types, and encodes or decodes whole frames.

use audio_codec_algorithms::{decode_alaw, decode_ulaw, encode_alaw, encode_ulaw};

/// Samples per second of both G.711 laws.
pub const SAMPLE_RATE: u32 = 8000;
/// Samples (and bytes) in one 20 ms frame — the usual RTP packetisation.
pub const FRAME_SAMPLES: usize = 160;

/// A G.711 codec, identified on the wire by its static RTP payload type (RFC 3551).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    /// µ-law, payload type 0.
    Pcmu,
    /// A-law, payload type 8.
    Pcma,
}

impl Codec {
    /// The static RTP payload type: 0 for PCMU, 8 for PCMA.
    pub const fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// The codec for a static payload type, if it is one of ours.
    pub const fn from_payload_type(payload_type: u8) -> Option<Codec> {
        match payload_type {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }

    /// The SDP encoding name (`a=rtpmap:<pt> <name>/8000`).
    pub const fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// Encodes one linear sample.
    pub fn encode_sample(self, sample: i16) -> u8 {
        match self {
            Codec::Pcmu => encode_ulaw(sample),
            Codec::Pcma => encode_alaw(sample),
        }
    }

    /// Decodes one byte to a linear sample.
    pub fn decode_sample(self, byte: u8) -> i16 {
        match self {
            Codec::Pcmu => decode_ulaw(byte),
            Codec::Pcma => decode_alaw(byte),
        }
    }

    /// Encodes a 20 ms frame.
    pub fn encode_frame(self, samples: &[i16; FRAME_SAMPLES]) -> [u8; FRAME_SAMPLES] {
        let mut out = [0u8; FRAME_SAMPLES];
        for (byte, &sample) in out.iter_mut().zip(samples) {
            *byte = self.encode_sample(sample);
        }
        out
    }

    /// Decodes a 20 ms frame.
    pub fn decode_frame(self, payload: &[u8; FRAME_SAMPLES]) -> [i16; FRAME_SAMPLES] {
        let mut out = [0i16; FRAME_SAMPLES];
        for (sample, &byte) in out.iter_mut().zip(payload) {
            *sample = self.decode_sample(byte);
        }
        out
    }

    /// Encodes any number of samples, appending one byte per sample to `out` (a payload of
    /// any packetisation, e.g. 10 or 30 ms).
    pub fn encode_into(self, samples: &[i16], out: &mut Vec<u8>) {
        out.extend(samples.iter().map(|&sample| self.encode_sample(sample)));
    }

    /// Decodes a payload of any length, appending one sample per byte to `out`.
    pub fn decode_into(self, payload: &[u8], out: &mut Vec<i16>) {
        out.extend(payload.iter().map(|&byte| self.decode_sample(byte)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_types_round_trip() {
        for (codec, payload_type, name) in [(Codec::Pcmu, 0, "PCMU"), (Codec::Pcma, 8, "PCMA")] {
            assert_eq!(codec.payload_type(), payload_type);
            assert_eq!(Codec::from_payload_type(payload_type), Some(codec));
            assert_eq!(codec.encoding_name(), name);
        }
        for other in [1, 3, 9, 18, 96, 101, 127] {
            assert_eq!(Codec::from_payload_type(other), None);
        }
    }

    #[test]
    fn known_code_points() {
        // (codec, linear, byte): silence and the extremes of each law.
        let table = [
            (Codec::Pcmu, 0, 0xFF),
            (Codec::Pcmu, 32767, 0x80),
            (Codec::Pcmu, -32768, 0x00),
            (Codec::Pcma, 0, 0xD5),
            (Codec::Pcma, 32767, 0xAA),
            (Codec::Pcma, -32768, 0x2A),
        ];
        for (codec, linear, byte) in table {
            assert_eq!(
                codec.encode_sample(linear),
                byte,
                "{codec:?} encode {linear}"
            );
        }
    }

    #[test]
    fn every_code_decodes_and_re_encodes_to_itself() {
        for codec in [Codec::Pcmu, Codec::Pcma] {
            for byte in 0..=255u8 {
                // µ-law has two zeros (0x7F is "negative zero"); it re-encodes as 0xFF.
                if codec == Codec::Pcmu && byte == 0x7F {
                    continue;
                }
                let linear = codec.decode_sample(byte);
                assert_eq!(codec.encode_sample(linear), byte, "{codec:?} {byte:#04x}");
            }
        }
    }

    #[test]
    fn quantisation_error_is_bounded_for_every_input() {
        for codec in [Codec::Pcmu, Codec::Pcma] {
            for linear in i16::MIN..=i16::MAX {
                let back = codec.decode_sample(codec.encode_sample(linear));
                let error = (i32::from(back) - i32::from(linear)).abs();
                // The coarsest segment step is 1024 (A-law) / 1024 (µ-law, scaled to 16 bits).
                let allowed = (i32::from(linear).abs() / 16).max(16);
                assert!(error <= allowed, "{codec:?} {linear} -> {back}");
            }
        }
    }

    #[test]
    fn frames_and_slices_agree() {
        let samples: [i16; FRAME_SAMPLES] =
            std::array::from_fn(|index| ((index as i32 * 997) % 65536 - 32768) as i16);
        for codec in [Codec::Pcmu, Codec::Pcma] {
            let frame = codec.encode_frame(&samples);
            let mut bytes = Vec::new();
            codec.encode_into(&samples, &mut bytes);
            assert_eq!(bytes, frame);
            let decoded = codec.decode_frame(&frame);
            let mut linear = Vec::new();
            codec.decode_into(&bytes, &mut linear);
            assert_eq!(linear, decoded);
        }
    }
}
