//! The simulator and replay panels. The simulator runs the flow being edited with the
//! engine's own executor ([`crate::simulate`]) — a keypad, a clock, contact data, answers
//! for webhooks and agents — and can save what it did as a flow test script. Replay opens a
//! stored call of this flow and draws its path with timings.

use super::editor::{EditorPage, Msg};
use super::{api, util};
use crate::model::Editor;
use crate::model::path::PathHighlight;
use crate::simulate::{CallSetup, Simulation};
use ramal_flow::execution::TraceStep;
use serde::Deserialize;
use serde_json::{Map, Value};
use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::html::Scope;
use yew::prelude::*;

/// A stored call, as `GET /api/calls` gives it.
#[derive(Debug, Clone, Deserialize)]
pub struct CallSummary {
    id: String,
    caller: String,
    callee: String,
    started_at: i64,
    ended_at: i64,
    end_reason: String,
    #[serde(default)]
    flow_version: Option<i64>,
    #[serde(default)]
    trace: Value,
}

/// The simulator's and replay's state.
#[derive(Default)]
pub struct SimState {
    setup: CallSetup,
    contact_text: String,
    sim: Option<Simulation>,
    error: Option<String>,
    step_text: String,
    script: Option<(String, Result<(), String>)>,
    calls: Option<Result<Vec<CallSummary>, String>>,
    replay: Option<(CallSummary, Vec<TraceStep>)>,
}

/// Messages of the two panels.
pub enum SimMsg {
    /// Caller number.
    From(String),
    /// Number called.
    To(String),
    /// Call time (RFC 3339).
    At(String),
    /// Contact fields, `name=value` per line.
    Contact(String),
    /// Start (or restart) the call.
    Start,
    /// A keypad key.
    Press(char),
    /// Let time run to the next event.
    Wait,
    /// The caller hangs up.
    HangUp,
    /// The free-form step being typed.
    StepText(String),
    /// Apply the typed step.
    Step,
    /// Write the simulation as a script.
    SaveScript,
    /// Download the script.
    DownloadScript,
    /// Load this flow's recent calls.
    LoadCalls,
    /// They arrived.
    Calls(Result<Vec<CallSummary>, String>),
    /// Show a call's path.
    Replay(usize),
    /// Stop showing a path.
    Clear,
}

impl SimState {
    /// The path to highlight: the replayed call's, else the simulation's.
    pub fn path(&self, flow_id: &str) -> PathHighlight {
        if let Some((_, trace)) = &self.replay {
            return PathHighlight::from_trace(flow_id, trace);
        }
        match &self.sim {
            Some(sim) => {
                let mut path = PathHighlight::from_trace(flow_id, &sim.trace());
                if let Some(node) = sim.current_node() {
                    path.current = Some(node.to_owned());
                    path.visits.entry(node.to_owned()).or_default().count += 1;
                }
                path
            }
            None => PathHighlight::default(),
        }
    }
}

fn parse_contact(text: &str) -> Result<Map<String, Value>, String> {
    let mut contact = Map::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once('=')
            .ok_or_else(|| format!("`{line}` is not name=value"))?;
        let value = value.trim();
        let parsed =
            serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
        contact.insert(name.trim().to_owned(), parsed);
    }
    Ok(contact)
}

