//! The editor in a real browser (headless Debian chromium through chromedriver): log in,
//! draw a five-node flow (start → play → menu → queue / hang-up) with the mouse, see a
//! validation error and fix it, publish, simulate pressing 1 and check the path; then a
//! sipp call runs the published flow on the engine and the editor replays it. Screenshots
//! of the main screens are kept under `<target>/editor-screenshots/`.
//!
//! Then the measurements the issue asks for: opening a 500-node flow, and frame times
//! while dragging a node in it (printed, never asserted).
//!
//! Needs the built editor (`cargo xtask editor`, which `cargo xtask test` runs first),
//! `chromium` and `chromedriver` (Debian `chromium`, `chromium-driver`) and `sipp`
//! (`sip-tester`); `cargo xtask test` installs them. A missing one fails the test, loudly.

mod auth_support;
mod sipp_support;

use auth_support::{ADMIN_PASSWORD, TempDir, config};
use fantoccini::{Client, ClientBuilder, Locator};
use ramal::config::SipListen;
use serde_json::{Value, json};
use sipp_support::{call_pressing_two, explain, free_udp_port};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|socket| socket.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

fn editor_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../flow-editor/dist");
    assert!(
        dir.join("index.html").is_file() && dir.join("ramal_editor_bg.wasm").is_file(),
        "the editor is not built in {}: run `cargo xtask editor` (`cargo xtask test` does)",
        dir.display()
    );
    dir
}

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("editor-screenshots");
    std::fs::create_dir_all(&dir).expect("the screenshots directory");
    dir
}

/// chromedriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver() -> Driver {
    let port = free_tcp_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect(
            "chromedriver runs (Debian package chromium-driver; `cargo xtask test` installs it)",
        );
    let driver = Driver { child, port };
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
    driver
}

async fn browser(driver: &Driver) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,800", "--force-device-scale-factor=1"]
        }),
    );
    // The WebDriver connection is plain HTTP, but the client is built with rustls, which
    // needs a process-wide provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    ClientBuilder::rustls()
        .expect("a TLS provider")
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a chromium session")
}

/// A running `ramal serve` with the editor; stopped when `stop` is sent.
struct Server {
    api: SocketAddr,
    sip_port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _data: TempDir,
}

async fn start_server() -> Server {
    let data = TempDir::new();
    let flows = data.0.join("flows");
    std::fs::create_dir_all(&flows).expect("flows directory");
    let mut config = config(data.0.join("data"), Some(ADMIN_PASSWORD));
    config.flows = flows;
    config.editor_dir = Some(editor_dir());
    let sip_port = free_udp_port();
    config.sip = SipListen(Some(SocketAddr::from(([127, 0, 0, 1], sip_port))));
    config.prompts = data.0.join("prompts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("loopback");
    let api = listener.local_addr().expect("an address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(ramal::server::run(config, listener, async {
        let _ = stopped.await;
    }));
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(api).await.is_err() {
        assert!(Instant::now() < deadline, "the server never came up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server {
        api,
        sip_port,
        stop: Some(stop),
        task,
        _data: data,
    }
}

impl Server {
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let stopped = tokio::time::timeout(Duration::from_secs(15), &mut self.task).await;
        assert!(
            matches!(stopped, Ok(Ok(Ok(())))),
            "the server stops cleanly: {stopped:?}"
        );
    }
}

async fn wait_for(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("`{css}` never appeared: {error}"))
}

async fn text_of(client: &Client, css: &str) -> String {
    wait_for(client, css).await.text().await.unwrap_or_default()
}

/// Waits until the element's text contains `wanted`.
async fn wait_text(client: &Client, css: &str, wanted: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = text_of(client, css).await;
        if text.contains(wanted) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "`{css}` says {text:?}, never {wanted:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("a screenshot");
    std::fs::write(screenshots_dir().join(format!("{name}.png")), png).expect("saved");
}

async fn click(client: &Client, css: &str) {
    wait_for(client, css)
        .await
        .click()
        .await
        .unwrap_or_else(|error| panic!("`{css}` cannot be clicked: {error}"));
}

async fn type_into(client: &Client, css: &str, text: &str) {
    let element = wait_for(client, css).await;
    element.clear().await.expect("cleared");
    element.send_keys(text).await.expect("typed");
}

/// The centre of an element on the screen.
async fn centre(client: &Client, css: &str) -> (f64, f64) {
    let at = client
        .execute(
            "const r = document.querySelector(arguments[0]).getBoundingClientRect(); \
             return [r.left + r.width / 2, r.top + r.height / 2];",
            vec![json!(css)],
        )
        .await
        .unwrap_or_else(|error| panic!("`{css}` cannot be measured: {error}"));
    (
        at[0].as_f64().unwrap_or(f64::NAN),
        at[1].as_f64().unwrap_or(f64::NAN),
    )
}

