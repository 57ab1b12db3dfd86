//! `ramal-guest`: write Ramal custom flow nodes in Rust.
//!
//! A custom node is a WebAssembly component implementing the WIT world `ramal:node/node`
//! (package `ramal:node@0.1.0`, in this crate's `wit/` directory). This crate owns the Rust
//! side of that contract: the generated bindings ([`bindings`]), typed wrappers for what a
//! run sees ([`Context`]) and decides ([`Outcome`], [`NodeError`]), the host calls a node may
//! make ([`log`], [`kv`], [`http`]) and the [`export_node!`] macro that turns a type
//! implementing [`Node`] into the component's exports.
//!
//! ```ignore
//! use ramal_guest::{Context, Description, Node, NodeError, Outcome};
//!
//! struct Greeting;
//!
//! #[derive(serde::Deserialize)]
//! struct Params { greeting: String }
//!
//! impl Node for Greeting {
//!     type Params = Params;
//!     fn describe() -> Description {
//!         Description::new("greeting", "1.0.0", "Greets the contact by name")
//!             .ports(["done"])
//!     }
//!     fn run(ctx: &Context, params: Params) -> Result<Outcome, NodeError> {
//!         let name = ctx.contact("name").unwrap_or("there");
//!         Ok(Outcome::port("done").set("greeting", format!("{} {name}", params.greeting)))
//!     }
//! }
//!
//! ramal_guest::export_node!(Greeting);
//! ```
//!
//! Build for `wasm32-unknown-unknown` (so the module imports no WASI at all) and turn the
//! core module into a component (`wasm-tools component new`, or the `wit-component` crate as
//! Ramal's `cargo xtask components` does). See `guest-sdk/README.md` for the template and
//! `docs/custom-nodes.md` for the limits a run lives under.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The bindings generated from `wit/node.wit`. Most nodes never need them directly.
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "node",
        pub_export_macro: true,
        default_bindings_module: "ramal_guest::bindings",
    });
}

mod host;
pub use host::{http, kv, log};

use bindings::ramal::node::types;

/// What a node declares about itself (returned by `describe`, read at upload).
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    /// Module name: lowercase letters, digits and `-`.
    pub name: String,
    /// Module version; flows pin it.
    pub version: String,
    /// One line for the editor's palette.
    pub description: String,
    /// JSON Schema of the node's params.
    pub params_schema: Value,
    /// Output ports, besides `error`.
    pub ports: Vec<String>,
}

impl Description {
    /// A description with no ports and a schema accepting any object.
    pub fn new(name: &str, version: &str, description: &str) -> Self {
        Description {
            name: name.to_owned(),
            version: version.to_owned(),
            description: description.to_owned(),
            params_schema: serde_json::json!({ "type": "object" }),
            ports: Vec::new(),
        }
    }

    /// Sets the output ports.
    pub fn ports<const N: usize>(mut self, ports: [&str; N]) -> Self {
        self.ports = ports.iter().map(|port| (*port).to_owned()).collect();
        self
    }

    /// Sets the params' JSON Schema.
    pub fn params_schema(mut self, schema: Value) -> Self {
        self.params_schema = schema;
        self
    }
}

/// What a run sees of the call.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Context {
    /// The call's id: the same for the whole call, so a good seed.
    pub call_id: String,
    /// The flow's variables.
    pub variables: Map<String, Value>,
    /// The contact's fields.
    pub contact: BTreeMap<String, String>,
    /// The node's params (JSON), as written in the flow.
    pub params: Value,
    /// The digits the caller typed last, or empty.
    pub digits: String,
}

impl Context {
    /// A variable's value.
    pub fn variable(&self, name: &str) -> Option<&Value> {
        self.variables.get(name)
    }

    /// A contact field.
    pub fn contact(&self, name: &str) -> Option<&str> {
        self.contact.get(name).map(String::as_str)
    }

    /// Converts the WIT context. A variable whose value is not JSON is kept as a string.
    pub fn from_wit(context: types::Context) -> Self {
        let variables = context
            .variables
            .into_iter()
            .map(|variable| {
                let value =
                    serde_json::from_str(&variable.value).unwrap_or(Value::String(variable.value));
                (variable.name, value)
            })
            .collect();
        let contact = context
            .contact
            .into_iter()
            .map(|field| (field.name, field.value))
            .collect();
        let params = if context.params.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&context.params).unwrap_or(Value::Null)
        };
        Context {
            call_id: context.call_id,
            variables,
            contact,
            params,
            digits: context.digits,
        }
    }
}

/// What a run decided: the port to take and the variables to set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    /// The port.
    pub port: String,
    /// Variables to set on the call.
    pub set: Map<String, Value>,
}

impl Outcome {
    /// Continue from `port`, setting nothing.
    pub fn port(port: &str) -> Self {
        Outcome {
            port: port.to_owned(),
            set: Map::new(),
        }
    }

