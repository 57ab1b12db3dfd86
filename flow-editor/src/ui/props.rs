//! The property panel, generated from the selected node's parameter schema (the catalog's
//! JSON Schema for built-in kinds, the module's own for custom nodes): text, numbers and
//! switches for plain fields, sub-fields for objects such as prompts, JSON for the rest.
//! Problems validation finds under a field are shown under it as the supervisor types.

use super::editor::{EditorPage, Msg};
use crate::model::{Action, Editor};
use ramal_flow::Diagnostic;
use ramal_flow::catalog::NodeKind;
use ramal_flow::document::NodeDocument;
use serde_json::{Map, Value};
use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::html::Scope;
use yew::prelude::*;

/// How a field is edited.
#[derive(Debug, Clone, PartialEq)]
enum Widget {
    Text {
        multiline: bool,
    },
    Number,
    Switch,
    Object(Vec<(String, Value, bool)>),
    /// One of these strings.
    Choice(Vec<String>),
    /// Any of these strings (an array).
    Multi(Vec<String>),
    /// A `time-range` node's weekly windows, as a grid of half hours.
    Weekly,
    /// An IANA time zone, typed with suggestions.
    Zone,
    Json,
}

/// The strings a schema allows, when it is an enumeration (`enum`, or `oneOf` of `const`s).
fn choices(schema: &Value) -> Option<Vec<String>> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect();
    }
    let options = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))?
        .as_array()?;
    let mut all = Vec::new();
    for option in options {
        if let Some(one) = option.get("const").and_then(Value::as_str) {
            all.push(one.to_owned());
        } else if let Some(many) = option.get("enum").and_then(Value::as_array) {
            all.extend(many.iter().filter_map(Value::as_str).map(str::to_owned));
        } else if option.get("type").and_then(Value::as_str) != Some("null") {
            return None;
        }
    }
    (!all.is_empty()).then_some(all)
}

/// Follows `$ref` into `$defs` and unwraps `Option` (`anyOf [X, null]`).
fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let target = match reference.strip_prefix("#/$defs/") {
            Some(name) => root.get("$defs").and_then(|defs| defs.get(name)),
            None => reference
                .strip_prefix("#/components/schemas/")
                .and_then(|name| root.get("components")?.get("schemas")?.get(name)),
        };
        if let Some(target) = target {
            return resolve(target, root);
        }
    }
    // `{"allOf": [{"$ref": …}], "description": …}`: how OpenAPI 3.0 documents a reference.
    if let Some([only]) = schema
        .get("allOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        return resolve(only, root);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let real: Vec<&Value> = options
                .iter()
                .filter(|o| o.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            if let [only] = real.as_slice() {
                return resolve(only, root);
            }
        }
    }
    schema
}

/// The JSON types a schema allows; for `oneOf`/`anyOf` of plain types (a duration is
/// `"5s"` or milliseconds), all of theirs.
fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => ["oneOf", "anyOf"]
            .iter()
            .filter_map(|key| schema.get(*key)?.as_array())
            .flatten()
            .flat_map(|option| match option.get("type") {
                Some(Value::String(one)) => vec![one.as_str()],
                _ => Vec::new(),
            })
            .collect(),
    }
}

