//! The flow-test script format (`flows/<name>.calls`): calls, each a list of steps.
//!
//! ```text
//! # comments start with '#'
//! call "CPF accepted" from +5511999990000 to 4000 at 2025-03-03T10:00:00-03:00
//!   contact cpf="529.982.247-25" name=Ana
//!   expect play welcome
//!   press 1 2 3
//!   wait 5s
//!   http returns 200 {"ok": true}
//!   expect enqueue sales
//!   hang up
//! ```

use crate::time::Millis;
use serde_json::{Map, Value};

/// A parsed script.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// The calls, in order.
    pub calls: Vec<ScriptCall>,
}

/// One scripted call.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptCall {
    /// Its name.
    pub name: String,
    /// The line it starts on (1-based).
    pub line: usize,
    /// Caller number.
    pub from: String,
    /// Called number.
    pub to: String,
    /// Wall-clock start, ms since the Unix epoch.
    pub at_unix_ms: i64,
    /// Outbound (dialer) call?
    pub outbound: bool,
    /// Campaign id.
    pub campaign: Option<String>,
    /// Contact fields.
    pub contact: Map<String, Value>,
    /// Initial variables.
    pub variables: Map<String, Value>,
    /// The steps, each with its line.
    pub steps: Vec<(usize, Step)>,
}

/// One step of a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// `press 1 2 3` or `press 123`.
    Press(String),
    /// `wait 5s`.
    Wait(Millis),
    /// `hang up`.
    HangUp,
    /// `expect …`.
    Expect(Expectation),
    /// `http returns 200 {…}`.
    HttpReturns {
        /// Status.
        status: u16,
        /// Body text.
        body: String,
    },
    /// `http fails "reason"`.
    HttpFails(String),
    /// `node returns PORT {vars}`.
    NodeReturns {
        /// Port.
        port: String,
        /// Variables.
        variables: Map<String, Value>,
    },
    /// `node fails "reason"`.
    NodeFails(String),
    /// `agent answers NAME` (also `transfer answers`).
    Answers(String),
    /// `agent hangs up` — the conversation ended, the caller stays.
    AgentHangsUp,
    /// `queue times out`.
    QueueTimesOut,
    /// `queue has no agents`.
    QueueHasNoAgents,
    /// `transfer completes`.
    TransferCompletes,
    /// `transfer fails`.
    TransferFails,
    /// `recording ends [NAME]`.
    RecordingEnds(String),
}

/// What an `expect` line checks.
#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    /// `expect play NAME-OR-TEXT`.
    Play(String),
    /// `expect http [METHOD] URL-PART`.
    Http {
        /// Method, if given.
        method: Option<String>,
        /// A part of the URL.
        url: String,
    },
    /// `expect node MODULE`.
    Node(String),
    /// `expect enqueue QUEUE`.
    Enqueue(String),
    /// `expect transfer TARGET`.
    Transfer(String),
    /// `expect record`.
    Record,
    /// `expect voicemail`.
    Voicemail,
    /// `expect survey VALUE`.
    Survey(u32),
    /// `expect hangup [REASON] [disposition=D]`.
    Hangup {
        /// Reason, if given.
        reason: Option<String>,
        /// Disposition, if given.
        disposition: Option<String>,
    },
    /// `expect var NAME = VALUE`.
    Variable(String, Value),
    /// `expect path A B C`: the nodes visited so far, in order.
    Path(Vec<String>),
    /// `expect silence`: no command is pending.
    Silence,
}

/// A script line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ScriptError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// The default start of a call: Monday 2025-01-06 10:00 in São Paulo (UTC-3).
pub const DEFAULT_START_UNIX_MS: i64 = 1_736_168_400_000;

