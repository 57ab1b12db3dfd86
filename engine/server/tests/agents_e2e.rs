//! Agents and queues end to end, with real peers: `ramal serve` with SIP on loopback, agents
//! `ana` and `bia` created through the API with SIP passwords, their phones sipp UAS
//! processes registered with digest, a queue and an inbound campaign made through the API,
//! and sipp callers dialling into a flow that queues them. The agents log in, pause and
//! disposition through the agent API; the event stream carries their states.

mod auth_support;
mod sipp_support;

use auth_support::events::{event_socket, next_event};
use auth_support::{ADMIN_PASSWORD, PASSWORD, TempDir, config};
use ramal::config::SipListen;
use serde_json::{Value, json};
use sipp_support::explain;
use sipp_support::phones::{self, CallerEnds, Phone, PhoneProcess};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Where the queued caller comes from (the contact list has this number).
const CALLER: &str = "5511987654321";
/// The campaign's script.
const SPEECH: &str = "Bom dia, aqui é a Ramal Cobranças.";

/// The flow every call runs: queue in `sales` under the campaign `Cobrança`.
const FLOW: &str = r#"{
  "schema": "ramal.flow/v1", "id": "queued", "name": "Queued", "version": 1,
  "nodes": [
    {"id": "start", "kind": "start", "ports": {"next": "q"}},
    {"id": "q", "kind": "queue", "params": {"queue": "sales", "max_wait": "20s", "campaign": "Cobrança"},
     "ports": {"answered": "done", "timeout": "late", "no-agents": "nobody"}},
    {"id": "done", "kind": "hangup", "params": {"reason": "normal", "disposition": "talked"}},
    {"id": "late", "kind": "hangup", "params": {"reason": "normal", "disposition": "timeout"}},
    {"id": "nobody", "kind": "hangup", "params": {"reason": "normal", "disposition": "no-agents"}}
  ]
}"#;

struct Ramal {
    api: SocketAddr,
    sip_port: u16,
    dir: TempDir,
    http: reqwest::Client,
    admin: String,
    campaign_id: i64,
    disposition_id: i64,
    stop: oneshot::Sender<()>,
    server: JoinHandle<anyhow::Result<()>>,
}

struct Reply {
    status: u16,
    body: Value,
}

