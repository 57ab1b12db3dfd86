//! The host: one wasmtime engine and linker, a cache of compiled modules keyed by the
//! SHA-256 of their bytes, and `run` — a fresh instance per run, under the limits.

use crate::bindings::Node;
use crate::bindings::NodePre;
use crate::bindings::ramal::node::types;
use crate::config::HostConfig;
use crate::error::{HostError, LoadError, RunError};
use crate::host::{RunState, Shared};
use crate::http::{Allowlist, HttpClient};
use crate::kv::KvStores;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store, Trap, UpdateDeadline};

/// The SHA-256 of a module's bytes: its identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleHash(pub [u8; 32]);

impl ModuleHash {
    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        ModuleHash(Sha256::digest(bytes).into())
    }
}

impl fmt::Display for ModuleHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

/// What a module says about itself (`describe()`), checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Description {
    /// Module name.
    pub name: String,
    /// Module version.
    pub version: String,
    /// One line for the palette.
    pub description: String,
    /// JSON Schema of the params.
    pub params_schema: Value,
    /// Output ports besides `error`.
    pub ports: Vec<String>,
}

/// A compiled, linked module, ready to instantiate.
pub struct LoadedModule {
    hash: ModuleHash,
    description: Description,
    name: Arc<str>,
    pre: NodePre<RunState>,
}

impl LoadedModule {
    /// Its hash.
    pub fn hash(&self) -> ModuleHash {
        self.hash
    }

    /// Its description.
    pub fn description(&self) -> &Description {
        &self.description
    }
}

impl fmt::Debug for LoadedModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedModule")
            .field("hash", &self.hash.to_string())
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

/// What a run sees of the call.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunInput {
    /// The call id.
    pub call_id: String,
    /// The flow's variables.
    pub variables: Map<String, Value>,
    /// The contact's fields (strings are passed as they are, other values as JSON).
    pub contact: Map<String, Value>,
    /// The node's params.
    pub params: Value,
    /// The digits typed last.
    pub digits: String,
}

/// What a run decided, checked against the module's ports and the limits.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeOutcome {
    /// The port (one the module declared, or `error`).
    pub port: String,
    /// Variables to set.
    pub variables: Map<String, Value>,
}

/// The WebAssembly host. Cheap to share (`Arc<WasmHost>`); `run` may be called from
/// many threads at once.
pub struct WasmHost {
    engine: Engine,
    linker: Linker<RunState>,
    shared: Arc<Shared>,
    modules: RwLock<HashMap<ModuleHash, Arc<LoadedModule>>>,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

impl fmt::Debug for WasmHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasmHost")
            .field("limits", &self.shared.limits)
            .finish_non_exhaustive()
    }
}

/// How often the epoch advances: the resolution of the time budget.
const TICK: Duration = Duration::from_millis(1);

impl WasmHost {
    /// Starts a host (and its epoch ticker thread).
    pub fn new(config: HostConfig, http: Arc<dyn HttpClient>) -> Result<Self, HostError> {
        let allowlist = Allowlist::new(&config.http_allowlist)?;
        let limits = &config.limits;
        let mut wasm = wasmtime::Config::new();
        wasm.epoch_interruption(true)
            .consume_fuel(limits.fuel.is_some())
            .max_wasm_stack(limits.stack_bytes)
            .wasm_backtrace_max_frames(None);
        if config.pooling {
            let runs = config.max_concurrent_runs.max(1);
            let mut pool = wasmtime::PoolingAllocationConfig::new();
            pool.total_component_instances(runs)
                .total_core_instances(runs.saturating_mul(4))
                .total_memories(runs.saturating_mul(2))
                .total_tables(runs.saturating_mul(4))
                .max_memory_size(limits.memory_bytes)
                .table_elements(limits.table_elements)
                // Reset a freed slot's touched pages with memset instead of madvise, so
                // the next run does not page-fault them back in (Linux ≥ 6.7 scans which
                // pages are resident; older kernels reset the first bytes).
                .linear_memory_keep_resident(limits.memory_bytes.min(4 << 20))
                .table_keep_resident(64 << 10)
                .pagemap_scan(wasmtime::Enabled::Auto);
            wasm.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = Engine::new(&wasm).map_err(|error| HostError::Engine(error.to_string()))?;
        let mut linker = Linker::new(&engine);
        Node::add_to_linker::<RunState, wasmtime::component::HasSelf<RunState>>(
            &mut linker,
            |state| state,
        )
        .map_err(|error| HostError::Engine(error.to_string()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let engine = engine.weak();
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("ramal-wasm-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(TICK);
                        match engine.upgrade() {
                            Some(engine) => engine.increment_epoch(),
                            None => break,
                        }
                    }
                })
                .map_err(|error| HostError::Engine(error.to_string()))?
        };
        Ok(WasmHost {
            engine,
            linker,
            shared: Arc::new(Shared {
                kv: KvStores::new(config.kv.clone()),
                limits: config.limits,
                http,
                allowlist,
            }),
            modules: RwLock::new(HashMap::new()),
            stop,
            ticker: Some(ticker),
        })
    }

