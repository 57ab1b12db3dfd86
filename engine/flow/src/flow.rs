//! A compiled flow: what validation produces and the executor runs. Nodes are indexed,
//! ports are resolved to node indices, expressions, templates, schedules and digit rules are
//! compiled. Immutable and shared (`Arc<Flow>`) by every call running it.

use crate::digits::DigitValidator;
use crate::expr::Expr;
use crate::schedule::CompiledSchedule;
use crate::template::{JsonTemplate, Template};
use crate::time::Millis;
use serde_json::Value;
use std::sync::Arc;

/// Index of a node inside its flow.
pub type NodeIndex = u32;

/// A validated, compiled flow.
#[derive(Debug)]
pub struct Flow {
    pub(crate) id: Arc<str>,
    pub(crate) name: String,
    pub(crate) version: u32,
    pub(crate) nodes: Vec<Node>,
    pub(crate) start: NodeIndex,
    pub(crate) defaults: Vec<(Arc<str>, Value)>,
    pub(crate) exits: Vec<String>,
}

impl Flow {
    /// The flow's id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The flow's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The document version it was compiled from.
    pub fn version(&self) -> u32 {
        self.version
    }
    /// How many nodes it has.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
    /// The names of its `exit` nodes' ports: the ports a `subflow` node calling it has.
    pub fn exit_ports(&self) -> &[String] {
        &self.exits
    }
    pub(crate) fn node(&self, index: NodeIndex) -> &Node {
        // Indices come from compilation, which only produces indices into `nodes`.
        &self.nodes[index as usize]
    }
}

/// A compiled node.
#[derive(Debug)]
pub(crate) struct Node {
    pub id: Arc<str>,
    pub op: Op,
    /// Every port the node has, fixed ports first in catalog order, then the dynamic ones
    /// (menu digits, switch cases, module ports, subflow exits).
    pub ports: Vec<Port>,
}

impl Node {
    pub fn port_named(&self, name: &str) -> Option<usize> {
        self.ports.iter().position(|port| &*port.name == name)
    }
}

/// An output port and where it leads (`None`: not connected).
#[derive(Debug)]
pub(crate) struct Port {
    pub name: Arc<str>,
    pub target: Option<NodeIndex>,
}

/// A prompt with its text template compiled.
#[derive(Debug, Clone)]
pub(crate) struct CompiledPrompt {
    pub file: Option<String>,
    pub tts: Option<Template>,
    pub voice: Option<String>,
}

/// A node's compiled behaviour. Port slots are positions in `Node::ports`.
#[derive(Debug)]
pub(crate) enum Op {
    Start,
    Hangup {
        reason: String,
        disposition: Option<String>,
    },
    Play {
        prompt: CompiledPrompt,
        barge_in: bool,
    },
    /// Slots: 0 no-input, 1 invalid, 2.. the options in `options` order.
    Menu(Box<MenuOp>),
    /// Slots: 0 ok, 1 invalid, 2 no-input.
    Collect(Box<CollectOp>),
    /// Slots: 0 true, 1 false, 2 error.
    Condition {
        expr: Expr,
    },
    /// Slots: 0 default, 1 error, 2.. the cases.
    Switch {
        cases: Vec<Expr>,
    },
    /// Slots: 0 in, 1 out.
    TimeRange {
        schedule: Box<CompiledSchedule>,
    },
    /// Slots: 0 next, 1 error.
    SetVariables {
        assign: Vec<(Arc<str>, Expr)>,
    },
    /// Slots: 0 ok, 1 error.
    Http(Box<HttpOp>),
    /// Slots: 0 error, 1.. the module's ports.
    Custom(Box<CustomOp>),
    /// Slots: 0 answered, 1 timeout, 2 no-agents.
    Queue(Box<QueueOp>),
    /// Slots: 0 completed, 1 failed.
    Transfer(Box<TransferOp>),
    /// Slots: 0 next.
    Record,
    /// Slots: 0 next.
    Voicemail(Box<VoicemailOp>),
    /// Slots: 0 answered, 1 invalid, 2 no-input.
    Survey(Box<SurveyOp>),
    /// Slots: the called flow's exits, in `Flow::exits` order.
    Subflow {
        flow: Arc<Flow>,
    },
    Exit {
        port: Arc<str>,
    },
}

#[derive(Debug)]
pub(crate) struct MenuOp {
    pub prompt: CompiledPrompt,
    pub options: Vec<char>,
    pub timeout: Millis,
    pub retries: u32,
    pub invalid_prompt: Option<CompiledPrompt>,
    pub no_input_prompt: Option<CompiledPrompt>,
    pub type_ahead: bool,
}

#[derive(Debug)]
pub(crate) struct CollectOp {
    pub prompt: Option<CompiledPrompt>,
    pub min_digits: u32,
    pub max_digits: u32,
    pub terminator: Option<char>,
    pub first_digit_timeout: Millis,
    pub inter_digit_timeout: Millis,
    pub retries: u32,
    pub store: Option<Arc<str>>,
    pub validator: DigitValidator,
    pub invalid_prompt: Option<CompiledPrompt>,
    pub no_input_prompt: Option<CompiledPrompt>,
    pub type_ahead: bool,
}

#[derive(Debug)]
pub(crate) struct HttpOp {
    pub method: String,
    pub url: Template,
    pub headers: Vec<(String, Template)>,
    pub body: Option<JsonTemplate>,
    pub timeout: Millis,
    pub retries: u32,
    pub backoff: Millis,
    pub filler: Option<CompiledPrompt>,
    pub filler_after: Millis,
    pub response: Vec<(Arc<str>, String)>,
    pub store_status: Option<Arc<str>>,
}

#[derive(Debug)]
pub(crate) struct CustomOp {
    pub module: String,
    pub version: String,
    pub params: Value,
    pub timeout: Millis,
}

#[derive(Debug)]
pub(crate) struct QueueOp {
    pub queue: String,
    pub max_wait: Millis,
    pub music_on_hold: Option<String>,
    pub announce_position: bool,
    pub announce_every: Millis,
    pub priority: Option<Expr>,
    pub campaign: Option<String>,
}

#[derive(Debug)]
pub(crate) struct TransferOp {
    pub to: Template,
    pub trunk: Option<String>,
    pub timeout: Millis,
    pub caller_id: Option<String>,
}

#[derive(Debug)]
pub(crate) struct VoicemailOp {
    pub prompt: Option<CompiledPrompt>,
    pub mailbox: Option<String>,
    pub max_duration: Millis,
    pub terminator: Option<char>,
    pub store: Option<Arc<str>>,
}

#[derive(Debug)]
pub(crate) struct SurveyOp {
    pub survey: String,
    pub question: CompiledPrompt,
    pub min: u32,
    pub max: u32,
    pub store: Option<Arc<str>>,
    pub timeout: Millis,
    pub retries: u32,
    pub invalid_prompt: Option<CompiledPrompt>,
}
