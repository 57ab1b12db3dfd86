//! Compiling one node: its parameters typed by the catalog, then checked and turned into an
//! [`Op`] with the list of ports the node has.

use super::{Checker, Partial, Read, variable_name_problem};
use crate::catalog::{NodeKind, NodeParams, Prompt};
use crate::digits::DigitValidator;
use crate::document::NodeDocument;
use crate::expr::Expr;
use crate::flow::{
    CollectOp, CompiledPrompt, CustomOp, HttpOp, MenuOp, Op, QueueOp, SurveyOp, TransferOp,
    VoicemailOp,
};
use crate::template::{JsonTemplate, Template};
use std::sync::Arc;

/// The shortest time a caller is given to press a key.
pub(crate) const MIN_CALLER_TIMEOUT: crate::time::Millis = crate::time::Millis(1000);

/// Keys a caller can press.
pub(crate) fn is_dtmf(c: char) -> bool {
    matches!(c, '0'..='9' | '*' | '#' | 'A'..='D')
}

fn fixed(kind: NodeKind) -> Vec<Arc<str>> {
    kind.info()
        .fixed_ports
        .iter()
        .map(|&port| Arc::from(port))
        .collect()
}

impl Checker<'_> {
    pub(super) fn compile_node(&mut self, index: usize, node: &NodeDocument) -> Option<Partial> {
        let Some(kind) = NodeKind::from_name(&node.kind) else {
            let known: Vec<&str> = NodeKind::all().map(NodeKind::name).collect();
            self.node_error(
                "node.unknown_kind",
                format!("/nodes/{index}/kind"),
                format!(
                    "unknown node kind `{}`; the kinds are: {}",
                    node.kind,
                    known.join(", ")
                ),
            );
            return None;
        };
        let base = format!("/nodes/{index}/params");
        let params = match NodeParams::parse(kind, &node.params) {
            Ok(params) => params,
            Err(error) => {
                self.node_error(
                    "node.bad_params",
                    format!("{base}{}", error.path),
                    format!("{}: {}", kind.name(), error.message),
                );
                return None;
            }
        };
        let at = |suffix: &str| format!("{base}/{suffix}");
        let mut ports = fixed(kind);
        let op = match params {
            NodeParams::Start(_) => Op::Start,
            NodeParams::Hangup(params) => Op::Hangup {
                reason: params.reason.unwrap_or_else(|| "normal".to_owned()),
                disposition: params.disposition,
            },
            NodeParams::Play(params) => Op::Play {
                prompt: self.prompt(&at("prompt"), &params.prompt)?,
                barge_in: params.barge_in,
            },
            NodeParams::Menu(params) => {
                let prompt = self.prompt(&at("prompt"), &params.prompt);
                let invalid_prompt =
                    self.optional_prompt(&at("invalid_prompt"), &params.invalid_prompt);
                let no_input_prompt =
                    self.optional_prompt(&at("no_input_prompt"), &params.no_input_prompt);
                let mut options = Vec::new();
                for digit in params.options.keys() {
                    match single_dtmf(digit) {
                        Some(key) => {
                            options.push(key);
                            ports.push(Arc::from(digit.as_str()));
                        }
                        None => self.node_error(
                            "node.bad_params",
                            at(&format!(
                                "options/{}",
                                crate::diagnostic::pointer_segment(digit)
                            )),
                            format!("menu option `{digit}` is not one key (0–9, *, #, A–D)"),
                        ),
                    }
                }
                if params.options.is_empty() {
                    self.node_error(
                        "node.bad_params",
                        at("options"),
                        "a menu needs at least one option",
                    );
                }
                self.caller_timeout(&at("timeout"), params.timeout);
                Op::Menu(Box::new(MenuOp {
                    prompt: prompt?,
                    options,
                    timeout: params.timeout,
                    retries: params.retries.min(10),
                    invalid_prompt: invalid_prompt?,
                    no_input_prompt: no_input_prompt?,
                    type_ahead: params.type_ahead,
                }))
            }
            NodeParams::Collect(params) => {
                let prompt = self.optional_prompt(&at("prompt"), &params.prompt);
                let invalid_prompt =
                    self.optional_prompt(&at("invalid_prompt"), &params.invalid_prompt);
                let no_input_prompt =
                    self.optional_prompt(&at("no_input_prompt"), &params.no_input_prompt);
                if params.max_digits == 0 || params.max_digits > 64 {
                    self.node_error("node.bad_params", at("max_digits"), "max_digits is 1–64");
                }
                self.caller_timeout(&at("first_digit_timeout"), params.first_digit_timeout);
                self.caller_timeout(&at("inter_digit_timeout"), params.inter_digit_timeout);
                if params.min_digits > params.max_digits {
                    self.node_error(
                        "node.bad_params",
                        at("min_digits"),
                        "min_digits is more than max_digits",
                    );
                }
                let terminator = self.optional_key(&at("terminator"), params.terminator.as_deref());
                let store = self.store(&at("store"), params.store.as_deref());
                let validator = match DigitValidator::compile(&params.validate) {
                    Ok(validator) => {
                        for reference in validator.references() {
                            self.path_reads
                                .push((index, at("validate"), reference.to_owned()));
                        }
                        Some(validator)
                    }
                    Err(problems) => {
                        for (rule, message) in problems {
                            self.node_error(
                                "node.bad_params",
                                at(&format!("validate/{rule}")),
                                message,
                            );
                        }
                        None
                    }
                };
                Op::Collect(Box::new(CollectOp {
                    prompt: prompt?,
                    min_digits: params.min_digits,
                    max_digits: params.max_digits.clamp(1, 64),
                    terminator: terminator?,
                    first_digit_timeout: params.first_digit_timeout,
                    inter_digit_timeout: params.inter_digit_timeout,
                    retries: params.retries.min(10),
                    store: store?,
                    validator: validator?,
                    invalid_prompt: invalid_prompt?,
                    no_input_prompt: no_input_prompt?,
                    type_ahead: params.type_ahead,
                }))
            }
            NodeParams::Condition(params) => Op::Condition {
                expr: self.expr(&at("expr"), &params.expr)?,
            },
            NodeParams::Switch(params) => {
                let mut cases = Vec::new();
                let mut ok = true;
                if params.cases.is_empty() {
                    self.node_error(
                        "node.bad_params",
                        at("cases"),
                        "a switch needs at least one case",
                    );
                }
                for (case_index, case) in params.cases.iter().enumerate() {
                    if ports.iter().any(|port| **port == *case.port) || case.port.is_empty() {
                        self.node_error(
                            "node.bad_params",
                            at(&format!("cases/{case_index}/port")),
                            format!("port name `{}` is empty or used twice", case.port),
                        );
                        ok = false;
                    }
                    ports.push(Arc::from(case.port.as_str()));
                    match self.expr(&at(&format!("cases/{case_index}/expr")), &case.expr) {
                        Some(expr) => cases.push(expr),
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                Op::Switch { cases }
            }
            NodeParams::TimeRange(schedule) => {
                let problems = schedule.check();
                for problem in &problems {
                    self.node_error(
                        "node.bad_params",
                        format!("{base}{}", problem.json_path),
                        problem.message.clone(),
                    );
                }
                if !problems.is_empty() {
                    return None;
                }
                match schedule.compile() {
                    Ok(compiled) => Op::TimeRange {
                        schedule: Box::new(compiled),
                    },
                    Err(error) => {
                        self.node_error("node.bad_params", base.clone(), error.to_string());
                        return None;
                    }
                }
            }
            NodeParams::SetVariables(params) => {
                let mut assign = Vec::new();
                let mut ok = true;
                if params.assign.is_empty() {
                    self.node_error("node.bad_params", at("assign"), "nothing to assign");
                }
                for (name, source) in &params.assign {
                    let path = at(&format!(
                        "assign/{}",
                        crate::diagnostic::pointer_segment(name)
                    ));
                    let variable = self.store(&path, Some(name));
                    let expr = self.expr(&path, source);
                    match (variable, expr) {
                        (Some(Some(variable)), Some(expr)) => assign.push((variable, expr)),
                        _ => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                Op::SetVariables { assign }
            }
            NodeParams::HttpRequest(params) => {
                let method = params.method.to_ascii_uppercase();
                if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                    self.node_error(
                        "node.bad_params",
                        at("method"),
                        format!("unknown method `{}`", params.method),
                    );
                }
                let url = self.template(&at("url"), &params.url);
                if !(params.url.starts_with("http://") || params.url.starts_with("https://")) {
                    self.node_error(
                        "node.bad_params",
                        at("url"),
                        "the URL must start with http:// or https://",
                    );
                }
                let mut headers = Vec::new();
                for (name, value) in &params.headers {
                    let path = at(&format!(
                        "headers/{}",
                        crate::diagnostic::pointer_segment(name)
                    ));
                    if let Some(template) = self.template(&path, value) {
                        headers.push((name.clone(), template));
                    }
                }
                let body = match &params.body {
                    None => Some(None),
                    Some(body) => match JsonTemplate::compile(body) {
                        Ok(template) => {
                            for expr in template.expressions() {
                                self.reads.push(Read {
                                    node: index,
                                    path: at("body"),
                                    expr: expr.clone(),
                                });
                            }
                            Some(Some(template))
                        }
                        Err((path, error)) => {
                            self.node_error(
                                "expr.compile",
                                format!("{}{path}", at("body")),
                                error.to_string(),
                            );
                            None
                        }
                    },
                };
                let filler = self.optional_prompt(&at("filler"), &params.filler);
                let mut response = Vec::new();
                for (name, pointer) in &params.response {
                    let path = at(&format!(
                        "response/{}",
                        crate::diagnostic::pointer_segment(name)
                    ));
                    if !(pointer.is_empty() || pointer.starts_with('/')) {
                        self.node_error(
                            "node.bad_params",
                            path.clone(),
                            format!("`{pointer}` is not a JSON pointer (like /customer/name)"),
                        );
                    }
                    if let Some(Some(variable)) = self.store(&path, Some(name)) {
                        response.push((variable, pointer.clone()));
                    }
                }
                let store_status = self.store(&at("store_status"), params.store_status.as_deref());
                Op::Http(Box::new(HttpOp {
                    method,
                    url: url?,
                    headers,
                    body: body?,
                    timeout: params.timeout,
                    retries: params.retries.min(5),
                    backoff: params.backoff,
                    filler: filler?,
                    filler_after: params.filler_after,
                    response,
                    store_status: store_status?,
                }))
            }
            NodeParams::Custom(params) => {
                match &self.environment.custom_nodes {
                    Some(installed) => {
                        match installed.get(&(params.module.clone(), params.version.clone())) {
                            Some(info) => {
                                ports.extend(info.ports.iter().map(|port| Arc::from(port.as_str())))
                            }
                            None => {
                                self.node_error(
                                    "custom.unknown_module",
                                    at("module"),
                                    format!(
                                        "no custom node `{}` version `{}` is installed",
                                        params.module, params.version
                                    ),
                                );
                                return None;
                            }
                        }
                    }
                    None => ports.extend(
                        node.ports
                            .keys()
                            .filter(|port| *port != "error")
                            .map(|port| Arc::from(port.as_str())),
                    ),
                }
                Op::Custom(Box::new(CustomOp {
                    module: params.module,
                    version: params.version,
                    params: params.params,
                    timeout: params.timeout,
                }))
            }
            NodeParams::Queue(params) => {
                if params.queue.trim().is_empty() {
                    self.node_error("node.bad_params", at("queue"), "the queue id is empty");
                }
                let priority = match &params.priority {
                    Some(source) => Some(Some(self.expr(&at("priority"), source)?)),
                    None => Some(None),
                };
                Op::Queue(Box::new(QueueOp {
                    queue: params.queue,
                    max_wait: params.max_wait,
                    music_on_hold: params.music_on_hold,
                    announce_position: params.announce_position,
                    announce_every: params.announce_every,
                    priority: priority?,
                    campaign: params.campaign.filter(|name| !name.trim().is_empty()),
                }))
            }
            NodeParams::Transfer(params) => Op::Transfer(Box::new(TransferOp {
                to: self.template(&at("to"), &params.to)?,
                trunk: params.trunk,
                timeout: params.timeout,
                caller_id: params.caller_id,
            })),
            NodeParams::Record(_) => Op::Record,
            NodeParams::Voicemail(params) => {
                let prompt = self.optional_prompt(&at("prompt"), &params.prompt);
                let terminator = self.optional_key(
                    &at("terminator"),
                    Some(params.terminator.as_str()).filter(|t| !t.is_empty()),
                );
                let store = self.store(&at("store"), params.store.as_deref());
                Op::Voicemail(Box::new(VoicemailOp {
                    prompt: prompt?,
                    mailbox: params.mailbox,
                    max_duration: params.max_duration,
                    terminator: terminator?,
                    store: store?,
                }))
            }
            NodeParams::Survey(params) => {
                let question = self.prompt(&at("question"), &params.question);
                let invalid_prompt =
                    self.optional_prompt(&at("invalid_prompt"), &params.invalid_prompt);
                let store = self.store(&at("store"), params.store.as_deref());
                self.caller_timeout(&at("timeout"), params.timeout);
                if params.min > params.max || params.max > 9 {
                    self.node_error(
                        "node.bad_params",
                        at("max"),
                        "the scale is min..max within 0–9",
                    );
                    return None;
                }
                Op::Survey(Box::new(SurveyOp {
                    survey: params.survey,
                    question: question?,
                    min: params.min,
                    max: params.max,
                    store: store?,
                    timeout: params.timeout,
                    retries: params.retries.min(10),
                    invalid_prompt: invalid_prompt?,
                }))
            }
            NodeParams::Subflow(params) => match self.environment.flows.get(&params.flow) {
                Some(flow) => {
                    ports = flow
                        .exit_ports()
                        .iter()
                        .map(|port| Arc::from(port.as_str()))
                        .collect();
                    Op::Subflow { flow: flow.clone() }
                }
                None => {
                    self.node_error(
                        "subflow.unknown",
                        at("flow"),
                        format!(
                            "no flow `{}` is available to call as a subflow",
                            params.flow
                        ),
                    );
                    return None;
                }
            },
            NodeParams::Exit(params) => {
                if params.port.trim().is_empty() {
                    self.node_error("node.bad_params", at("port"), "the exit port name is empty");
                    return None;
                }
                Op::Exit {
                    port: Arc::from(params.port.as_str()),
                }
            }
        };
        Some(Partial { op, ports })
    }

    /// A timeout for the caller to answer: a caller needs time, and a node that does not
    /// really wait could spin in a loop.
    fn caller_timeout(&mut self, path: &str, timeout: crate::time::Millis) {
        if timeout < MIN_CALLER_TIMEOUT {
            self.node_error(
                "node.bad_params",
                path.to_owned(),
                format!(
                    "a caller needs at least {MIN_CALLER_TIMEOUT} to answer; this is {timeout}"
                ),
            );
        }
    }

    fn expr(&mut self, path: &str, source: &str) -> Option<Expr> {
        match Expr::compile(source) {
            Ok(expr) => {
                self.reads.push(Read {
                    node: self.current,
                    path: path.to_owned(),
                    expr: expr.clone(),
                });
                Some(expr)
            }
            Err(error) => {
                self.node_error("expr.compile", path.to_owned(), error.to_string());
                None
            }
        }
    }

    fn template(&mut self, path: &str, source: &str) -> Option<Template> {
        match Template::compile(source) {
            Ok(template) => {
                for expr in template.expressions() {
                    self.reads.push(Read {
                        node: self.current,
                        path: path.to_owned(),
                        expr: expr.clone(),
                    });
                }
                Some(template)
            }
            Err(error) => {
                self.node_error("expr.compile", path.to_owned(), error.to_string());
                None
            }
        }
    }

    fn prompt(&mut self, path: &str, prompt: &Prompt) -> Option<CompiledPrompt> {
        if let Some(problem) = prompt.problem() {
            self.node_error("node.bad_params", path.to_owned(), problem);
            return None;
        }
        let tts = match &prompt.tts {
            Some(text) => Some(self.template(&format!("{path}/tts"), text)?),
            None => None,
        };
        Some(CompiledPrompt {
            file: prompt.file.clone(),
            tts,
            voice: prompt.voice.clone(),
        })
    }

    /// `Some(None)` when absent, `Some(Some(_))` when good, `None` when bad.
    fn optional_prompt(
        &mut self,
        path: &str,
        prompt: &Option<Prompt>,
    ) -> Option<Option<CompiledPrompt>> {
        match prompt {
            Some(prompt) => Some(Some(self.prompt(path, prompt)?)),
            None => Some(None),
        }
    }

    fn optional_key(&mut self, path: &str, key: Option<&str>) -> Option<Option<char>> {
        match key {
            None => Some(None),
            Some(text) => match single_dtmf(text) {
                Some(key) => Some(Some(key)),
                None => {
                    self.node_error(
                        "node.bad_params",
                        path.to_owned(),
                        format!("`{text}` is not one key (0–9, *, #, A–D)"),
                    );
                    None
                }
            },
        }
    }

    /// A variable a node writes: checked and remembered as known.
    fn store(&mut self, path: &str, name: Option<&str>) -> Option<Option<Arc<str>>> {
        let Some(name) = name else { return Some(None) };
        if let Some(problem) = variable_name_problem(name) {
            self.node_error("variable.bad_name", path.to_owned(), problem);
            return None;
        }
        self.writes.insert(name.to_owned());
        Some(Some(Arc::from(name)))
    }
}

fn single_dtmf(text: &str) -> Option<char> {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(key), None) if is_dtmf(key) => Some(key),
        _ => None,
    }
}