impl Script {
    /// Parses a script.
    pub fn parse(text: &str) -> Result<Script, ScriptError> {
        let mut calls: Vec<ScriptCall> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = strip_comment(raw).trim();
            if content.is_empty() {
                continue;
            }
            let error = |message: String| ScriptError { line, message };
            let (word, rest) = split_word(content);
            if word == "call" {
                calls.push(parse_call_header(rest, line).map_err(error)?);
                continue;
            }
            let Some(call) = calls.last_mut() else {
                return Err(error(
                    "a script starts with a `call \"name\"` line".to_owned(),
                ));
            };
            match word {
                "contact" => call.contact.extend(parse_assignments(rest).map_err(error)?),
                "var" => call
                    .variables
                    .extend(parse_assignments(rest).map_err(error)?),
                _ => {
                    let step = parse_step(content).map_err(error)?;
                    call.steps.push((line, step));
                }
            }
        }
        Ok(Script { calls })
    }
}

fn strip_comment(line: &str) -> &str {
    // A '#' starts a comment only at the start of a word and outside quotes, so `press #`
    // still presses the key: a lone '#' after `press` is a key.
    let mut in_quotes = false;
    let bytes = line.as_bytes();
    for (index, &byte) in bytes.iter().enumerate() {
        match byte {
            b'"' => in_quotes = !in_quotes,
            b'#' if !in_quotes => {
                let at_word_start =
                    index == 0 || bytes[index - 1] == b' ' || bytes[index - 1] == b'\t';
                let lone_key = bytes.get(index + 1).is_none_or(|&next| next == b' ');
                let after_press = line[..index].trim_start().starts_with("press");
                if at_word_start && !(lone_key && after_press) {
                    return &line[..index];
                }
            }
            _ => {}
        }
    }
    line
}

fn split_word(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    match text.find(char::is_whitespace) {
        Some(end) => (&text[..end], text[end..].trim_start()),
        None => (text, ""),
    }
}

/// Splits words, keeping `"quoted strings"` (JSON escapes) and `{…}` / `[…]` JSON together.
fn words(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let end = token_end(rest)?;
        out.push(rest[..end].to_owned());
        rest = rest[end..].trim_start();
    }
    Ok(out)
}

fn token_end(text: &str) -> Result<usize, String> {
    let mut depth = 0i32;
    let mut in_string = false;
    let mut escaped = false;
    for (index, c) in text.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => depth += 1,
            '}' | ']' => depth -= 1,
            c if c.is_whitespace() && depth <= 0 => return Ok(index),
            _ => {}
        }
    }
    if in_string {
        return Err("a quoted string is not closed".to_owned());
    }
    Ok(text.len())
}

/// A word as a value: JSON when it parses (`5`, `true`, `"a b"`, `{…}`), else the text.
fn value_of(word: &str) -> Value {
    serde_json::from_str(word).unwrap_or_else(|_| Value::String(word.to_owned()))
}

/// A word as text: a JSON string's content, or the word itself.
fn text_of(word: &str) -> String {
    match serde_json::from_str::<Value>(word) {
        Ok(Value::String(text)) => text,
        _ => word.to_owned(),
    }
}

fn parse_assignments(text: &str) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for word in words(text)? {
        let Some((name, value)) = word.split_once('=') else {
            return Err(format!("`{word}` is not name=value"));
        };
        out.insert(name.to_owned(), value_of(value));
    }
    Ok(out)
}

fn parse_call_header(text: &str, line: usize) -> Result<ScriptCall, String> {
    let words = words(text)?;
    let mut call = ScriptCall {
        name: String::new(),
        line,
        from: "+5511999990000".to_owned(),
        to: "4000".to_owned(),
        at_unix_ms: DEFAULT_START_UNIX_MS,
        outbound: false,
        campaign: None,
        contact: Map::new(),
        variables: Map::new(),
        steps: Vec::new(),
    };
    let mut iter = words.iter();
    call.name = iter
        .next()
        .map(|word| text_of(word))
        .ok_or("a call needs a name")?;
    while let Some(word) = iter.next() {
        let mut value = || {
            iter.next()
                .map(|w| text_of(w))
                .ok_or(format!("`{word}` needs a value"))
        };
        match word.as_str() {
            "from" => call.from = value()?,
            "to" => call.to = value()?,
            "at" => call.at_unix_ms = parse_time(&value()?)?,
            "campaign" => call.campaign = Some(value()?),
            "outbound" => call.outbound = true,
            "inbound" => call.outbound = false,
            other => {
                return Err(format!(
                    "unknown call option `{other}` (from, to, at, campaign, outbound)"
                ));
            }
        }
    }
    Ok(call)
}

