//! The Yew UI. [`App`] holds who is logged in and which page is open: the login page, the
//! flow list, or the editor. Pages talk to the server through [`api`].

mod api;
mod campaigns;
mod canvas;
mod editor;
mod flows;
mod login;
mod props;
mod simulator;
mod util;

use serde::Deserialize;
use yew::prelude::*;

/// Mounts the app on the page's body.
pub fn mount() {
    yew::Renderer::<App>::new().render();
}

/// The logged-in user, as `/api/auth/me` describes them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Me {
    /// Login name.
    pub username: String,
    /// admin, supervisor or agent.
    pub role: String,
}

enum Page {
    Checking,
    Login,
    Flows,
    Campaigns,
    Editor(String),
}

/// Messages of [`App`].
pub enum Msg {
    /// `/api/auth/me` answered (or not).
    Checked(Option<Me>),
    /// Logged in.
    LoggedIn(Me),
    /// Open a flow in the editor.
    Open(String),
    /// Back to the list.
    ShowFlows,
    /// The campaigns.
    ShowCampaigns,
    /// Log out.
    Logout,
}

/// The whole app.
pub struct App {
    page: Page,
    me: Option<Me>,
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        ctx.link()
            .send_future(async { Msg::Checked(api::get::<Me>("/api/auth/me").await.ok()) });
        App {
            page: Page::Checking,
            me: None,
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Checked(Some(me)) | Msg::LoggedIn(me) => {
                self.me = Some(me);
                self.page = match util::hash_flow() {
                    Some(id) => Page::Editor(id),
                    None if util::hash_is("#campaigns") => Page::Campaigns,
                    None => Page::Flows,
                };
            }
            Msg::Checked(None) => self.page = Page::Login,
            Msg::Open(id) => {
                util::set_hash(&format!("flow/{id}"));
                self.page = Page::Editor(id);
            }
            Msg::ShowFlows => {
                util::set_hash("");
                self.page = Page::Flows;
            }
            Msg::ShowCampaigns => {
                util::set_hash("campaigns");
                self.page = Page::Campaigns;
            }
            Msg::Logout => {
                ctx.link().send_future(async {
                    let _ = api::send("POST", "/api/auth/logout", None, None).await;
                    Msg::Checked(None)
                });
                self.me = None;
            }
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let header = match &self.me {
            Some(me) => html! {
                <header class="top">
                    <a class="brand" href="#" onclick={link.callback(|e: MouseEvent| { e.prevent_default(); Msg::ShowFlows })}>{"Ramal"}</a>
                    <nav class="pages" aria-label="Pages">
                        <button id="nav-flows" onclick={link.callback(|_| Msg::ShowFlows)}>{"Flows"}</button>
                        <button id="nav-campaigns" onclick={link.callback(|_| Msg::ShowCampaigns)}>{"Campaigns"}</button>
                    </nav>
                    <span class="who">{format!("{} ({})", me.username, me.role)}</span>
                    <button id="logout" onclick={link.callback(|_| Msg::Logout)}>{"Log out"}</button>
                </header>
            },
            None => html! {},
        };
        let body = match &self.page {
            Page::Checking => html! { <p class="loading">{"Loading…"}</p> },
            Page::Login => html! { <login::Login on_login={link.callback(Msg::LoggedIn)} /> },
            Page::Flows => html! { <flows::FlowList on_open={link.callback(Msg::Open)} /> },
            Page::Campaigns => html! { <campaigns::Campaigns /> },
            Page::Editor(id) => html! {
                <editor::EditorPage key={id.clone()} flow_id={id.clone()} on_close={link.callback(|_| Msg::ShowFlows)} />
            },
        };
        html! { <div class="app">{header}{body}</div> }
    }
}