/// A mouse drag on the canvas from the centre of `from` to the centre of `to` (CSS
/// selectors).
async fn drag(client: &Client, from: &str, to: &str) {
    let (a, b) = (centre(client, from).await, centre(client, to).await);
    drag_by(client, from, b.0 - a.0, b.1 - a.1).await;
}

/// A mouse drag of the element under `from` by (dx, dy) screen pixels.
async fn drag_by(client: &Client, from: &str, dx: f64, dy: f64) {
    let script = r#"
        const from = document.querySelector(arguments[0]);
        if (!from) { return "missing"; }
        const a = from.getBoundingClientRect();
        const start = [a.left + a.width / 2, a.top + a.height / 2];
        const fire = (type, [x, y], target) => target.dispatchEvent(new MouseEvent(type,
            { bubbles: true, cancelable: true, clientX: x, clientY: y, button: 0, buttons: 1 }));
        fire("mousedown", start, from);
        let p = start;
        for (let i = 1; i <= 5; i++) {
            p = [start[0] + arguments[1] * i / 5, start[1] + arguments[2] * i / 5];
            fire("mousemove", p, document.getElementById("canvas"));
        }
        fire("mouseup", p, document.getElementById("canvas"));
        return "ok";
    "#;
    let result = client
        .execute(script, vec![json!(from), json!(dx), json!(dy)])
        .await
        .expect("the drag script runs");
    assert_eq!(result, json!("ok"), "drag {from}");
    tokio::time::sleep(Duration::from_millis(150)).await;
}

/// `fetch` inside the page, with its session: the status.
async fn fetch(client: &Client, method: &str, path: &str, body: Value) -> u16 {
    let script = r#"
        const done = arguments[arguments.length - 1];
        fetch(arguments[1], { method: arguments[0], headers: { "content-type": "application/json" },
            body: arguments[2] === null ? undefined : JSON.stringify(arguments[2]) })
            .then(r => done(r.status), e => done(0));
    "#;
    client
        .execute_async(script, vec![json!(method), json!(path), body])
        .await
        .expect("fetch runs")
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(0)
}

fn node(id: &str) -> String {
    format!("g.node[data-node-id='{id}'] rect.node-body")
}

fn port(id: &str, port: &str) -> String {
    format!("circle.port[data-node-id='{id}'][data-port='{port}']")
}