fn widget(name: &str, schema: &Value, root: &Value, depth: usize) -> Widget {
    match name {
        "weekly" if depth == 0 => return Widget::Weekly,
        "timezone" | "time_zone" => return Widget::Zone,
        _ => {}
    }
    let schema = resolve(schema, root);
    if let Some(options) = choices(schema) {
        return Widget::Choice(options);
    }
    if let Some(items) = schema.get("items")
        && let Some(options) = choices(resolve(items, root))
    {
        return Widget::Multi(options);
    }
    let kinds = types(schema);
    let real: Vec<&str> = kinds.iter().copied().filter(|k| *k != "null").collect();
    match real.as_slice() {
        ["boolean"] => Widget::Switch,
        ["integer"] | ["number"] => Widget::Number,
        ["string"] => Widget::Text {
            multiline: matches!(name, "tts" | "expr"),
        },
        // Durations (`"5s"` or milliseconds) and other string-or-number fields.
        [_, _] if real.contains(&"string") => Widget::Text { multiline: false },
        ["object"] if depth == 0 => match schema.get("properties").and_then(Value::as_object) {
            Some(properties) if !properties.is_empty() => {
                let required = required_of(schema);
                Widget::Object(
                    properties
                        .iter()
                        .map(|(n, s)| (n.clone(), s.clone(), required.contains(n)))
                        .collect(),
                )
            }
            _ => Widget::Json,
        },
        _ => Widget::Json,
    }
}

fn required_of(schema: &Value) -> Vec<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The parameter schema of a node: the catalog's, with a custom module's own schema for
/// its inner `params`.
fn schema_of(editor: &Editor, node: &NodeDocument) -> Value {
    let mut schema = NodeKind::from_name(&node.kind)
        .and_then(|kind| serde_json::to_value(kind.params_schema()).ok())
        .unwrap_or(Value::Null);
    if node.kind == "custom" {
        let module = node.params.get("module").and_then(Value::as_str);
        let inner = editor
            .custom_nodes()
            .iter()
            .find(|spec| Some(spec.module.as_str()) == module)
            .map(|spec| spec.params_schema.clone())
            .filter(|inner| !inner.is_null());
        if let (Some(inner), Some(properties)) = (inner, schema.get_mut("properties")) {
            properties["params"] = inner;
        }
    }
    schema
}

/// The value a widget's text means.
fn parse_text(widget: &Widget, text: &str) -> Result<Option<Value>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    match widget {
        Widget::Number => text
            .trim()
            .parse::<i64>()
            .map(|n| Some(Value::from(n)))
            .or_else(|_| text.trim().parse::<f64>().map(|n| Some(Value::from(n))))
            .map_err(|_| format!("`{text}` is not a number")),
        Widget::Json => serde_json::from_str(text)
            .map(Some)
            .map_err(|error| format!("not JSON: {error}")),
        _ => Ok(Some(Value::String(text.to_owned()))),
    }
}

fn shown(value: Option<&Value>, widget: &Widget) -> String {
    match (value, widget) {
        (None | Some(Value::Null), _) => String::new(),
        (Some(Value::String(text)), _) => text.clone(),
        (Some(other), Widget::Json) => serde_json::to_string_pretty(other).unwrap_or_default(),
        (Some(other), _) => other.to_string(),
    }
}

/// Sets (or, with `None`, removes) `path` inside `params`.
fn with_value(params: &Value, path: &[String], value: Option<Value>) -> Value {
    let mut params = params.clone();
    if !params.is_object() {
        params = Value::Object(Map::new());
    }
    let mut target = &mut params;
    for key in &path[..path.len().saturating_sub(1)] {
        if !target.get(key).is_some_and(Value::is_object) {
            target[key.as_str()] = Value::Object(Map::new());
        }
        target = &mut target[key.as_str()];
    }
    if let (Some(last), Some(object)) = (path.last(), target.as_object_mut()) {
        match value {
            Some(value) => {
                object.insert(last.clone(), value);
            }
            None => {
                object.remove(last);
            }
        }
    }
    // An object emptied by removing its last field goes too.
    if path.len() == 2
        && params
            .get(&path[0])
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
        && let Some(object) = params.as_object_mut()
    {
        object.remove(&path[0]);
    }
    params
}

/// Properties of [`Field`].
#[derive(Properties, PartialEq)]
pub(super) struct FieldProps {
    /// The whole value the field is part of (a node's `params`, a campaign).
    root: Value,
    path: Vec<String>,
    widget: Widget,
    description: String,
    /// The schema's default, shown when the field is empty.
    default: Value,
    required: bool,
    problems: Vec<String>,
    /// Called with the whole new root value.
    on_change: Callback<Value>,
}

