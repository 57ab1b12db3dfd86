//! The HTTP API (axum). `router(state)` builds it, so tests call it without a socket.
//!
//! Every route is one row of a table: method, path, [`Access`], a summary and the handler.
//! The router, the guard that enforces access, the index page and [`routes`] (which the
//! role × route test walks) all come from that table, so a route cannot exist without
//! saying who may call it.
//!
//! Roles: `admin` may do everything; `supervisor` works on flows (read, save, publish,
//! validate, test, the schema), trunks, queues, campaigns, dispositions and contacts, but
//! not users or tokens; `agent` has `/api/auth/*`, reads the campaigns they are assigned
//! to with their dispositions, and records and reads their own disposition results — flow
//! documents and configuration are not theirs. Without logging in: `/`, `/api`, `/healthz`,
//! `/api/auth/login`, the OpenAPI document and page, and the editor's files.
//!
//! `/` is the browser editor when the server has one (`--editor`; [`pages`] serves its
//! files for every path outside `/api` that no route takes), else the API's index page,
//! which `/api` always is.

mod agent;
mod auth;
mod body;
mod calls;
mod campaigns;
mod contacts;
mod error;
mod events;
mod flow_cache;
mod flows;
mod nodes;
mod openapi;
mod pages;
mod session;
mod speech;
mod tokens;
mod trunks;
mod users;

pub use auth::{ClientAddress, CurrentUser, SESSION_COOKIE, Via};
pub use body::MAX_JSON_BYTES;
pub use contacts::MAX_IMPORT_BYTES;
pub use error::ApiError;
pub use events::{EVENT_BUFFER, Event, EventBus};
pub use openapi::document as openapi_document;
pub use session::{
    LOGIN_WINDOW_MS, LoginLimiter, MAX_LOGIN_FAILURES, SESSION_IDLE_MS, Sessions, sha256_hex,
};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware;
use axum::routing::{MethodFilter, MethodRouter, on};
use ramal_store::{Role, Store};
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Users, tokens, flows, the audit log.
    pub store: Store,
    /// Logged-in browsers.
    pub sessions: Arc<Sessions>,
    /// Failed logins.
    pub login_limiter: Arc<LoginLimiter>,
    /// What happens (calls, nodes, agents, campaigns), for `/api/events`; the call engine
    /// publishes into it too.
    pub events: EventBus,
    /// Held while a flow draft is checked and saved or published, so a publish never
    /// takes a draft other than the one it validated (on this node).
    flow_writes: Arc<tokio::sync::Mutex<()>>,
    /// Installed custom nodes and the Wasm host that checks uploads: the call engine's
    /// when calls are served, else made on first use.
    nodes: Arc<OnceLock<Arc<ramal_call::NodeModules>>>,
    /// The digest realm of agents' SIP accounts, and the running call engine's phones.
    sip_realm: String,
    phones: Option<ramal_call::Phones>,
    /// The browser editor's files, served at `/`.
    editor: Option<Arc<Path>>,
    /// Prompt speech for the editor's "listen" buttons: the same TTS and cache calls use.
    prompts: Option<Arc<ramal_call::Prompts>>,
    /// The call engine's agents (log in, pause, wrap-up), when calls are served.
    agents: Option<ramal_call::Agents>,
    /// Compiled published flows and documents' diagnostic counts.
    flow_cache: Arc<flow_cache::FlowCache>,
}

impl AppState {
    /// State over `store`, with no sessions yet.
    pub fn new(store: Store) -> AppState {
        AppState {
            store,
            sessions: Arc::new(Sessions::default()),
            login_limiter: Arc::new(LoginLimiter::default()),
            flow_writes: Arc::new(tokio::sync::Mutex::new(())),
            events: EventBus::default(),
            nodes: Arc::new(OnceLock::new()),
            sip_realm: "ramal".into(),
            phones: None,
            editor: None,
            prompts: None,
            agents: None,
            flow_cache: Arc::default(),
        }
    }

    /// Speaks prompts for `GET /api/prompts/speech` with `prompts`.
    pub fn with_prompts(mut self, prompts: ramal_call::Prompts) -> AppState {
        self.prompts = Some(Arc::new(prompts));
        self
    }

    /// Serves the browser editor from `dir` (`index.html` at `/`, its other files beside
    /// it); `None`: `/` is the API's index page.
    pub fn with_editor(mut self, dir: Option<PathBuf>) -> AppState {
        self.editor = dir.map(Arc::from);
        self
    }

