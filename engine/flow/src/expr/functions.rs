//! Built-in functions: the table the parser resolves names against (with
//! their call styles and arities) and their implementations.

use std::borrow::Cow;

use super::eval::{Ctx, type_name};
use super::{EvalError, Value};

/// A built-in function that evaluates its arguments normally. A method's
/// receiver is its first argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Size,
    StartsWith,
    EndsWith,
    Contains,
    Int,
    Double,
    String,
    Bool,
    LowerAscii,
    UpperAscii,
    Trim,
    Digits,
}

/// What a function name resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Builtin {
    /// An ordinary function.
    Func(Func),
    /// `matches`: the pattern must be a literal, compiled at compile time.
    Matches,
    /// The `has(a.b)` macro.
    Has,
}

/// One entry of the function table.
pub(crate) struct Entry {
    pub(crate) name: &'static str,
    pub(crate) builtin: Builtin,
    /// Argument count when called as `name(args)`, if allowed.
    global: Option<usize>,
    /// Argument count (without the receiver) when called as `x.name(args)`.
    method: Option<usize>,
}

const fn entry(
    name: &'static str,
    builtin: Builtin,
    global: Option<usize>,
    method: Option<usize>,
) -> Entry {
    Entry {
        name,
        builtin,
        global,
        method,
    }
}

const TABLE: &[Entry] = &[
    entry("size", Builtin::Func(Func::Size), Some(1), Some(0)),
    entry("startsWith", Builtin::Func(Func::StartsWith), None, Some(1)),
    entry("endsWith", Builtin::Func(Func::EndsWith), None, Some(1)),
    entry("contains", Builtin::Func(Func::Contains), None, Some(1)),
    entry("matches", Builtin::Matches, Some(2), Some(1)),
    entry("int", Builtin::Func(Func::Int), Some(1), None),
    entry("double", Builtin::Func(Func::Double), Some(1), None),
    entry("string", Builtin::Func(Func::String), Some(1), None),
    entry("bool", Builtin::Func(Func::Bool), Some(1), None),
    entry("has", Builtin::Has, Some(1), None),
    entry("lowerAscii", Builtin::Func(Func::LowerAscii), None, Some(0)),
    entry("upperAscii", Builtin::Func(Func::UpperAscii), None, Some(0)),
    entry("trim", Builtin::Func(Func::Trim), None, Some(0)),
    entry("digits", Builtin::Func(Func::Digits), Some(1), Some(0)),
];

/// Finds a function by name and checks that it may be called in this style.
pub(crate) fn lookup(name: &str, method: bool) -> Result<&'static Entry, String> {
    let entry = TABLE
        .iter()
        .find(|e| e.name == name)
        .ok_or_else(|| format!("unknown function '{name}'"))?;
    match (method, entry.global, entry.method) {
        (true, _, Some(_)) | (false, Some(_), _) => Ok(entry),
        (true, _, None) => Err(format!("'{name}' is not a method; call it as {name}(x)")),
        (false, None, _) => Err(format!("'{name}' is a method; call it as x.{name}(...)")),
    }
}

impl Entry {
    /// Checks the argument count (without the receiver for methods).
    pub(crate) fn check_arity(&self, method: bool, argc: usize) -> Result<(), String> {
        let want = if method { self.method } else { self.global };
        match want {
            Some(n) if n == argc => Ok(()),
            Some(n) => Err(format!(
                "'{}' takes {n} argument{}, got {argc}",
                self.name,
                if n == 1 { "" } else { "s" }
            )),
            None => Err(format!("'{}' cannot be called this way", self.name)),
        }
    }
}

type R<'a> = Result<Cow<'a, Value>, EvalError>;

fn str_arg<'v>(v: &'v Value, operation: &'static str) -> Result<&'v str, EvalError> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(EvalError::TypeMismatch {
            operation,
            found: type_name(other),
        }),
    }
}

/// Shortens `s` for use in an error message.
fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

fn conversion(to: &'static str, message: String) -> EvalError {
    EvalError::Conversion { to, message }
}

fn new_string<'a>(s: String, cx: &mut Ctx<'_>) -> R<'a> {
    cx.charge(s.len())?;
    Ok(Cow::Owned(Value::String(s)))
}

