//! Validation and compilation: a [`FlowDocument`] in, every [`Diagnostic`] out, and — when
//! there are no errors — a [`Flow`] the executor can run. Never panics and never stops at
//! the first problem.

mod graph;
pub(crate) mod nodes;
#[cfg(test)]
mod tests;

use crate::diagnostic::{Diagnostic, pointer_segment};
use crate::document::FlowDocument;
use crate::expr::Expr;
use crate::flow::{Flow, Node, NodeIndex, Op, Port};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// Fields of the `call` variable that expressions may read.
pub const CALL_FIELDS: &[&str] = &[
    "id",
    "caller",
    "callee",
    "direction",
    "campaign",
    "started_at",
];

/// Words that cannot name a variable.
const RESERVED: &[&str] = &["call", "contact", "true", "false", "null", "in", "has"];

/// What a flow may refer to outside itself.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// Compiled flows that `subflow` nodes may call, by id.
    pub flows: BTreeMap<String, Arc<Flow>>,
    /// Installed custom (Wasm) nodes by (module, version). `None` when no registry is at
    /// hand (e.g. `ramal flow check` offline): a custom node then has the ports the document
    /// connects.
    pub custom_nodes: Option<BTreeMap<(String, String), CustomNodeInfo>>,
}

/// What a custom node module declares about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomNodeInfo {
    /// Its output ports (besides `error`).
    pub ports: Vec<String>,
}

/// The result of compiling a document.
#[derive(Debug)]
pub struct Compilation {
    /// The flow, when there were no errors.
    pub flow: Option<Arc<Flow>>,
    /// Every error and warning, in document order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Compilation {
    /// Does any diagnostic block the flow?
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Reads, validates and compiles a document given as JSON text.
pub fn compile_json(text: &str, environment: &Environment) -> Compilation {
    match FlowDocument::from_json(text) {
        Ok(document) => compile(&document, environment),
        Err(diagnostic) => Compilation {
            flow: None,
            diagnostics: vec![diagnostic],
        },
    }
}

/// Validates and compiles a document.
pub fn compile(document: &FlowDocument, environment: &Environment) -> Compilation {
    let mut checker = Checker::new(document, environment);
    let flow = checker.run();
    Compilation {
        flow,
        diagnostics: checker.diagnostics,
    }
}

/// An expression (or template hole) and where it was written, for the variable check.
struct Read {
    node: usize,
    path: String,
    expr: Expr,
}

/// A node compiled on its own, before ports are resolved.
struct Partial {
    op: Op,
    ports: Vec<Arc<str>>,
}

pub(crate) struct Checker<'a> {
    document: &'a FlowDocument,
    environment: &'a Environment,
    diagnostics: Vec<Diagnostic>,
    reads: Vec<Read>,
    /// Paths like `contact.cpf` read by digit rules: (node, json path, variable path).
    path_reads: Vec<(usize, String, String)>,
    writes: BTreeSet<String>,
    /// The node being compiled (for attaching diagnostics).
    current: usize,
}

impl<'a> Checker<'a> {
    fn new(document: &'a FlowDocument, environment: &'a Environment) -> Self {
        Checker {
            document,
            environment,
            diagnostics: Vec::new(),
            reads: Vec::new(),
            path_reads: Vec::new(),
            writes: BTreeSet::new(),
            current: 0,
        }
    }