/// One field: its input, help and problems. Text that does not parse stays in the input
/// with its reason, and changes nothing.
#[function_component]
fn Field(props: &FieldProps) -> Html {
    let local_error = use_state(|| None::<String>);
    let mut value = Some(&props.root);
    for key in &props.path {
        value = value.and_then(|v| v.get(key));
    }
    let id = format!("param-{}", props.path.join("-"));
    let label = props.path.join(".");
    let emit = {
        let (root, path, widget, on_change, local_error) = (
            props.root.clone(),
            props.path.clone(),
            props.widget.clone(),
            props.on_change.clone(),
            local_error.clone(),
        );
        move |text: String| match parse_text(&widget, &text) {
            Ok(value) => {
                // Setting state re-renders the field; only do it when there is something to
                // clear, or a render with the previous value could overwrite what is typed.
                if local_error.is_some() {
                    local_error.set(None);
                }
                on_change.emit(with_value(&root, &path, value));
            }
            Err(error) => local_error.set(Some(error)),
        }
    };
    let input = match &props.widget {
        Widget::Switch => {
            let checked = value
                .and_then(Value::as_bool)
                .or(props.default.as_bool())
                .unwrap_or(false);
            let (root, path, on_change) = (
                props.root.clone(),
                props.path.clone(),
                props.on_change.clone(),
            );
            html! { <input id={id.clone()} type="checkbox" data-param={label.clone()} {checked}
            onchange={Callback::from(move |e: Event| {
                let on = e.target_unchecked_into::<HtmlInputElement>().checked();
                on_change.emit(with_value(&root, &path, Some(Value::Bool(on))));
            })} /> }
        }
        Widget::Choice(options) => {
            let current = value.and_then(Value::as_str).unwrap_or_default().to_owned();
            let shown_default = props.default.as_str().unwrap_or_default().to_owned();
            html! { <select id={id.clone()} data-param={label.clone()}
                onchange={Callback::from(move |e: Event| emit(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()))}>
                <option value="" selected={current.is_empty()}>{if shown_default.is_empty() { "—".to_owned() } else { format!("(default: {shown_default})") }}</option>
                { for options.iter().map(|o| html! { <option value={o.clone()} selected={*o == current}>{o}</option> }) }
            </select> }
        }
        Widget::Multi(options) => {
            let chosen: Vec<String> = value
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            let (root, path, on_change) = (
                props.root.clone(),
                props.path.clone(),
                props.on_change.clone(),
            );
            html! { <span class="multi" id={id.clone()} data-param={label.clone()}>
                { for options.iter().map(|option| {
                    let on = chosen.contains(option);
                    let (root, path, on_change, chosen, option_value) =
                        (root.clone(), path.clone(), on_change.clone(), chosen.clone(), option.clone());
                    html! { <label class="choice"><input type="checkbox" checked={on}
                        onchange={Callback::from(move |_| {
                            let mut next: Vec<Value> = chosen.iter().filter(|c| **c != option_value).map(|c| Value::from(c.as_str())).collect();
                            if !on { next.push(Value::from(option_value.as_str())); }
                            on_change.emit(with_value(&root, &path, Some(Value::Array(next))));
                        })} />{format!(" {option}")}</label> }
                }) }
            </span> }
        }
        Widget::Weekly => weekly_grid(value, &props.root, &props.path, &props.on_change),
        Widget::Zone => {
            html! { <>
                <input id={id.clone()} type="text" list="time-zones" data-param={label.clone()} value={shown(value, &props.widget)}
                    oninput={Callback::from(move |e: InputEvent| emit(e.target_unchecked_into::<HtmlInputElement>().value()))} />
                <datalist id="time-zones">
                    { for chrono_tz::TZ_VARIANTS.iter().map(|zone| html! { <option value={zone.name()} /> }) }
                </datalist>
            </> }
        }
        Widget::Json | Widget::Text { multiline: true } => {
            let rows = if matches!(props.widget, Widget::Json) {
                "5"
            } else {
                "2"
            };
            let placeholder = shown(Some(&props.default), &props.widget);
            html! { <textarea id={id.clone()} data-param={label.clone()} {rows} {placeholder} value={shown(value, &props.widget)}
            oninput={Callback::from(move |e: InputEvent| emit(e.target_unchecked_into::<HtmlTextAreaElement>().value()))} /> }
        }
        _ => {
            let kind = if matches!(props.widget, Widget::Number) {
                "number"
            } else {
                "text"
            };
            // A prompt's `file`: suggestions from the prompt files the server has (the
            // editor page keeps the `prompt-files` list).
            let list =
                (props.path.last().map(String::as_str) == Some("file")).then_some("prompt-files");
            let placeholder = shown(Some(&props.default), &props.widget);
            html! { <input id={id.clone()} type={kind} {list} data-param={label.clone()} {placeholder} value={shown(value, &props.widget)}
            oninput={Callback::from(move |e: InputEvent| emit(e.target_unchecked_into::<HtmlInputElement>().value()))} /> }
        }
    };
    let listen = if props.path.last().map(String::as_str) == Some("tts") {
        let text = value.and_then(Value::as_str).unwrap_or_default().to_owned();
        let mut voice = Some(&props.root);
        for key in &props.path[..props.path.len() - 1] {
            voice = voice.and_then(|v| v.get(key));
        }
        let voice = voice
            .and_then(|v| v.get("voice"))
            .and_then(Value::as_str)
            .unwrap_or("en")
            .to_owned();
        let local_error = local_error.clone();
        html! {
            <button class="listen" type="button" disabled={text.is_empty()} aria-label={format!("Listen to {label}")}
                onclick={Callback::from(move |_| listen(&text, &voice, local_error.clone()))}>{"▶ Listen"}</button>
        }
    } else {
        html! {}
    };
    // A fixed set of children whatever the state: with optional siblings appearing and
    // disappearing, Yew replaced the input as the first problem showed up, and the
    // supervisor's typing lost focus (the browser test types into a field to catch it).
    html! {
        <div class={classes!("field", (!props.problems.is_empty() || local_error.is_some()).then_some("invalid"))}>
            <label for={id}>{label}{if props.required { " *" } else { "" }}</label>
            {input}
            <span class="listen-slot">{listen}</span>
            <small class="help">{props.description.clone()}</small>
            <span class="field-problems" role="alert">
                { for local_error.iter().chain(props.problems.iter()).map(|p| html! { <small class="problem">{p.clone()}</small> }) }
            </span>
        </div>
    }
}

