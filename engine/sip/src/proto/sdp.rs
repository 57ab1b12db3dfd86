//! SDP offer/answer for one audio stream (RFC 4566, RFC 3264): [`parse_offer`] reads what a
//! caller offers, [`choose_answer`] picks our codec (PCMU or PCMA, in the offer's order) and
//! mirrors `telephone-event`, and [`build_answer`] writes the answer text.
//!
//! The parser is our own, strict and small: SDP for audio calls needs a dozen line types,
//! and a size and line-count limit come first so hostile bodies cost nothing. Lines we do
//! not use are skipped; malformed `v=`, `o=`, `c=`, `m=` and `a=rtpmap` lines are errors with
//! the line number. Media lines other than the first active audio one are answered with
//! port 0 (rejected), as RFC 3264 §6 asks.

use core::net::IpAddr;
use thiserror::Error;

/// Limits on an SDP body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdpLimits {
    /// Largest body in bytes, 8 KiB by default.
    pub max_bytes: usize,
    /// Most lines, 200 by default.
    pub max_lines: usize,
}

impl Default for SdpLimits {
    fn default() -> Self {
        SdpLimits {
            max_bytes: 8 * 1024,
            max_lines: 200,
        }
    }
}

/// Why an offer was refused. [`SdpError::NoCommonCodec`] is the one a UA answers with 488.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SdpError {
    /// The body is larger than [`SdpLimits::max_bytes`].
    #[error("SDP of {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// The body's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The body has more than [`SdpLimits::max_lines`] lines.
    #[error("SDP has more than {limit} lines")]
    TooManyLines {
        /// The limit.
        limit: usize,
    },
    /// The body is not UTF-8.
    #[error("SDP is not UTF-8")]
    NotUtf8,
    /// The first line is not `v=0`.
    #[error("SDP does not start with v=0")]
    MissingVersion,
    /// A line that is not `<letter>=<value>`, or a known line with a bad value.
    #[error("SDP line {line} (`{kind}=`) is malformed")]
    Malformed {
        /// The 1-based line number.
        line: usize,
        /// The line's type letter.
        kind: char,
    },
    /// No `m=audio` line with a non-zero port.
    #[error("the offer has no active audio stream")]
    NoAudio,
    /// Neither the session nor the audio stream has a `c=` line.
    #[error("the offer has no connection address for audio")]
    NoConnection,
    /// None of the offered payload types is one we support.
    #[error("no common codec among the offered payload types {offered:?}")]
    NoCommonCodec {
        /// The payload types offered for audio.
        offered: Vec<u8>,
    },
}

/// A media direction attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// `a=sendrecv` (the default).
    #[default]
    SendRecv,
    /// `a=sendonly`: the offerer puts us on hold.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// The attribute's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The answer's direction for this offered one (RFC 3264 §6.1).
    pub const fn mirror(self) -> Direction {
        match self {
            Direction::SendRecv => Direction::SendRecv,
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            Direction::Inactive => Direction::Inactive,
        }
    }

    fn parse(name: &str) -> Option<Direction> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }
}

/// An `a=rtpmap` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// The payload type.
    pub payload_type: u8,
    /// The encoding name as written (`PCMU`, `telephone-event`).
    pub encoding: String,
    /// The clock rate in Hz.
    pub clock_rate: u32,
}

/// A media line we do not use, kept to reject it in the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherMedia {
    /// The media type (`video`, `audio` with port 0…).
    pub media: String,
    /// The transport protocol (`RTP/AVP`).
    pub protocol: String,
    /// The first format, repeated in the rejecting answer line.
    pub format: String,
}

/// One `m=` line's place in the offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaSlot {
    /// The audio stream we answer.
    Audio,
    /// A stream we reject.
    Other(OtherMedia),
}

/// What an offer asks for, as far as one audio stream goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// Where to send audio: the media-level `c=` or else the session's. `0.0.0.0` means
    /// hold in RFC 2543 style.
    pub connection: IpAddr,
    /// The audio port.
    pub audio_port: u16,
    /// The audio transport protocol (`RTP/AVP`).
    pub protocol: String,
    /// The offered payload types, in preference order.
    pub payload_types: Vec<u8>,
    /// The `a=rtpmap` lines of the audio stream.
    pub rtpmaps: Vec<RtpMap>,
    /// The payload type of `telephone-event/8000`, if offered.
    pub telephone_event: Option<u8>,
    /// The audio stream's direction (media level, else session level, else sendrecv).
    pub direction: Direction,
    /// `a=ptime`, in milliseconds.
    pub ptime: Option<u32>,
    /// Every `m=` line in order.
    pub media: Vec<MediaSlot>,
}