    fn run(&mut self) -> Option<Arc<Flow>> {
        let document = self.document;
        if !is_identifier_like(&document.id) {
            self.push(Diagnostic::error(
                "flow.bad_id",
                "/id",
                format!(
                    "flow id `{}` must be 1–64 characters of a–z, 0–9, `-` and `_`",
                    document.id
                ),
            ));
        }
        for name in document.variables.keys() {
            if let Some(message) = variable_name_problem(name) {
                self.push(Diagnostic::error(
                    "variable.bad_name",
                    format!("/variables/{}", pointer_segment(name)),
                    message,
                ));
            }
        }

        // Node ids.
        let mut index_of: HashMap<&str, usize> = HashMap::new();
        for (index, node) in document.nodes.iter().enumerate() {
            if node.id.is_empty() || node.id.len() > 64 || node.id.chars().any(char::is_control) {
                self.push(
                    Diagnostic::error(
                        "node.bad_id",
                        format!("/nodes/{index}/id"),
                        "a node id is 1–64 printable characters",
                    )
                    .at_node(&node.id),
                );
            }
            if index_of.insert(&node.id, index).is_some() {
                self.push(
                    Diagnostic::error(
                        "node.duplicate_id",
                        format!("/nodes/{index}/id"),
                        format!("another node already has the id `{}`", node.id),
                    )
                    .at_node(&node.id),
                );
            }
        }

        // Each node on its own: kind, params, declared ports.
        let mut partials: Vec<Option<Partial>> = Vec::with_capacity(document.nodes.len());
        for (index, node) in document.nodes.iter().enumerate() {
            self.current = index;
            partials.push(self.compile_node(index, node));
        }

        // Ports: declared, pointing at existing nodes; declared ports left unconnected.
        let mut edges: Vec<(usize, usize)> = Vec::new();
        for (index, node) in document.nodes.iter().enumerate() {
            // A node whose parameters failed still has its kind's fixed ports, unless its
            // ports depend on the parameters.
            let fallback: Option<Vec<Arc<str>>> = crate::catalog::NodeKind::from_name(&node.kind)
                .filter(|kind| !kind.has_dynamic_ports())
                .map(|kind| {
                    kind.info()
                        .fixed_ports
                        .iter()
                        .map(|&port| Arc::from(port))
                        .collect()
                });
            let declared = partials[index]
                .as_ref()
                .map(|partial| &partial.ports)
                .or(fallback.as_ref());
            for (port, target) in &node.ports {
                let path = format!("/nodes/{index}/ports/{}", pointer_segment(port));
                if let Some(declared) = declared
                    && !declared.iter().any(|name| &**name == port)
                {
                    let known: Vec<&str> = declared.iter().map(|name| &**name).collect();
                    self.push(
                        Diagnostic::error(
                            "port.unknown",
                            path.clone(),
                            format!(
                                "a `{}` node has no port `{port}`; its ports are: {}",
                                node.kind,
                                if known.is_empty() {
                                    "none".to_owned()
                                } else {
                                    known.join(", ")
                                }
                            ),
                        )
                        .at_node(&node.id),
                    );
                }
                match index_of.get(target.as_str()) {
                    Some(&target_index) => edges.push((index, target_index)),
                    None => self.push(
                        Diagnostic::error(
                            "port.dangling",
                            path,
                            format!("port `{port}` leads to `{target}`, which is not a node of this flow"),
                        )
                        .at_node(&node.id),
                    ),
                }
            }
            if let Some(declared) = declared {
                for name in declared {
                    if !node.ports.contains_key(&**name) {
                        self.push(
                            Diagnostic::warning(
                                "port.unconnected",
                                format!("/nodes/{index}/ports"),
                                format!(
                                    "port `{name}` is not connected: a call that takes it hangs up"
                                ),
                            )
                            .at_node(&node.id),
                        );
                    }
                }
            }
        }

        // The start node.
        let starts: Vec<usize> = document
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, node)| node.kind == "start")
            .map(|(index, _)| index)
            .collect();
        let start = match starts.as_slice() {
            [] => {
                self.push(Diagnostic::error(
                    "flow.no_start",
                    "/nodes",
                    "the flow has no `start` node",
                ));
                None
            }
            [start] => Some(*start),
            [first, rest @ ..] => {
                for extra in rest {
                    self.push(
                        Diagnostic::error(
                            "flow.many_starts",
                            format!("/nodes/{extra}"),
                            "a flow has exactly one `start` node",
                        )
                        .at_node(&document.nodes[*extra].id),
                    );
                }
                Some(*first)
            }
        };

        let instant: Vec<bool> = document
            .nodes
            .iter()
            .map(|node| {
                crate::catalog::NodeKind::from_name(&node.kind)
                    .is_some_and(|kind| kind.info().instant)
            })
            .collect();
        let analysis = graph::analyse(document.nodes.len(), &edges, start, &instant);
        for index in analysis.unreachable {
            self.push(
                Diagnostic::warning(
                    "node.unreachable",
                    format!("/nodes/{index}"),
                    "no path from `start` reaches this node",
                )
                .at_node(&document.nodes[index].id),
            );
        }
        for cycle in analysis.instant_cycles {
            let names: Vec<&str> = cycle
                .iter()
                .map(|&i| document.nodes[i].id.as_str())
                .collect();
            self.push(
                Diagnostic::error(
                    "flow.instant_loop",
                    format!("/nodes/{}", cycle[0]),
                    format!(
                        "these nodes form a loop that never waits for the caller or for time to pass, so a call would spin in it: {}",
                        names.join(" → ")
                    ),
                )
                .at_node(&document.nodes[cycle[0]].id),
            );
        }

        self.check_variables();

        if self.diagnostics.iter().any(Diagnostic::is_error) {
            return None;
        }
        let start = start? as NodeIndex;
        let mut nodes = Vec::with_capacity(document.nodes.len());
        for (node_document, partial) in document.nodes.iter().zip(partials) {
            let partial = partial?;
            let ports = partial
                .ports
                .into_iter()
                .map(|name| {
                    let target = node_document
                        .ports
                        .get(&*name)
                        .and_then(|target| index_of.get(target.as_str()))
                        .map(|&index| index as NodeIndex);
                    Port { name, target }
                })
                .collect();
            nodes.push(Node {
                id: Arc::from(node_document.id.as_str()),
                op: partial.op,
                ports,
            });
        }
        let mut exits: Vec<String> = nodes
            .iter()
            .filter_map(|node| match &node.op {
                Op::Exit { port } => Some(port.to_string()),
                _ => None,
            })
            .collect();
        exits.sort();
        exits.dedup();
        Some(Arc::new(Flow {
            id: Arc::from(document.id.as_str()),
            name: document.name.clone(),
            version: document.version,
            nodes,
            start,
            defaults: document
                .variables
                .iter()
                .map(|(name, declaration)| (Arc::from(name.as_str()), declaration.default.clone()))
                .collect(),
            exits,
        }))
    }

    fn check_variables(&mut self) {
        let known: BTreeSet<&str> = self
            .document
            .variables
            .keys()
            .map(String::as_str)
            .chain(self.writes.iter().map(String::as_str))
            .collect();
        let mut problems = Vec::new();
        for read in &self.reads {
            for reference in read.expr.references() {
                if let Some(message) = reference_problem(reference, &known) {
                    problems.push((read.node, read.path.clone(), message));
                }
            }
        }
        for (node, path, variable) in &self.path_reads {
            let reference: Vec<String> = variable.split('.').map(str::to_owned).collect();
            if let Some(message) = reference_problem(&reference, &known) {
                problems.push((*node, path.clone(), message));
            }
        }
        for (node, path, message) in problems {
            let id = self.document.nodes[node].id.clone();
            self.push(Diagnostic::error("expr.unknown_variable", path, message).at_node(&id));
        }
    }

    fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// An error in the node being compiled.
    fn node_error(&mut self, code: &str, path: String, message: impl Into<String>) {
        let id = self.document.nodes[self.current].id.clone();
        self.push(Diagnostic::error(code, path, message).at_node(&id));
    }
}

fn reference_problem(reference: &[String], known: &BTreeSet<&str>) -> Option<String> {
    let root = reference.first()?;
    match root.as_str() {
        "contact" => None,
        "call" => match reference.get(1) {
            Some(field) if !CALL_FIELDS.contains(&field.as_str()) => Some(format!(
                "`call` has no field `{field}`; it has: {}",
                CALL_FIELDS.join(", ")
            )),
            _ => None,
        },
        name if known.contains(name) => None,
        name => Some(format!(
            "no variable named `{name}`: declare it in `variables` or store into it from a node"
        )),
    }
}

/// Is `name` a usable variable name? `None` if so, else why not.
pub(crate) fn variable_name_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    let valid = name.len() <= 64
        && chars
            .next()
            .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        Some(format!(
            "`{name}` is not a variable name: use letters, digits and `_`, starting with a letter (at most 64)"
        ))
    } else if RESERVED.contains(&name) {
        Some(format!("`{name}` is reserved"))
    } else {
        None
    }
}

fn is_identifier_like(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}