/// The weekly grid: a row per day, a cell per half hour; a click opens or closes it.
fn weekly_grid(
    value: Option<&Value>,
    root: &Value,
    path: &[String],
    on_change: &Callback<Value>,
) -> Html {
    use crate::model::weekly::{DAYS, SLOTS, grid_of, toggled, weekly_of};
    let empty = Value::Object(Map::new());
    let grid = match grid_of(value.unwrap_or(&empty)) {
        Ok(grid) => grid,
        Err(error) => {
            return html! { <p class="problem">{format!("shown as JSON only: {error}")}</p> };
        }
    };
    html! {
        <table class="weekly" role="grid" aria-label="Opening hours, half hour by half hour">
            <thead><tr><th></th>
                { for (0..24).step_by(3).map(|hour| html! { <th colspan="6">{format!("{hour:02}h")}</th> }) }
            </tr></thead>
            <tbody>
            { for DAYS.iter().enumerate().map(|(day, name)| html! {
                <tr><th scope="row">{*name}</th>
                { for (0..SLOTS).map(|slot| {
                    let open = grid[day][slot];
                    let (root, path, on_change) = (root.clone(), path.to_vec(), on_change.clone());
                    let at = format!("{name} {:02}:{:02}", slot / 2, (slot % 2) * 30);
                    html! { <td class={classes!("slot", open.then_some("open"))} data-day={*name} data-slot={slot.to_string()}
                        title={at.clone()} aria-label={at} aria-selected={open.to_string()}
                        onclick={Callback::from(move |_| on_change.emit(with_value(&root, &path, Some(weekly_of(&toggled(&grid, day, slot))))))} /> }
                }) }
                </tr>
            }) }
            </tbody>
        </table>
    }
}