impl Offer {
    /// Whether the offer puts us on hold: `sendonly`/`inactive`, or `c=0.0.0.0`.
    pub fn is_hold(&self) -> bool {
        matches!(self.direction, Direction::SendOnly | Direction::Inactive)
            || self.connection.is_unspecified()
    }

    /// The answer's direction: the mirror of [`Offer::direction`]; an RFC 2543 hold
    /// (`c=0.0.0.0` with sendrecv) gets `recvonly`, since there is nowhere to send to.
    pub fn answer_direction(&self) -> Direction {
        if self.connection.is_unspecified() && self.direction == Direction::SendRecv {
            Direction::RecvOnly
        } else {
            self.direction.mirror()
        }
    }
}

/// The audio codecs we answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// G.711 µ-law, static payload type 0.
    Pcmu,
    /// G.711 A-law, static payload type 8.
    Pcma,
}

impl Codec {
    /// The encoding name in `a=rtpmap`.
    pub const fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// The static payload type.
    pub const fn static_payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }
}

/// What we answer: the codec and the payload types to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerPlan {
    /// The codec.
    pub codec: Codec,
    /// Its payload type as the offer numbered it.
    pub payload_type: u8,
    /// `telephone-event`'s payload type, mirrored from the offer.
    pub telephone_event: Option<u8>,
    /// The answer's direction.
    pub direction: Direction,
    /// The offer's `ptime`, repeated.
    pub ptime: Option<u32>,
    /// The offer's `m=` lines, to answer each.
    pub media: Vec<MediaSlot>,
    /// The audio protocol.
    pub protocol: String,
}

/// Our side of the answer: address, port and the `o=` line's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalMedia {
    /// Our RTP address.
    pub address: IpAddr,
    /// Our RTP port.
    pub port: u16,
    /// The `o=` session id.
    pub session_id: u64,
    /// The `o=` session version; bump it for every changed answer in a dialog.
    pub session_version: u64,
}

fn malformed(line: usize, kind: char) -> SdpError {
    SdpError::Malformed { line, kind }
}

fn parse_connection(value: &str, line: usize) -> Result<IpAddr, SdpError> {
    let mut parts = value.split_ascii_whitespace();
    let (Some("IN"), Some(kind), Some(address), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed(line, 'c'));
    };
    // Multicast TTL/count suffixes (`/127`) are not for audio calls to us: refused.
    let address: IpAddr = address.parse().map_err(|_| malformed(line, 'c'))?;
    match (kind, address) {
        ("IP4", IpAddr::V4(_)) | ("IP6", IpAddr::V6(_)) => Ok(address),
        _ => Err(malformed(line, 'c')),
    }
}

fn parse_rtpmap(value: &str, line: usize) -> Result<RtpMap, SdpError> {
    let (payload_type, rest) = value.split_once(' ').ok_or(malformed(line, 'a'))?;
    let payload_type: u8 = payload_type.parse().map_err(|_| malformed(line, 'a'))?;
    let mut parts = rest.trim().split('/');
    let encoding = parts.next().unwrap_or_default();
    let clock_rate: u32 = parts
        .next()
        .and_then(|rate| rate.parse().ok())
        .ok_or(malformed(line, 'a'))?;
    if encoding.is_empty() || payload_type > 127 {
        return Err(malformed(line, 'a'));
    }
    Ok(RtpMap {
        payload_type,
        encoding: encoding.to_string(),
        clock_rate,
    })
}

/// What the media section being read collects.
#[derive(Default)]
struct Section {
    audio: bool,
    connection: Option<IpAddr>,
    direction: Option<Direction>,
    rtpmaps: Vec<RtpMap>,
    ptime: Option<u32>,
}

