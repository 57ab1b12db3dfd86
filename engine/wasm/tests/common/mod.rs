//! Shared by the host's integration tests: the real components `cargo xtask components`
//! builds from `guest-sdk/`, and hosts with a fake HTTP client.
#![allow(dead_code)]

use ramal_wasm::{
    HostConfig, HttpClient, HttpFailure, HttpRequest, HttpResponse, LoadedModule, WasmHost,
};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `<target>/wasm32-unknown-unknown/components`, found from this test binary's path
/// (`<target>/<profile>/deps/<binary>`).
pub fn components_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("RAMAL_COMPONENTS") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("the test binary has a path");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("the test binary lives in <target>/<profile>/deps");
    target.join("wasm32-unknown-unknown/components")
}

/// The bytes of component `name`, or `None` (with a loud warning) when it was not built —
/// a failure under `CI=true`.
pub fn component(name: &str) -> Option<Vec<u8>> {
    let path = components_dir().join(format!("{name}.wasm"));
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(error) => {
            let message = format!(
                "\n!!! component {} is missing ({error}): run `cargo xtask components` (cargo xtask test does).\n",
                path.display()
            );
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{message}under CI this is a failure"
            );
            eprintln!("{message}!!! this test did NOT run.\n");
            None
        }
    }
}

/// A fake HTTP client: answers every request with one response and records what it saw.
#[derive(Default)]
pub struct FakeHttp {
    pub answer: Mutex<Option<Result<HttpResponse, HttpFailure>>>,
    pub seen: Mutex<Vec<HttpRequest>>,
}

impl FakeHttp {
    pub fn answering(status: u16, body: &str) -> Arc<FakeHttp> {
        Arc::new(FakeHttp {
            answer: Mutex::new(Some(Ok(HttpResponse {
                status,
                headers: vec![("content-type".into(), "application/json".into())],
                body: body.as_bytes().to_vec(),
            }))),
            seen: Mutex::new(Vec::new()),
        })
    }
}

impl HttpClient for FakeHttp {
    fn send(
        &self,
        request: HttpRequest,
        _timeout: Duration,
        _max_body: usize,
    ) -> Result<HttpResponse, HttpFailure> {
        self.seen.lock().expect("not poisoned").push(request);
        self.answer
            .lock()
            .expect("not poisoned")
            .clone()
            .unwrap_or(Err(HttpFailure::Transport("no answer configured".into())))
    }
}

/// A host for tests: a generous time budget (CI machines are busy) unless told otherwise,
/// `crm.example.com` allowed.
pub fn host_with(http: Arc<dyn HttpClient>, adjust: impl FnOnce(&mut HostConfig)) -> WasmHost {
    let mut config = HostConfig {
        http_allowlist: vec!["crm.example.com".into()],
        max_concurrent_runs: 8,
        ..HostConfig::default()
    };
    config.limits.time_budget = Duration::from_millis(200);
    adjust(&mut config);
    WasmHost::new(config, http).expect("the host starts")
}

pub fn load(host: &WasmHost, name: &str) -> Option<Arc<LoadedModule>> {
    let bytes = component(name)?;
    Some(host.load(&bytes).expect("the component loads"))
}
