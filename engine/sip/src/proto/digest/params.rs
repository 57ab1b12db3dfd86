//! The tokenizer for `Digest` credentials and challenges (RFC 7235 §2.1's auth-param list):
//! `Digest name=token, name="quoted \"string\"", …`. Bounded in every dimension, it returns
//! an error for anything it does not understand and never panics.

use super::DigestError;

/// The longest header value accepted, in bytes.
pub(super) const MAX_HEADER_LEN: usize = 4096;
/// The most parameters accepted in one value.
pub(super) const MAX_PARAMS: usize = 32;
/// The longest parameter value accepted, in bytes.
pub(super) const MAX_VALUE_LEN: usize = 1024;

/// The parameters of one `Digest` value, names lower-cased, in order.
#[derive(Debug, Default)]
pub(super) struct Params(Vec<(String, String)>);

impl Params {
    /// The value of parameter `name` (lower-case).
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The value of `name`, or [`DigestError::Missing`].
    pub(super) fn require(&self, name: &'static str) -> Result<&str, DigestError> {
        self.get(name).ok_or(DigestError::Missing(name))
    }
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn is_ows(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// A cursor over the value.
struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.rest.chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.rest = self.rest.get(c.len_utf8()..).unwrap_or_default();
        Some(c)
    }

    fn skip_ows(&mut self) {
        self.rest = self.rest.trim_start_matches(is_ows);
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let end = self
            .rest
            .char_indices()
            .find(|&(_, c)| !keep(c))
            .map_or(self.rest.len(), |(at, _)| at);
        let (taken, rest) = self.rest.split_at(end);
        self.rest = rest;
        taken
    }

    fn quoted(&mut self) -> Result<String, DigestError> {
        let mut out = String::new();
        loop {
            let c = self.bump().ok_or(DigestError::UnterminatedQuote)?;
            match c {
                '"' => return Ok(out),
                '\\' => out.push(self.bump().ok_or(DigestError::UnterminatedQuote)?),
                c if c.is_control() && c != '\t' => {
                    return Err(DigestError::Syntax("control character in a quoted string"));
                }
                c => out.push(c),
            }
            if out.len() > MAX_VALUE_LEN {
                return Err(DigestError::TooLong {
                    limit: MAX_VALUE_LEN,
                });
            }
        }
    }
}

/// Splits `value` (`Digest a=b, c="d"`) into its parameters.
pub(super) fn parse(value: &str) -> Result<Params, DigestError> {
    if value.len() > MAX_HEADER_LEN {
        return Err(DigestError::TooLong {
            limit: MAX_HEADER_LEN,
        });
    }
    let mut cursor = Cursor {
        rest: value.trim_matches(is_ows),
    };
    let scheme = cursor.take_while(is_tchar);
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(DigestError::NotDigest);
    }
    if !cursor.rest.is_empty() && !cursor.peek().is_some_and(is_ows) {
        return Err(DigestError::NotDigest);
    }
    let mut params = Params::default();
    loop {
        cursor.skip_ows();
        while cursor.peek() == Some(',') {
            cursor.bump();
            cursor.skip_ows();
        }
        if cursor.rest.is_empty() {
            break;
        }
        let name = cursor.take_while(is_tchar).to_ascii_lowercase();
        if name.is_empty() {
            return Err(DigestError::Syntax("expected a parameter name"));
        }
        cursor.skip_ows();
        if cursor.bump() != Some('=') {
            return Err(DigestError::Syntax("expected `=` after a parameter name"));
        }
        cursor.skip_ows();
        let value = if cursor.peek() == Some('"') {
            cursor.bump();
            cursor.quoted()?
        } else {
            let token = cursor.take_while(|c| c != ',' && !is_ows(c) && !c.is_control());
            if token.is_empty() || token.contains('"') {
                return Err(DigestError::Syntax("expected a parameter value"));
            }
            token.to_string()
        };
        if value.len() > MAX_VALUE_LEN {
            return Err(DigestError::TooLong {
                limit: MAX_VALUE_LEN,
            });
        }
        cursor.skip_ows();
        match cursor.peek() {
            None | Some(',') => {}
            Some(_) => return Err(DigestError::Syntax("expected `,` between parameters")),
        }
        if params.get(&name).is_some() {
            return Err(DigestError::Duplicate(name));
        }
        if params.0.len() == MAX_PARAMS {
            return Err(DigestError::TooManyParams { limit: MAX_PARAMS });
        }
        params.0.push((name, value));
    }
    Ok(params)
}

/// `value` as a quoted-string, with `"` and `\` escaped.
pub(super) fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}