    /// Also sets the variable `name`.
    pub fn set(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.set.insert(name.to_owned(), value.into());
        self
    }
}

/// Why a run failed: the call takes the node's `error` port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeError {
    /// The params do not fit the node's schema.
    InvalidParams(String),
    /// Anything else.
    Failed(String),
}

impl NodeError {
    /// A failure with a message.
    pub fn failed(message: impl std::fmt::Display) -> Self {
        NodeError::Failed(message.to_string())
    }
}

/// A custom node: describe it once, run it per call. `Params` is parsed from the node's
/// `params` in the flow (use `serde_json::Value` to take them raw, `()` for none).
pub trait Node {
    /// The node's params.
    type Params: DeserializeOwned;
    /// What the node declares (name, version, ports, params schema).
    fn describe() -> Description;
    /// Runs the node for one call.
    fn run(ctx: &Context, params: Self::Params) -> Result<Outcome, NodeError>;
}

/// Parses a node's params; `null` (no params) reads as an empty object. The host's own
/// setting `digits_from` (which variable fills [`Context::digits`]) is left out.
pub fn parse_params<P: DeserializeOwned>(params: &Value) -> Result<P, NodeError> {
    let params = match params {
        Value::Null => Value::Object(Map::new()),
        Value::Object(fields) => {
            let mut fields = fields.clone();
            fields.remove("digits_from");
            Value::Object(fields)
        }
        other => other.clone(),
    };
    serde_json::from_value(params).map_err(|error| NodeError::InvalidParams(error.to_string()))
}

#[doc(hidden)]
pub fn __describe<N: Node>() -> types::Descriptor {
    let description = N::describe();
    types::Descriptor {
        name: description.name,
        version: description.version,
        description: description.description,
        params_schema: description.params_schema.to_string(),
        ports: description.ports,
    }
}

#[doc(hidden)]
pub fn __run<N: Node>(context: types::Context) -> Result<types::Outcome, types::NodeError> {
    let context = Context::from_wit(context);
    let result =
        parse_params::<N::Params>(&context.params).and_then(|params| N::run(&context, params));
    match result {
        Ok(outcome) => Ok(types::Outcome {
            port: outcome.port,
            set: outcome
                .set
                .into_iter()
                .map(|(name, value)| types::Variable {
                    name,
                    value: value.to_string(),
                })
                .collect(),
        }),
        Err(NodeError::InvalidParams(message)) => Err(types::NodeError::InvalidParams(message)),
        Err(NodeError::Failed(message)) => Err(types::NodeError::Failed(message)),
    }
}

/// Exports a type implementing [`Node`] as the component's `describe` and `run`.
/// Use it once per component, at the crate root.
#[macro_export]
macro_rules! export_node {
    ($node:ty) => {
        const _: () = {
            struct RamalNodeExport;
            impl $crate::bindings::Guest for RamalNodeExport {
                fn describe() -> $crate::bindings::ramal::node::types::Descriptor {
                    $crate::__describe::<$node>()
                }
                fn run(
                    ctx: $crate::bindings::ramal::node::types::Context,
                ) -> ::core::result::Result<
                    $crate::bindings::ramal::node::types::Outcome,
                    $crate::bindings::ramal::node::types::NodeError,
                > {
                    $crate::__run::<$node>(ctx)
                }
            }
    $crate::bindings::export!(RamalNodeExport with_types_in $crate::bindings);
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn variables_are_json_and_anything_else_is_a_string() {
        let context = Context::from_wit(types::Context {
            call_id: "c1".into(),
            variables: vec![
                types::Variable {
                    name: "n".into(),
                    value: "42".into(),
                },
                types::Variable {
                    name: "s".into(),
                    value: "not json".into(),
                },
            ],
            contact: vec![types::Field {
                name: "cpf".into(),
                value: "529".into(),
            }],
            params: r#"{"a": 1}"#.into(),
            digits: "123".into(),
        });
        assert_eq!(context.variable("n"), Some(&json!(42)));
        assert_eq!(context.variable("s"), Some(&json!("not json")));
        assert_eq!(context.contact("cpf"), Some("529"));
        assert_eq!(context.params, json!({"a": 1}));
    }

    #[test]
    fn missing_params_read_as_an_empty_object_and_bad_ones_are_invalid() {
        #[derive(serde::Deserialize, Debug)]
        struct P {
            #[serde(default)]
            a: u32,
        }
        assert_eq!(parse_params::<P>(&Value::Null).map(|p| p.a), Ok(0));
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        struct Strict {
            a: u32,
        }
        let strict = parse_params::<Strict>(&json!({"a": 2, "digits_from": "cpf"}));
        assert_eq!(strict.map(|p| p.a), Ok(2));
        assert!(matches!(
            parse_params::<P>(&json!({"a": "x"})),
            Err(NodeError::InvalidParams(_))
        ));
    }
}