    /// SIP accounts are made for `realm`; `phones` (the running call engine's) get them at
    /// once.
    pub fn with_phones(mut self, realm: String, phones: Option<ramal_call::Phones>) -> AppState {
        self.sip_realm = realm;
        self.phones = phones;
        self
    }

    /// Serves the agent API with the call engine's `agents`.
    pub fn with_agents(mut self, agents: Option<ramal_call::Agents>) -> AppState {
        self.agents = agents;
        self
    }

    /// Gives the running ACD the stored queues again, after a change. A failure is logged:
    /// the change itself is stored and applies at the next start.
    async fn reload_queues(&self) {
        let Some(agents) = &self.agents else { return };
        match crate::phones::acd_config(&self.store, agents.pause_reasons()).await {
            Ok(config) => {
                if agents.reconfigure(config).is_err() {
                    tracing::warn!("the call engine has stopped; queues not reloaded");
                }
            }
            Err(error) => tracing::error!(%error, "cannot read the queues to reload them"),
        }
    }

    /// Uses `nodes` (the call engine's) for custom-node uploads.
    pub fn with_nodes(self, nodes: Arc<ramal_call::NodeModules>) -> AppState {
        let _ = self.nodes.set(nodes);
        self
    }

    /// The custom nodes; without the call engine's, a host for checking uploads.
    fn nodes(&self) -> Result<Arc<ramal_call::NodeModules>, ApiError> {
        if let Some(nodes) = self.nodes.get() {
            return Ok(Arc::clone(nodes));
        }
        let config = ramal_wasm::HostConfig {
            pooling: false,
            ..ramal_wasm::HostConfig::default()
        };
        let host = ramal_wasm::WasmHost::new(config, Arc::new(ramal_wasm::NoHttp))
            .map_err(|error| ApiError::Internal(error.to_string()))?;
        let nodes = Arc::new(ramal_call::NodeModules::new(
            self.store.clone(),
            Arc::new(host),
        ));
        Ok(Arc::clone(self.nodes.get_or_init(|| nodes)))
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, logged in or not.
    Public,
    /// Any logged-in user.
    AnyUser,
    /// Supervisors and admins.
    Supervisor,
    /// Admins only.
    Admin,
}

impl Access {
    /// May `role` call a route with this access?
    pub fn allows(self, role: Role) -> bool {
        match self {
            Access::Public | Access::AnyUser => true,
            Access::Supervisor => matches!(role, Role::Supervisor | Role::Admin),
            Access::Admin => role == Role::Admin,
        }
    }
}

/// The HTTP methods the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
}

impl Verb {
    /// As an HTTP method.
    pub fn method(self) -> Method {
        match self {
            Verb::Get => Method::GET,
            Verb::Post => Method::POST,
            Verb::Put => Method::PUT,
            Verb::Delete => Method::DELETE,
        }
    }
    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Put => MethodFilter::PUT,
            Verb::Delete => MethodFilter::DELETE,
        }
    }
}

/// One route of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteInfo {
    /// Method.
    pub verb: Verb,
    /// Path, with `{name}` for parameters.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// What it does, for the index page.
    pub summary: &'static str,
}

struct Entry {
    info: RouteInfo,
    handler: MethodRouter<AppState>,
}

fn route<H, T>(
    verb: Verb,
    path: &'static str,
    access: Access,
    summary: &'static str,
    handler: H,
) -> Entry
where
    H: Handler<T, AppState>,
    T: 'static,
{
    Entry {
        info: RouteInfo {
            verb,
            path,
            access,
            summary,
        },
        handler: on(verb.filter(), handler),
    }
}

