//! The typed parameters of every built-in node kind. Each struct is what `params` holds in
//! the document for that kind; its doc comments become the JSON Schema descriptions the
//! editor shows.

use super::prompt::Prompt;
use crate::digits::DigitRule;
use crate::schedule::Schedule;
use crate::time::Millis;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

fn yes() -> bool {
    true
}
fn one() -> u32 {
    1
}
fn two() -> u32 {
    2
}
fn five_seconds() -> Millis {
    Millis::secs(5)
}
fn three_seconds() -> Millis {
    Millis::secs(3)
}

/// `start`: where every call enters the flow. Port `next`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartParams {}

/// `hangup`: end the call. No ports.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HangupParams {
    /// The hang-up reason stored on the call record (a stable code; default `normal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A disposition recorded for the call, e.g. `do-not-call`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<String>,
}

/// `play`: play a prompt. Port `next`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlayParams {
    /// What to play.
    pub prompt: Prompt,
    /// A key press stops the prompt (the digit is kept for the next menu or collect).
    #[serde(default = "yes")]
    pub barge_in: bool,
}

/// `menu`: play a prompt and branch on one key. Ports: one per option digit, `no-input`,
/// `invalid`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MenuParams {
    /// The menu prompt ("press 1 for sales…"); a key press stops it.
    pub prompt: Prompt,
    /// Digit → label. Each digit is an output port.
    pub options: BTreeMap<String, String>,
    /// How long to wait for a key after the prompt.
    #[serde(default = "five_seconds")]
    pub timeout: Millis,
    /// How many times to repeat the menu after no input or a wrong key, before taking
    /// `no-input` or `invalid`.
    #[serde(default = "two")]
    pub retries: u32,
    /// Played after a wrong key, before the menu repeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_prompt: Option<Prompt>,
    /// Played after silence, before the menu repeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_input_prompt: Option<Prompt>,
    /// Use keys pressed before the menu started (callers who know the menu press ahead).
    #[serde(default = "yes")]
    pub type_ahead: bool,
}

/// `collect`: gather several digits, validate them and store them in a variable. Ports
/// `ok`, `invalid` (validation failed on every try), `no-input`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectParams {
    /// Played first ("type the first 3 digits of your CPF"); a key press stops it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<Prompt>,
    /// Fewest digits accepted.
    #[serde(default = "one")]
    pub min_digits: u32,
    /// Most digits; collection ends as soon as this many arrive.
    pub max_digits: u32,
    /// A key that ends the input early (not stored), e.g. `#`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminator: Option<String>,
    /// How long to wait for the first digit after the prompt.
    #[serde(default = "five_seconds")]
    pub first_digit_timeout: Millis,
    /// How long to wait between digits.
    #[serde(default = "three_seconds")]
    pub inter_digit_timeout: Millis,
    /// Extra tries after no input or invalid input.
    #[serde(default = "two")]
    pub retries: u32,
    /// The variable that receives the digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// Rules the digits must pass, checked in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validate: Vec<DigitRule>,
    /// Played after invalid input, before the next try.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_prompt: Option<Prompt>,
    /// Played after silence, before the next try.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_input_prompt: Option<Prompt>,
    /// Use keys pressed before the node started.
    #[serde(default = "yes")]
    pub type_ahead: bool,
}

/// `condition`: branch on an expression. Ports `true`, `false`, `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionParams {
    /// A boolean expression (CEL syntax), e.g. `contact.vip == true && tries < 3`.
    pub expr: String,
}

/// One case of a `switch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwitchCase {
    /// The output port taken when this case matches.
    pub port: String,
    /// A boolean expression.
    pub expr: String,
}

/// `switch`: the first case whose expression is true wins. Ports: each case's port,
/// `default`, `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwitchParams {
    /// Cases, in order.
    pub cases: Vec<SwitchCase>,
}

/// `set-variables`: assign expressions to variables, all evaluated against the values
/// before the node. Ports `next`, `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetVariablesParams {
    /// Variable name → expression.
    pub assign: BTreeMap<String, String>,
}

/// `http-request`: call a webhook. Ports `ok` (2xx) and `error` (anything else, after the
/// retries). The caller never waits in silence: `filler` plays while the request is slow,
/// and `timeout` bounds every attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpRequestParams {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    #[serde(default = "default_method")]
    pub method: String,
    /// URL template, e.g. `https://crm.example/api/contacts/{{ contact.id }}`.
    pub url: String,
    /// Header templates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// A JSON body; string values are templates, and a string that is exactly one
    /// `{{ expression }}` keeps the expression's type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Time allowed for one attempt.
    #[serde(default = "five_seconds")]
    pub timeout: Millis,
    /// Extra attempts after a timeout, a network failure or a 5xx answer.
    #[serde(default = "one")]
    pub retries: u32,
    /// Wait before the first retry; doubles after each.
    #[serde(default = "half_second")]
    pub backoff: Millis,
    /// Played (looped) while the request is slower than `filler_after`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filler: Option<Prompt>,
    /// How long a request may take before the filler starts.
    #[serde(default = "one_second")]
    pub filler_after: Millis,
    /// Variable name → JSON pointer into the response body (`/customer/name`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response: BTreeMap<String, String>,
    /// A variable that receives the HTTP status (0 when no answer came).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_status: Option<String>,
}

