//! `ramal serve` end to end: the server imports a flow on first start, answers a sipp call
//! on its SIP port, runs the flow on the key sipp presses (RFC 4733 from sip-tester's
//! pcap), and the call record with its path is then served by `GET /api/calls`.

mod auth_support;
mod sipp_support;

use auth_support::{ADMIN_PASSWORD, TempDir, config};
use ramal::config::SipListen;
use serde_json::Value;
use sipp_support::{call_pressing_two, explain, free_udp_port};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One HTTP/1.1 request on a fresh connection; the status and the body.
async fn http(address: SocketAddr, request: String) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("the API accepts connections");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("the request is sent");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("the response is read");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .expect("a response has a head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status code");
    (status, head.to_owned(), body.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sipp_call_runs_the_routed_flow_and_its_record_is_served() {
    let data = TempDir::new();
    let flows = data.0.join("flows");
    std::fs::create_dir_all(&flows).expect("flows directory");
    std::fs::copy(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../call/tests/fixtures/digits.json"),
        flows.join("digits.json"),
    )
    .expect("the fixture flow is copied");
    let mut config = config(data.0.join("data"), Some(ADMIN_PASSWORD));
    config.flows = flows;
    config.default_flow = "digits".into();
    let sip_port = free_udp_port();
    config.sip = SipListen(Some(SocketAddr::from(([127, 0, 0, 1], sip_port))));
    config.prompts = data.0.join("prompts");
    // sipp's digest client answers only the first challenge, and only MD5 (as do some desk
    // phones).
    config.sip_digest = vec![ramal_sip::Algorithm::Md5];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("loopback");
    let api = listener.local_addr().expect("an address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(ramal::server::run(config, listener, async {
        let _ = stopped.await;
    }));
    // The server is up once the API answers.
    let mut up = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(api).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the API never came up");

    let directory = data.0.clone();
    let output = tokio::task::spawn_blocking(move || call_pressing_two(&directory, sip_port))
        .await
        .expect("sipp's thread");
    assert!(
        output.status.success(),
        "sipp's call failed:\n{}",
        explain(&output)
    );

    let login = format!(r#"{{"username":"admin","password":"{ADMIN_PASSWORD}"}}"#);
    let (status, head, body) = http(
        api,
        format!(
            "POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{login}",
            login.len()
        ),
    )
    .await;
    assert_eq!(status, 200, "{head}\n{body}");
    let cookie = head
        .lines()
        .find_map(|line| line.strip_prefix("set-cookie: "))
        .and_then(|value| value.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let mut calls = Vec::new();
    for _ in 0..100 {
        let (status, _, body) = http(
            api,
            format!(
                "GET /api/calls HTTP/1.1\r\nHost: localhost\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
            ),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        calls = serde_json::from_str::<Vec<Value>>(&body).expect("a JSON list");
        if !calls.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let call = &calls[0];
    assert_eq!(call["flow_id"], "digits");
    assert_eq!(call["disposition"], "pressed-two", "{call:#}");
    let path: Vec<&str> = call["trace"]
        .as_array()
        .expect("a trace")
        .iter()
        .filter_map(|step| step["node"].as_str())
        .collect();
    assert_eq!(path, ["start", "menu", "two"]);

    // An agent's phone: the admin creates the agent and sets its SIP password through the
    // API; the phone then registers with digest (a wrong password is challenged again).
    let send = |method: &str, path: &str, body: String| {
        format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nCookie: {cookie}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let agent = r#"{"username":"ana","password":"correct horse battery","role":"agent"}"#;
    let (status, _, body) = http(api, send("POST", "/api/users", agent.to_owned())).await;
    assert_eq!(status, 201, "{body}");
    let id = serde_json::from_str::<Value>(&body).expect("the user")["id"]
        .as_i64()
        .expect("an id");
    let path = format!("/api/users/{id}/sip-password");
    let (status, _, body) = http(api, send("PUT", &path, r#"{"password":"short"}"#.into())).await;
    assert_eq!(status, 422, "a short SIP password is refused: {body}");
    let (status, _, body) = http(
        api,
        send("PUT", &path, r#"{"password":"phone-secret-1"}"#.into()),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    assert!(register(&data.0, sip_port, "wrong-password", 401).await);
    assert!(register(&data.0, sip_port, "phone-secret-1", 200).await);

    stop.send(()).expect("the server is running");
    let stopped = tokio::time::timeout(Duration::from_secs(15), server).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "the server stops cleanly: {stopped:?}"
    );
}

/// Runs a sipp REGISTER as `ana` with `password`; true if its second REGISTER got `expect`.
async fn register(directory: &std::path::Path, sip_port: u16, password: &str, expect: u16) -> bool {
    let scenario = directory.join(format!("register-{expect}.xml"));
    let register = |cseq: u32, auth: &str| {
        format!(
            r#"<send retrans="500">
    <![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:ana@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:ana@[remote_ip]>
      Call-ID: [call_id]
      CSeq: {cseq} REGISTER
      Contact: <sip:ana@[local_ip]:[local_port]>
      Max-Forwards: 70
      Expires: 120
      {auth}
      Content-Length: 0
    ]]>
  </send>"#
        )
    };
    let xml = format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register">
  {}
  <recv response="401" auth="true"/>
  {}
  <recv response="{expect}"/>
</scenario>
"#,
        register(1, ""),
        register(
            2,
            &format!("[authentication username=ana password={password}]")
        ),
    );
    std::fs::write(&scenario, xml).expect("scenario written");
    let directory = directory.to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("sipp")
            .current_dir(&directory)
            .arg("-sf")
            .arg(&scenario)
            .args(["-m", "1", "-i", "127.0.0.1", "-nostdin"])
            .args(["-timeout", "15s", "-timeout_error"])
            .args(["-p", &free_udp_port().to_string()])
            .arg(format!("127.0.0.1:{sip_port}"))
            .output()
            .expect("sipp runs")
    })
    .await
    .expect("sipp's thread");
    if !output.status.success() {
        eprintln!(
            "REGISTER with {password:?} did not get {expect}:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    output.status.success()
}
