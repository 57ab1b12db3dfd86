//! The flow list: every flow with its published version, draft and problems; create a new
//! flow or import one from a JSON file.

use super::api;
use crate::model::empty_flow;
use ramal_flow::document::FlowDocument;
use serde::Deserialize;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// A row of `GET /api/flows`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FlowSummary {
    /// Flow id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The published version, if any.
    pub published_version: Option<i64>,
    /// Is there an unpublished draft?
    pub has_draft: bool,
    /// Errors in the draft (or the published version).
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
}

/// Properties of [`FlowList`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// Opens a flow in the editor.
    pub on_open: Callback<String>,
}

/// Saves `doc` as the draft of its id.
async fn save_new(doc: FlowDocument) -> Result<String, api::ApiError> {
    api::save_flow(&doc.id, doc.to_json_pretty()).await?;
    Ok(doc.id)
}

/// The list page.
#[function_component]
pub fn FlowList(props: &Props) -> Html {
    let flows = use_state(|| None::<Result<Vec<FlowSummary>, String>>);
    let message = use_state(|| None::<String>);
    let new_id = use_node_ref();
    let new_name = use_node_ref();
    {
        let flows = flows.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let list = api::get::<Vec<FlowSummary>>("/api/flows").await;
                flows.set(Some(list.map_err(|e| e.message)));
            });
        });
    }
    let create = {
        let (new_id, new_name, message, on_open) = (
            new_id.clone(),
            new_name.clone(),
            message.clone(),
            props.on_open.clone(),
        );
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let value = |r: &NodeRef| {
                r.cast::<HtmlInputElement>()
                    .map(|input| input.value().trim().to_owned())
                    .unwrap_or_default()
            };
            let id = value(&new_id);
            let name = value(&new_name);
            let name = if name.is_empty() { id.clone() } else { name };
            let (message, on_open) = (message.clone(), on_open.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match save_new(empty_flow(&id, &name)).await {
                    Ok(id) => on_open.emit(id),
                    Err(error) => message.set(Some(error.message)),
                }
            });
        })
    };
    let import = {
        let (message, on_open) = (message.clone(), props.on_open.clone());
        Callback::from(move |event: Event| {
            let Some(input) = event
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
            else {
                return;
            };
            let Some(file) = input.files().and_then(|files| files.get(0)) else {
                return;
            };
            let (message, on_open) = (message.clone(), on_open.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let text = JsFuture::from(file.text())
                    .await
                    .ok()
                    .and_then(|v| v.as_string())
                    .unwrap_or_default();
                match FlowDocument::from_json(&text) {
                    Err(diagnostic) => message.set(Some(format!(
                        "{} is not a flow: {}",
                        file.name(),
                        diagnostic.message
                    ))),
                    Ok(doc) => match save_new(doc).await {
                        Ok(id) => on_open.emit(id),
                        Err(error) => message.set(Some(error.message)),
                    },
                }
            });
        })
    };
    let rows = match &*flows {
        None => html! { <p>{"Loading flows…"}</p> },
        Some(Err(error)) => html! { <p class="error" role="alert">{error.clone()}</p> },
        Some(Ok(list)) if list.is_empty() => html! { <p>{"No flows yet: create one."}</p> },
        Some(Ok(list)) => html! {
            <table id="flow-list">
                <thead><tr><th>{"Flow"}</th><th>{"Name"}</th><th>{"Published"}</th><th>{"Draft"}</th><th>{"Problems"}</th><th></th></tr></thead>
                <tbody>
                { for list.iter().map(|flow| {
                    let id = flow.id.clone();
                    let on_open = props.on_open.clone();
                    html! {
                        <tr data-flow-id={flow.id.clone()}>
                            <td><code>{&flow.id}</code></td>
                            <td>{&flow.name}</td>
                            <td>{flow.published_version.map_or("—".to_owned(), |v| format!("v{v}"))}</td>
                            <td>{if flow.has_draft { "unpublished changes" } else { "" }}</td>
                            <td class={classes!((flow.errors > 0).then_some("error"))}>
                                {format!("{} errors, {} warnings", flow.errors, flow.warnings)}
                            </td>
                            <td><button class="open-flow" onclick={Callback::from(move |_| on_open.emit(id.clone()))}>{"Open"}</button></td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
        },
    };
    html! {
        <main class="flows">
            <h1>{"Call flows"}</h1>
            {rows}
            <form class="new-flow" onsubmit={create} aria-label="New flow">
                <h2>{"New flow"}</h2>
                <label for="new-flow-id">{"Id"}</label>
                <input id="new-flow-id" ref={new_id} required=true pattern="[a-z0-9_-]+" placeholder="sales-ivr" />
                <label for="new-flow-name">{"Name"}</label>
                <input id="new-flow-name" ref={new_name} placeholder="Sales IVR" />
                <button id="new-flow-create" type="submit">{"Create"}</button>
            </form>
            <p>
                <label for="import-flow">{"Import a flow (JSON): "}</label>
                <input id="import-flow" type="file" accept=".json,application/json" onchange={import} />
            </p>
            if let Some(text) = &*message {
                <p id="flows-message" class="error" role="alert">{text.clone()}</p>
            }
        </main>
    }
}