/// `2025-03-03T10:00:00-03:00` or `2025-03-03T10:00-03:00`.
fn parse_time(text: &str) -> Result<i64, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .or_else(|_| chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M%:z"))
        .map(|time| time.timestamp_millis())
        .map_err(|_| format!("`{text}` is not a time like 2025-03-03T10:00:00-03:00"))
}

/// Parses one step line (`press 1 2`, `wait 5s`, `expect play x`, …).
pub fn parse_step(content: &str) -> Result<Step, String> {
    let words = words(content)?;
    let word = |index: usize| words.get(index).map(String::as_str).unwrap_or_default();
    let rest_from = |index: usize| words.get(index..).map(|w| w.join(" ")).unwrap_or_default();
    Ok(match (word(0), word(1)) {
        ("press", _) => {
            let keys: String = words[1..].concat();
            if keys.is_empty() || !keys.chars().all(crate::compile::nodes::is_dtmf) {
                return Err(format!("`press` takes keys 0-9 * # A-D, not `{keys}`"));
            }
            Step::Press(keys)
        }
        ("wait", duration) => Step::Wait(Millis::parse(duration)?),
        ("hang", "up") => Step::HangUp,
        ("http", "returns") => {
            let status = word(2)
                .parse()
                .map_err(|_| format!("`{}` is not an HTTP status", word(2)))?;
            let body = content
                .splitn(4, char::is_whitespace)
                .nth(3)
                .unwrap_or_default()
                .trim()
                .to_owned();
            Step::HttpReturns { status, body }
        }
        ("http", "fails") => Step::HttpFails(text_of(&rest_from(2))),
        ("node", "returns") => {
            let port = text_of(word(2));
            let variables = match words.get(3) {
                Some(json) => match serde_json::from_str(json) {
                    Ok(Value::Object(map)) => map,
                    _ => return Err(format!("`{json}` is not a JSON object of variables")),
                },
                None => Map::new(),
            };
            Step::NodeReturns { port, variables }
        }
        ("node", "fails") => Step::NodeFails(text_of(&rest_from(2))),
        ("agent" | "transfer", "answers") => Step::Answers(text_of(word(2))),
        ("agent", "hangs") => Step::AgentHangsUp,
        ("queue", "times") => Step::QueueTimesOut,
        ("queue", "has") => Step::QueueHasNoAgents,
        ("transfer", "completes") => Step::TransferCompletes,
        ("transfer", "fails") => Step::TransferFails,
        ("recording", "ends") => Step::RecordingEnds(if word(2).is_empty() {
            "message.wav".to_owned()
        } else {
            text_of(word(2))
        }),
        ("expect", what) => Step::Expect(parse_expectation(what, &words[2..])?),
        _ => return Err(format!("unknown step `{content}`")),
    })
}