impl Ramal {
    /// The server, with ana and bia (agents with SIP passwords), the queue `sales` of both
    /// (longest idle, ring 5 s, wrap-up 30 s) and the active campaign `Cobrança` (recording
    /// its calls) with one contact and one disposition.
    async fn start() -> Ramal {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = TempDir::new();
        let flows = dir.0.join("flows");
        std::fs::create_dir_all(&flows).expect("flows directory");
        std::fs::write(flows.join("queued.json"), FLOW).expect("the flow is written");
        let mut config = config(dir.0.join("data"), Some(ADMIN_PASSWORD));
        config.flows = flows;
        config.default_flow = "queued".into();
        let sip_port = sipp_support::free_udp_port();
        config.sip = SipListen(Some(SocketAddr::from(([127, 0, 0, 1], sip_port))));
        config.prompts = dir.0.join("prompts");
        config.sip_digest = vec![ramal_sip::Algorithm::Md5];
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("loopback");
        let api = listener.local_addr().expect("an address");
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(ramal::server::run(config, listener, async {
            let _ = stopped.await;
        }));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client");
        let mut ramal = Ramal {
            api,
            sip_port,
            dir,
            http,
            admin: String::new(),
            campaign_id: 0,
            disposition_id: 0,
            stop,
            server,
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(api).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        ramal.admin = ramal.login("admin", ADMIN_PASSWORD).await;
        let mut members = Vec::new();
        for agent in ["ana", "bia"] {
            let user = ramal
                .admin(
                    "POST",
                    "/api/users",
                    json!({"username": agent, "password": PASSWORD, "role": "agent"}),
                )
                .await;
            assert_eq!(user.status, 201, "{}", user.body);
            let id = user.body["id"].as_i64().expect("an id");
            let sip = ramal
                .admin(
                    "PUT",
                    &format!("/api/users/{id}/sip-password"),
                    json!({"password": format!("{agent}-phone-secret")}),
                )
                .await;
            assert_eq!(sip.status, 204, "{}", sip.body);
            members.push(json!({"user_id": id, "skill_level": 5, "penalty": 0}));
        }
        let queue = ramal
            .admin(
                "POST",
                "/api/queues",
                json!({
                    "name": "sales", "strategy": "longest-idle", "ring_timeout_secs": 5,
                    "max_wait_secs": 20, "wrap_up_secs": 30, "members": members,
                }),
            )
            .await;
        assert_eq!(queue.status, 201, "{}", queue.body);
        let list = ramal
            .admin(
                "POST",
                "/api/contact-lists",
                json!({"name": "devedores", "default_country": "BR"}),
            )
            .await;
        assert_eq!(list.status, 201, "{}", list.body);
        let list_id = list.body["id"].as_i64().expect("an id");
        let contact = ramal
            .admin(
                "POST",
                &format!("/api/contact-lists/{list_id}/contacts"),
                json!({
                    "fields": {"nome": "Maria"}, "phones": ["(11) 98765-4321"],
                }),
            )
            .await;
        assert_eq!(contact.status, 201, "{}", contact.body);
        let agent_ids: Vec<i64> = members
            .iter()
            .filter_map(|m| m["user_id"].as_i64())
            .collect();
        let campaign = ramal
            .admin(
                "POST",
                "/api/campaigns",
                json!({
                    "name": "Cobrança", "type": "inbound", "contact_list_id": list_id,
                    "speech": SPEECH, "agents": agent_ids, "record_calls": true,
                }),
            )
            .await;
        assert_eq!(campaign.status, 201, "{}", campaign.body);
        ramal.campaign_id = campaign.body["id"].as_i64().expect("an id");
        let disposition = ramal
            .admin(
                "POST",
                &format!("/api/campaigns/{}/dispositions", ramal.campaign_id),
                json!({"name": "Pago", "positive": true}),
            )
            .await;
        assert_eq!(disposition.status, 201, "{}", disposition.body);
        ramal.disposition_id = disposition.body["id"].as_i64().expect("an id");
        let active = ramal
            .admin(
                "POST",
                &format!("/api/campaigns/{}/status", ramal.campaign_id),
                json!({"status": "active"}),
            )
            .await;
        assert_eq!(active.status, 200, "{}", active.body);
        ramal
    }

    async fn request(&self, method: &str, path: &str, cookie: &str, body: Option<Value>) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = self
            .http
            .request(method, format!("http://{}{path}", self.api))
            .header("cookie", cookie);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("the API answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }

    async fn admin(&self, method: &str, path: &str, body: Value) -> Reply {
        self.request(method, path, &self.admin, Some(body)).await
    }

    /// Logs in; the session cookie (`name=value`).
    async fn login(&self, username: &str, password: &str) -> String {
        let response = self
            .http
            .post(format!("http://{}/api/auth/login", self.api))
            .header("content-type", "application/json")
            .body(json!({"username": username, "password": password}).to_string())
            .send()
            .await
            .expect("the API answers");
        assert_eq!(response.status().as_u16(), 200, "{username} logs in");
        response
            .headers()
            .get("set-cookie")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .expect("a session cookie")
            .to_owned()
    }

    /// Registers `agent`'s phone, whose UAS listens on `contact_port`.
    async fn register(&self, agent: &'static str, contact_port: u16) {
        let (dir, sip_port) = (self.dir.0.clone(), self.sip_port);
        let output = tokio::task::spawn_blocking(move || {
            phones::register(
                &dir,
                sip_port,
                agent,
                &format!("{agent}-phone-secret"),
                contact_port,
            )
        })
        .await
        .expect("sipp's thread");
        assert!(
            output.status.success(),
            "{agent}'s phone did not register:\n{}",
            explain(&output)
        );
    }

    /// A caller dials 4000 (the default flow), on a thread.
    fn call(&self, ends: CallerEnds) -> JoinHandle<std::process::Output> {
        let (dir, sip_port) = (self.dir.0.clone(), self.sip_port);
        tokio::task::spawn_blocking(move || phones::call(&dir, sip_port, "4000", ends))
    }

    /// `GET /api/agents` until `check` holds (at most 10 s); the last answer.
    async fn agents_until(&self, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        for _ in 0..200 {
            let reply = self.request("GET", "/api/agents", &self.admin, None).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            last = reply.body;
            if check(&last) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("never {what}: {last:#}");
    }

    async fn calls(&self) -> Vec<Value> {
        for _ in 0..100 {
            let reply = self.request("GET", "/api/calls", &self.admin, None).await;
            if let Some(calls) = reply.body.as_array().filter(|calls| !calls.is_empty()) {
                return calls.clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no call record was stored");
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let stopped = tokio::time::timeout(Duration::from_secs(15), self.server).await;
        assert!(
            matches!(stopped, Ok(Ok(Ok(())))),
            "the server stops cleanly: {stopped:?}"
        );
    }
}

/// Waits for a sipp run on its thread and asserts it exited successfully (`what` failed
/// says who, with sipp's output).
async fn passed(what: &str, run: JoinHandle<std::process::Output>) {
    let output = run.await.expect("sipp's thread");
    assert!(output.status.success(), "{what}:\n{}", explain(&output));
}

fn agent<'a>(overview: &'a Value, name: &str) -> &'a Value {
    overview["agents"]
        .as_array()
        .and_then(|agents| agents.iter().find(|a| a["agent"] == name))
        .unwrap_or(&Value::Null)
}

fn queue_waiting(overview: &Value) -> i64 {
    overview["queues"]
        .as_array()
        .and_then(|queues| queues.iter().find(|q| q["queue"] == "sales"))
        .and_then(|queue| queue["waiting"].as_i64())
        .unwrap_or(-1)
}

fn path(call: &Value) -> Vec<&str> {
    call["trace"]
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .filter_map(|step| step["node"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_longest_idle_agent_answers_and_the_disposition_ends_wrap_up() {
    let ramal = Ramal::start().await;
    let session = ramal
        .admin
        .split_once('=')
        .map(|(_, token)| token.to_owned())
        .expect("a token");
    let mut events = event_socket(ramal.api, &session).await;
    let phone = PhoneProcess::start(
        &ramal.dir.0,
        "ana",
        Phone::AnswersAndHangsUp { talk_ms: 1500 },
    );
    ramal.register("ana", phone.port).await;
    // bia's phone is registered where nothing answers: ringing it would leave her
    // reserved or ringing, which the test would see.
    ramal.register("bia", sipp_support::free_udp_port()).await;
    let ana = ramal.login("ana", PASSWORD).await;
    let bia = ramal.login("bia", PASSWORD).await;
    let ready = ramal.request("POST", "/api/agent/login", &ana, None).await;
    assert_eq!(
        (ready.status, ready.body["state"].as_str()),
        (200, Some("ready")),
        "{}",
        ready.body
    );
    assert!(
        ready.body["pause_reasons"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    let ready = ramal.request("POST", "/api/agent/login", &bia, None).await;
    assert_eq!(ready.status, 200, "{}", ready.body);

    let caller = ramal.call(CallerEnds::WaitsForBye);
    // While the agent talks, their console has the call, the script and the contact.
    let mut on_call = Value::Null;
    for _ in 0..200 {
        on_call = ramal.request("GET", "/api/agent", &ana, None).await.body;
        if on_call["state"] == "on-call" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(on_call["state"], "on-call", "{on_call:#}");
    let call = &on_call["call"];
    assert_eq!(call["caller"], CALLER, "{call:#}");
    assert_eq!(call["queue"], "sales");
    assert_eq!(call["campaign"]["speech"], SPEECH);
    assert_eq!(call["contacts"][0]["fields"]["nome"], "Maria", "{call:#}");
    assert_eq!(call["dispositions"][0]["name"], "Pago");

    passed("the caller failed", caller).await;
    passed(
        "ana's phone failed",
        tokio::task::spawn_blocking(move || phone.finish()),
    )
    .await;

    let overview = ramal
        .agents_until("ana in wrap-up", |o| agent(o, "ana")["state"] == "wrap-up")
        .await;
    assert_eq!(agent(&overview, "ana")["answered"], 1);
    assert_eq!(
        agent(&overview, "bia")["state"],
        "ready",
        "bia was never offered the call"
    );
    assert_eq!(agent(&overview, "bia")["answered"], 0);
    let record = &ramal.calls().await[0];
    assert_eq!(path(record), ["start", "q", "done"], "{record:#}");
    assert_eq!(agent(&overview, "ana")["call_id"], record["id"]);
    // The campaign records its calls: from the agent's answer, both sides, in a WAV.
    let recording = record["recording"]
        .as_str()
        .expect("the campaign records its calls");
    let wav = std::fs::read(ramal.dir.0.join("data/recordings").join(recording))
        .expect("the recording is on disk");
    assert!(
        wav.starts_with(b"RIFF") && wav.get(22..24) == Some(&[2, 0][..]),
        "a two-channel WAV"
    );

    let saved = ramal
        .request(
            "POST",
            "/api/agent/disposition",
            &ana,
            Some(json!({"disposition_id": ramal.disposition_id})),
        )
        .await;
    assert_eq!(saved.status, 201, "{}", saved.body);
    assert_eq!(saved.body["call_id"], record["id"]);
    let overview = ramal
        .agents_until("ana ready", |o| agent(o, "ana")["state"] == "ready")
        .await;
    assert_eq!(agent(&overview, "ana")["call_id"], Value::Null);
    let again = ramal
        .request(
            "POST",
            "/api/agent/disposition",
            &ana,
            Some(json!({"disposition_id": ramal.disposition_id})),
        )
        .await;
    assert_eq!(
        again.status, 409,
        "no call left to disposition: {}",
        again.body
    );
    let results = ramal
        .request(
            "GET",
            &format!("/api/campaigns/{}/results", ramal.campaign_id),
            &ramal.admin,
            None,
        )
        .await;
    assert_eq!(
        results.body["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        results.body
    );

    // The supervisor's stream saw ana's day and the queue's wait.
    let mut states = Vec::new();
    let mut waits = Vec::new();
    let mut call_events = Vec::new();
    while !states.ends_with(&["wrap-up".to_owned(), "ready".to_owned()]) {
        let event = next_event(&mut events).await;
        match event["type"].as_str() {
            Some("agent-state") if event["agent"] == "ana" => {
                states.push(event["state"].as_str().unwrap_or_default().to_owned());
            }
            Some("queue-status") if event["queue"] == "sales" => {
                waits.push(event["waiting"].as_i64().unwrap_or(-1));
            }
            Some(kind @ ("call-started" | "call-ended")) => {
                assert_eq!(event["call_id"], record["id"], "{event}");
                call_events.push(kind.to_owned());
            }
            Some("node-entered") => {
                call_events.push(format!(
                    "node {}",
                    event["node"].as_str().unwrap_or_default()
                ));
            }
            _ => {}
        }
    }
    assert_eq!(
        states,
        [
            "ready", "reserved", "ringing", "on-call", "wrap-up", "ready"
        ]
    );
    assert!(waits.contains(&1) && waits.ends_with(&[0]), "{waits:?}");
    assert_eq!(
        call_events,
        [
            "call-started",
            "node start",
            "node q",
            "node done",
            "call-ended"
        ],
        "the call's own events"
    );
    ramal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_who_does_not_answer_is_passed_over_for_the_next() {
    let ramal = Ramal::start().await;
    let ringing = PhoneProcess::start(&ramal.dir.0, "ana", Phone::RingsOnly);
    let answering = PhoneProcess::start(
        &ramal.dir.0,
        "bia",
        Phone::AnswersAndHangsUp { talk_ms: 1000 },
    );
    ramal.register("ana", ringing.port).await;
    ramal.register("bia", answering.port).await;
    let ana = ramal.login("ana", PASSWORD).await;
    let bia = ramal.login("bia", PASSWORD).await;
    assert_eq!(
        ramal
            .request("POST", "/api/agent/login", &ana, None)
            .await
            .status,
        200
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        ramal
            .request("POST", "/api/agent/login", &bia, None)
            .await
            .status,
        200
    );

    passed("the caller failed", ramal.call(CallerEnds::WaitsForBye)).await;
    passed(
        "ana's phone was not rung then cancelled",
        tokio::task::spawn_blocking(move || ringing.finish()),
    )
    .await;
    passed(
        "bia's phone failed",
        tokio::task::spawn_blocking(move || answering.finish()),
    )
    .await;

    let overview = ramal
        .agents_until("bia in wrap-up", |o| agent(o, "bia")["state"] == "wrap-up")
        .await;
    assert_eq!(agent(&overview, "bia")["answered"], 1);
    assert_eq!(agent(&overview, "ana")["answered"], 0);
    assert_eq!(
        agent(&overview, "ana")["state"],
        "ready",
        "one miss does not pause"
    );
    assert_eq!(path(&ramal.calls().await[0]), ["start", "q", "done"]);
    ramal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_who_hangs_up_while_waiting_leaves_at_once_and_no_phone_rings() {
    let ramal = Ramal::start().await;
    let ana = ramal.login("ana", PASSWORD).await;
    // No phone: logging in is refused, and says why.
    let refused = ramal.request("POST", "/api/agent/login", &ana, None).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no phone"))
    );
    // ana's "phone" is a bare socket: anything the queue sends it is seen.
    let phone = std::net::UdpSocket::bind("127.0.0.1:0").expect("a loopback socket");
    phone.set_nonblocking(true).expect("non-blocking");
    let port = phone.local_addr().expect("an address").port();
    ramal.register("ana", port).await;
    assert_eq!(
        ramal
            .request("POST", "/api/agent/login", &ana, None)
            .await
            .status,
        200
    );
    let nap = ramal
        .request(
            "POST",
            "/api/agent/pause",
            &ana,
            Some(json!({"reason": "nap"})),
        )
        .await;
    assert_eq!(
        (nap.status, nap.body["error"]["fields"][0]["path"].as_str()),
        (422, Some("reason")),
        "{}",
        nap.body
    );
    let paused = ramal
        .request(
            "POST",
            "/api/agent/pause",
            &ana,
            Some(json!({"reason": "lunch"})),
        )
        .await;
    assert_eq!(
        (
            paused.body["state"].as_str(),
            paused.body["reason"].as_str()
        ),
        (Some("paused"), Some("lunch"))
    );

    let caller = ramal.call(CallerEnds::HangsUpAfter { after_ms: 1500 });
    ramal
        .agents_until("the caller waiting", |o| queue_waiting(o) == 1)
        .await;
    passed("the caller failed", caller).await;
    ramal
        .agents_until("the queue empty", |o| queue_waiting(o) == 0)
        .await;

    let ready = ramal
        .request("POST", "/api/agent/unpause", &ana, None)
        .await;
    assert_eq!(ready.body["state"], "ready", "{}", ready.body);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let overview = ramal
        .agents_until("ana still ready", |o| agent(o, "ana")["state"] == "ready")
        .await;
    assert_eq!(agent(&overview, "ana")["call_id"], Value::Null);
    let record = &ramal.calls().await[0];
    assert_eq!(path(record), ["start", "q"], "{record:#}");
    let mut datagram = [0u8; 2048];
    let rung = phone
        .recv(&mut datagram)
        .map(|n| String::from_utf8_lossy(&datagram[..n]).into_owned());
    assert!(
        rung.is_err(),
        "ana's phone was sent {rung:?} for a caller who had left"
    );
    ramal.stop().await;
}

/// baresip (Debian's `baresip-core`), kept running for one test and killed afterwards.
struct Baresip(std::process::Child);

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_baresip_softphone_registers_and_answers_as_an_agent() {
    let ramal = Ramal::start().await;
    let home = ramal.dir.0.join("baresip");
    std::fs::create_dir_all(&home).expect("baresip's directory");
    let port = sipp_support::free_udp_port();
    std::fs::write(
        home.join("config"),
        format!(
            "sip_listen 127.0.0.1:{port}\n\
             audio_player aubridge,bridge\naudio_source aubridge,bridge\naudio_alert aubridge,bridge\n\
             module_path /usr/lib/baresip/modules\n\
             module g711.so\nmodule aubridge.so\n\
             module_app account.so\nmodule_app menu.so\n"
        ),
    )
    .expect("baresip's config");
    std::fs::write(
        home.join("accounts"),
        format!(
            "<sip:bia@127.0.0.1:{}>;auth_pass=bia-phone-secret;answermode=auto;regint=300;audio_codecs=PCMU\n",
            ramal.sip_port
        ),
    )
    .expect("baresip's account");
    let _baresip = Baresip(
        std::process::Command::new("baresip")
            .arg("-f")
            .arg(&home)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("baresip runs (Debian package baresip-core; `cargo xtask test` installs it)"),
    );
    let bia = ramal.login("bia", PASSWORD).await;
    // Logging in needs the phone registered: baresip registers on start.
    let mut login = ramal.request("POST", "/api/agent/login", &bia, None).await;
    for _ in 0..100 {
        if login.status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        login = ramal.request("POST", "/api/agent/login", &bia, None).await;
    }
    assert_eq!(
        login.status, 200,
        "baresip never registered: {}",
        login.body
    );

    let caller = ramal.call(CallerEnds::HangsUpAfter { after_ms: 3000 });
    let overview = ramal
        .agents_until("baresip answering", |o| {
            agent(o, "bia")["state"] == "on-call"
        })
        .await;
    assert_eq!(agent(&overview, "bia")["answered"], 1);
    passed("the caller failed", caller).await;
    ramal
        .agents_until("bia in wrap-up", |o| agent(o, "bia")["state"] == "wrap-up")
        .await;
    let saved = ramal
        .request(
            "POST",
            "/api/agent/disposition",
            &bia,
            Some(json!({"disposition_id": ramal.disposition_id})),
        )
        .await;
    assert_eq!(saved.status, 201, "{}", saved.body);
    ramal
        .agents_until("bia ready", |o| agent(o, "bia")["state"] == "ready")
        .await;
    ramal.stop().await;
}