/// Parses an SDP offer and extracts its first active audio stream.
pub fn parse_offer(body: &[u8], limits: SdpLimits) -> Result<Offer, SdpError> {
    if body.len() > limits.max_bytes {
        return Err(SdpError::TooLarge {
            size: body.len(),
            limit: limits.max_bytes,
        });
    }
    let text = std::str::from_utf8(body).map_err(|_| SdpError::NotUtf8)?;
    let mut session = Section::default();
    let mut current: Option<Section> = None;
    let mut audio: Option<(u16, String, Vec<u8>, Section)> = None;
    let mut media = Vec::new();
    let mut lines = 0;
    let finish = |section: Option<Section>, audio: &mut Option<(u16, String, Vec<u8>, Section)>| {
        if let Some(section) = section
            && section.audio
            && let Some((_, _, _, slot)) = audio.as_mut()
            && !slot.audio
        {
            *slot = section;
        }
    };
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        lines += 1;
        if lines > limits.max_lines {
            return Err(SdpError::TooManyLines {
                limit: limits.max_lines,
            });
        }
        let raw = raw.trim_end();
        if raw.is_empty() {
            continue;
        }
        let (kind, value) = raw.split_once('=').ok_or(malformed(line, '?'))?;
        let mut kind_chars = kind.chars();
        let (Some(kind), None) = (kind_chars.next(), kind_chars.next()) else {
            return Err(malformed(line, '?'));
        };
        if line == 1 && (kind, value) != ('v', "0") {
            return Err(SdpError::MissingVersion);
        }
        let section = current.as_mut().unwrap_or(&mut session);
        match kind {
            'c' => section.connection = Some(parse_connection(value, line)?),
            'm' => {
                finish(current.take(), &mut audio);
                let mut parts = value.split_ascii_whitespace();
                let (Some(kind_name), Some(port), Some(protocol)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err(malformed(line, 'm'));
                };
                let port: u16 = port
                    .split('/')
                    .next()
                    .and_then(|port| port.parse().ok())
                    .ok_or(malformed(line, 'm'))?;
                let formats: Vec<&str> = parts.collect();
                let first = formats.first().copied().unwrap_or("0");
                let is_ours = kind_name == "audio" && port != 0 && audio.is_none();
                if is_ours {
                    let payload_types = formats
                        .iter()
                        .map(|format| format.parse::<u8>().ok().filter(|pt| *pt <= 127))
                        .collect::<Option<Vec<u8>>>()
                        .ok_or(malformed(line, 'm'))?;
                    audio = Some((
                        port,
                        protocol.to_string(),
                        payload_types,
                        Section::default(),
                    ));
                    media.push(MediaSlot::Audio);
                    current = Some(Section {
                        audio: true,
                        ..Section::default()
                    });
                } else {
                    media.push(MediaSlot::Other(OtherMedia {
                        media: kind_name.to_string(),
                        protocol: protocol.to_string(),
                        format: first.to_string(),
                    }));
                    current = Some(Section::default());
                }
            }
            'a' => {
                let (name, attribute) = value.split_once(':').unwrap_or((value, ""));
                if let Some(direction) = Direction::parse(name) {
                    section.direction = Some(direction);
                } else if name == "rtpmap" {
                    section.rtpmaps.push(parse_rtpmap(attribute, line)?);
                } else if name == "ptime" {
                    section.ptime = attribute.trim().parse().ok();
                }
            }
            _ => {}
        }
    }
    if lines == 0 {
        return Err(SdpError::MissingVersion);
    }
    finish(current.take(), &mut audio);
    let (audio_port, protocol, payload_types, section) = audio.ok_or(SdpError::NoAudio)?;
    let connection = section
        .connection
        .or(session.connection)
        .ok_or(SdpError::NoConnection)?;
    let telephone_event = section
        .rtpmaps
        .iter()
        .find(|map| {
            map.encoding.eq_ignore_ascii_case("telephone-event")
                && map.clock_rate == 8000
                && payload_types.contains(&map.payload_type)
        })
        .map(|map| map.payload_type);
    Ok(Offer {
        connection,
        audio_port,
        protocol,
        payload_types,
        rtpmaps: section.rtpmaps,
        telephone_event,
        direction: section.direction.or(session.direction).unwrap_or_default(),
        ptime: section.ptime.or(session.ptime),
        media,
    })
}

/// The codec a payload type stands for in `offer`: its rtpmap, or the static table.
fn codec_of(offer: &Offer, payload_type: u8) -> Option<Codec> {
    match offer
        .rtpmaps
        .iter()
        .find(|map| map.payload_type == payload_type)
    {
        Some(map) if map.clock_rate != 8000 => None,
        Some(map) if map.encoding.eq_ignore_ascii_case("PCMU") => Some(Codec::Pcmu),
        Some(map) if map.encoding.eq_ignore_ascii_case("PCMA") => Some(Codec::Pcma),
        Some(_) => None,
        None => match payload_type {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        },
    }
}

