//! The node catalog: every built-in node kind, its parameters, its output ports and its
//! documentation. Validation, the executor, the JSON Schema, `docs/flow-format.md` and the
//! editor's palette all read this one table.

pub mod params;
pub mod prompt;

pub use params::*;
pub use prompt::Prompt;

use serde::de::DeserializeOwned;
use serde_json::Value;

/// A built-in node kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeKind {
    /// Where the call enters.
    Start,
    /// Ends the call.
    Hangup,
    /// Plays a prompt.
    Play,
    /// One-key menu.
    Menu,
    /// Gathers and validates digits.
    Collect,
    /// Boolean branch.
    Condition,
    /// First matching case.
    Switch,
    /// Business hours.
    TimeRange,
    /// Assigns variables.
    SetVariables,
    /// Calls a webhook.
    HttpRequest,
    /// Runs a WebAssembly node.
    Custom,
    /// Connects to agents.
    Queue,
    /// Connects to an external number.
    Transfer,
    /// Records the call.
    Record,
    /// Records a message.
    Voicemail,
    /// Asks a survey question.
    Survey,
    /// Runs another flow.
    Subflow,
    /// Leaves a subflow.
    Exit,
}

/// What the catalog knows about a kind.
#[derive(Debug, Clone, Copy)]
pub struct KindInfo {
    /// The kind.
    pub kind: NodeKind,
    /// The name used in documents (`set-variables`).
    pub name: &'static str,
    /// One line for the palette.
    pub summary: &'static str,
    /// Output ports every node of this kind has. Kinds whose ports depend on parameters
    /// (menu, switch, custom, subflow) list only their fixed ones here.
    pub fixed_ports: &'static [&'static str],
    /// Does the node finish without time passing or caller input? A cycle made only of
    /// such nodes spins, and validation refuses it.
    pub instant: bool,
}

const KINDS: &[KindInfo] = &[
    info(
        NodeKind::Start,
        "start",
        "Where every call enters the flow.",
        &["next"],
        true,
    ),
    info(
        NodeKind::Hangup,
        "hangup",
        "End the call, with a reason and an optional disposition.",
        &[],
        true,
    ),
    info(
        NodeKind::Play,
        "play",
        "Play a recording or spoken text.",
        &["next"],
        false,
    ),
    info(
        NodeKind::Menu,
        "menu",
        "Play a menu and branch on one key; retries on silence or a wrong key.",
        &["no-input", "invalid"],
        false,
    ),
    info(
        NodeKind::Collect,
        "collect",
        "Gather digits, validate them (length, regex, CPF/CNPJ, Luhn, equals or prefix of a contact field) and store them.",
        &["ok", "invalid", "no-input"],
        false,
    ),
    info(
        NodeKind::Condition,
        "condition",
        "Branch on a boolean expression over call, contact and flow variables.",
        &["true", "false", "error"],
        true,
    ),
    info(
        NodeKind::Switch,
        "switch",
        "Take the port of the first case whose expression is true.",
        &["default", "error"],
        true,
    ),
    info(
        NodeKind::TimeRange,
        "time-range",
        "Branch on business hours: weekly windows, holidays, time zone.",
        &["in", "out"],
        true,
    ),
    info(
        NodeKind::SetVariables,
        "set-variables",
        "Assign expressions to variables.",
        &["next", "error"],
        true,
    ),
    info(
        NodeKind::HttpRequest,
        "http-request",
        "Call a webhook, with timeout, retries, a filler prompt and response mapping.",
        &["ok", "error"],
        true,
    ),
    info(
        NodeKind::Custom,
        "custom",
        "Run a custom node compiled to WebAssembly.",
        &["error"],
        true,
    ),
    info(
        NodeKind::Queue,
        "queue",
        "Connect the caller to an agent of a queue.",
        &["answered", "timeout", "no-agents"],
        false,
    ),
    info(
        NodeKind::Transfer,
        "transfer",
        "Connect the caller to an external number or SIP URI.",
        &["completed", "failed"],
        false,
    ),
    info(
        NodeKind::Record,
        "record",
        "Record the rest of the call.",
        &["next"],
        true,
    ),
    info(
        NodeKind::Voicemail,
        "voicemail",
        "Record a message after a beep.",
        &["next"],
        false,
    ),
    info(
        NodeKind::Survey,
        "survey",
        "Ask a question answered on a key scale and store the answer.",
        &["answered", "invalid", "no-input"],
        false,
    ),
    info(
        NodeKind::Subflow,
        "subflow",
        "Run another flow and continue through the exit it ends on.",
        &[],
        true,
    ),
    info(
        NodeKind::Exit,
        "exit",
        "Leave a subflow through a named port of the calling node.",
        &[],
        true,
    ),
];

const fn info(
    kind: NodeKind,
    name: &'static str,
    summary: &'static str,
    fixed_ports: &'static [&'static str],
    instant: bool,
) -> KindInfo {
    KindInfo {
        kind,
        name,
        summary,
        fixed_ports,
        instant,
    }
}