/// Handles a panel message.
pub fn update(
    state: &mut SimState,
    editor: &Editor,
    ctx: &Context<EditorPage>,
    msg: SimMsg,
    flow_id: &str,
) {
    let result: Result<(), String> = match msg {
        SimMsg::From(v) => {
            state.setup.from = v;
            Ok(())
        }
        SimMsg::To(v) => {
            state.setup.to = v;
            Ok(())
        }
        SimMsg::At(v) => {
            state.setup.at = v;
            Ok(())
        }
        SimMsg::Contact(v) => {
            state.contact_text = v;
            Ok(())
        }
        SimMsg::Start => parse_contact(&state.contact_text).and_then(|contact| {
            state.setup.contact = contact;
            state.replay = None;
            state.script = None;
            state.sim = None;
            Simulation::start(editor.compiled(), &state.setup)
                .map(|sim| state.sim = Some(sim))
                .map_err(|e| e.to_string())
        }),
        SimMsg::Press(key) => with_sim(state, |sim| sim.press(key).map_err(|e| e.to_string())),
        SimMsg::Wait => with_sim(state, |sim| {
            if sim.run_until_next() {
                Ok(())
            } else {
                Err("nothing happens until the caller does something".into())
            }
        }),
        SimMsg::HangUp => with_sim(state, |sim| sim.step("hang up").map_err(|e| e.to_string())),
        SimMsg::StepText(text) => {
            state.step_text = text;
            Ok(())
        }
        SimMsg::Step => {
            let text = state.step_text.clone();
            let result = with_sim(state, |sim| sim.step(&text).map_err(|e| e.to_string()));
            if result.is_ok() {
                state.step_text.clear();
            }
            result
        }
        SimMsg::SaveScript => match &state.sim {
            Some(sim) => {
                let name = "simulated call";
                state.script = Some((sim.script(name), sim.check_script(name)));
                Ok(())
            }
            None => Err("start a call first".into()),
        },
        SimMsg::DownloadScript => {
            if let Some((script, _)) = &state.script {
                util::download(&format!("{flow_id}.calls"), script, "text/plain");
            }
            Ok(())
        }
        SimMsg::LoadCalls => {
            let path = format!("/api/calls?limit=20&flow_id={}", api::encode(flow_id));
            ctx.link().send_future(async move {
                let calls = api::get::<Vec<CallSummary>>(&path).await;
                Msg::Sim(SimMsg::Calls(calls.map_err(|e| e.message)))
            });
            Ok(())
        }
        SimMsg::Calls(calls) => {
            state.calls = Some(calls);
            Ok(())
        }
        SimMsg::Replay(index) => {
            let call = state
                .calls
                .as_ref()
                .and_then(|c| c.as_ref().ok())
                .and_then(|calls| calls.get(index))
                .cloned()
                .ok_or_else(|| "no such call".to_owned());
            call.and_then(|call| {
                let trace: Vec<TraceStep> = serde_json::from_value(call.trace.clone())
                    .map_err(|e| format!("the call's path cannot be read: {e}"))?;
                state.replay = Some((call, trace));
                Ok(())
            })
        }
        SimMsg::Clear => {
            state.replay = None;
            state.sim = None;
            Ok(())
        }
    };
    state.error = result.err();
}

fn with_sim<T>(
    state: &mut SimState,
    f: impl FnOnce(&mut Simulation) -> Result<T, String>,
) -> Result<T, String> {
    match state.sim.as_mut() {
        Some(sim) => f(sim),
        None => Err("start a call first".into()),
    }
}

fn text_input(
    id: &str,
    label: &str,
    value: &str,
    link: &Scope<EditorPage>,
    msg: fn(String) -> SimMsg,
) -> Html {
    html! {
        <div class="field">
            <label for={id.to_owned()}>{label}</label>
            <input id={id.to_owned()} value={value.to_owned()}
                oninput={link.callback(move |e: InputEvent| Msg::Sim(msg(e.target_unchecked_into::<HtmlInputElement>().value())))} />
        </div>
    }
}

