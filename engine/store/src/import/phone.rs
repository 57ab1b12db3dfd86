//! Phone numbers: as typed → E.164, with a list's default country for national numbers
//! (the `phonenumber` crate, Google's libphonenumber metadata).
//!
//! `phonenumber` takes 5–10 µs a number (its regexes sit in a 100-entry LRU cache behind a
//! mutex, looked up by pattern text on every use), which would make phones most of an
//! import's time. So imports first try a fast path for the common shape — digits and
//! `()-. ` only, in the default country, optionally after `+` and its country code, with no
//! prefix to strip — that applies the same metadata's patterns, compiled once, the same way
//! `phonenumber::is_valid` does. It answers only when the number is valid and
//! nothing else could apply; anything else (and every refusal) goes to `phonenumber`. A
//! test compares both on a large sample across countries.

use phonenumber::country::Id;
use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, PhoneNumber, Type};
use regex::{Regex, RegexBuilder};

/// Longer than any phone number, however it is punctuated; longer text is not parsed.
const MAX_TYPED_LEN: usize = 64;

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneError {
    /// Too long to be a phone number.
    TooLong,
    /// Not a phone number at all.
    NotANumber(String),
    /// Parsed, but no such number exists in its country's numbering plan.
    Invalid,
}

impl std::fmt::Display for PhoneError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PhoneError::TooLong => write!(f, "longer than {MAX_TYPED_LEN} characters"),
            PhoneError::NotANumber(why) => write!(f, "not a phone number ({why})"),
            PhoneError::Invalid => write!(f, "not a valid number in its country's numbering plan"),
        }
    }
}

/// An ISO 3166 alpha-2 country code such as `BR`, checked against the numbering plans known.
pub(crate) fn parse_country(code: &str) -> Option<Id> {
    let code = code.trim().to_ascii_uppercase();
    if code.len() != 2 {
        return None;
    }
    code.parse::<Id>().ok()
}

/// Normalises phone numbers for one default country.
#[derive(Debug, Clone)]
pub(crate) struct PhoneNormaliser {
    country: Id,
    fast: Option<FastPath>,
}

impl PhoneNormaliser {
    /// With `phonenumber` alone (cheap to make; for a few numbers).
    pub(crate) fn new(country: Id) -> Self {
        PhoneNormaliser {
            country,
            fast: None,
        }
    }

    /// With the fast path too (compiles a dozen regexes; for imports).
    pub(crate) fn with_fast_path(country: Id) -> Self {
        PhoneNormaliser {
            country,
            fast: FastPath::new(country),
        }
    }

    /// `typed` in E.164 (`+5511987654321`). A number written with `+` keeps its own
    /// country; one without is read as a number of the default country.
    pub(crate) fn normalise(&self, typed: &str) -> Result<String, PhoneError> {
        let typed = typed.trim();
        if typed.len() > MAX_TYPED_LEN {
            return Err(PhoneError::TooLong);
        }
        if let Some(e164) = self.fast.as_ref().and_then(|fast| fast.normalise(typed)) {
            return Ok(e164);
        }
        self.slow(typed)
    }

    /// `phonenumber` itself.
    fn slow(&self, typed: &str) -> Result<String, PhoneError> {
        let number: PhoneNumber = phonenumber::parse(Some(self.country), typed)
            .map_err(|error| PhoneError::NotANumber(error.to_string()))?;
        if !phonenumber::is_valid(&number) {
            return Err(PhoneError::Invalid);
        }
        Ok(number.format().mode(Mode::E164).to_string())
    }
}

/// A metadata pattern as `phonenumber`'s `Descriptor::is_match` applies it: a possible
/// length, then a match starting at the first digit.
#[derive(Debug, Clone)]
struct Pattern {
    regex: Regex,
    lengths: Vec<u16>,
}

/// Compiles a metadata regex as `phonenumber` does (whitespace ignored), anchored at the
/// start (its matches are checked to start at 0). The newline ends a `#` comment, if any.
fn anchored(source: &str) -> Option<Regex> {
    RegexBuilder::new(&format!("^(?:{source}\n)"))
        .ignore_whitespace(true)
        .build()
        .ok()
}

impl Pattern {
    fn new(descriptor: &phonenumber::metadata::Descriptor) -> Option<Pattern> {
        Some(Pattern {
            regex: anchored(descriptor.national_number().as_str())?,
            lengths: descriptor.possible_length().to_vec(),
        })
    }