impl NodeKind {
    /// Every kind, in palette order.
    pub fn all() -> impl Iterator<Item = NodeKind> {
        KINDS.iter().map(|info| info.kind)
    }
    /// The kind named `name` in documents.
    pub fn from_name(name: &str) -> Option<NodeKind> {
        KINDS
            .iter()
            .find(|info| info.name == name)
            .map(|info| info.kind)
    }
    /// The catalog entry.
    pub fn info(self) -> &'static KindInfo {
        // KINDS lists every variant in declaration order; `kinds_table_is_complete` checks it.
        &KINDS[self as usize]
    }
    /// Do the node's ports depend on its parameters (menu digits, switch cases, module
    /// ports, subflow exits)?
    pub fn has_dynamic_ports(self) -> bool {
        matches!(
            self,
            NodeKind::Menu | NodeKind::Switch | NodeKind::Custom | NodeKind::Subflow
        )
    }
    /// The name used in documents.
    pub fn name(self) -> &'static str {
        self.info().name
    }
    /// The JSON Schema of the kind's `params`.
    pub fn params_schema(self) -> schemars::Schema {
        use schemars::schema_for;
        match self {
            NodeKind::Start => schema_for!(StartParams),
            NodeKind::Hangup => schema_for!(HangupParams),
            NodeKind::Play => schema_for!(PlayParams),
            NodeKind::Menu => schema_for!(MenuParams),
            NodeKind::Collect => schema_for!(CollectParams),
            NodeKind::Condition => schema_for!(ConditionParams),
            NodeKind::Switch => schema_for!(SwitchParams),
            NodeKind::TimeRange => schema_for!(TimeRangeParams),
            NodeKind::SetVariables => schema_for!(SetVariablesParams),
            NodeKind::HttpRequest => schema_for!(HttpRequestParams),
            NodeKind::Custom => schema_for!(CustomParams),
            NodeKind::Queue => schema_for!(QueueParams),
            NodeKind::Transfer => schema_for!(TransferParams),
            NodeKind::Record => schema_for!(RecordParams),
            NodeKind::Voicemail => schema_for!(VoicemailParams),
            NodeKind::Survey => schema_for!(SurveyParams),
            NodeKind::Subflow => schema_for!(SubflowParams),
            NodeKind::Exit => schema_for!(ExitParams),
        }
    }
}

/// A node's parameters, typed.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum NodeParams {
    Start(StartParams),
    Hangup(HangupParams),
    Play(PlayParams),
    Menu(MenuParams),
    Collect(CollectParams),
    Condition(ConditionParams),
    Switch(SwitchParams),
    TimeRange(TimeRangeParams),
    SetVariables(SetVariablesParams),
    HttpRequest(HttpRequestParams),
    Custom(CustomParams),
    Queue(QueueParams),
    Transfer(TransferParams),
    Record(RecordParams),
    Voicemail(VoicemailParams),
    Survey(SurveyParams),
    Subflow(SubflowParams),
    Exit(ExitParams),
}

/// Why `params` did not fit the kind: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamsError {
    /// JSON pointer inside `params`.
    pub path: String,
    /// serde's message.
    pub message: String,
}

fn typed<T: DeserializeOwned>(params: &Value) -> Result<T, ParamsError> {
    serde_path_to_error::deserialize(params).map_err(|error| ParamsError {
        path: crate::document::json_pointer_of(error.path()),
        message: error.inner().to_string(),
    })
}

impl NodeParams {
    /// Reads `params` for `kind`.
    pub fn parse(kind: NodeKind, params: &Value) -> Result<NodeParams, ParamsError> {
        Ok(match kind {
            NodeKind::Start => NodeParams::Start(typed(params)?),
            NodeKind::Hangup => NodeParams::Hangup(typed(params)?),
            NodeKind::Play => NodeParams::Play(typed(params)?),
            NodeKind::Menu => NodeParams::Menu(typed(params)?),
            NodeKind::Collect => NodeParams::Collect(typed(params)?),
            NodeKind::Condition => NodeParams::Condition(typed(params)?),
            NodeKind::Switch => NodeParams::Switch(typed(params)?),
            NodeKind::TimeRange => NodeParams::TimeRange(typed(params)?),
            NodeKind::SetVariables => NodeParams::SetVariables(typed(params)?),
            NodeKind::HttpRequest => NodeParams::HttpRequest(typed(params)?),
            NodeKind::Custom => NodeParams::Custom(typed(params)?),
            NodeKind::Queue => NodeParams::Queue(typed(params)?),
            NodeKind::Transfer => NodeParams::Transfer(typed(params)?),
            NodeKind::Record => NodeParams::Record(typed(params)?),
            NodeKind::Voicemail => NodeParams::Voicemail(typed(params)?),
            NodeKind::Survey => NodeParams::Survey(typed(params)?),
            NodeKind::Subflow => NodeParams::Subflow(typed(params)?),
            NodeKind::Exit => NodeParams::Exit(typed(params)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_table_is_complete_and_in_declaration_order() {
        for (index, info) in KINDS.iter().enumerate() {
            assert_eq!(info.kind as usize, index, "{}", info.name);
            assert_eq!(NodeKind::from_name(info.name), Some(info.kind));
            // Every kind has parameters that parse from an object or says why not.
            let _ = info.kind.params_schema();
        }
        assert_eq!(NodeKind::from_name("nope"), None);
    }

    #[test]
    fn params_errors_point_inside_params() {
        let error = NodeParams::parse(
            NodeKind::Menu,
            &serde_json::json!({"prompt": {"tts": "hi"}, "options": {"1": "a"}, "timeout": "5 days"}),
        )
        .unwrap_err();
        assert_eq!(error.path, "/timeout");
        let error =
            NodeParams::parse(NodeKind::Play, &serde_json::json!({"promt": {}})).unwrap_err();
        assert!(error.message.contains("promt"), "{}", error.message);
    }
}