    /// Validates, compiles and links a component and reads its description; cached by
    /// hash, so loading the same bytes again costs a hash.
    pub fn load(&self, bytes: &[u8]) -> Result<Arc<LoadedModule>, LoadError> {
        let hash = ModuleHash::of(bytes);
        if let Some(module) = self.module(hash) {
            return Ok(module);
        }
        let component = Component::new(&self.engine, bytes)
            .map_err(|error| LoadError::Invalid(format!("{error:#}")))?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .and_then(NodePre::new)
            .map_err(|error| LoadError::World(format!("{error:#}")))?;
        let mut store = self.store(Arc::from(""), String::new());
        let node = pre
            .instantiate(&mut store)
            .map_err(|error| LoadError::Describe(classify(&error, &store)))?;
        let described = node
            .call_describe(&mut store)
            .map_err(|error| LoadError::Describe(classify(&error, &store)))?;
        let description = check_description(described)?;
        let module = Arc::new(LoadedModule {
            hash,
            name: Arc::from(description.name.as_str()),
            description,
            pre,
        });
        self.modules
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(hash, Arc::clone(&module));
        Ok(module)
    }

    /// A module loaded before.
    pub fn module(&self, hash: ModuleHash) -> Option<Arc<LoadedModule>> {
        self.modules
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&hash)
            .cloned()
    }

    fn store(&self, module: Arc<str>, call_id: String) -> Store<RunState> {
        let state = RunState::new(Arc::clone(&self.shared), module, call_id);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        if let Some(fuel) = self.shared.limits.fuel {
            // Fails only when fuel is off, and it is on when a budget is set (see `new`).
            let _ = store.set_fuel(fuel);
        }
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|context| {
            Ok(if Instant::now() >= context.data().deadline {
                UpdateDeadline::Interrupt
            } else {
                UpdateDeadline::Continue(1)
            })
        });
        store
    }

    /// Runs `module` once, in a fresh instance. Blocking: CPU work plus the guest's HTTP
    /// requests.
    pub fn run(&self, module: &LoadedModule, input: &RunInput) -> Result<NodeOutcome, RunError> {
        let context = to_wit(input);
        let mut store = self.store(Arc::clone(&module.name), input.call_id.clone());
        let node = module
            .pre
            .instantiate(&mut store)
            .map_err(|error| classify(&error, &store))?;
        let result = node
            .call_run(&mut store, &context)
            .map_err(|error| classify(&error, &store))?;
        match result {
            Ok(outcome) => check_outcome(
                outcome,
                &module.description,
                self.shared.limits.output_bytes,
            ),
            Err(types::NodeError::InvalidParams(message)) => {
                Err(RunError::InvalidParams(shorten(message)))
            }
            Err(types::NodeError::Failed(message)) => Err(RunError::Failed(shorten(message))),
        }
    }
}

impl Drop for WasmHost {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}

