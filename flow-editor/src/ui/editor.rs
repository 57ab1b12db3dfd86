//! The editor page: toolbar, palette, canvas and side panels (properties, problems,
//! simulator, replay, versions). It owns the [`Editor`] model and turns DOM events into
//! [`Action`]s; everything it shows is drawn from the model.

use super::canvas;
use super::simulator::{self, SimState};
use super::{api, props, util};
use crate::model::geometry::Point;
use crate::model::palette::{CustomNodeSpec, PaletteItem, palette};
use crate::model::path::PathHighlight;
use crate::model::{Action, Editor};
use ramal_flow::compile::{Environment, compile};
use ramal_flow::document::FlowDocument;
use ramal_flow::{Diagnostic, Flow};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Element, HtmlInputElement, KeyboardEvent};
use yew::prelude::*;

/// Properties of [`EditorPage`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// The flow to edit.
    pub flow_id: String,
    /// Back to the list.
    pub on_close: Callback<()>,
}

/// `GET /api/flows/{id}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Loaded {
    document: Value,
    published_version: Option<i64>,
    #[serde(default)]
    version: Option<i64>,
}

/// `GET /api/nodes`, one module.
#[derive(Debug, Clone, Deserialize)]
struct NodeModule {
    description: CustomNodeSpec,
}

/// Which side panel is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    /// The selected node's properties (and the flow's, with nothing selected).
    Properties,
    /// The simulator.
    Simulator,
    /// Past calls of this flow.
    Replay,
}

/// Pointer event kinds on the canvas.
#[derive(Debug, Clone, Copy)]
pub enum PointerKind {
    /// Pressed.
    Down,
    /// Moved.
    Move,
    /// Released.
    Up,
}

/// Messages of [`EditorPage`].
pub enum Msg {
    /// The flow arrived.
    Loaded(Result<Loaded, String>),
    /// The installed custom nodes arrived.
    CustomNodes(Vec<CustomNodeSpec>),
    /// Flows called by subflow nodes, compiled.
    Subflows(BTreeMap<String, Arc<Flow>>),
    /// The prompt files the server has.
    PromptFiles(Vec<String>),
    /// A model action.
    Act(Action),
    /// A pointer event on the canvas.
    Pointer(PointerKind, MouseEvent),
    /// Mouse wheel on the canvas.
    Wheel(WheelEvent),
    /// A key anywhere on the page.
    Key(KeyboardEvent),
    /// A palette item dragged (or clicked: added in the middle).
    PaletteDrag(PaletteItem),
    /// Add a palette item in the middle of the view.
    PaletteAdd(PaletteItem),
    /// Something dropped on the canvas.
    Drop(DragEvent),
    /// Save the draft.
    Save,
    /// The draft was saved (diagnostics from the server).
    Saved(Result<(), api::ApiError>),
    /// Save, then publish.
    Publish,
    /// Published as version N.
    Published(Result<i64, api::ApiError>),
    /// Load version N into the editor (roll back: save and publish it again).
    LoadVersion(i64),
    /// Download the document.
    Export,
    /// A document to import (file contents).
    Import(String),
    /// Show a message in the status line.
    Status(String),
    /// Show every node.
    Fit,
    /// Open a panel.
    Panel(Panel),
    /// The simulator's messages.
    Sim(simulator::SimMsg),
}

/// The editor page.
pub struct EditorPage {
    editor: Editor,
    loaded: bool,
    load_error: Option<String>,
    published_version: Option<i64>,
    saved_revision: u64,
    status: Option<(bool, String)>,
    panel: Panel,
    dragged: Option<PaletteItem>,
    svg: NodeRef,
    import_input: NodeRef,
    keys: Option<Closure<dyn Fn(KeyboardEvent)>>,
    sim: SimState,
    /// When the flow was requested, for the open-and-render time shown in the status bar.
    load_started_ms: f64,
    render_ms: Option<f64>,
    prompt_files: Vec<String>,
}