/// Plays the engine's speech for `text` (`GET /api/prompts/speech`: the same TTS and cache
/// calls use). Templates are spoken as written.
fn listen(text: &str, voice: &str, error: UseStateHandle<Option<String>>) {
    let url = format!(
        "/api/prompts/speech?voice={}&text={}",
        super::api::encode(voice),
        super::api::encode(text)
    );
    let played = web_sys::HtmlAudioElement::new_with_src(&url).and_then(|audio| audio.play());
    match played {
        Ok(promise) => wasm_bindgen_futures::spawn_local(async move {
            if wasm_bindgen_futures::JsFuture::from(promise).await.is_err() {
                error.set(Some("the speech could not be played".into()));
            }
        }),
        Err(_) => error.set(Some("this browser cannot play audio".into())),
    }
}

fn problems_at(diagnostics: &[Diagnostic], prefix: &str) -> Vec<String> {
    diagnostics
        .iter()
        .filter(|d| d.json_path == prefix || d.json_path.starts_with(&format!("{prefix}/")))
        .map(|d| d.message.clone())
        .collect()
}

fn description(schema: &Value, root: &Value) -> String {
    schema
        .get("description")
        .or_else(|| resolve(schema, root).get("description"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The fields of an object `value` described by `schema` (whose `$ref`s resolve in
/// `defs`): one per plain property, one per sub-field of an object property (a prompt), JSON
/// for the rest. `problems` gives the messages for a field's path; `on_change` gets the
/// whole new value.
pub(super) fn fields(
    schema: &Value,
    defs: &Value,
    value: &Value,
    problems: &dyn Fn(&[String]) -> Vec<String>,
    on_change: Callback<Value>,
) -> Html {
    let schema = resolve(schema, defs);
    let required = required_of(schema);
    let entries = schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .flat_map(|(name, field_schema)| {
            let top = widget(name, field_schema, defs, 0);
            let entries: Vec<(Vec<String>, Widget, String, Value, bool)> = match top {
                Widget::Object(children) => children
                    .into_iter()
                    .map(|(child, child_schema, child_required)| {
                        (
                            vec![name.clone(), child.clone()],
                            widget(&child, &child_schema, defs, 1),
                            description(&child_schema, defs),
                            child_schema.get("default").cloned().unwrap_or(Value::Null),
                            child_required && required.contains(name),
                        )
                    })
                    .collect(),
                other => vec![(
                    vec![name.clone()],
                    other,
                    description(field_schema, defs),
                    field_schema.get("default").cloned().unwrap_or(Value::Null),
                    required.contains(name),
                )],
            };
            entries
        });
    html! {
        { for entries.map(|(path, widget, description, default, required)| {
            let problems = problems(&path);
            let key = path.join(".");
            html! {
                <Field {key} root={value.clone()} {path} {widget} {description} {default} {required}
                    {problems} on_change={on_change.clone()} />
            }
        }) }
    }
}

/// The panel for the selected node, or the flow's own settings when none is selected.
pub fn panel(editor: &Editor, link: &Scope<EditorPage>) -> Html {
    let on_action = link.callback(Msg::Act);
    let Some(node) = editor.selected_node() else {
        let doc = editor.document();
        let count = editor.selection().len();
        return html! {
            <section class="properties" aria-label="Flow">
                <h2>{if count > 1 { format!("{count} nodes selected") } else { "Flow".to_owned() }}</h2>
                <label for="flow-description">{"Description"}</label>
                <textarea id="flow-description" rows="3" value={doc.description.clone().unwrap_or_default()}
                    onchange={on_action.reform(|e: Event| Action::SetDescription(e.target_unchecked_into::<HtmlTextAreaElement>().value()))} />
                <p class="help">{"Drag nodes from the palette (or click one), drag from a port to a node to connect, \
                    Shift-click to select several. Delete removes, Ctrl+Z/Ctrl+Y undo and redo, Ctrl+C/Ctrl+V copy, \
                    arrows nudge, F fits, Ctrl+S saves."}</p>
            </section>
        };
    };
    let index = editor
        .document()
        .nodes
        .iter()
        .position(|n| n.id == node.id)
        .unwrap_or_default();
    let schema = schema_of(editor, node);
    let diagnostics = editor.diagnostics();
    let base = format!("/nodes/{index}/params");
    let node_id = node.id.clone();
    let fields = fields(
        &schema,
        &schema,
        &node.params,
        &|path: &[String]| problems_at(diagnostics, &format!("{base}/{}", path.join("/"))),
        on_action.reform(move |params| Action::SetParams {
            node: node_id.clone(),
            params,
        }),
    );
    let others: Vec<String> = editor
        .document()
        .nodes
        .iter()
        .filter(|n| n.id != node.id)
        .map(|n| n.id.clone())
        .collect();
    let node_problems: Vec<&Diagnostic> = diagnostics
        .iter()
        .filter(|d| {
            d.node_id.as_deref() == Some(node.id.as_str()) && !d.json_path.starts_with(&base)
        })
        .collect();
    let id = node.id.clone();
    let label = node
        .ui
        .as_ref()
        .and_then(|ui| ui.label.clone())
        .unwrap_or_default();
    html! {
        <section class="properties" aria-label={format!("Node {}", node.id)}>
            <h2>{format!("{} node", node.kind)}</h2>
            <label for="node-id">{"Id"}</label>
            <input id="node-id" value={node.id.clone()}
                onchange={on_action.reform({ let id = id.clone(); move |e: Event| Action::RenameNode { from: id.clone(), to: e.target_unchecked_into::<HtmlInputElement>().value() } })} />
            <label for="node-label">{"Label"}</label>
            <input id="node-label" value={label}
                onchange={on_action.reform({ let id = id.clone(); move |e: Event| Action::SetLabel { node: id.clone(), label: e.target_unchecked_into::<HtmlInputElement>().value() } })} />
            <div class="node-problems" role="alert">
                { for node_problems.iter().map(|d| html! {
                    <p class={if d.is_error() { "problem" } else { "warning" }}>{&d.message}</p>
                }) }
            </div>
            <fieldset class="params"><legend>{"Parameters"}</legend>{ fields }</fieldset>
            <fieldset class="ports"><legend>{"Connections"}</legend>
            { for editor.ports_of(node).into_iter().map(|port| {
                let current = node.ports.get(&port).cloned().unwrap_or_default();
                let select_id = format!("port-{port}");
                let (id, port_name) = (id.clone(), port.clone());
                html! {
                    <div class="field">
                        <label for={select_id.clone()}>{&port}</label>
                        <select id={select_id} data-port-select={port.clone()}
                            onchange={on_action.reform(move |e: Event| {
                                let value = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
                                Action::Connect { node: id.clone(), port: port_name.clone(), target: Some(value).filter(|v| !v.is_empty()) }
                            })}>
                            <option value="" selected={current.is_empty()}>{"(not connected)"}</option>
                            { for others.iter().map(|other| html! { <option value={other.clone()} selected={*other == current}>{other}</option> }) }
                        </select>
                    </div>
                }
            }) }
            </fieldset>
        </section>
    }
}
