//! Lexer: turns expression source into a flat list of [`Token`]s, each with
//! the byte offset where it starts. Runs in one linear pass; never recurses.

use super::CompileError;

/// The kinds of token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok<'a> {
    /// Integer literal; range-checked against i64 by the parser, so that
    /// `-9223372036854775808` can be written.
    Int(u64),
    Double(f64),
    Str(String),
    Ident(&'a str),
    True,
    False,
    Null,
    In,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Dot,
    Comma,
    Colon,
    Question,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Bang,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    AndAnd,
    OrOr,
    Eof,
}

impl Tok<'_> {
    /// How the token is shown in error messages.
    pub(crate) fn describe(&self) -> String {
        let s = match self {
            Tok::Int(n) => return format!("number {n}"),
            Tok::Double(f) => return format!("number {f}"),
            Tok::Str(_) => "string",
            Tok::Ident(name) => return format!("'{name}'"),
            Tok::True => "'true'",
            Tok::False => "'false'",
            Tok::Null => "'null'",
            Tok::In => "'in'",
            Tok::LParen => "'('",
            Tok::RParen => "')'",
            Tok::LBracket => "'['",
            Tok::RBracket => "']'",
            Tok::LBrace => "'{'",
            Tok::RBrace => "'}'",
            Tok::Dot => "'.'",
            Tok::Comma => "','",
            Tok::Colon => "':'",
            Tok::Question => "'?'",
            Tok::Plus => "'+'",
            Tok::Minus => "'-'",
            Tok::Star => "'*'",
            Tok::Slash => "'/'",
            Tok::Percent => "'%'",
            Tok::Bang => "'!'",
            Tok::EqEq => "'=='",
            Tok::NotEq => "'!='",
            Tok::Lt => "'<'",
            Tok::Le => "'<='",
            Tok::Gt => "'>'",
            Tok::Ge => "'>='",
            Tok::AndAnd => "'&&'",
            Tok::OrOr => "'||'",
            Tok::Eof => "end of expression",
        };
        s.to_owned()
    }
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token<'a> {
    pub(crate) tok: Tok<'a>,
    pub(crate) offset: usize,
}

fn syntax(offset: usize, message: impl Into<String>) -> CompileError {
    CompileError::Syntax {
        offset,
        message: message.into(),
    }
}

/// Splits `src` into tokens. The list always ends with [`Tok::Eof`].
pub(crate) fn lex(src: &str) -> Result<Vec<Token<'_>>, CompileError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let next = bytes.get(i + 1).copied();
        let start = i;
        let tok = match b {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => {
                i += 1;
                continue;
            }
            b'/' if next == Some(b'/') => {
                while let Some(&c) = bytes.get(i) {
                    if c == b'\n' {
                        break;
                    }
                    i += 1;
                }
                continue;
            }
            b'0'..=b'9' => {
                let (tok, end) = number(src, start)?;
                i = end;
                tok
            }
            b'"' | b'\'' => {
                let (s, end) = string(src, start, false)?;
                i = end;
                Tok::Str(s)
            }
            b'r' | b'R' if matches!(next, Some(b'"' | b'\'')) => {
                let (s, end) = string(src, start + 1, true)?;
                i = end;
                Tok::Str(s)
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let mut end = i + 1;
                while let Some(c) = bytes.get(end) {
                    if c.is_ascii_alphanumeric() || *c == b'_' {
                        end += 1;
                    } else {
                        break;
                    }
                }
                let word = src.get(start..end).unwrap_or_default();
                i = end;
                match word {
                    "true" => Tok::True,
                    "false" => Tok::False,
                    "null" => Tok::Null,
                    "in" => Tok::In,
                    _ => Tok::Ident(word),
                }
            }
            _ => {
                let (tok, len) = match (b, next) {
                    (b'=', Some(b'=')) => (Tok::EqEq, 2),
                    (b'!', Some(b'=')) => (Tok::NotEq, 2),
                    (b'<', Some(b'=')) => (Tok::Le, 2),
                    (b'>', Some(b'=')) => (Tok::Ge, 2),
                    (b'&', Some(b'&')) => (Tok::AndAnd, 2),
                    (b'|', Some(b'|')) => (Tok::OrOr, 2),
                    (b'(', _) => (Tok::LParen, 1),
                    (b')', _) => (Tok::RParen, 1),
                    (b'[', _) => (Tok::LBracket, 1),
                    (b']', _) => (Tok::RBracket, 1),
                    (b'{', _) => (Tok::LBrace, 1),
                    (b'}', _) => (Tok::RBrace, 1),
                    (b'.', _) => (Tok::Dot, 1),
                    (b',', _) => (Tok::Comma, 1),
                    (b':', _) => (Tok::Colon, 1),
                    (b'?', _) => (Tok::Question, 1),
                    (b'+', _) => (Tok::Plus, 1),
                    (b'-', _) => (Tok::Minus, 1),
                    (b'*', _) => (Tok::Star, 1),
                    (b'/', _) => (Tok::Slash, 1),
                    (b'%', _) => (Tok::Percent, 1),
                    (b'!', _) => (Tok::Bang, 1),
                    (b'<', _) => (Tok::Lt, 1),
                    (b'>', _) => (Tok::Gt, 1),
                    (b'=', _) => return Err(syntax(start, "unexpected '='; use '==' to compare")),
                    (b'&', _) => return Err(syntax(start, "unexpected '&'; use '&&' for \"and\"")),
                    (b'|', _) => return Err(syntax(start, "unexpected '|'; use '||' for \"or\"")),
                    _ => {
                        let c = src.get(start..).and_then(|s| s.chars().next());
                        let message = match c {
                            Some(c) if c.is_control() => {
                                format!("unexpected control character U+{:04X}", u32::from(c))
                            }
                            Some(c) => format!("unexpected character '{c}'"),
                            None => "unexpected character".to_owned(),
                        };
                        return Err(syntax(start, message));
                    }
                };
                i += len;
                tok
            }
        };
        out.push(Token { tok, offset: start });
    }
    out.push(Token {
        tok: Tok::Eof,
        offset: src.len(),
    });
    Ok(out)
}

