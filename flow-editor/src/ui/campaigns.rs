//! The campaign builder: the campaigns list and a wizard over every campaign field — the
//! form is generated from the API's own OpenAPI schema of `CampaignSpec`, so it offers
//! exactly what the server accepts — then the campaign's dispositions and its status.
//! Whatever the server refuses comes back as field paths, shown under their fields.

use super::api;
use super::props::fields;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

/// The wizard's steps: a title and the top-level fields on it.
const STEPS: &[(&str, &[&str])] = &[
    (
        "Campaign",
        &[
            "name",
            "type",
            "interaction",
            "objective",
            "record_calls",
            "speech",
            "channels",
        ],
    ),
    (
        "Contacts",
        &["contact_list_id", "duplicates", "address_field"],
    ),
    ("Dialing", &["trunk_id", "caller_id", "dialer"]),
    (
        "Integration",
        &["webhook", "external_url", "external_system", "external_id"],
    ),
    ("People", &["agents", "supervisors"]),
];

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Named {
    id: i64,
    name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Disposition {
    id: i64,
    name: String,
    #[serde(default)]
    positive: bool,
}

/// What the page loaded.
#[derive(Debug, Clone, PartialEq, Default)]
struct Loaded {
    /// The OpenAPI document (its schemas resolve `$ref`s).
    openapi: Value,
    campaigns: Vec<Value>,
    lists: Vec<Named>,
    trunks: Vec<Named>,
}

async fn load() -> Result<Loaded, String> {
    let openapi = api::get::<Value>("/api/openapi.json")
        .await
        .map_err(|e| e.message)?;
    let campaigns = api::get::<Vec<Value>>("/api/campaigns")
        .await
        .map_err(|e| e.message)?;
    let lists = api::get::<Vec<Named>>("/api/contact-lists")
        .await
        .unwrap_or_default();
    let trunks = api::get::<Vec<Named>>("/api/trunks")
        .await
        .unwrap_or_default();
    Ok(Loaded {
        openapi,
        campaigns,
        lists,
        trunks,
    })
}

/// The schema of one step: `CampaignSpec`'s properties on it, with the contact lists and
/// trunks there are named in the help of their id fields.
fn step_schema(loaded: &Loaded, names: &[&str]) -> Value {
    let spec = &loaded.openapi["components"]["schemas"]["CampaignSpec"];
    let mut properties = Map::new();
    for name in names {
        if let Some(property) = spec["properties"].get(*name) {
            let mut property = property.clone();
            let known = match *name {
                "contact_list_id" => Some(&loaded.lists),
                "trunk_id" => Some(&loaded.trunks),
                _ => None,
            };
            if let Some(known) = known {
                let listed: Vec<String> = known
                    .iter()
                    .map(|n| format!("{} = {}", n.id, n.name))
                    .collect();
                property["description"] = Value::from(if listed.is_empty() {
                    "none exist yet".to_owned()
                } else {
                    format!("the id: {}", listed.join(", "))
                });
            }
            properties.insert((*name).to_owned(), property);
        }
    }
    let required: Vec<&Value> = spec["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r.as_str().is_some_and(|r| names.contains(&r)))
        .collect();
    json!({ "type": "object", "properties": properties, "required": required })
}

/// The campaigns page.
#[function_component]
pub fn Campaigns() -> Html {
    let loaded = use_state(|| None::<Result<Loaded, String>>);
    let editing = use_state(|| None::<(Option<i64>, Value)>);
    let step = use_state(|| 0usize);
    let errors = use_state(Vec::<(String, String)>::new);
    let message = use_state(|| None::<(bool, String)>);
    let dispositions = use_state(Vec::<Disposition>::new);
    let reload = {
        let loaded = loaded.clone();
        Callback::from(move |_: ()| {
            let loaded = loaded.clone();
            wasm_bindgen_futures::spawn_local(async move { loaded.set(Some(load().await)) });
        })
    };
    {
        let reload = reload.clone();
        use_effect_with((), move |_| reload.emit(()));
    }
    let load_dispositions = {
        let dispositions = dispositions.clone();
        Callback::from(move |id: i64| {
            let dispositions = dispositions.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let list =
                    api::get::<Vec<Disposition>>(&format!("/api/campaigns/{id}/dispositions"))
                        .await;
                dispositions.set(list.unwrap_or_default());
            });
        })
    };
    let loaded_value = match &*loaded {
        None => return html! { <main class="campaigns"><p>{"Loading campaigns…"}</p></main> },
        Some(Err(error)) => {
            return html! { <main class="campaigns"><p class="error" role="alert">{error.clone()}</p></main> };
        }
        Some(Ok(loaded)) => loaded.clone(),
    };
    let open = {
        let (editing, step, errors, message, load_dispositions) = (
            editing.clone(),
            step.clone(),
            errors.clone(),
            message.clone(),
            load_dispositions.clone(),
        );
        move |id: Option<i64>, value: Value| {
            let (editing, step, errors, message, load_dispositions) = (
                editing.clone(),
                step.clone(),
                errors.clone(),
                message.clone(),
                load_dispositions.clone(),
            );
            Callback::from(move |_: MouseEvent| {
                if let Some(id) = id {
                    load_dispositions.emit(id);
                }
                editing.set(Some((id, value.clone())));
                step.set(0);
                errors.set(Vec::new());
                message.set(None);
            })
        }
    };
    let list = html! {
        <table id="campaign-list">
            <thead><tr><th>{"Campaign"}</th><th>{"Type"}</th><th>{"Status"}</th><th></th></tr></thead>
            <tbody>
            { for loaded_value.campaigns.iter().map(|campaign| {
                let id = campaign["id"].as_i64();
                let mut spec = campaign.clone();
                if let Some(object) = spec.as_object_mut() {
                    for key in ["id", "status", "created_at", "updated_at"] {
                        object.remove(key);
                    }
                }
                html! {
                    <tr data-campaign-id={id.map(|i| i.to_string()).unwrap_or_default()}>
                        <td>{campaign["name"].as_str().unwrap_or_default()}</td>
                        <td>{campaign["type"].as_str().unwrap_or_default()}</td>
                        <td>{campaign["status"].as_str().unwrap_or_default()}</td>
                        <td><button class="open-campaign" onclick={open(id, spec)}>{"Edit"}</button></td>
                    </tr>
                }
            }) }
            </tbody>
        </table>
    };
    let new_campaign = json!({ "name": "", "type": "inbound" });
    let wizard = match &*editing {
        None => html! {},
        Some((id, value)) => {
            let id = *id;
            let (title, names) = STEPS[(*step).min(STEPS.len() - 1)];
            let schema = step_schema(&loaded_value, names);
            let current_errors = (*errors).clone();
            let problems = move |path: &[String]| -> Vec<String> {
                let wanted = path.join(".");
                current_errors
                    .iter()
                    .filter(|(at, _)| {
                        *at == wanted
                            || at.starts_with(&format!("{wanted}."))
                            || at.starts_with(&format!("{wanted}["))
                    })
                    .map(|(at, text)| format!("{at}: {text}"))
                    .collect()
            };
            let on_change = {
                let editing = editing.clone();
                Callback::from(move |value: Value| editing.set(Some((id, value))))
            };
            let save = {
                let (value, errors, message, editing, reload) = (
                    value.clone(),
                    errors.clone(),
                    message.clone(),
                    editing.clone(),
                    reload.clone(),
                );
                Callback::from(move |_: MouseEvent| {
                    let (value, errors, message, editing, reload) = (
                        value.clone(),
                        errors.clone(),
                        message.clone(),
                        editing.clone(),
                        reload.clone(),
                    );
                    wasm_bindgen_futures::spawn_local(async move {
                        let (method, path) = match id {
                            Some(id) => ("PUT", format!("/api/campaigns/{id}")),
                            None => ("POST", "/api/campaigns".to_owned()),
                        };
                        match api::json::<Value>(method, &path, Some(value.to_string())).await {
                            Ok(saved) => {
                                errors.set(Vec::new());
                                message.set(Some((true, "campaign saved".into())));
                                let mut spec = saved.clone();
                                let new_id = saved["id"].as_i64();
                                if let Some(object) = spec.as_object_mut() {
                                    for key in ["id", "status", "created_at", "updated_at"] {
                                        object.remove(key);
                                    }
                                }
                                editing.set(Some((new_id, spec)));
                                reload.emit(());
                            }
                            Err(error) => {
                                errors.set(error.fields.clone());
                                message.set(Some((false, error.message)));
                            }
                        }
                    });
                })
            };
            let steps = STEPS.iter().enumerate().map(|(index, (name, step_names))| {
                let step = step.clone();
                let has_errors = errors.iter().any(|(at, _)| step_names.iter().any(|n| at == n || at.starts_with(&format!("{n}.")) || at.starts_with(&format!("{n}["))));
                html! {
                    <button class={classes!("step", has_errors.then_some("error"))} role="tab"
                        aria-selected={(index == *step).to_string()} onclick={Callback::from(move |_| step.set(index))}>
                        {format!("{}. {name}", index + 1)}
                    </button>
                }
            });
            html! {
                <section class="wizard" aria-label="Campaign">
                    <h2>{match id { Some(id) => format!("Campaign {id}"), None => "New campaign".to_owned() }}</h2>
                    <div class="tabs" role="tablist">{ for steps }</div>
                    <fieldset><legend>{title}</legend>
                        { fields(&schema, &loaded_value.openapi, value, &problems, on_change) }
                    </fieldset>
                    <button id="campaign-save" onclick={save}>{"Save campaign"}</button>
                    if let Some(id) = id {
                        { dispositions_panel(id, &dispositions, load_dispositions.clone(), message.clone()) }
                        { status_panel(id, message.clone(), reload.clone()) }
                    }
                </section>
            }
        }
    };
    html! {
        <main class="campaigns">
            <h1>{"Campaigns"}</h1>
            {list}
            <button id="new-campaign" onclick={open(None, new_campaign)}>{"New campaign"}</button>
            <div class="campaign-message" role="status">
                { for message.iter().map(|(ok, text)| html! { <p id="campaign-message" class={classes!(if *ok { "ok" } else { "error" })}>{text.clone()}</p> }) }
            </div>
            {wizard}
        </main>
    }
}