async fn classes(client: &Client, css: &str) -> String {
    wait_for(client, css)
        .await
        .attr("class")
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_draws_validates_publishes_simulates_and_replays_a_flow() {
    let server = start_server().await;
    let driver = start_driver();
    let client = browser(&driver).await;
    let base = format!("http://{}", server.api);

    // Log in.
    client
        .goto(&format!("{base}/"))
        .await
        .expect("the editor loads");
    type_into(&client, "#login-username", "admin").await;
    type_into(&client, "#login-password", "wrong password").await;
    click(&client, "#login-submit").await;
    wait_text(&client, "#login-error", "").await;
    screenshot(&client, "1-login").await;
    type_into(&client, "#login-password", ADMIN_PASSWORD).await;
    click(&client, "#login-submit").await;

    // A new flow.
    type_into(&client, "#new-flow-id", "browser-ivr").await;
    type_into(&client, "#new-flow-name", "Drawn in a browser").await;
    screenshot(&client, "2-flows").await;
    click(&client, "#new-flow-create").await;
    wait_for(&client, &node("start")).await;

    // Four nodes from the palette, then the connections, drawn with the mouse.
    for kind in ["play", "menu", "queue", "hangup"] {
        click(&client, &format!(".palette-item[data-kind='{kind}']")).await;
        wait_for(&client, &node(kind)).await;
    }
    click(&client, "#fit").await;
    for (from, name, to) in [
        ("start", "next", "play"),
        ("play", "next", "menu"),
        ("menu", "1", "queue"),
        ("menu", "2", "hangup"),
    ] {
        drag(&client, &port(from, name), &node(to)).await;
        wait_for(&client, &format!("path.edge[data-edge='{from}:{name}']")).await;
    }
    // Moving a node keeps its connections.
    let before = centre(&client, &node("hangup")).await.0;
    drag_by(&client, &node("hangup"), 260.0, 0.0).await;
    let after = centre(&client, &node("hangup")).await.0;
    assert!(
        after > before + 100.0,
        "the node moved right: {before} → {after}"
    );
    wait_for(&client, "path.edge[data-edge='menu:2']").await;

    // A validation error, shown on the node, in the list and under the field; publishing
    // is refused until it is fixed.
    click(&client, &node("menu")).await;
    type_into(&client, "[data-param='timeout']", "soon").await;
    wait_text(&client, "#error-count", "1 errors").await;
    wait_text(
        &client,
        ".field.invalid .problem",
        "`soon` is not a duration",
    )
    .await;
    let typed = client
        .execute(
            "return document.querySelector(\"[data-param='timeout']\").value",
            vec![],
        )
        .await
        .expect("read back");
    assert_eq!(typed, json!("soon"), "nothing typed is lost");
    assert!(
        classes(&client, "g.node[data-node-id='menu']")
            .await
            .contains("has-error")
    );
    wait_for(&client, "li.diagnostic.error[data-node-id='menu']").await;
    let publish = wait_for(&client, "#publish").await;
    assert!(
        publish.attr("disabled").await.ok().flatten().is_some(),
        "publish is refused while errors remain"
    );
    screenshot(&client, "3-validation-error").await;
    type_into(&client, "[data-param='timeout']", "4s").await;
    wait_text(&client, "#error-count", "0 errors").await;
    click(&client, "#publish").await;
    wait_text(&client, "#status", "published as version 1").await;

    // Simulate: press 1 → the queue.
    click(&client, "#tab-simulator").await;
    click(&client, "#sim-start").await;
    click(&client, "button.key[data-key='1']").await;
    let path = wait_text(&client, "#sim-path", "queue").await;
    assert_eq!(path, "start → play → menu → queue", "{path}");
    assert!(
        classes(&client, "g.node[data-node-id='menu']")
            .await
            .contains("visited")
    );
    click(&client, "#sim-save-script").await;
    wait_text(&client, "#sim-script-check", "the script passes").await;
    let script = text_of(&client, "#sim-script").await;
    assert!(
        script.contains("press 1") && script.contains("expect enqueue sales"),
        "{script}"
    );
    screenshot(&client, "4-simulator").await;

    // The engine runs the published flow on a real call: sipp presses 2.
    assert_eq!(
        fetch(
            &client,
            "PUT",
            "/api/routes/4000",
            json!({"flow_id": "browser-ivr"})
        )
        .await,
        200,
        "the route is set"
    );
    let dir = server._data.0.clone();
    let sip_port = server.sip_port;
    let output = tokio::task::spawn_blocking(move || call_pressing_two(&dir, sip_port))
        .await
        .expect("sipp's thread");
    assert!(
        output.status.success(),
        "sipp's call failed:\n{}",
        explain(&output)
    );

    // Replay it in the editor.
    click(&client, "#tab-replay").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        click(&client, "#replay-load").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        if client
            .find(Locator::Css("button.replay-call"))
            .await
            .is_ok()
        {
            break;
        }
        assert!(Instant::now() < deadline, "the call never appeared");
    }
    click(&client, "button.replay-call").await;
    let steps = text_of(&client, "#replay-steps").await;
    assert!(
        steps.contains("menu → 2") && steps.contains("hangup"),
        "{steps}"
    );
    assert!(
        classes(&client, "g.node[data-node-id='hangup']")
            .await
            .contains("visited")
    );
    assert!(
        !classes(&client, "g.node[data-node-id='queue']")
            .await
            .contains("visited")
    );
    screenshot(&client, "5-replay").await;

    // Business hours on the weekly grid: Saturday 10:00–10:30 opens with a click.
    click(&client, "#replay-clear").await;
    click(&client, ".palette-item[data-kind='time-range']").await;
    click(&client, "#tab-properties").await;
    let cell = "td.slot[data-day='sat'][data-slot='20']";
    assert!(!classes(&client, cell).await.contains("open"));
    click(&client, cell).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !classes(&client, cell).await.contains("open") {
        assert!(Instant::now() < deadline, "the cell never opened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for(&client, "input[data-param='timezone'][list='time-zones']").await;
    screenshot(&client, "6-weekly-grid").await;

    client.close().await.expect("the browser closes");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_builds_a_campaign_with_the_wizard() {
    let server = start_server().await;
    let driver = start_driver();
    let client = browser(&driver).await;
    client
        .goto(&format!("http://{}/", server.api))
        .await
        .expect("the editor loads");
    type_into(&client, "#login-username", "admin").await;
    type_into(&client, "#login-password", ADMIN_PASSWORD).await;
    click(&client, "#login-submit").await;
    click(&client, "#nav-campaigns").await;
    click(&client, "#new-campaign").await;
    type_into(&client, "[data-param='name']", "Black Friday").await;
    // A dialer campaign needs its dialer settings: the server says which, under the fields.
    let kind = wait_for(&client, "select[data-param='type']").await;
    kind.select_by_value("dialer").await.expect("chosen");
    click(&client, "#campaign-save").await;
    wait_text(&client, "#campaign-message", "").await;
    let refused = text_of(&client, "#campaign-message").await;
    assert!(
        client
            .find(Locator::Css("#campaign-message.error"))
            .await
            .is_ok(),
        "a dialer campaign without settings is refused: {refused}"
    );
    screenshot(&client, "7-campaign-refused").await;
    let kind = wait_for(&client, "select[data-param='type']").await;
    kind.select_by_value("inbound").await.expect("chosen");
    click(&client, "#campaign-save").await;
    wait_text(&client, "#campaign-message", "campaign saved").await;
    wait_for(&client, "#campaign-list tr[data-campaign-id]").await;
    // Its dispositions, then its status.
    type_into(&client, "#disposition-name", "sale").await;
    click(&client, "#disposition-positive").await;
    click(&client, "#disposition-add").await;
    wait_text(&client, "#dispositions", "sale (positive)").await;
    click(&client, "#campaign-activate").await;
    wait_text(&client, "#campaign-message", "campaign active").await;
    wait_text(&client, "#campaign-list", "active").await;
    screenshot(&client, "8-campaign").await;
    client.close().await.expect("the browser closes");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measure_a_500_node_flow_open_and_drag() {
    let server = start_server().await;
    let driver = start_driver();
    let client = browser(&driver).await;
    let base = format!("http://{}", server.api);
    client
        .goto(&format!("{base}/"))
        .await
        .expect("the editor loads");
    type_into(&client, "#login-username", "admin").await;
    type_into(&client, "#login-password", ADMIN_PASSWORD).await;
    click(&client, "#login-submit").await;
    wait_for(&client, "#new-flow-id").await;
    let big = ramal_editor::model::big_flow(500);
    let document = serde_json::to_value(&big).expect("JSON");
    assert_eq!(fetch(&client, "PUT", "/api/flows/big", document).await, 200);

    let started = Instant::now();
    client
        .goto(&format!("{base}/#flow/big"))
        .await
        .expect("navigates");
    client.refresh().await.expect("reloads");
    let canvas = wait_for(&client, "#canvas[data-open-ms]").await;
    let wall = started.elapsed();
    let in_page: f64 = canvas
        .attr("data-open-ms")
        .await
        .ok()
        .flatten()
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(f64::NAN);
    let nodes = client
        .find_all(Locator::Css("g.node"))
        .await
        .expect("nodes")
        .len();
    assert_eq!(nodes, 500, "every node is drawn");
    screenshot(&client, "9-500-nodes").await;

    // Drag one node for 60 frames; each frame: a mousemove, then the next animation frame.
    let script = r#"
        const done = arguments[arguments.length - 1];
        const body = document.querySelector("g.node[data-node-id='n42'] rect.node-body");
        const r = body.getBoundingClientRect();
        let x = r.left + r.width / 2, y = r.top + r.height / 2;
        const fire = (type, target) => target.dispatchEvent(new MouseEvent(type,
            { bubbles: true, cancelable: true, clientX: x, clientY: y, button: 0, buttons: 1 }));
        fire("mousedown", body);
        const times = [];
        let last = performance.now();
        let frame = 0;
        const step = () => {
            const now = performance.now();
            if (frame > 0) { times.push(now - last); }
            last = now;
            if (frame++ === 60) {
                fire("mouseup", body);
                times.sort((a, b) => a - b);
                done({ p50: times[Math.floor(times.length / 2)], p95: times[Math.floor(times.length * 0.95)],
                       max: times[times.length - 1], mean: times.reduce((a, b) => a + b, 0) / times.length });
                return;
            }
            x += 3; y += 2;
            fire("mousemove", document.getElementById("canvas"));
            requestAnimationFrame(step);
        };
        requestAnimationFrame(step);
    "#;
    let frames = client
        .execute_async(script, vec![])
        .await
        .expect("the drag runs");
    let bundle = std::fs::metadata(editor_dir().join("ramal_editor_bg.wasm"))
        .map(|m| m.len())
        .unwrap_or(0);
    let gzipped = std::fs::metadata(editor_dir().join("ramal_editor_bg.wasm.gz"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "editor measurements (headless chromium, 1280×800):\n  \
         wasm {bundle} B raw, {gzipped} B gzipped\n  \
         open a 500-node flow: {in_page:.0} ms in the page (request → first full render), {} ms wall incl. reload\n  \
         drag a node in it, frame time: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms (mean {:.1} ms → {:.0} fps)",
        wall.as_millis(),
        frames["p50"].as_f64().unwrap_or(f64::NAN),
        frames["p95"].as_f64().unwrap_or(f64::NAN),
        frames["max"].as_f64().unwrap_or(f64::NAN),
        frames["mean"].as_f64().unwrap_or(f64::NAN),
        1000.0 / frames["mean"].as_f64().unwrap_or(f64::NAN),
    );
    let moved = client
        .execute(
            "return document.querySelector(\"g.node[data-node-id='n42'] rect.node-body\").getAttribute('x')",
            vec![],
        )
        .await
        .expect("read back");
    assert_ne!(moved, json!("0"), "the drag moved the node");
    client.close().await.expect("the browser closes");
    server.stop().await;
}