/// Calls a one-argument function (or a method without arguments).
pub(crate) fn call1<'a>(f: Func, x: Cow<'a, Value>, cx: &mut Ctx<'_>) -> R<'a> {
    match f {
        Func::Size => {
            let n = match x.as_ref() {
                Value::String(s) => s.chars().count(),
                Value::Array(a) => a.len(),
                Value::Object(m) => m.len(),
                other => {
                    return Err(EvalError::TypeMismatch {
                        operation: "size()",
                        found: type_name(other),
                    });
                }
            };
            let n = i64::try_from(n).map_err(|_| EvalError::Overflow)?;
            Ok(Cow::Owned(Value::from(n)))
        }
        Func::Int => to_int(x),
        Func::Double => {
            let f = match x.as_ref() {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.parse::<f64>().ok().filter(|f| f.is_finite()),
                other => {
                    return Err(conversion(
                        "double",
                        format!("{} values cannot be converted", type_name(other)),
                    ));
                }
            };
            match f.and_then(serde_json::Number::from_f64) {
                Some(n) => Ok(Cow::Owned(Value::Number(n))),
                None => Err(conversion(
                    "double",
                    format!(
                        "\"{}\" is not a number",
                        excerpt(x.as_str().unwrap_or_default())
                    ),
                )),
            }
        }
        Func::String => {
            let s = match x.as_ref() {
                Value::String(_) => return Ok(x),
                Value::Number(n) => match n.as_i64() {
                    Some(i) => i.to_string(),
                    None => n.as_f64().map(|f| f.to_string()).unwrap_or_default(),
                },
                Value::Bool(b) => b.to_string(),
                other => {
                    return Err(conversion(
                        "string",
                        format!("{} values cannot be converted", type_name(other)),
                    ));
                }
            };
            new_string(s, cx)
        }
        Func::Bool => match x.as_ref() {
            Value::Bool(_) => Ok(x),
            Value::String(s) if s == "true" => Ok(Cow::Owned(Value::Bool(true))),
            Value::String(s) if s == "false" => Ok(Cow::Owned(Value::Bool(false))),
            Value::String(s) => Err(conversion(
                "bool",
                format!("\"{}\" is neither \"true\" nor \"false\"", excerpt(s)),
            )),
            other => Err(conversion(
                "bool",
                format!("{} values cannot be converted", type_name(other)),
            )),
        },
        Func::LowerAscii => new_string(str_arg(&x, "lowerAscii()")?.to_ascii_lowercase(), cx),
        Func::UpperAscii => new_string(str_arg(&x, "upperAscii()")?.to_ascii_uppercase(), cx),
        Func::Trim => new_string(str_arg(&x, "trim()")?.trim().to_owned(), cx),
        Func::Digits => {
            let s = match x.as_ref() {
                Value::String(s) => s.chars().filter(char::is_ascii_digit).collect(),
                Value::Number(n) if n.is_i64() || n.is_u64() => {
                    n.to_string().chars().filter(char::is_ascii_digit).collect()
                }
                other => {
                    return Err(EvalError::TypeMismatch {
                        operation: "digits()",
                        found: type_name(other),
                    });
                }
            };
            new_string(s, cx)
        }
        Func::StartsWith | Func::EndsWith | Func::Contains => Err(EvalError::TypeMismatch {
            operation: "a function call",
            found: "the wrong number of arguments",
        }),
    }
}

/// `int(x)`: ints unchanged, doubles truncated, strings of decimal digits
/// with an optional sign parsed.
fn to_int(x: Cow<'_, Value>) -> R<'_> {
    let i = match x.as_ref() {
        Value::Number(n) => {
            if n.is_i64() {
                return Ok(x);
            }
            let f = n.as_f64().unwrap_or(f64::NAN);
            // i64::MIN is exactly -2^63; anything below 2^63 after truncation fits.
            if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
                f.trunc() as i64
            } else {
                return Err(conversion("int", format!("{f:e} is out of range")));
            }
        }
        Value::String(s) => s
            .parse::<i64>()
            .map_err(|_| conversion("int", format!("\"{}\" is not a whole number", excerpt(s))))?,
        other => {
            return Err(conversion(
                "int",
                format!("{} values cannot be converted", type_name(other)),
            ));
        }
    };
    Ok(Cow::Owned(Value::from(i)))
}

/// Calls a method with one argument (`x.startsWith(y)` and friends).
pub(crate) fn call2<'a>(f: Func, x: Cow<'a, Value>, y: Cow<'a, Value>) -> R<'a> {
    let (operation, test): (&'static str, fn(&str, &str) -> bool) = match f {
        Func::StartsWith => ("startsWith()", |a, b| a.starts_with(b)),
        Func::EndsWith => ("endsWith()", |a, b| a.ends_with(b)),
        Func::Contains => ("contains()", |a, b| a.contains(b)),
        _ => {
            return Err(EvalError::TypeMismatch {
                operation: "a function call",
                found: "the wrong number of arguments",
            });
        }
    };
    let a = str_arg(&x, operation)?;
    let b = str_arg(&y, operation)?;
    Ok(Cow::Owned(Value::Bool(test(a, b))))
}