/// A campaign's dispositions, and a form to add one (with an optional form of fields).
fn dispositions_panel(
    id: i64,
    dispositions: &[Disposition],
    reload: Callback<i64>,
    message: UseStateHandle<Option<(bool, String)>>,
) -> Html {
    let add = Callback::from(move |event: SubmitEvent| {
        event.prevent_default();
        let document = web_sys::window().and_then(|w| w.document());
        let input = |name: &str| {
            document
                .as_ref()
                .and_then(|d| d.get_element_by_id(name))
                .and_then(|e| wasm_bindgen::JsCast::dyn_into::<HtmlInputElement>(e).ok())
        };
        let name = input("disposition-name")
            .map(|i| i.value())
            .unwrap_or_default();
        let positive = input("disposition-positive").is_some_and(|i| i.checked());
        let form_text = document
            .as_ref()
            .and_then(|d| d.get_element_by_id("disposition-form"))
            .and_then(|e| wasm_bindgen::JsCast::dyn_into::<HtmlTextAreaElement>(e).ok())
            .map(|t| t.value())
            .unwrap_or_default();
        let mut body = json!({ "name": name, "positive": positive });
        if !form_text.trim().is_empty() {
            match serde_json::from_str::<Value>(&form_text) {
                Ok(form) => body["form"] = form,
                Err(error) => {
                    message.set(Some((false, format!("the form is not JSON: {error}"))));
                    return;
                }
            }
        }
        let (reload, message) = (reload.clone(), message.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let path = format!("/api/campaigns/{id}/dispositions");
            match api::send("POST", &path, Some(body.to_string()), None).await {
                Ok(_) => {
                    message.set(Some((true, "disposition added".into())));
                    reload.emit(id);
                }
                Err(error) => message.set(Some((false, error.message))),
            }
        });
    });
    html! {
        <section class="dispositions" aria-label="Dispositions">
            <h3>{"Dispositions"}</h3>
            <ul id="dispositions">
                { for dispositions.iter().map(|d| html! {
                    <li data-disposition-id={d.id.to_string()}>{&d.name}{if d.positive { " (positive)" } else { "" }}</li>
                }) }
            </ul>
            <form onsubmit={add} aria-label="Add a disposition">
                <label for="disposition-name">{"Name"}</label>
                <input id="disposition-name" required=true />
                <label class="choice"><input id="disposition-positive" type="checkbox" />{" positive (counts towards the objective)"}</label>
                <label for="disposition-form">{"Form (JSON, optional): fields the agent fills in"}</label>
                <textarea id="disposition-form" rows="3" placeholder={r#"{"fields": [{"name": "amount", "label": "Amount", "type": "number", "required": true}]}"#} />
                <button id="disposition-add" type="submit">{"Add disposition"}</button>
            </form>
        </section>
    }
}

/// Status changes: draft → active ⇄ paused → finished.
fn status_panel(
    id: i64,
    message: UseStateHandle<Option<(bool, String)>>,
    reload: Callback<()>,
) -> Html {
    let set = move |status: &'static str| {
        let (message, reload) = (message.clone(), reload.clone());
        Callback::from(move |_: MouseEvent| {
            let (message, reload) = (message.clone(), reload.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let path = format!("/api/campaigns/{id}/status");
                match api::send(
                    "POST",
                    &path,
                    Some(json!({ "status": status }).to_string()),
                    None,
                )
                .await
                {
                    Ok(_) => {
                        message.set(Some((true, format!("campaign {status}"))));
                        reload.emit(());
                    }
                    Err(error) => message.set(Some((false, error.message))),
                }
            });
        })
    };
    html! {
        <section class="status" aria-label="Status">
            <h3>{"Status"}</h3>
            <button id="campaign-activate" onclick={set("active")}>{"Activate"}</button>
            <button id="campaign-pause" onclick={set("paused")}>{"Pause"}</button>
            <button id="campaign-finish" onclick={set("finished")}>{"Finish"}</button>
        </section>
    }
}