fn parse_expectation(what: &str, args: &[String]) -> Result<Expectation, String> {
    let joined = || {
        args.iter()
            .map(|w| text_of(w))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let required = |name: &str| {
        let text = joined();
        if text.is_empty() {
            Err(format!("`expect {name}` needs an argument"))
        } else {
            Ok(text)
        }
    };
    Ok(match what {
        // `expect play ""` is a prompt with nothing to say (a template that rendered empty).
        "play" if args.first().is_some_and(|word| word.as_str() == "\"\"") => {
            Expectation::Play(String::new())
        }
        "play" => Expectation::Play(required("play")?),
        "http" => match args {
            [method, url] => Expectation::Http {
                method: Some(method.to_ascii_uppercase()),
                url: text_of(url),
            },
            [url] => Expectation::Http {
                method: None,
                url: text_of(url),
            },
            _ => return Err("`expect http [METHOD] URL`".to_owned()),
        },
        "node" => Expectation::Node(required("node")?),
        "enqueue" => Expectation::Enqueue(required("enqueue")?),
        "transfer" => Expectation::Transfer(required("transfer")?),
        "record" => Expectation::Record,
        "voicemail" => Expectation::Voicemail,
        "survey" => Expectation::Survey(
            joined()
                .parse()
                .map_err(|_| "`expect survey N`".to_owned())?,
        ),
        "hangup" => {
            let mut reason = None;
            let mut disposition = None;
            for arg in args {
                match arg.strip_prefix("disposition=") {
                    Some(value) => disposition = Some(text_of(value)),
                    None => reason = Some(text_of(arg)),
                }
            }
            Expectation::Hangup {
                reason,
                disposition,
            }
        }
        "var" => match args {
            [name, eq, value] if eq == "=" => Expectation::Variable(name.clone(), value_of(value)),
            _ => return Err("`expect var NAME = VALUE`".to_owned()),
        },
        "path" => Expectation::Path(args.to_vec()),
        "silence" => Expectation::Silence,
        other => return Err(format!("unknown expectation `{other}`")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_parse_every_step() {
        let script = Script::parse(
            r#"
# a comment
call "first" from +551100 to 4000 at 2025-03-03T10:00-03:00 campaign c1 outbound
  contact cpf="529.982.247-25" name=Ana vip=true
  var tries=1
  expect play welcome   # trailing comment
  press 1 2 #
  press 123
  wait 5s
  http returns 200 {"name": "Ana Maria", "ok": true}
  http fails "connection refused"
  node returns valid {"score": 7}
  expect hangup normal disposition=sale
  expect var tries = 2
  expect path start welcome menu
  hang up
"#,
        )
        .unwrap();
        let call = &script.calls[0];
        assert_eq!(call.name, "first");
        assert!(call.outbound);
        assert_eq!(call.at_unix_ms, 1_741_006_800_000);
        assert_eq!(call.contact["cpf"], "529.982.247-25");
        assert_eq!(call.contact["vip"], true);
        let steps: Vec<&Step> = call.steps.iter().map(|(_, step)| step).collect();
        assert_eq!(steps[0], &Step::Expect(Expectation::Play("welcome".into())));
        assert_eq!(steps[1], &Step::Press("12#".into()));
        assert_eq!(steps[2], &Step::Press("123".into()));
        assert_eq!(
            steps[4],
            &Step::HttpReturns {
                status: 200,
                body: r#"{"name": "Ana Maria", "ok": true}"#.into()
            }
        );
        assert_eq!(steps[5], &Step::HttpFails("connection refused".into()));
        assert_eq!(
            steps[7],
            &Step::Expect(Expectation::Hangup {
                reason: Some("normal".into()),
                disposition: Some("sale".into())
            })
        );
        assert_eq!(
            steps[8],
            &Step::Expect(Expectation::Variable("tries".into(), Value::from(2)))
        );
        assert_eq!(call.steps[0].0, 6);
    }

    #[test]
    fn bad_lines_name_their_line() {
        for (text, line) in [
            ("expect play x", 1),
            ("call \"a\"\n  press x", 2),
            ("call \"a\"\n\n  wait forever", 3),
            ("call \"a\" at yesterday", 1),
            ("call \"a\"\n  fly away", 2),
            ("call \"a\"\n  contact name=\"unterminated", 2),
        ] {
            assert_eq!(Script::parse(text).unwrap_err().line, line, "{text}");
        }
    }
}