/// Lexes a number starting at `start` (an ASCII digit). Returns the token
/// and the offset just past it.
fn number(src: &str, start: usize) -> Result<(Tok<'static>, usize), CompileError> {
    let bytes = src.as_bytes();
    let digits_from = |mut i: usize, hex: bool| {
        while let Some(c) = bytes.get(i) {
            if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
                i += 1;
            } else {
                break;
            }
        }
        i
    };
    let is_digit_at = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    let mut end;
    let tok =
        if bytes.get(start) == Some(&b'0') && matches!(bytes.get(start + 1), Some(b'x' | b'X')) {
            end = digits_from(start + 2, true);
            let text = src.get(start + 2..end).unwrap_or_default();
            if text.is_empty() {
                return Err(syntax(start, "expected hexadecimal digits after '0x'"));
            }
            let n = u64::from_str_radix(text, 16)
                .map_err(|_| syntax(start, "integer literal is too large"))?;
            Tok::Int(n)
        } else {
            end = digits_from(start, false);
            let mut float = false;
            if bytes.get(end) == Some(&b'.') && is_digit_at(end + 1) {
                float = true;
                end = digits_from(end + 1, false);
            }
            if matches!(bytes.get(end), Some(b'e' | b'E')) {
                let mut j = end + 1;
                if matches!(bytes.get(j), Some(b'+' | b'-')) {
                    j += 1;
                }
                if is_digit_at(j) {
                    float = true;
                    end = digits_from(j, false);
                }
            }
            let text = src.get(start..end).unwrap_or_default();
            if float {
                match text.parse::<f64>() {
                    Ok(f) if f.is_finite() => Tok::Double(f),
                    _ => return Err(syntax(start, "number is out of range")),
                }
            } else {
                let n = text
                    .parse::<u64>()
                    .map_err(|_| syntax(start, "integer literal is too large"))?;
                Tok::Int(n)
            }
        };
    if bytes
        .get(end)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
    {
        return Err(syntax(end, "unexpected character after number"));
    }
    Ok((tok, end))
}

/// Lexes a string whose opening quote is at `quote_at`. Returns the decoded
/// text and the offset just past the closing quote.
fn string(src: &str, quote_at: usize, raw: bool) -> Result<(String, usize), CompileError> {
    let token_start = if raw {
        quote_at.saturating_sub(1)
    } else {
        quote_at
    };
    let unterminated = || syntax(token_start, "unterminated string");
    let body = src.get(quote_at..).ok_or_else(unterminated)?;
    let mut chars = body.char_indices();
    let quote = match chars.next() {
        Some((_, q)) => q,
        None => return Err(unterminated()),
    };
    let mut out = String::new();
    while let Some((at, c)) = chars.next() {
        match c {
            _ if c == quote => return Ok((out, quote_at + at + 1)),
            '\n' | '\r' => return Err(unterminated()),
            '\\' if !raw => {
                let (_, e) = chars.next().ok_or_else(unterminated)?;
                let decoded = match e {
                    '\\' | '"' | '\'' | '`' => e,
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'u' => {
                        let mut code = 0u32;
                        for _ in 0..4 {
                            let d = chars.next().and_then(|(_, h)| h.to_digit(16)).ok_or_else(
                                || syntax(quote_at + at, "expected 4 hex digits after '\\u'"),
                            )?;
                            code = code * 16 + d;
                        }
                        char::from_u32(code).ok_or_else(|| {
                            syntax(quote_at + at, format!("'\\u{code:04X}' is not a character"))
                        })?
                    }
                    _ => {
                        return Err(syntax(
                            quote_at + at,
                            format!("unknown escape sequence '\\{e}'"),
                        ));
                    }
                };
                out.push(decoded);
            }
            _ => out.push(c),
        }
    }
    Err(unterminated())
}