/// The whole API, one row per route.
#[rustfmt::skip] // a table: one route per line
fn table() -> Vec<Entry> {
    use Access::{Admin, AnyUser, Public, Supervisor};
    use Verb::{Delete, Get, Post, Put};
    vec![
        route(Get, "/", Public, "the browser editor (with `--editor`); without it, this page", pages::home),
        route(Get, "/api", Public, "this page: every route of the API", pages::api_index),
        route(Get, "/healthz", Public, "liveness: `ok`", || async { "ok" }),
        route(Post, "/api/auth/login", Public, "log in: `{username, password}` → session cookie", auth::login),
        route(Post, "/api/auth/logout", AnyUser, "end the session", auth::logout),
        route(Get, "/api/auth/me", AnyUser, "the logged-in user", auth::me),
        route(Get, "/api/users", Admin, "every user", users::list),
                route(Post, "/api/users", Admin, "create a user: `{username, display_name, password, role}`", users::create),
        route(Put, "/api/users/{id}/sip-password", Admin, "set the password the user's SIP phone registers with: `{password}` (stored as digest HA1s)", users::set_sip_password),
        route(Get, "/api/tokens", Admin, "API tokens (never their secrets)", tokens::list),
        route(Post, "/api/tokens", Admin, "create an API token: `{name, role, user_id?}`; the secret is shown once", tokens::create),
        route(Delete, "/api/tokens/{id}", Admin, "revoke an API token", tokens::revoke),
        route(Get, "/api/flows", Supervisor, "flows: published version, draft, diagnostics", flows::list),
        route(Post, "/api/flows/validate", Supervisor, "validate a document (body: the JSON)", flows::validate),
        route(Get, "/api/flows/{id}", Supervisor, "a flow: the draft, or `?version=N`", flows::get),
        route(Put, "/api/flows/{id}", Supervisor, "save the draft (body: the JSON); answers with its diagnostics", flows::save),
        route(Post, "/api/flows/{id}/publish", Supervisor, "publish the draft as the next version (refused if it has errors)", flows::publish),
        route(Post, "/api/flows/{id}/test", Supervisor, "run call scripts against the draft (body: the script)", flows::test),
        route(Get, "/api/prompts", Supervisor, "the prompt files (WAV) a `file` prompt may name", speech::files),
        route(Get, "/api/prompts/speech", Supervisor, "a prompt spoken as the engine speaks it: `?text=&voice=` → audio/wav (8 kHz mono)", speech::speak),
        route(Get, "/api/schema/flow", Supervisor, "the flow document's JSON Schema", flows::schema),
        route(Get, "/api/calls", Supervisor, "call records, newest first, with their paths: `?limit=N` (at most 500), `&flow_id=`, `&after=` the `x-next-after` header of the previous page", calls::list),
        route(Get, "/api/calls/{id}", Supervisor, "one call record with its executor trace", calls::get),
        route(Put, "/api/routes/{number}", Supervisor, "route calls to `number` to a flow: `{flow_id}`", calls::set_route),
        route(Get, "/api/trunks", Supervisor, "trunks (outbound routes); passwords are never shown", trunks::list),
        route(Post, "/api/trunks", Supervisor, "create a trunk: `{name, host, port, transport, username, password, caller_id, rewrite_rules}`", trunks::create),
        route(Get, "/api/trunks/{id}", Supervisor, "one trunk", trunks::get),
        route(Put, "/api/trunks/{id}", Supervisor, "replace a trunk (no `password` keeps it, `\"\"` removes it)", trunks::update),
        route(Delete, "/api/trunks/{id}", Supervisor, "delete a trunk no campaign uses", trunks::delete),
        route(Get, "/api/queues", Supervisor, "queues with their members", trunks::list_queues),
        route(Post, "/api/queues", Supervisor, "create a queue: `{name, strategy, ring_timeout_secs, …, overflow, members}`", trunks::create_queue),
        route(Get, "/api/queues/{id}", Supervisor, "one queue", trunks::get_queue),
        route(Put, "/api/queues/{id}", Supervisor, "replace a queue and its members", trunks::update_queue),
        route(Delete, "/api/queues/{id}", Supervisor, "delete a queue nothing uses", trunks::delete_queue),
        route(Get, "/api/campaigns", AnyUser, "campaigns (an agent: those they are assigned to)", campaigns::list),
        route(Post, "/api/campaigns", Supervisor, "create a campaign, as a draft", campaigns::create),
        route(Get, "/api/campaigns/{id}", AnyUser, "one campaign (an agent: one they are assigned to)", campaigns::get),
        route(Put, "/api/campaigns/{id}", Supervisor, "replace a campaign's configuration", campaigns::update),
        route(Delete, "/api/campaigns/{id}", Supervisor, "delete a campaign no call was dispositioned in", campaigns::delete),
        route(Post, "/api/campaigns/{id}/status", Supervisor, "`{status}`: draft → active ⇄ paused → finished", campaigns::set_status),
        route(Get, "/api/campaigns/{id}/dispositions", AnyUser, "a campaign's dispositions and their forms", campaigns::dispositions),
        route(Post, "/api/campaigns/{id}/dispositions", Supervisor, "add a disposition: `{name, positive, form?}`", campaigns::create_disposition),
        route(Put, "/api/campaigns/{id}/dispositions/{disposition_id}", Supervisor, "change a disposition (a form results used gets a new version)", campaigns::update_disposition),
        route(Delete, "/api/campaigns/{id}/dispositions/{disposition_id}", Supervisor, "delete a disposition no result uses", campaigns::delete_disposition),
        route(Get, "/api/campaigns/{id}/results", AnyUser, "disposition results by id, `?after=&limit=` (an agent: their own)", campaigns::results),
        route(Post, "/api/campaigns/{id}/results", AnyUser, "disposition a call: `{call_id, disposition_id, contact_id?, values}`", campaigns::record_result),
        route(Get, "/api/contact-lists", Supervisor, "contact lists", contacts::lists),
        route(Post, "/api/contact-lists", Supervisor, "create a list: `{name, default_country, duplicates?, columns?}`", contacts::create_list),
        route(Get, "/api/contact-lists/{id}", Supervisor, "one contact list", contacts::get_list),
        route(Get, "/api/contact-lists/{id}/contacts", Supervisor, "contacts by id, `?after=&limit=`, or `?phone=` (typed any way)", contacts::contacts),
        route(Post, "/api/contact-lists/{id}/contacts", Supervisor, "add a contact: `{fields, phones}`", contacts::add_contact),
        route(Get, "/api/contact-lists/{id}/imports", Supervisor, "a list's CSV imports, newest first", contacts::imports),
        route(Post, "/api/contact-lists/{id}/imports", Supervisor, "import a CSV (the body, streamed): `?mode=&encoding=&delimiter=&phones=&ignore=&country=&source=` → the report", contacts::import),
        route(Get, "/api/nodes", Supervisor, "installed custom nodes (Wasm) with their descriptions: ports, params schema", nodes::list),
        route(Post, "/api/nodes", Admin, "install a custom node (body: the component, application/wasm, ≤ 4 MiB)", nodes::upload),
        route(Get, "/api/agent", AnyUser, "your agent state: pause reasons, and the call you are on or wrapping up (caller, the flow's variables, the campaign's script, contacts with the caller's number, dispositions)", agent::me),
        route(Post, "/api/agent/login", AnyUser, "start taking calls (your SIP phone must be registered)", agent::login),
        route(Post, "/api/agent/logout", AnyUser, "stop taking calls (refused on a call)", agent::logout),
        route(Post, "/api/agent/pause", AnyUser, "pause: `{reason}`, one of the configured reasons", agent::pause),
        route(Post, "/api/agent/unpause", AnyUser, "take calls again", agent::unpause),
        route(Post, "/api/agent/disposition", AnyUser, "disposition your current or last call: `{disposition_id, contact_id?, values}`; ends wrap-up", agent::disposition),
        route(Get, "/api/agents", Supervisor, "every agent's state and every queue's wait", agent::all),
        route(Get, "/api/events", AnyUser, "WebSocket: calls, nodes, agent states, campaign progress (an agent: theirs)", events::stream),
        route(Get, "/api/openapi.json", Public, "this API as an OpenAPI 3.1 document", openapi::serve_document),
        route(Get, "/api/docs", Public, "the API documentation page", openapi::docs_page),
    ]
}

/// Every route: method, path, access and summary.
pub fn routes() -> Vec<RouteInfo> {
    table().into_iter().map(|entry| entry.info).collect()
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for Entry { info, handler } in table() {
        let handler = match info.access {
            Access::Public => handler,
            access => handler.route_layer(middleware::from_fn_with_state(
                (state.clone(), access),
                auth::authorize,
            )),
        };
        router = router.route(info.path, handler);
    }
    router
        .fallback(pages::files)
        .layer(DefaultBodyLimit::max(
            ramal_flow::document::MAX_DOCUMENT_BYTES,
        ))
        .with_state(state)
}

/// Now, Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// Reads a JSON request body; a bad one is a 400 in the API's error format.
fn parse_json<T: DeserializeOwned>(body: &str) -> Result<T, ApiError> {
    serde_json::from_str(body).map_err(|error| ApiError::BadRequest {
        code: "body.invalid",
        message: format!("the body is not the expected JSON: {error}"),
    })
}