fn default_method() -> String {
    "GET".to_owned()
}
fn half_second() -> Millis {
    Millis(500)
}
fn one_second() -> Millis {
    Millis(1000)
}

/// `custom`: run a WebAssembly node. Ports: those the module declares, and `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomParams {
    /// The module's id in the registry.
    pub module: String,
    /// The pinned module version.
    pub version: String,
    /// Parameters passed to the module, checked against its own schema.
    #[serde(default)]
    pub params: Value,
    /// How long the flow waits for the result before taking `error`.
    #[serde(default = "one_second")]
    pub timeout: Millis,
}

/// `queue`: connect the caller to an agent. Ports `answered` (the agent conversation ended
/// and the caller is still on the line), `timeout`, `no-agents`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueParams {
    /// The queue id.
    pub queue: String,
    /// The longest a caller waits before `timeout`.
    #[serde(default = "five_minutes")]
    pub max_wait: Millis,
    /// Music on hold (a recording).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub music_on_hold: Option<String>,
    /// Tell the caller their position in the queue.
    #[serde(default)]
    pub announce_position: bool,
    /// How often to announce the position.
    #[serde(default = "one_minute")]
    pub announce_every: Millis,
    /// An integer expression; higher is served first (e.g. `contact.vip ? 10 : 0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// The campaign (by name) the agent works the call under: its script, dispositions and
    /// contact list. Default: the call's own campaign, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
}

fn five_minutes() -> Millis {
    Millis::secs(300)
}
fn one_minute() -> Millis {
    Millis::secs(60)
}

/// `transfer`: connect the caller to an external number or SIP URI. Ports `completed`
/// (the far end answered and the conversation ended), `failed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferParams {
    /// Number or `sip:` URI template.
    pub to: String,
    /// The outbound trunk (the default trunk when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trunk: Option<String>,
    /// How long to ring before `failed`.
    #[serde(default = "thirty_seconds")]
    pub timeout: Millis,
    /// Caller ID shown to the far end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<String>,
}

fn thirty_seconds() -> Millis {
    Millis::secs(30)
}

/// `record`: start recording the whole call from here on. Port `next`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordParams {}

/// `voicemail`: play a prompt, beep, and record a message until the terminator, silence or
/// `max_duration`. Port `next`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VoicemailParams {
    /// Played before the beep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<Prompt>,
    /// The mailbox the message goes to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<String>,
    /// Longest message.
    #[serde(default = "two_minutes")]
    pub max_duration: Millis,
    /// A key that ends the message.
    #[serde(default = "pound")]
    pub terminator: String,
    /// A variable that receives the recording's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
}

fn two_minutes() -> Millis {
    Millis::secs(120)
}
fn pound() -> String {
    "#".to_owned()
}

/// `survey`: ask a question answered with one key on a scale and store the answer. Ports
/// `answered`, `invalid`, `no-input`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyParams {
    /// The survey the answer belongs to.
    pub survey: String,
    /// The question.
    pub question: Prompt,
    /// Lowest answer on the scale (0–9).
    #[serde(default = "one")]
    pub min: u32,
    /// Highest answer on the scale (0–9).
    #[serde(default = "five")]
    pub max: u32,
    /// The variable that receives the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// How long to wait for the key after the question.
    #[serde(default = "five_seconds")]
    pub timeout: Millis,
    /// Extra tries after no input or a key outside the scale.
    #[serde(default = "one")]
    pub retries: u32,
    /// Played after a key outside the scale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_prompt: Option<Prompt>,
}

fn five() -> u32 {
    5
}

/// `subflow`: run another flow and come back through the port named by the `exit` node it
/// ends on. Ports: the other flow's exit names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubflowParams {
    /// The id of the flow to run.
    pub flow: String,
}

/// `exit`: leave a subflow through the calling node's port `port`. No ports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExitParams {
    /// The port of the calling `subflow` node to continue from.
    pub port: String,
}

/// `time-range`: `in` when the call's time is inside the schedule, else `out`.
pub type TimeRangeParams = Schedule;
