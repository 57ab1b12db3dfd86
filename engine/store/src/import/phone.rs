//! Phone numbers: as typed → E.164, with a list's default country for national numbers
//! (the `phonenumber` crate, Google's libphonenumber metadata).

use phonenumber::country::Id;
use phonenumber::{Mode, PhoneNumber};

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
#[derive(Debug, Clone, Copy)]
pub(crate) struct PhoneNormaliser {
    country: Id,
}

impl PhoneNormaliser {
    pub(crate) fn new(country: Id) -> Self {
        PhoneNormaliser { country }
    }

    /// `typed` in E.164 (`+5511987654321`). A number written with `+` keeps its own
    /// country; one without is read as a number of the default country.
    pub(crate) fn normalise(&self, typed: &str) -> Result<String, PhoneError> {
        let typed = typed.trim();
        if typed.len() > MAX_TYPED_LEN {
            return Err(PhoneError::TooLong);
        }
        let number: PhoneNumber = phonenumber::parse(Some(self.country), typed)
            .map_err(|error| PhoneError::NotANumber(error.to_string()))?;
        if !phonenumber::is_valid(&number) {
            return Err(PhoneError::Invalid);
        }
        Ok(number.format().mode(Mode::E164).to_string())
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
}