fn shorten(mut message: String) -> String {
    const MAX: usize = 500;
    if message.len() > MAX {
        let mut end = MAX;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    message
}

/// Turns wasmtime's error into what happened.
fn classify(error: &wasmtime::Error, store: &Store<RunState>) -> RunError {
    let state = store.data();
    if error.is::<wasmtime::PoolConcurrencyLimitError>() {
        return RunError::Busy;
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => RunError::Timeout {
            budget: state.shared.limits.time_budget,
        },
        Some(Trap::OutOfFuel) => RunError::CpuLimit {
            fuel: state.shared.limits.fuel.unwrap_or(0),
        },
        Some(Trap::StackOverflow) => RunError::StackOverflow,
        Some(_) if state.limiter.memory_refused => RunError::MemoryLimit {
            limit: state.shared.limits.memory_bytes,
        },
        Some(trap) => RunError::Trap(trap.to_string()),
        None if state.limiter.memory_refused => RunError::MemoryLimit {
            limit: state.shared.limits.memory_bytes,
        },
        None => RunError::Instantiate(shorten(format!("{error:#}"))),
    }
}

fn to_wit(input: &RunInput) -> types::Context {
    types::Context {
        call_id: input.call_id.clone(),
        variables: input
            .variables
            .iter()
            .map(|(name, value)| types::Variable {
                name: name.clone(),
                value: value.to_string(),
            })
            .collect(),
        contact: input
            .contact
            .iter()
            .map(|(name, value)| types::Field {
                name: name.clone(),
                value: match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                },
            })
            .collect(),
        params: input.params.to_string(),
        digits: input.digits.clone(),
    }
}

fn is_name(text: &str, max: usize, extra: &[u8]) -> bool {
    !text.is_empty()
        && text.len() <= max
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || extra.contains(&b))
}

/// A flow variable name: a letter or `_`, then letters, digits, `_`.
fn is_variable_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= 64
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !["call", "contact", "true", "false", "null", "in", "has"].contains(&name)
}

fn check_description(described: types::Descriptor) -> Result<Description, LoadError> {
    let bad = |message: String| Err(LoadError::BadDescription(message));
    if !is_name(&described.name, 64, b"-") {
        return bad(format!(
            "name `{}` is not lowercase letters, digits and -",
            shorten(described.name)
        ));
    }
    let version_ok = !described.version.is_empty()
        && described.version.len() <= 32
        && described
            .version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-+".contains(&b));
    if !version_ok {
        return bad(format!(
            "version `{}` is not like 1.2.0",
            shorten(described.version)
        ));
    }
    if described.description.len() > 500 {
        return bad("the description is longer than 500 bytes".to_owned());
    }
    if described.params_schema.len() > 64 << 10 {
        return bad("the params schema is larger than 64 KiB".to_owned());
    }
    let params_schema: Value = match serde_json::from_str(&described.params_schema) {
        Ok(schema @ (Value::Object(_) | Value::Bool(_))) => schema,
        _ => return bad("the params schema is not a JSON Schema object".to_owned()),
    };
    if described.ports.is_empty() || described.ports.len() > 16 {
        return bad("a node declares 1 to 16 ports".to_owned());
    }
    for (index, port) in described.ports.iter().enumerate() {
        if !is_name(port, 32, b"-_") || port == "error" {
            return bad(format!(
                "port `{}` is not a port name (or is `error`)",
                shorten(port.clone())
            ));
        }
        if described.ports[..index].contains(port) {
            return bad(format!("port `{port}` is declared twice"));
        }
    }
    Ok(Description {
        name: described.name,
        version: described.version,
        description: described.description,
        params_schema,
        ports: described.ports,
    })
}

fn check_outcome(
    outcome: types::Outcome,
    description: &Description,
    limit: usize,
) -> Result<NodeOutcome, RunError> {
    let bytes = outcome.port.len()
        + outcome
            .set
            .iter()
            .map(|variable| variable.name.len() + variable.value.len())
            .sum::<usize>();
    if bytes > limit {
        return Err(RunError::OutputTooLarge { bytes, limit });
    }
    if outcome.port != "error" && !description.ports.contains(&outcome.port) {
        return Err(RunError::BadOutcome(format!(
            "port `{}` is not one of the module's ports ({})",
            outcome.port,
            description.ports.join(", ")
        )));
    }
    let mut variables = Map::new();
    for variable in outcome.set {
        if !is_variable_name(&variable.name) {
            return Err(RunError::BadOutcome(format!(
                "`{}` is not a variable name",
                variable.name
            )));
        }
        let value = serde_json::from_str(&variable.value).map_err(|_| {
            RunError::BadOutcome(format!("the value of `{}` is not JSON", variable.name))
        })?;
        variables.insert(variable.name, value);
    }
    Ok(NodeOutcome {
        port: outcome.port,
        variables,
    })
}

#[cfg(test)]
mod tests;