    fn is_match(&self, national: &str) -> bool {
        (self.lengths.is_empty() || self.lengths.contains(&(national.len() as u16)))
            && self.regex.is_match(national)
    }
}

/// The fast path for one country (see the module docs).
#[derive(Debug, Clone)]
struct FastPath {
    code: String,
    international_prefix: Option<Regex>,
    prefix_for_parsing: Option<Regex>,
    national_prefix: Option<String>,
    general: Pattern,
    /// Every type `phonenumber::is_valid` accepts (anything but unknown).
    types: Vec<Pattern>,
}

impl FastPath {
    /// `None` when the country shares its calling code (then `is_valid` may judge a number
    /// by another region's plan) or its metadata does not compile here.
    fn new(country: Id) -> Option<FastPath> {
        let meta = DATABASE.by_id(country.as_ref())?;
        let code = meta.country_code();
        if DATABASE.region(&code)?.len() != 1 {
            return None;
        }
        let code = code.to_string();
        // With `+`, the calling code is the shortest known prefix: ours must be that.
        for length in 1..code.len() {
            let shorter: u16 = code[..length].parse().ok()?;
            if DATABASE.by_code(&shorter).is_some() {
                return None;
            }
        }
        let descriptors = meta.descriptors();
        let types = [
            Type::PremiumRate,
            Type::TollFree,
            Type::SharedCost,
            Type::Voip,
            Type::PersonalNumber,
            Type::Pager,
            Type::Uan,
            Type::Voicemail,
            Type::FixedLine,
            Type::Mobile,
        ]
        .into_iter()
        .filter_map(|kind| descriptors.get(kind))
        .map(Pattern::new)
        .collect::<Option<Vec<_>>>()?;
        Some(FastPath {
            code,
            international_prefix: match meta.international_prefix() {
                Some(regex) => Some(anchored(regex.as_str())?),
                None => None,
            },
            prefix_for_parsing: match meta.national_prefix_for_parsing() {
                Some(regex) => Some(anchored(regex.as_str())?),
                None => None,
            },
            national_prefix: meta.national_prefix().map(str::to_owned),
            general: Pattern::new(descriptors.general())?,
            types,
        })
    }