/// Picks the first offered payload type we support and mirrors telephone-event.
pub fn choose_answer(offer: &Offer) -> Result<AnswerPlan, SdpError> {
    let (payload_type, codec) = offer
        .payload_types
        .iter()
        .find_map(|&pt| codec_of(offer, pt).map(|codec| (pt, codec)))
        .ok_or_else(|| SdpError::NoCommonCodec {
            offered: offer.payload_types.clone(),
        })?;
    Ok(AnswerPlan {
        codec,
        payload_type,
        telephone_event: offer.telephone_event,
        direction: offer.answer_direction(),
        ptime: offer.ptime,
        media: offer.media.clone(),
        protocol: offer.protocol.clone(),
    })
}

/// Writes the answer for `plan` with our address and port.
pub fn build_answer(plan: &AnswerPlan, local: &LocalMedia) -> String {
    let family = match local.address {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    };
    let mut text = format!(
        "v=0\r\no=ramal {} {} IN {family} {}\r\ns=ramal\r\nc=IN {family} {}\r\nt=0 0\r\n",
        local.session_id, local.session_version, local.address, local.address
    );
    for slot in &plan.media {
        match slot {
            MediaSlot::Other(other) => text.push_str(&format!(
                "m={} 0 {} {}\r\n",
                other.media, other.protocol, other.format
            )),
            MediaSlot::Audio => {
                let mut formats = plan.payload_type.to_string();
                if let Some(event) = plan.telephone_event {
                    formats.push_str(&format!(" {event}"));
                }
                text.push_str(&format!(
                    "m=audio {} {} {formats}\r\n",
                    local.port, plan.protocol
                ));
                text.push_str(&format!(
                    "a=rtpmap:{} {}/8000\r\n",
                    plan.payload_type,
                    plan.codec.name()
                ));
                if let Some(event) = plan.telephone_event {
                    text.push_str(&format!(
                        "a=rtpmap:{event} telephone-event/8000\r\na=fmtp:{event} 0-15\r\n"
                    ));
                }
                if let Some(ptime) = plan.ptime {
                    text.push_str(&format!("a=ptime:{ptime}\r\n"));
                }
                text.push_str(&format!("a={}\r\n", plan.direction.as_str()));
            }
        }
    }
    text
}

/// Our offer for an outgoing call: one audio stream at `local`, PCMU and PCMA (in that order
/// of preference), `telephone-event` as payload type 101, 20 ms packets, sendrecv. The far
/// end's answer parses with [`parse_offer`] and [`choose_answer`] picks the codec it chose.
pub fn build_offer(local: &LocalMedia) -> String {
    let family = match local.address {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    };
    format!(
        "v=0\r\no=ramal {id} {version} IN {family} {address}\r\ns=ramal\r\n\
         c=IN {family} {address}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 8 101\r\n\
         a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n\
         a=ptime:20\r\na=sendrecv\r\n",
        id = local.session_id,
        version = local.session_version,
        address = local.address,
        port = local.port,
    )
}

/// A new version of our earlier `answer` for a re-offer (hold, resume, refresh): the
/// direction line set to the offer's mirror and the `o=` version bumped if it changed.
/// `None` if `answer` has no `o=` line we wrote.
pub fn reanswer(answer: &str, offer: &Offer) -> Option<String> {
    let direction = offer.answer_direction();
    let changed = !answer
        .lines()
        .any(|line| line.strip_prefix("a=") == Some(direction.as_str()));
    let mut out = String::with_capacity(answer.len() + 8);
    let mut saw_origin = false;
    for line in answer.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        if let Some(origin) = line.strip_prefix("o=") {
            let mut fields: Vec<String> = origin.split(' ').map(str::to_string).collect();
            let version = fields.get(2)?.parse::<u64>().ok()?;
            if changed {
                fields[2] = version.wrapping_add(1).to_string();
            }
            saw_origin = true;
            out.push_str(&format!("o={}\r\n", fields.join(" ")));
        } else if line.strip_prefix("a=").and_then(Direction::parse).is_some() {
            out.push_str(&format!("a={}\r\n", direction.as_str()));
        } else {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    saw_origin.then_some(out)
}

#[cfg(test)]
mod tests;
