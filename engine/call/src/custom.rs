//! Custom (Wasm) nodes on calls: the registry of installed modules (in the store) joined to
//! the Wasm host (`ramal-wasm`). Upload checks a module by loading it and reading its
//! `describe()`; a call's `RunCustomNode` loads the pinned (module, version) once, runs it
//! on a blocking thread and answers the executor with `CustomNodeFinished`.

use ramal_flow::compile::CustomNodeInfo;
use ramal_flow::execution::CustomOutcome;
use ramal_store::{NewNodeModule, NodeModule, Store, StoreError};
use ramal_wasm::{
    HttpClient, HttpFailure, HttpRequest, HttpResponse, LoadError, LoadedModule, RunInput, WasmHost,
};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// Why a module was not installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The host refused it (not a component, wrong world, bad description, describe failed).
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The store refused it (a conflict: the same name and version with other bytes).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The loading thread died.
    #[error("the module could not be checked")]
    Join,
}

/// Installed modules and the host that runs them. Shared by every call (and the API).
pub struct NodeModules {
    store: Store,
    host: Arc<WasmHost>,
    loaded: Mutex<HashMap<(String, String), Arc<LoadedModule>>>,
}

impl std::fmt::Debug for NodeModules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeModules").finish_non_exhaustive()
    }
}

impl NodeModules {
    /// Modules in `store`, run by `host`.
    pub fn new(store: Store, host: Arc<WasmHost>) -> NodeModules {
        NodeModules {
            store,
            host,
            loaded: Mutex::new(HashMap::new()),
        }
    }

    /// Checks `wasm` (compiles it and reads `describe()`) and stores it, audited as done
    /// `by` that user.
    pub async fn install(
        &self,
        wasm: Vec<u8>,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<NodeModule, InstallError> {
        let host = Arc::clone(&self.host);
        let (module, wasm) = tokio::task::spawn_blocking(move || {
            let module = host.load(&wasm);
            (module, wasm)
        })
        .await
        .map_err(|_| InstallError::Join)?;
        let module = module?;
        let description = module.description();
        let stored = self
            .store
            .add_node_module(
                &NewNodeModule {
                    hash: module.hash().to_string(),
                    name: description.name.clone(),
                    version: description.version.clone(),
                    description: serde_json::to_value(description).unwrap_or(Value::Null),
                    wasm,
                },
                by,
                now_ms,
            )
            .await?;
        Ok(stored)
    }

    /// What the flow compiler needs: each installed (module, version) and its ports.
    pub async fn custom_nodes(
        &self,
    ) -> Result<BTreeMap<(String, String), CustomNodeInfo>, StoreError> {
        Ok(custom_node_infos(self.store.node_modules().await?))
    }

    async fn module(&self, name: &str, version: &str) -> Result<Arc<LoadedModule>, String> {
        let key = (name.to_owned(), version.to_owned());
        if let Some(module) = self.loaded.lock().await.get(&key) {
            return Ok(Arc::clone(module));
        }
        let (_, wasm) = self
            .store
            .node_module_wasm(name, version)
            .await
            .map_err(|error| error.to_string())?;
        let host = Arc::clone(&self.host);
        let module = tokio::task::spawn_blocking(move || host.load(&wasm))
            .await
            .map_err(|_| "the module could not be loaded".to_owned())?
            .map_err(|error| error.to_string())?;
        self.loaded.lock().await.insert(key, Arc::clone(&module));
        Ok(module)
    }

    /// Runs one `RunCustomNode` command: the answer for `CustomNodeFinished`.
    pub async fn run(
        &self,
        module: &str,
        version: &str,
        params: Value,
        variables: Map<String, Value>,
        call: &Value,
        contact: &Value,
    ) -> Result<CustomOutcome, String> {
        let loaded = self.module(module, version).await?;
        let digits_from = params
            .get("digits_from")
            .and_then(Value::as_str)
            .unwrap_or("digits");
        let digits = match variables.get(digits_from) {
            Some(Value::String(digits)) => digits.clone(),
            Some(Value::Number(number)) => number.to_string(),
            _ => String::new(),
        };
        let input = RunInput {
            call_id: call["id"].as_str().unwrap_or_default().to_owned(),
            contact: contact.as_object().cloned().unwrap_or_default(),
            variables,
            params,
            digits,
        };
        let host = Arc::clone(&self.host);
        let outcome = tokio::task::spawn_blocking(move || host.run(&loaded, &input))
            .await
            .map_err(|_| "the custom node's thread died".to_owned())?
            .map_err(|error| error.to_string())?;
        Ok(CustomOutcome {
            port: outcome.port,
            variables: outcome.variables,
        })
    }
}

/// Guests' HTTP through reqwest, driven from the run's blocking thread. No redirects (a
/// redirect could leave the allowlist), a body cap, the host's timeout.
#[derive(Debug, Clone)]
pub struct ReqwestHttp {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl ReqwestHttp {
    /// A client on the current tokio runtime.
    pub fn new() -> Result<ReqwestHttp, crate::webhook::ClientError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .user_agent(concat!("Ramal-node/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(2))
            .build()?;
        Ok(ReqwestHttp {
            client,
            runtime: tokio::runtime::Handle::current(),
        })
    }

    async fn send_async(
        &self,
        request: HttpRequest,
        max_body: usize,
    ) -> Result<HttpResponse, HttpFailure> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| HttpFailure::Transport("bad method".to_owned()))?;
        let mut builder = self.client.request(method, &request.url);
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        let mut response = builder.body(request.body).send().await.map_err(failure)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                value
                    .to_str()
                    .ok()
                    .map(|value| (name.as_str().to_owned(), value.to_owned()))
            })
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failure)? {
            if body.len() + chunk.len() > max_body {
                return Err(HttpFailure::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

fn failure(error: reqwest::Error) -> HttpFailure {
    if error.is_timeout() {
        HttpFailure::Timeout
    } else if error.is_connect() {
        HttpFailure::Transport("could not connect".to_owned())
    } else if error.is_redirect() {
        HttpFailure::Transport("redirects are not followed".to_owned())
    } else {
        HttpFailure::Transport("request failed".to_owned())
    }
}

impl HttpClient for ReqwestHttp {
    fn send(
        &self,
        request: HttpRequest,
        timeout: Duration,
        max_body: usize,
    ) -> Result<HttpResponse, HttpFailure> {
        self.runtime.block_on(async {
            tokio::time::timeout(timeout, self.send_async(request, max_body))
                .await
                .unwrap_or(Err(HttpFailure::Timeout))
        })
    }
}

/// The flow compiler's view of installed modules: each (module, version) and the output
/// ports its `describe()` gave.
pub fn custom_node_infos(
    modules: impl IntoIterator<Item = NodeModule>,
) -> BTreeMap<(String, String), CustomNodeInfo> {
    modules
        .into_iter()
        .map(|module| {
            let ports = module.description["ports"]
                .as_array()
                .map(|ports| {
                    ports
                        .iter()
                        .filter_map(|port| port.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            ((module.name, module.version), CustomNodeInfo { ports })
        })
        .collect()
}