impl EditorPage {
    fn canvas_point(&self, x: i32, y: i32) -> Point {
        match self.svg.cast::<Element>() {
            Some(svg) => {
                let rect = svg.get_bounding_client_rect();
                Point::new(f64::from(x) - rect.left(), f64::from(y) - rect.top())
            }
            None => Point::new(f64::from(x), f64::from(y)),
        }
    }

    fn canvas_size(&self) -> (f64, f64) {
        self.svg.cast::<Element>().map_or((1280.0, 800.0), |svg| {
            let rect = svg.get_bounding_client_rect();
            (rect.width(), rect.height())
        })
    }

    fn act(&mut self, action: Action) {
        if let Err(error) = self.editor.apply(action) {
            self.status = Some((false, error.to_string()));
        }
    }

    fn unsaved(&self) -> bool {
        self.editor.revision() != self.saved_revision
    }

    fn save(&self, ctx: &Context<Self>, then_publish: bool) {
        let id = self.editor.document().id.clone();
        let text = self.editor.document().to_json_pretty();
        ctx.link().send_future(async move {
            if let Err(error) = api::save_flow(&id, text).await {
                return Msg::Saved(Err(error));
            }
            if !then_publish {
                return Msg::Saved(Ok(()));
            }
            #[derive(Deserialize)]
            struct Version {
                version: i64,
            }
            let path = format!("/api/flows/{}/publish", api::encode(&id));
            let published = api::json::<Version>("POST", &path, None).await;
            Msg::Published(published.map(|v| v.version))
        });
    }