/// The simulator panel.
pub fn panel(state: &SimState, editor: &Editor, link: &Scope<EditorPage>) -> Html {
    let keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];
    let running = state.sim.as_ref().is_some_and(|sim| !sim.ended());
    let can_start = editor.compiled().is_some();
    html! {
        <section class="simulator" aria-label="Simulator">
            <h2>{"Simulate a call"}</h2>
            {text_input("sim-from", "From", &state.setup.from, link, SimMsg::From)}
            {text_input("sim-to", "To", &state.setup.to, link, SimMsg::To)}
            {text_input("sim-at", "When (with time zone offset)", &state.setup.at, link, SimMsg::At)}
            <div class="field">
                <label for="sim-contact">{"Contact (name=value per line)"}</label>
                <textarea id="sim-contact" rows="3" value={state.contact_text.clone()}
                    oninput={link.callback(|e: InputEvent| Msg::Sim(SimMsg::Contact(e.target_unchecked_into::<HtmlTextAreaElement>().value())))} />
            </div>
            <button id="sim-start" disabled={!can_start} title={if can_start { "" } else { "fix the errors first" }}
                onclick={link.callback(|_| Msg::Sim(SimMsg::Start))}>{if state.sim.is_some() { "Restart call" } else { "Start call" }}</button>
            <div class="keypad" role="group" aria-label="Keypad">
                { for keys.into_iter().map(|key| html! {
                    <button class="key" data-key={key.to_string()} disabled={!running} aria-label={format!("press {key}")}
                        onclick={link.callback(move |_| Msg::Sim(SimMsg::Press(key)))}>{key}</button>
                }) }
            </div>
            <button id="sim-wait" disabled={!running} title="Let time run until something happens"
                onclick={link.callback(|_| Msg::Sim(SimMsg::Wait))}>{"Wait"}</button>
            <button id="sim-hangup" disabled={!running} onclick={link.callback(|_| Msg::Sim(SimMsg::HangUp))}>{"Hang up"}</button>
            <div class="field">
                <label for="sim-step">{"Answer (e.g. http returns 200 {\"ok\": true}, agent answers ana, queue has no agents)"}</label>
                <input id="sim-step" value={state.step_text.clone()}
                    oninput={link.callback(|e: InputEvent| Msg::Sim(SimMsg::StepText(e.target_unchecked_into::<HtmlInputElement>().value())))}
                    onkeydown={link.batch_callback(|e: KeyboardEvent| (e.key() == "Enter").then_some(Msg::Sim(SimMsg::Step)))} />
                <button id="sim-apply" disabled={!running} onclick={link.callback(|_| Msg::Sim(SimMsg::Step))}>{"Apply"}</button>
            </div>
            if let Some(error) = &state.error { <p id="sim-error" class="error" role="alert">{error.clone()}</p> }
            if let Some(sim) = &state.sim {
                <p id="sim-state">{ if sim.ended() { format!("call ended at {}", util::seconds(sim.elapsed_ms())) }
                    else { format!("at {} in {}", util::seconds(sim.elapsed_ms()), sim.current_node().unwrap_or("?")) } }</p>
                <p id="sim-path">{ sim.path().join(" → ") }</p>
                <ol id="sim-transcript" class="transcript">
                    { for sim.transcript().iter().map(|line| html! { <li>{line}</li> }) }
                </ol>
                <button id="sim-save-script" onclick={link.callback(|_| Msg::Sim(SimMsg::SaveScript))}>{"Save as test script"}</button>
            }
            if let Some((script, check)) = &state.script {
                <p id="sim-script-check" class={classes!(if check.is_ok() { "ok" } else { "error" })}>
                    { match check { Ok(()) => "the script passes on this flow".to_owned(), Err(e) => format!("the script fails: {e}") } }
                </p>
                <pre id="sim-script">{script}</pre>
                <button id="sim-download-script" onclick={link.callback(|_| Msg::Sim(SimMsg::DownloadScript))}>{"Download .calls"}</button>
            }
        </section>
    }
}

/// The replay panel: this flow's recent calls; one chosen is drawn on the canvas.
pub fn replay_panel(state: &SimState, link: &Scope<EditorPage>) -> Html {
    let list = match &state.calls {
        None => html! { <p>{"Press Load to see this flow's recent calls."}</p> },
        Some(Err(error)) => html! { <p class="error" role="alert">{error.clone()}</p> },
        Some(Ok(calls)) if calls.is_empty() => html! { <p>{"No calls ran this flow yet."}</p> },
        Some(Ok(calls)) => html! {
            <ul id="calls">
                { for calls.iter().enumerate().map(|(index, call)| html! {
                    <li>
                        <button class="replay-call" data-call-id={call.id.clone()} onclick={link.callback(move |_| Msg::Sim(SimMsg::Replay(index)))}>
                            {format!("{} → {} ({}s, {}{})", call.caller, call.callee,
                                (call.ended_at - call.started_at) / 1000, call.end_reason,
                                call.flow_version.map(|v| format!(", v{v}")).unwrap_or_default())}
                        </button>
                    </li>
                }) }
            </ul>
        },
    };
    let steps = match &state.replay {
        Some((call, trace)) => html! {
            <>
                <h3>{format!("Call {}", call.id)}</h3>
                <ol id="replay-steps">
                    { for trace.iter().map(|step| html! {
                        <li>{format!("+{} {} → {}{}", util::seconds(step.entered_ms), step.node,
                            step.port.as_deref().unwrap_or("(end)"),
                            step.note.as_ref().map(|n| format!(" — {n}")).unwrap_or_default())}</li>
                    }) }
                </ol>
            </>
        },
        None => html! {},
    };
    html! {
        <section class="replay" aria-label="Replay">
            <h2>{"Replay a call"}</h2>
            <button id="replay-load" onclick={link.callback(|_| Msg::Sim(SimMsg::LoadCalls))}>{"Load"}</button>
            <button id="replay-clear" onclick={link.callback(|_| Msg::Sim(SimMsg::Clear))}>{"Clear path"}</button>
            {list}
            {steps}
        </section>
    }
}
