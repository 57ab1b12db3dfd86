//! From a queued caller to the agent's phone ringing, on loopback: the real call engine
//! (SIP over UDP, the flow executor, the ACD task) with a caller and an agent's phone that
//! are plain UDP sockets speaking SIP, so nothing else's scheduling is in the figure.
//!
//! Each round: the caller INVITEs; Ramal answers (200), starts the flow, whose first node
//! queues the call; the ACD offers it to the one ready agent; the call's task INVITEs the
//! agent's registered phone. The round's figure is from the caller receiving the 200 — sent
//! just before the flow starts — to the phone receiving its INVITE: enqueue → agent INVITE
//! plus the flow's start. The caller then hangs up, the offer is cancelled, and the agent is
//! ready again for the next round. Rounds run one after another.
//!
//! `cargo bench -p ramal-call --bench queue_latency` (`-- --rounds N`, default 300). There
//! is no reference system doing the same thing on this machine, so no ratio is printed.

use ramal_call::{AgentAction, CallConfig, CallEngine};
use ramal_store::Store;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;

const FLOW: &str = r#"{
  "schema": "ramal.flow/v1", "id": "queued", "name": "Queued", "version": 1,
  "nodes": [
    {"id": "start", "kind": "start", "ports": {"next": "q"}},
    {"id": "q", "kind": "queue", "params": {"queue": "sales", "max_wait": "60s"},
     "ports": {"answered": "end", "timeout": "end", "no-agents": "end"}},
    {"id": "end", "kind": "hangup", "params": {"reason": "normal"}}
  ]
}"#;
const AGENT: &str = "1001";
const PASSWORD: &str = "bench-secret";
const REALM: &str = "ramal.bench";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    // Ramal's own warnings (RUST_LOG overrides), so a failing round says why.
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    let rounds = std::env::args()
        .skip_while(|arg| arg != "--rounds")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(300usize);
    let directory = std::env::temp_dir().join(format!("ramal-queue-bench-{}", std::process::id()));
    std::fs::create_dir_all(&directory)?;
    let store = Store::open(&format!(
        "sqlite://{}",
        directory.join("ramal.db").display()
    ))
    .await?;
    store.save_draft("queued", "queued", FLOW, None, 1).await?;
    store.publish("queued", None, 2).await?;
    let mut auth = ramal_sip::AuthConfig::new(REALM, b"0123456789abcdef".to_vec());
    auth.algorithms = vec![ramal_sip::Algorithm::Md5];
    let config = CallConfig {
        sip: SocketAddr::from(([127, 0, 0, 1], 0)),
        rtp_ports: 43_000..=43_999,
        default_flow: Some("queued".into()),
        prompts_dir: directory.join("prompts"),
        tts_cache_dir: directory.join("tts"),
        recordings_dir: directory.join("recordings"),
        registrar: Some(ramal_sip::RegistrarConfig::new(auth)),
        // One caller places every call, two requests a round, ~1 ms apart: far beyond the
        // default per-source limit (100/s, bursts of 200), which would drop its BYEs.
        requests_per_source: 1_000_000,
        acd: Some(ramal_acd::AcdConfig {
            queues: vec![ramal_acd::QueueConfig {
                id: ramal_acd::QueueId("sales".into()),
                strategy: ramal_acd::Strategy::LongestIdle,
                members: vec![ramal_acd::Member {
                    agent: ramal_acd::AgentId(AGENT.into()),
                    penalty: 0,
                }],
                max_wait_ms: 60_000,
                max_length: None,
                ring_timeout_ms: 30_000,
                wrap_up_ms: 0,
                overflow: ramal_acd::Overflow::Flow,
                announce_every_ms: None,
            }],
            ..ramal_acd::AcdConfig::default()
        }),
        ..CallConfig::default()
    };
    let engine = CallEngine::start(config, store).await?;
    engine
        .phones()
        .set_credentials(std::collections::HashMap::from([(
            AGENT.to_owned(),
            ramal_sip::Credential::hashed(AGENT, REALM, PASSWORD),
        )]))
        .await?;
    let ramal = engine.sip_addr();
    let phone = UdpSocket::bind("127.0.0.1:0").await?;
    let caller = UdpSocket::bind("127.0.0.1:0").await?;
    register(&phone, ramal).await?;
    let agents = engine.agents().ok_or_else(|| anyhow::anyhow!("no ACD"))?;
    agents.act(AGENT, AgentAction::LogIn).await?;

    let mut figures = Vec::with_capacity(rounds);
    let mut totals = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let (after_answer, total) = one_round(round, &caller, &phone, ramal).await?;
        figures.push(after_answer);
        totals.push(total);
        // The cancelled agent is ready again before the next caller.
        let deadline = Instant::now() + Duration::from_secs(5);
        while agents.agent(AGENT).await?.state != "ready" {
            anyhow::ensure!(
                Instant::now() < deadline,
                "the agent never became ready again"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    engine.shutdown().await;
    let _ = std::fs::remove_dir_all(&directory);
    println!("queue_latency: {rounds} rounds, one after another, on loopback");
    report(
        "caller's 200 → agent's INVITE (enqueue → INVITE, with the flow's start)",
        &mut figures,
    );
    report(
        "caller's INVITE → agent's INVITE (answer, flow, queue, offer)",
        &mut totals,
    );
    Ok(())
}

fn report(what: &str, figures: &mut [Duration]) {
    figures.sort();
    let at = |q: f64| {
        let index = ((figures.len() as f64 - 1.0) * q).round() as usize;
        figures[index.min(figures.len() - 1)]
    };
    println!(
        "  {what}: p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
        at(0.50).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
        at(1.0).as_secs_f64() * 1e6
    );
}

/// One queued call, cancelled once the phone rings. Returns (200 → phone INVITE, caller
/// INVITE → phone INVITE).
async fn one_round(
    round: usize,
    caller: &UdpSocket,
    phone: &UdpSocket,
    ramal: SocketAddr,
) -> anyhow::Result<(Duration, Duration)> {
    let local = caller.local_addr()?;
    let call_id = format!("bench-{round}-{}", std::process::id());
    let from = format!("<sip:caller@{local}>;tag=c{round}");
    let invite = format!(
        "INVITE sip:4000@{ramal} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-i{round}\r\n\
         From: {from}\r\nTo: <sip:4000@{ramal}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n\
         Contact: <sip:caller@{local}>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{}",
        sdp(local).len(),
        sdp(local)
    );
    let started = Instant::now();
    caller.send_to(invite.as_bytes(), ramal).await?;
    let ok = loop {
        let message = receive(caller).await?;
        if message.starts_with("SIP/2.0 200")
            && header(&message, "CSeq").is_some_and(|c| c.ends_with("INVITE"))
        {
            break message;
        }
        anyhow::ensure!(
            message.starts_with("SIP/2.0 1"),
            "the call was not answered: {}",
            first_line(&message)
        );
    };
    let answered = Instant::now();
    let to = header(&ok, "To").unwrap_or_default().to_owned();
    let ack = format!(
        "ACK sip:4000@{ramal} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-a{round}\r\n\
         From: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n"
    );
    caller.send_to(ack.as_bytes(), ramal).await?;
    let (offer, ramal_leg) = loop {
        let (message, source) = receive_from(phone).await?;
        if message.starts_with("INVITE ") {
            break (message, source);
        }
    };
    let rung = Instant::now();
    // The caller hangs up; the phone answers the offer's CANCEL and ends its INVITE.
    let bye = format!(
        "BYE sip:4000@{ramal} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-b{round}\r\n\
         From: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n"
    );
    caller.send_to(bye.as_bytes(), ramal).await?;
    let ringing = response(&offer, "180 Ringing", ";tag=p1");
    phone.send_to(ringing.as_bytes(), ramal_leg).await?;
    loop {
        let (message, source) = receive_from(phone).await?;
        if message.starts_with("CANCEL ") {
            phone
                .send_to(response(&message, "200 OK", ";tag=p1").as_bytes(), source)
                .await?;
            phone
                .send_to(
                    response(&offer, "487 Request Terminated", ";tag=p1").as_bytes(),
                    source,
                )
                .await?;
        } else if message.starts_with("ACK ") {
            break;
        }
    }
    loop {
        let message = receive(caller).await?;
        if message.starts_with("SIP/2.0 200")
            && header(&message, "CSeq").is_some_and(|c| c.ends_with("BYE"))
        {
            break;
        }
    }
    Ok((rung - answered, rung - started))
}

/// Registers the phone (MD5 digest) with itself as the Contact.
async fn register(phone: &UdpSocket, ramal: SocketAddr) -> anyhow::Result<()> {
    let local = phone.local_addr()?;
    let uri = format!("sip:{ramal}");
    let request = |cseq: u32, authorization: &str| {
        format!(
            "REGISTER {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-r{cseq}\r\n\
             From: <sip:{AGENT}@{ramal}>;tag=r1\r\nTo: <sip:{AGENT}@{ramal}>\r\nCall-ID: register-bench\r\n\
             CSeq: {cseq} REGISTER\r\nContact: <sip:{AGENT}@{local}>\r\nExpires: 3600\r\n\
             Max-Forwards: 70\r\n{authorization}Content-Length: 0\r\n\r\n"
        )
    };
    phone.send_to(request(1, "").as_bytes(), ramal).await?;
    let challenge = receive(phone).await?;
    anyhow::ensure!(
        challenge.starts_with("SIP/2.0 401"),
        "no challenge: {}",
        first_line(&challenge)
    );
    let challenges: Vec<&str> = challenge
        .lines()
        .filter_map(|line| line.strip_prefix("WWW-Authenticate:"))
        .map(str::trim)
        .collect();
    let authorization = ramal_sip::proto::digest::authorize(
        challenges,
        &ramal_sip::proto::digest::DigestRequest {
            username: AGENT,
            password: PASSWORD,
            method: "REGISTER",
            uri: &uri,
            cnonce: "bench",
            nc: 1,
        },
    )?;
    let header = format!("Authorization: {authorization}\r\n");
    phone.send_to(request(2, &header).as_bytes(), ramal).await?;
    let answer = receive(phone).await?;
    anyhow::ensure!(
        answer.starts_with("SIP/2.0 200"),
        "not registered: {}",
        first_line(&answer)
    );
    Ok(())
}

fn sdp(local: SocketAddr) -> String {
    format!(
        "v=0\r\no=caller 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
        ip = local.ip(),
        port = 49_000
    )
}

/// A response to `request` echoing its Via, From, To (with `to_tag`), Call-ID and CSeq.
fn response(request: &str, status: &str, to_tag: &str) -> String {
    let mut out = format!("SIP/2.0 {status}\r\n");
    for line in request.lines() {
        let name = line
            .split(':')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match name.as_str() {
            "via" | "v" | "from" | "f" | "call-id" | "i" | "cseq" => {
                out.push_str(line);
                out.push_str("\r\n");
            }
            "to" | "t" => {
                out.push_str(line);
                if !line.contains(";tag=") {
                    out.push_str(to_tag);
                }
                out.push_str("\r\n");
            }
            _ => {}
        }
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or_default()
}

async fn receive(socket: &UdpSocket) -> anyhow::Result<String> {
    Ok(receive_from(socket).await?.0)
}

async fn receive_from(socket: &UdpSocket) -> anyhow::Result<(String, SocketAddr)> {
    let mut buffer = vec![0u8; 65_536];
    let (length, source) =
        tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buffer))
            .await
            .map_err(|_| anyhow::anyhow!("nothing arrived in 5 s"))??;
    Ok((
        String::from_utf8_lossy(&buffer[..length]).into_owned(),
        source,
    ))
}