    fn key(&mut self, ctx: &Context<Self>, event: &KeyboardEvent) -> bool {
        let in_field = event
            .target()
            .and_then(|t| t.dyn_into::<Element>().ok())
            .is_some_and(|e| matches!(e.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
        let command = event.ctrl_key() || event.meta_key();
        let key = event.key();
        if command && key == "s" {
            event.prevent_default();
            ctx.link().send_message(Msg::Save);
            return false;
        }
        if in_field {
            return false;
        }
        let action = match (command, key.as_str()) {
            (true, "z") if event.shift_key() => Action::Redo,
            (true, "z") => Action::Undo,
            (true, "y") => Action::Redo,
            (true, "c") => Action::Copy,
            (true, "v") => Action::Paste,
            (true, "a") => Action::SelectAll,
            (false, "Delete") | (false, "Backspace") => Action::Delete,
            (false, "Escape") => Action::Select(None),
            (false, "ArrowLeft") => Action::Nudge { dx: -1, dy: 0 },
            (false, "ArrowRight") => Action::Nudge { dx: 1, dy: 0 },
            (false, "ArrowUp") => Action::Nudge { dx: 0, dy: -1 },
            (false, "ArrowDown") => Action::Nudge { dx: 0, dy: 1 },
            (false, "f") => {
                ctx.link().send_message(Msg::Fit);
                return false;
            }
            _ => return false,
        };
        event.prevent_default();
        self.act(action);
        true
    }

    fn load_subflows(ctx: &Context<Self>, doc: &FlowDocument) {
        let called: Vec<String> = doc
            .nodes
            .iter()
            .filter(|node| node.kind == "subflow")
            .filter_map(|node| node.params.get("flow")?.as_str().map(str::to_owned))
            .filter(|id| !id.is_empty() && *id != doc.id)
            .collect();
        if called.is_empty() {
            return;
        }
        ctx.link().send_future(async move {
            let mut flows = BTreeMap::new();
            for id in called {
                let Ok(loaded) =
                    api::get::<Loaded>(&format!("/api/flows/{}", api::encode(&id))).await
                else {
                    continue;
                };
                let Ok(doc) = serde_json::from_value::<FlowDocument>(loaded.document) else {
                    continue;
                };
                if let Some(flow) = compile(&doc, &Environment::default()).flow {
                    flows.insert(id, flow);
                }
            }
            Msg::Subflows(flows)
        });
    }

    fn path(&self) -> PathHighlight {
        self.sim.path(&self.editor.document().id)
    }
}

impl Component for EditorPage {
    type Message = Msg;
    type Properties = Props;

    fn create(ctx: &Context<Self>) -> Self {
        let id = ctx.props().flow_id.clone();
        ctx.link().send_future(async move {
            let loaded = api::get::<Loaded>(&format!("/api/flows/{}", api::encode(&id))).await;
            Msg::Loaded(loaded.map_err(|e| e.message))
        });
        ctx.link().send_future(async {
            let modules = api::get::<Vec<NodeModule>>("/api/nodes")
                .await
                .unwrap_or_default();
            Msg::CustomNodes(modules.into_iter().map(|m| m.description).collect())
        });
        ctx.link().send_future(async {
            Msg::PromptFiles(
                api::get::<Vec<String>>("/api/prompts")
                    .await
                    .unwrap_or_default(),
            )
        });
        let link = ctx.link().clone();
        let keys = Closure::<dyn Fn(KeyboardEvent)>::new(move |event: KeyboardEvent| {
            link.send_message(Msg::Key(event));
        });
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            let _ =
                document.add_event_listener_with_callback("keydown", keys.as_ref().unchecked_ref());
        }
        EditorPage {
            editor: Editor::default(),
            loaded: false,
            load_error: None,
            published_version: None,
            saved_revision: 0,
            status: None,
            panel: Panel::Properties,
            dragged: None,
            svg: NodeRef::default(),
            import_input: NodeRef::default(),
            keys: Some(keys),
            sim: SimState::default(),
            load_started_ms: util::now_ms(),
            render_ms: None,
            prompt_files: Vec::new(),
        }
    }

    fn destroy(&mut self, _ctx: &Context<Self>) {
        if let (Some(keys), Some(document)) = (
            self.keys.take(),
            web_sys::window().and_then(|w| w.document()),
        ) {
            let _ = document
                .remove_event_listener_with_callback("keydown", keys.as_ref().unchecked_ref());
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Loaded(Err(error)) => self.load_error = Some(error),
            Msg::Loaded(Ok(loaded)) => {
                match serde_json::from_value::<FlowDocument>(loaded.document) {
                    Ok(doc) => {
                        Self::load_subflows(ctx, &doc);
                        self.published_version = loaded.published_version;
                        self.act(Action::Load(doc));
                        let (width, height) = self.canvas_size();
                        self.act(Action::Fit { width, height });
                        self.saved_revision = self.editor.revision();
                        self.loaded = true;
                        if let Some(version) = loaded.version {
                            self.status = Some((true, format!("showing version {version}")));
                        }
                    }
                    Err(error) => {
                        self.load_error = Some(format!("the stored flow cannot be read: {error}"))
                    }
                }
            }
            Msg::CustomNodes(specs) => self.act(Action::SetCustomNodes(specs)),
            Msg::Subflows(flows) => self.act(Action::SetSubflows(flows)),
            Msg::PromptFiles(files) => self.prompt_files = files,
            Msg::Act(action) => self.act(action),
            Msg::Pointer(kind, event) => {
                if matches!(kind, PointerKind::Down) && event.button() != 0 {
                    return false;
                }
                let at = self.canvas_point(event.client_x(), event.client_y());
                let action = match kind {
                    PointerKind::Down => {
                        event.prevent_default();
                        Action::PointerDown {
                            at,
                            additive: event.shift_key() || event.ctrl_key() || event.meta_key(),
                        }
                    }
                    PointerKind::Move => {
                        if !self.editor.gesture_active() {
                            return false;
                        }
                        Action::PointerMove { at }
                    }
                    PointerKind::Up => Action::PointerUp { at },
                };
                self.act(action);
            }
            Msg::Wheel(event) => {
                event.prevent_default();
                let at = self.canvas_point(event.client_x(), event.client_y());
                self.act(Action::Wheel {
                    at,
                    delta: event.delta_y(),
                });
            }
            Msg::Key(event) => return self.key(ctx, &event),
            Msg::PaletteDrag(item) => {
                self.dragged = Some(item);
                return false;
            }
            Msg::PaletteAdd(item) => {
                let (width, height) = self.canvas_size();
                self.act(Action::AddNode {
                    item,
                    at: Point::new(width / 2.0, height / 2.0),
                });
            }
            Msg::Drop(event) => {
                event.prevent_default();
                let at = self.canvas_point(event.client_x(), event.client_y());
                if let Some(item) = self.dragged.take() {
                    self.act(Action::AddNode { item, at });
                }
            }
            Msg::Save => {
                self.status = Some((true, "saving…".into()));
                self.save(ctx, false);
            }
            Msg::Publish => {
                if self.editor.error_count() > 0 {
                    self.status = Some((
                        false,
                        format!(
                            "fix the {} error(s) before publishing",
                            self.editor.error_count()
                        ),
                    ));
                } else {
                    self.status = Some((true, "publishing…".into()));
                    self.save(ctx, true);
                }
            }
            Msg::Saved(result) => {
                self.status = Some(match result {
                    Ok(()) => {
                        self.saved_revision = self.editor.revision();
                        (true, "draft saved".into())
                    }
                    Err(error) => (false, format!("not saved: {error}")),
                });
            }
            Msg::Published(result) => {
                self.status = Some(match result {
                    Ok(version) => {
                        self.saved_revision = self.editor.revision();
                        self.published_version = Some(version);
                        (true, format!("published as version {version}"))
                    }
                    Err(error) => (false, format!("not published: {error}")),
                });
            }
            Msg::LoadVersion(version) => {
                let id = ctx.props().flow_id.clone();
                ctx.link().send_future(async move {
                    let path = format!("/api/flows/{}?version={version}", api::encode(&id));
                    match api::get::<Loaded>(&path).await {
                        Ok(loaded) => match serde_json::from_value::<FlowDocument>(loaded.document)
                        {
                            Ok(doc) => Msg::Act(Action::Load(doc)),
                            Err(error) => {
                                Msg::Status(format!("version {version} cannot be read: {error}"))
                            }
                        },
                        Err(error) => Msg::Status(error.message),
                    }
                });
            }
            Msg::Export => {
                let doc = self.editor.document();
                util::download(
                    &format!("{}.json", doc.id),
                    &doc.to_json_pretty(),
                    "application/json",
                );
            }
            Msg::Import(text) => match FlowDocument::from_json(&text) {
                Ok(mut doc) => {
                    // The imported flow replaces this one's draft: it keeps this flow's id.
                    doc.id = ctx.props().flow_id.clone();
                    let before = self.editor.document().clone();
                    self.act(Action::Load(doc));
                    self.saved_revision = u64::MAX;
                    self.status = Some((
                        true,
                        format!(
                            "imported; save to keep it (was {} nodes)",
                            before.nodes.len()
                        ),
                    ));
                }
                Err(diagnostic) => {
                    self.status = Some((false, format!("not a flow: {}", diagnostic.message)));
                }
            },
            Msg::Status(text) => self.status = Some((false, text)),
            Msg::Fit => {
                let (width, height) = self.canvas_size();
                self.act(Action::Fit { width, height });
            }
            Msg::Panel(panel) => self.panel = panel,
            Msg::Sim(msg) => {
                let flow_id = ctx.props().flow_id.clone();
                simulator::update(&mut self.sim, &self.editor, ctx, msg, &flow_id);
            }
        }
        true
    }

    fn rendered(&mut self, _ctx: &Context<Self>, _first: bool) {
        if self.loaded && self.render_ms.is_none() {
            let took = util::now_ms() - self.load_started_ms;
            self.render_ms = Some(took);
            if let Some(svg) = self.svg.cast::<Element>() {
                let _ = svg.set_attribute("data-open-ms", &format!("{took:.0}"));
            }
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        if let Some(error) = &self.load_error {
            return html! {
                <main class="editor-error">
                    <p class="error" role="alert">{format!("The flow could not be opened: {error}")}</p>
                    <button onclick={ctx.props().on_close.reform(|_| ())}>{"Back to the flows"}</button>
                </main>
            };
        }
        let doc = self.editor.document();
        let errors = self.editor.error_count();
        let view = self.editor.viewport();
        let path = self.path();
        let views = self.editor.node_views();
        let pending = self.editor.pending_connection().map(|(from, to)| {
            html! { <path class="edge pending" d={canvas::curve(from, to)} /> }
        });
        let palette_items = palette(self.editor.custom_nodes());
        let import_ref = self.import_input.clone();
        let on_import = link.callback_future(move |_: Event| {
            let input = import_ref.cast::<HtmlInputElement>();
            async move {
                let file = input.and_then(|i| i.files()).and_then(|f| f.get(0));
                match file {
                    Some(file) => {
                        let text = wasm_bindgen_futures::JsFuture::from(file.text())
                            .await
                            .ok()
                            .and_then(|v| v.as_string())
                            .unwrap_or_default();
                        Msg::Import(text)
                    }
                    None => Msg::Status("no file chosen".into()),
                }
            }
        });
        let versions = self.published_version.unwrap_or(0);
        html! {
            <main class="editor">
                <nav class="toolbar" aria-label="Flow actions">
                    <button onclick={ctx.props().on_close.reform(|_| ())} aria-label="Back to the flow list">{"← Flows"}</button>
                    <input id="flow-name" aria-label="Flow name" value={doc.name.clone()}
                        onchange={link.callback(|e: Event| Msg::Act(Action::SetName(e.target_unchecked_into::<HtmlInputElement>().value())))} />
                    <code class="flow-id">{&doc.id}</code>
                    <button id="undo" title="Undo (Ctrl+Z)" disabled={!self.editor.can_undo()} onclick={link.callback(|_| Msg::Act(Action::Undo))}>{"Undo"}</button>
                    <button id="redo" title="Redo (Ctrl+Y)" disabled={!self.editor.can_redo()} onclick={link.callback(|_| Msg::Act(Action::Redo))}>{"Redo"}</button>
                    <button id="fit" title="Fit (F)" onclick={link.callback(|_| Msg::Fit)}>{"Fit"}</button>
                    <label class="snap"><input type="checkbox" id="snap" checked={self.editor.snapping()} onchange={link.callback(|_| Msg::Act(Action::ToggleSnap))} />{" Snap to grid"}</label>
                    <button id="save" title="Save the draft (Ctrl+S)" onclick={link.callback(|_| Msg::Save)}>{if self.unsaved() { "Save*" } else { "Save" }}</button>
                    <button id="publish" disabled={errors > 0} title={if errors > 0 { "Fix the errors first" } else { "Publish a new version" }}
                        onclick={link.callback(|_| Msg::Publish)}>{"Publish"}</button>
                    <label for="versions">{"Version "}</label>
                    <select id="versions" aria-label="Open a published version"
                        onchange={link.callback(|e: Event| {
                            let value = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
                            match value.parse() { Ok(v) => Msg::LoadVersion(v), Err(_) => Msg::Status(String::new()) }
                        })}>
                        <option value="" selected=true>{match self.published_version { Some(v) => format!("draft (published: v{v})"), None => "draft (never published)".into() }}</option>
                        { for (1..=versions).rev().map(|v| html! { <option value={v.to_string()}>{format!("open v{v}")}</option> }) }
                    </select>
                    <button id="export" onclick={link.callback(|_| Msg::Export)}>{"Export"}</button>
                    <label class="import" for="import">{"Import"}</label>
                    <input id="import" type="file" accept=".json,application/json" ref={self.import_input.clone()} onchange={on_import} />
                    <span id="error-count" class={classes!(if errors > 0 { "error" } else { "ok" })}>
                        {format!("{errors} errors, {} warnings", self.editor.diagnostics().len() - errors)}
                    </span>
                    if let Some((ok, text)) = &self.status {
                        <span id="status" role="status" class={classes!(if *ok { "ok" } else { "error" })}>{text.clone()}</span>
                    }
                </nav>
                <aside class="palette" aria-label="Nodes">
                    <h2>{"Nodes"}</h2>
                    { for palette_items.into_iter().map(|item| {
                        let drag = item.clone();
                        let add = item.clone();
                        html! {
                            <button class="palette-item" data-kind={item.kind.clone()} title={item.summary.clone()} draggable="true"
                                ondragstart={link.callback(move |_: DragEvent| Msg::PaletteDrag(drag.clone()))}
                                onclick={link.callback(move |_| Msg::PaletteAdd(add.clone()))}>
                                <strong>{&item.title}</strong><small>{&item.summary}</small>
                            </button>
                        }
                    }) }
                </aside>
                <svg id="canvas" ref={self.svg.clone()} role="application" aria-label="Flow canvas"
                    class={classes!(self.editor.dragging().then_some("dragging"))}
                    onmousedown={link.callback(|e| Msg::Pointer(PointerKind::Down, e))}
                    onmousemove={link.callback(|e| Msg::Pointer(PointerKind::Move, e))}
                    onmouseup={link.callback(|e| Msg::Pointer(PointerKind::Up, e))}
                    onwheel={link.callback(Msg::Wheel)}
                    ondragover={Callback::from(|e: DragEvent| e.prevent_default())}
                    ondrop={link.callback(Msg::Drop)}>
                    <defs>
                        <pattern id="grid" width="20" height="20" patternUnits="userSpaceOnUse">
                            <path d="M20,0 L0,0 0,20" class="grid-line" />
                        </pattern>
                    </defs>
                    <g transform={format!("translate({:.2},{:.2}) scale({:.4})", view.pan.x, view.pan.y, view.zoom)}>
                        <rect class="grid" x="-20000" y="-20000" width="40000" height="40000" fill="url(#grid)" />
                        { canvas::contents(&views, &path) }
                        { pending.unwrap_or_default() }
                    </g>
                </svg>
                <aside class="side" aria-label="Details">
                    <div class="tabs" role="tablist">
                        { for [(Panel::Properties, "Properties", "tab-properties"), (Panel::Simulator, "Simulate", "tab-simulator"), (Panel::Replay, "Replay", "tab-replay")]
                            .into_iter().map(|(panel, title, id)| html! {
                                <button {id} role="tab" aria-selected={(self.panel == panel).to_string()}
                                    onclick={link.callback(move |_| Msg::Panel(panel))}>{title}</button>
                            }) }
                    </div>
                    { match self.panel {
                        Panel::Properties => props::panel(&self.editor, link),
                        Panel::Simulator => simulator::panel(&self.sim, &self.editor, link),
                        Panel::Replay => simulator::replay_panel(&self.sim, link),
                    } }
                    { problems(self.editor.diagnostics(), link) }
                    <datalist id="prompt-files">
                        { for self.prompt_files.iter().map(|file| html! { <option value={file.clone()} /> }) }
                    </datalist>
                </aside>
            </main>
        }
    }
}

/// The list of problems; clicking one selects its node.
fn problems(diagnostics: &[Diagnostic], link: &yew::html::Scope<EditorPage>) -> Html {
    html! {
        <section class="problems" aria-label="Problems">
            <h2>{format!("Problems ({})", diagnostics.len())}</h2>
            <ul id="diagnostics">
                { for diagnostics.iter().map(|d| {
                    let node = d.node_id.clone();
                    html! {
                        <li class={classes!("diagnostic", if d.is_error() { "error" } else { "warning" })}
                            data-code={d.code.clone()} data-node-id={d.node_id.clone().unwrap_or_default()}
                            onclick={link.callback(move |_| Msg::Act(Action::Select(node.clone())))}>
                            <strong>{d.node_id.clone().unwrap_or_else(|| "flow".into())}</strong>{": "}{&d.message}
                            <code>{&d.code}</code>
                        </li>
                    }
                }) }
            </ul>
        </section>
    }
}
