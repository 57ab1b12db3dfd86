//! The login page: `POST /api/auth/login` sets the session cookie.

use super::{Me, api};
use serde_json::json;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Properties of [`Login`].
#[derive(Properties, PartialEq)]
pub struct Props {
    /// Called with the user once logged in.
    pub on_login: Callback<Me>,
}

/// The login form.
#[function_component]
pub fn Login(props: &Props) -> Html {
    let username = use_node_ref();
    let password = use_node_ref();
    let error = use_state(|| None::<String>);
    let busy = use_state(|| false);
    let onsubmit = {
        let (username, password, error, busy) = (
            username.clone(),
            password.clone(),
            error.clone(),
            busy.clone(),
        );
        let on_login = props.on_login.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let value = |r: &NodeRef| {
                r.cast::<HtmlInputElement>()
                    .map(|input| input.value())
                    .unwrap_or_default()
            };
            let body = json!({ "username": value(&username), "password": value(&password) });
            let (error, busy, on_login) = (error.clone(), busy.clone(), on_login.clone());
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                match api::json::<Me>("POST", "/api/auth/login", Some(body.to_string())).await {
                    Ok(me) => on_login.emit(me),
                    Err(failure) => error.set(Some(failure.message)),
                }
                busy.set(false);
            });
        })
    };
    html! {
        <main class="login">
            <form {onsubmit} aria-label="Log in">
                <h1>{"Ramal"}</h1>
                <p>{"Call flows and campaigns. Log in to edit them."}</p>
                <label for="login-username">{"User"}</label>
                <input id="login-username" ref={username} autocomplete="username" required=true />
                <label for="login-password">{"Password"}</label>
                <input id="login-password" ref={password} type="password" autocomplete="current-password" required=true />
                <button id="login-submit" type="submit" disabled={*busy}>{"Log in"}</button>
                if let Some(message) = &*error {
                    <p id="login-error" class="error" role="alert">{message.clone()}</p>
                }
            </form>
        </main>
    }
}