    /// The E.164 form when `typed` is a valid number of the simple shape; else `None`.
    fn normalise(&self, typed: &str) -> Option<String> {
        let (plus, rest) = match typed.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, typed),
        };
        let mut digits = String::with_capacity(20);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '(' | ')' | '-' | '.' => {}
                _ => return None,
            }
        }
        if !(3..=17).contains(&digits.len())
            || rest.starts_with(|c: char| !c.is_ascii_digit() && c != '(')
            || self
                .international_prefix
                .as_ref()
                .is_some_and(|idd| idd.is_match(&digits))
        {
            return None;
        }
        let national = match (plus, digits.strip_prefix(self.code.as_str())) {
            (true, Some(national)) => national,
            (false, None) => digits.as_str(),
            _ => return None,
        };
        let prefixed = match (&self.prefix_for_parsing, &self.national_prefix) {
            (Some(parsing), _) if parsing.is_match(national) => true,
            (_, Some(prefix)) => national.starts_with(prefix.as_str()),
            _ => false,
        };
        if prefixed
            || national.starts_with('0')
            || !(3..=15).contains(&national.len())
            || !self.general.is_match(national)
            || !self.types.iter().any(|kind| kind.is_match(national))
        {
            return None;
        }
        Some(format!("+{}{national}", self.code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn br() -> PhoneNormaliser {
        PhoneNormaliser::new(parse_country("br").expect("BR is a country"))
    }

    #[test]
    fn national_numbers_take_the_default_country() {
        let br = br();
        for typed in [
            "11 98765-4321",
            "(11) 98765-4321",
            "011 98765 4321",
            "+55 11 98765-4321",
            "5511987654321",
            " +55 (11) 9 8765-4321 ",
        ] {
            assert_eq!(
                br.normalise(typed).as_deref(),
                Ok("+5511987654321"),
                "{typed}"
            );
        }
        assert_eq!(
            br.normalise("(21) 3333-4444").as_deref(),
            Ok("+552133334444")
        );
    }

    #[test]
    fn international_numbers_keep_their_country() {
        assert_eq!(
            br().normalise("+1 650 253 0000").as_deref(),
            Ok("+16502530000")
        );
        assert_eq!(
            br().normalise("+351 912 345 678").as_deref(),
            Ok("+351912345678")
        );
        let us = PhoneNormaliser::new(parse_country("US").expect("US"));
        assert_eq!(
            us.normalise("(650) 253-0000").as_deref(),
            Ok("+16502530000")
        );
    }

    #[test]
    fn junk_is_refused_with_a_reason() {
        let br = br();
        assert!(matches!(br.normalise(""), Err(PhoneError::NotANumber(_))));
        assert!(matches!(
            br.normalise("abc"),
            Err(PhoneError::NotANumber(_))
        ));
        assert_eq!(br.normalise("123"), Err(PhoneError::Invalid));
        assert_eq!(br.normalise(&"9".repeat(65)), Err(PhoneError::TooLong));
        assert_eq!(
            br.normalise(&"1".repeat(1_000_000)),
            Err(PhoneError::TooLong)
        );
        assert!(br.normalise("'; DROP TABLE contacts; --").is_err());
        assert!(br.normalise("\u{0}\u{1}\u{fffd}").is_err());
    }

    #[test]
    fn countries_are_checked() {
        assert!(parse_country("BR").is_some());
        assert!(parse_country(" pt ").is_some());
        assert!(parse_country("XX").is_none());
        assert!(parse_country("BRA").is_none());
        assert!(parse_country("").is_none());
    }

    /// The fast path never disagrees with `phonenumber`: whenever it answers, `phonenumber`
    /// gives the same number. Inputs: every example number of the metadata for a spread of
    /// countries, written in several ways, and random digit strings.
    #[test]
    fn the_fast_path_agrees_with_phonenumber() {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut answered = 0;
        let mut checked = 0;
        for code in [
            "BR", "US", "PT", "GB", "DE", "FR", "MX", "AR", "IN", "IT", "ES", "JP", "ZA", "RU",
            "CN", "AU", "NL", "CO", "CL", "PE",
        ] {
            let country = parse_country(code).expect("a country");
            let normaliser = PhoneNormaliser::with_fast_path(country);
            let Some(fast) = normaliser.fast.as_ref() else {
                continue;
            };
            let meta = DATABASE.by_id(code).expect("metadata");
            let mut inputs: Vec<String> = Vec::new();
            for kind in [
                Type::FixedLine,
                Type::Mobile,
                Type::TollFree,
                Type::PremiumRate,
                Type::Voip,
                Type::Uan,
            ] {
                let Some(example) = meta.descriptors().get(kind).and_then(|d| d.example()) else {
                    continue;
                };
                let (head, tail) = example.split_at(example.len() / 2);
                for typed in [
                    example.to_owned(),
                    format!("({head}) {tail}"),
                    format!("{head}-{tail}"),
                    format!("+{} {example}", meta.country_code()),
                    format!("0{example}"),
                    format!("{}{example}", meta.country_code()),
                    format!("+{}{}", meta.country_code(), &example[1..]),
                ] {
                    inputs.push(typed);
                }
            }
            for _ in 0..1500 {
                let length = 3 + (next() % 13) as usize;
                let mut typed: String = (0..length)
                    .map(|_| char::from(b'0' + (next() % 10) as u8))
                    .collect();
                match next() % 4 {
                    0 => typed.insert_str(0, &format!("+{}", meta.country_code())),
                    1 => typed.insert(typed.len() / 2, '-'),
                    2 => typed.insert(0, '('),
                    _ => {}
                }
                inputs.push(typed);
            }
            for typed in inputs {
                checked += 1;
                if let Some(e164) = fast.normalise(&typed) {
                    answered += 1;
                    assert_eq!(
                        normaliser.slow(&typed).as_deref(),
                        Ok(e164.as_str()),
                        "{code}: {typed:?}"
                    );
                }
            }
        }
        assert!(
            answered > checked / 20,
            "the fast path answered {answered} of {checked}"
        );
        let br = PhoneNormaliser::with_fast_path(parse_country("BR").expect("BR"));
        let fast = br.fast.as_ref().expect("BR has a fast path");
        assert_eq!(
            fast.normalise("(11) 98765-4321").as_deref(),
            Some("+5511987654321")
        );
        assert_eq!(
            fast.normalise("+55 11 98765-4321").as_deref(),
            Some("+5511987654321")
        );
        assert_eq!(fast.normalise("011 98765-4321"), None);
        assert_eq!(fast.normalise("123"), None);
    }
}
