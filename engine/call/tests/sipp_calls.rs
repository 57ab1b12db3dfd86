//! Real calls from a real peer: sipp places calls to a running [`CallEngine`], which answers,
//! speaks the menu prompt (espeak-ng), reads the key sipp sends as RFC 4733 packets from a
//! pcap, runs the flow and hangs up; the stored call record holds the path taken.
//!
//! sipp is Debian's `sip-tester`, which also ships the DTMF pcaps; espeak-ng is Debian's
//! `espeak-ng`. `cargo xtask test` installs both; if either is missing these tests fail.

use ramal_call::{CallConfig, CallEngine, RewriteRule, TrunkConfig};
use ramal_store::{CallRecord, Store, Transport, TrunkSpec};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const DTMF_PCAPS: &str = "/usr/share/sip-tester";

static NEXT: AtomicU32 = AtomicU32::new(0);

struct Harness {
    directory: PathBuf,
    store: Store,
    engine: CallEngine,
    /// Every sipp of this harness speaks SIP over TCP (`-t t1`).
    tcp: bool,
}

impl Harness {
    async fn start() -> Harness {
        Harness::start_with(|_| {}).await
    }

    async fn start_with(adjust: impl FnOnce(&mut CallConfig)) -> Harness {
        Harness::start_flow("digits", adjust).await
    }

    /// An engine whose default flow is `tests/fixtures/{flow}.json`.
    async fn start_flow(flow: &str, adjust: impl FnOnce(&mut CallConfig)) -> Harness {
        let directory = std::env::temp_dir().join(format!(
            "ramal-call-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&directory).expect("a temporary directory");
        let store = Store::open(&format!(
            "sqlite://{}",
            directory.join("ramal.db").display()
        ))
        .await
        .expect("SQLite opens");
        let document = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/{flow}.json")),
        )
        .expect("the fixture flow");
        store
            .save_draft(flow, flow, &document, None, 1)
            .await
            .expect("draft saved");
        store.publish(flow, None, 2).await.expect("published");
        let mut config = CallConfig {
            sip: SocketAddr::from(([127, 0, 0, 1], 0)),
            rtp_ports: 41_000..=41_999,
            default_flow: Some(flow.into()),
            prompts_dir: directory.join("prompts"),
            tts_cache_dir: directory.join("tts"),
            recordings_dir: directory.join("recordings"),
            ..CallConfig::default()
        };
        adjust(&mut config);
        let engine = CallEngine::start(config, store.clone())
            .await
            .expect("the engine starts");
        Harness {
            directory,
            store,
            engine,
            tcp: false,
        }
    }

    /// Runs one sipp call with `actions` after the ACK; returns sipp's exit and output.
    async fn sipp(&self, actions: &str, expect_bye: bool) -> (bool, String) {
        let ending = if expect_bye { RECV_BYE } else { SEND_BYE };
        let scenario = SCENARIO
            .replace("ACTIONS", actions)
            .replace("ENDING", ending);
        self.sipp_scenario(scenario).await
    }

    /// Runs one sipp call through `scenario` (sipp's XML).
    async fn sipp_scenario(&self, scenario: String) -> (bool, String) {
        let target = self.engine.sip_addr().to_string();
        self.run_sipp(scenario, free_udp_port(), Some(target)).await
    }

    /// Runs sipp with `scenario` on SIP port `sip_port`: a UAC calling `target`, or (with
    /// none) a UAS waiting for one call.
    async fn run_sipp(
        &self,
        scenario: String,
        sip_port: u16,
        target: Option<String>,
    ) -> (bool, String) {
        let path = self.directory.join(format!(
            "scenario-{}.xml",
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, scenario).expect("scenario written");
        let directory = self.directory.clone();
        let media_port = free_udp_port() & !1;
        let transport = if self.tcp { "t1" } else { "u1" };
        tokio::task::spawn_blocking(move || {
            let output = Command::new("sipp")
                .current_dir(&directory)
                .arg("-sf")
                .arg(&path)
                .args(["-m", "1", "-s", "4000", "-i", "127.0.0.1", "-nostdin"])
                .args(["-t", transport])
                .args(["-timeout", "30s", "-timeout_error"])
                .args(["-p", &sip_port.to_string(), "-mp", &media_port.to_string()])
                .args(target)
                .output()
                .expect("sipp runs (Debian package sip-tester; `cargo xtask test` installs it)");
            (
                output.status.success(),
                format!(
                    "{}\n{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ),
            )
        })
        .await
        .expect("sipp's thread")
    }

    /// The only call record, once it is stored (the record is written after the BYE).
    async fn the_call(&self) -> CallRecord {
        for _ in 0..100 {
            let calls = self.store.recent_calls(10).await.expect("calls listed");
            if let Some(call) = calls.first() {
                assert_eq!(calls.len(), 1, "one call placed, one record: {calls:#?}");
                return call.clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no call record was stored within 10 s");
    }

    async fn stop(self) {
        self.engine.shutdown().await;
        self.store.close().await;
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|socket| socket.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

fn press(key: &str) -> String {
    let pcap = Path::new(DTMF_PCAPS).join(format!("dtmf_2833_{key}.pcap"));
    assert!(
        pcap.exists(),
        "{} is missing: install Debian's sip-tester (`cargo xtask test` does)",
        pcap.display()
    );
    format!(
        r#"<pause milliseconds="600"/>
  <nop><action><exec play_pcap_audio="{}"/></action></nop>"#,
        pcap.display()
    )
}

/// The path through the flow: node ids in order.
fn path(call: &CallRecord) -> Vec<String> {
    call.trace
        .as_array()
        .expect("the trace is an array")
        .iter()
        .map(|step| step["node"].as_str().expect("a node id").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_pressed_on_a_real_call_takes_its_branch() {
    let harness = Harness::start().await;
    let (ok, output) = harness.sipp(&press("1"), true).await;
    assert!(ok, "sipp's call failed:\n{output}");
    let call = harness.the_call().await;
    assert_eq!(call.flow_id.as_deref(), Some("digits"));
    assert_eq!(call.flow_version, Some(1));
    assert_eq!(call.callee, "4000");
    assert_eq!(call.caller, "sipp");
    assert!(call.answered_at.is_some());
    assert_eq!(path(&call), ["start", "menu", "one"], "{:#}", call.trace);
    assert_eq!(call.end_reason, "normal");
    assert_eq!(call.disposition.as_deref(), Some("pressed-one"));
    harness.stop().await;
}

/// SIP over TCP: the INVITE, the ACK and Ramal's BYE travel over sipp's connection; the
/// media and the key press are RTP as ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_over_tcp_takes_its_branch_and_is_hung_up_over_the_connection() {
    let mut harness = Harness::start().await;
    harness.tcp = true;
    let (ok, output) = harness.sipp(&press("1"), true).await;
    assert!(ok, "sipp's call over TCP failed:\n{output}");
    let call = harness.the_call().await;
    assert_eq!(path(&call), ["start", "menu", "one"], "{:#}", call.trace);
    assert_eq!(call.end_reason, "normal");
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_times_out_and_a_hang_up_is_recorded() {
    let harness = Harness::start().await;
    let (ok, output) = harness.sipp("", true).await;
    assert!(ok, "sipp's call failed:\n{output}");
    let call = harness.the_call().await;
    assert_eq!(path(&call), ["start", "menu", "silent"], "{:#}", call.trace);
    assert_eq!(call.end_reason, "no-input");
    assert_eq!(call.disposition, None);
    harness.stop().await;

    let harness = Harness::start().await;
    let (ok, output) = harness.sipp(r#"<pause milliseconds="300"/>"#, false).await;
    assert!(ok, "sipp's call failed:\n{output}");
    let call = harness.the_call().await;
    assert_eq!(call.end_reason, "caller-hung-up");
    assert_eq!(path(&call), ["start", "menu"], "{:#}", call.trace);
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_whose_media_stops_is_hung_up() {
    let harness = Harness::start_with(|config| {
        config.rtp_timeout = Duration::from_millis(500);
    })
    .await;
    // sipp sends no RTP at all: the call must not wait for the menu's timeout or leak.
    let (ok, output) = harness.sipp("", true).await;
    assert!(ok, "sipp's call failed:\n{output}");
    let call = harness.the_call().await;
    assert_eq!(call.end_reason, "rtp-timeout");
    assert_eq!(path(&call), ["start", "menu"], "{:#}", call.trace);
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_re_invite_is_answered_and_a_malformed_request_gets_400() {
    let harness = Harness::start().await;
    let (ok, output) = harness.sipp(HOLD, false).await;
    assert!(ok, "sipp's call with a re-INVITE failed:\n{output}");
    let call = harness.the_call().await;
    assert_eq!(call.end_reason, "caller-hung-up");
    let (ok, output) = harness.sipp_scenario(MALFORMED.to_owned()).await;
    assert!(
        ok,
        "sipp did not get 400 for a request without Max-Forwards:\n{output}"
    );
    let calls = harness.store.recent_calls(10).await.expect("calls listed");
    assert_eq!(calls.len(), 1, "a malformed INVITE makes no call");
    harness.stop().await;
}

/// A harness whose default flow records the call and transfers it to `carrier`, a trunk
/// played by a sipp UAS on `trunk_port` that challenges with digest auth. The trunk is
/// configured at start-up, or (`stored`) created in the store as the API would.
async fn transfer_harness(trunk_port: u16, stored: bool) -> Harness {
    transfer_harness_over(trunk_port, stored, Transport::Udp).await
}

/// A harness whose flow transfers through the trunk `carrier` at `trunk_port`: configured
/// at start-up, or `stored` (with its `transport`).
async fn transfer_harness_over(trunk_port: u16, stored: bool, transport: Transport) -> Harness {
    let rewrite = vec![
        RewriteRule::StripPrefix { prefix: "0".into() },
        RewriteRule::AddPrefix {
            prefix: "55".into(),
        },
    ];
    let configured = TrunkConfig {
        name: "carrier".into(),
        host: "127.0.0.1".into(),
        port: trunk_port,
        username: Some("ramal".into()),
        password: Some("s3cret".into()),
        caller_id: Some("551130000000".into()),
        rewrite: rewrite.clone(),
        ..TrunkConfig::default()
    };
    let harness = Harness::start_flow("transfer", |config| {
        if !stored {
            config.trunks = vec![configured];
        }
    })
    .await;
    if stored {
        let spec = TrunkSpec {
            name: "carrier".into(),
            host: "127.0.0.1".into(),
            port: u32::from(trunk_port),
            transport,
            username: Some("ramal".into()),
            password: Some("s3cret".into()),
            caller_id: Some("551130000000".into()),
            rewrite_rules: rewrite,
        };
        harness
            .store
            .create_trunk(&spec, None, 1)
            .await
            .expect("the trunk is stored");
    }
    harness
}

/// Runs the caller (a UAC offering A-law, doing `actions` after the ACK and then `ending`)
/// and the trunk (a UAS scenario) at once; returns both results.
async fn caller_and_trunk(
    harness: &Harness,
    trunk_port: u16,
    trunk: String,
    actions: &str,
    ending: &str,
) -> ((bool, String), (bool, String)) {
    let caller = SCENARIO
        .replace("RTP/AVP 0 101", "RTP/AVP 8 101")
        .replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000")
        .replace("ACTIONS", actions)
        .replace("ENDING", ending);
    let trunk_side = harness.run_sipp(trunk, trunk_port, None);
    let caller_side = async {
        // The UAS listens first.
        tokio::time::sleep(Duration::from_millis(300)).await;
        harness.sipp_scenario(caller).await
    };
    let (trunk_result, caller_result) = tokio::join!(trunk_side, caller_side);
    (caller_result, trunk_result)
}

fn play_audio() -> String {
    let pcap = Path::new(DTMF_PCAPS).join("g711a.pcap");
    assert!(
        pcap.exists(),
        "{} is missing: install sip-tester",
        pcap.display()
    );
    format!(
        r#"<nop><action><exec play_pcap_audio="{}"/></action></nop>"#,
        pcap.display()
    )
}

/// Both channels of a stereo WAV: how many samples of each are not silence.
fn voiced_samples(path: &Path) -> (usize, usize) {
    let reader = hound::WavReader::open(path).expect("a WAV");
    let spec = reader.spec();
    assert_eq!((spec.channels, spec.sample_rate), (2, 8_000));
    let samples: Vec<i16> = reader
        .into_samples()
        .map(|sample| sample.expect("a sample"))
        .collect();
    let voiced = |channel: usize| {
        samples
            .iter()
            .skip(channel)
            .step_by(2)
            .filter(|sample| sample.unsigned_abs() > 64)
            .count()
    };
    (voiced(0), voiced(1))
}

/// A caller playing audio is transferred through the stored trunk at `trunk_port`, which
/// challenges, answers, plays audio and hangs up; the stored record of that call.
async fn transferred_through_a_challenging_trunk(harness: &Harness, trunk_port: u16) -> CallRecord {
    let trunk = TRUNK_ANSWERS
        .replace("CHALLENGE", TRUNK_CHALLENGE)
        .replace("PLAY", &play_audio());
    let ((caller_ok, caller_output), (trunk_ok, trunk_output)) =
        caller_and_trunk(harness, trunk_port, trunk, &play_audio(), RECV_BYE).await;
    assert!(trunk_ok, "the trunk's side failed:\n{trunk_output}");
    assert!(caller_ok, "the caller's side failed:\n{caller_output}");
    let call = harness.the_call().await;
    assert_eq!(
        path(&call),
        ["start", "rec", "xfer", "done"],
        "{:#}",
        call.trace
    );
    assert_eq!(call.disposition.as_deref(), Some("transferred"));
    call
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_through_a_challenging_trunk_is_bridged_and_recorded() {
    let trunk_port = free_udp_port();
    let harness = transfer_harness(trunk_port, true).await;
    let call = transferred_through_a_challenging_trunk(&harness, trunk_port).await;
    let recording = call.recording.clone().expect("the call was recorded");
    let (caller_voiced, far_voiced) =
        voiced_samples(&harness.directory.join("recordings").join(&recording));
    assert!(
        caller_voiced > 8_000,
        "the caller's channel holds their audio: {caller_voiced}"
    );
    assert!(
        far_voiced > 8_000,
        "the far end's channel holds the trunk's audio: {far_voiced}"
    );
    harness.stop().await;
}

/// A stored TCP trunk: Ramal opens a connection to it, answers its challenge over it and
/// bridges the caller (who also called over TCP).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_through_a_tcp_trunk_opens_a_connection_and_is_bridged() {
    let trunk_port = free_udp_port();
    let mut harness = transfer_harness_over(trunk_port, true, Transport::Tcp).await;
    harness.tcp = true;
    let call = transferred_through_a_challenging_trunk(&harness, trunk_port).await;
    assert!(call.recording.is_some(), "recorded as over UDP");
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_trunk_fails_the_transfer_and_the_flow_goes_on() {
    let trunk_port = free_udp_port();
    let harness = transfer_harness(trunk_port, false).await;
    let ((caller_ok, caller_output), (trunk_ok, trunk_output)) =
        caller_and_trunk(&harness, trunk_port, TRUNK_BUSY.to_owned(), "", RECV_BYE).await;
    assert!(trunk_ok, "the trunk's side failed:\n{trunk_output}");
    assert!(caller_ok, "the caller's side failed:\n{caller_output}");
    let call = harness.the_call().await;
    assert_eq!(
        path(&call),
        ["start", "rec", "xfer", "failed"],
        "{:#}",
        call.trace
    );
    assert_eq!(call.disposition.as_deref(), Some("transfer-failed"));
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_who_hangs_up_while_the_transfer_rings_cancels_it() {
    let trunk_port = free_udp_port();
    let harness = transfer_harness(trunk_port, false).await;
    let ((caller_ok, caller_output), (trunk_ok, trunk_output)) = caller_and_trunk(
        &harness,
        trunk_port,
        TRUNK_RINGS.to_owned(),
        r#"<pause milliseconds="800"/>"#,
        SEND_BYE,
    )
    .await;
    assert!(caller_ok, "the caller's side failed:\n{caller_output}");
    assert!(trunk_ok, "the trunk was not cancelled:\n{trunk_output}");
    let call = harness.the_call().await;
    assert_eq!(call.end_reason, "caller-hung-up");
    assert_eq!(path(&call), ["start", "rec", "xfer"], "{:#}", call.trace);
    harness.stop().await;
}

/// The first INVITE of a trunk scenario: challenged with 401 (MD5, qop=auth); the second
/// must carry a valid Authorization for ramal / s3cret.
const TRUNK_CHALLENGE: &str = r#"<recv request="INVITE"/>
  <send>
    <![CDATA[
      SIP/2.0 401 Unauthorized
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      WWW-Authenticate: Digest realm="trunk.test", nonce="5eb1d2e0a1b2c3d4", qop="auth", algorithm=MD5
      Content-Length: 0
    ]]>
  </send>
  <recv request="ACK"/>
  <recv request="INVITE" rrs="true">
    <action>
      <ereg regexp="tag=([A-Za-z0-9]+)" search_in="hdr" header="From:" assign_to="fromtag,ramaltag"/>
      <ereg regexp="sip:5511999990000@" search_in="msg" check_it="true" assign_to="rewritten"/>
      <ereg regexp="From: &lt;sip:551130000000@" search_in="msg" check_it="true" assign_to="shown"/>
      <verifyauth assign_to="authorized" username="ramal" password="s3cret"/>
    </action>
  </recv>
  <Reference variables="rewritten,shown,fromtag"/>
  <nop hide="true" test="authorized" next="good"/>
  <send next="end">
    <![CDATA[
      SIP/2.0 403 Bad Credentials
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <label id="good"/>"#;

const TRUNK_ANSWERS: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="trunk that answers">
  CHALLENGE
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:carrier@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=carrier 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8
      a=rtpmap:8 PCMA/8000
    ]]>
  </send>
  <recv request="ACK"/>
  PLAY
  <pause milliseconds="3000"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:carrier@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
      To: <sip:5511999990000@[local_ip]>;tag=[$ramaltag]
      [last_Call-ID:]
      CSeq: 1 BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>
  <label id="end"/>
</scenario>
"#;
/// A re-INVITE putting the call on hold (`sendonly`): the answer must be `recvonly`.
const HOLD: &str = r#"<pause milliseconds="300"/>
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 INVITE
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687638 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=sendonly
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="200">
    <action>
      <ereg regexp="a=recvonly" search_in="body" check_it="true" assign_to="direction"/>
    </action>
  </recv>
  <Reference variables="direction"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 ACK
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <pause milliseconds="200"/>"#;

/// An INVITE without Max-Forwards.
const MALFORMED: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="malformed">
  <send>
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Content-Length: 0
    ]]>
  </send>
  <recv response="400"/>
</scenario>
"#;

const SCENARIO: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="ramal call">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  ACTIONS
  ENDING
</scenario>
"#;

/// We hang up: sipp waits for our BYE and answers it.
const RECV_BYE: &str = r#"<recv request="BYE"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>"#;

/// The caller hangs up.
const SEND_BYE: &str = r#"<send retrans="500">
    <![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 10 BYE
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>"#;

/// A trunk that is busy.
const TRUNK_BUSY: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="busy trunk">
  <recv request="INVITE"/>
  <send>
    <![CDATA[
      SIP/2.0 486 Busy Here
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <recv request="ACK"/>
</scenario>
"#;

/// A trunk that rings and must be cancelled.
const TRUNK_RINGS: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="ringing trunk">
  <recv request="INVITE">
    <action>
      <ereg regexp="([0-9]+) INVITE" search_in="hdr" header="CSeq:" assign_to="cseqline,invitecseq"/>
    </action>
  </recv>
  <Reference variables="cseqline"/>
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <recv request="CANCEL"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <send>
    <![CDATA[
      SIP/2.0 487 Request Terminated
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      CSeq: [$invitecseq] INVITE
      Content-Length: 0
    ]]>
  </send>
  <recv request="ACK"/>
</scenario>
"#;

/// Runs one caller offering A-law (so g711a.pcap's audio is accepted) into `harness`.
async fn alaw_caller(harness: &Harness, actions: &str, ending: &str) -> (bool, String) {
    let caller = SCENARIO
        .replace("RTP/AVP 0 101", "RTP/AVP 8 101")
        .replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000")
        .replace("ACTIONS", actions)
        .replace("ENDING", ending);
    harness.sipp_scenario(caller).await
}

/// The message a voicemail call left: its name in the flow variable, and its voiced samples.
fn left_message(harness: &Harness, call: &CallRecord) -> (String, usize) {
    let name = call.variables["message"]
        .as_str()
        .expect("the flow stored the message's name")
        .to_owned();
    assert!(
        name.starts_with("voicemail/sales/") && name.ends_with(".wav"),
        "{name}"
    );
    let reader = hound::WavReader::open(harness.directory.join("recordings").join(&name))
        .expect("the message is a WAV");
    assert_eq!(
        reader.spec().channels,
        1,
        "a message is the caller's side only"
    );
    let voiced = reader
        .into_samples::<i16>()
        .filter(|sample| sample.as_ref().is_ok_and(|s| s.unsigned_abs() > 64))
        .count();
    (name, voiced)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_runs_to_its_maximum_and_the_flow_gets_its_name() {
    let harness = Harness::start_flow("voicemail", |_| {}).await;
    let (ok, output) = alaw_caller(&harness, &play_audio(), RECV_BYE).await;
    assert!(ok, "sipp's call failed:\n{output}");
    let call = harness.the_call().await;
    assert_eq!(path(&call), ["start", "vm", "bye"], "{:#}", call.trace);
    assert_eq!(call.disposition.as_deref(), Some("left-message"));
    let (_, voiced) = left_message(&harness, &call);
    assert!(
        voiced > 8_000,
        "the caller's audio is in the message: {voiced}"
    );
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_who_hangs_up_after_speaking_leaves_the_message() {
    let harness = Harness::start_flow("voicemail", |_| {}).await;
    let actions = format!(r#"{}<pause milliseconds="1500"/>"#, play_audio());
    let (ok, output) = alaw_caller(&harness, &actions, SEND_BYE).await;
    assert!(ok, "sipp's call failed:\n{output}");
    let call = harness.the_call().await;
    assert_eq!(call.end_reason, "caller-hung-up");
    let (_, voiced) = left_message(&harness, &call);
    assert!(
        voiced > 4_000,
        "the caller's audio is in the message: {voiced}"
    );
    harness.stop().await;
}

/// A phone registering as 1001 with `password`; the second REGISTER must get `expect`.
fn register_scenario(password: &str, expect: u16) -> String {
    register_contact_scenario(password, expect, None)
}

/// As [`register_scenario`], with the Contact on `contact_port` (another sipp's) if given.
fn register_contact_scenario(password: &str, expect: u16, contact_port: Option<u16>) -> String {
    let contact = match contact_port {
        Some(port) => format!("<sip:1001@127.0.0.1:{port}>"),
        None => "<sip:1001@[local_ip]:[local_port]>".to_owned(),
    };
    let register = |cseq: u32, auth: &str| {
        format!(
            r#"<send retrans="500">
    <![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:1001@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:1001@[remote_ip]>
      Call-ID: [call_id]
      CSeq: {cseq} REGISTER
            Contact: {contact}
      Max-Forwards: 70
      Expires: 120
      {auth}
      Content-Length: 0
    ]]>
  </send>"#
        )
    };
    format!(
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
            &format!("[authentication username=1001 password={password}]")
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_phone_registers_with_digest_and_can_be_found() {
    let harness = Harness::start_with(|config| {
        let mut auth = ramal_sip::AuthConfig::new("ramal.test", b"0123456789abcdef".to_vec());
        // sipp's digest client speaks MD5 only.
        auth.algorithms = vec![ramal_sip::Algorithm::Md5];
        config.registrar = Some(ramal_sip::RegistrarConfig::new(auth));
    })
    .await;
    harness
        .engine
        .phones()
        .set_credentials(std::collections::HashMap::from([(
            "1001".to_owned(),
            ramal_sip::Credential::hashed("1001", "ramal.test", "s3cret"),
        )]))
        .await
        .expect("credentials set");
    let (ok, output) = harness.sipp_scenario(register_scenario("wrong", 401)).await;
    assert!(ok, "a wrong password must be challenged again:\n{output}");
    assert!(
        harness
            .engine
            .phones()
            .registered("1001")
            .await
            .expect("lookup")
            .is_empty()
    );

    let (ok, output) = harness
        .sipp_scenario(register_scenario("s3cret", 200))
        .await;
    assert!(ok, "the REGISTER failed:\n{output}");
    let bindings = harness
        .engine
        .phones()
        .registered("1001")
        .await
        .expect("lookup");
    assert_eq!(bindings.len(), 1, "{bindings:?}");
    assert!(
        bindings[0].contact.starts_with("sip:1001@127.0.0.1:"),
        "{bindings:?}"
    );
    assert!(
        harness
            .engine
            .phones()
            .registered("1002")
            .await
            .expect("lookup")
            .is_empty()
    );
    harness.stop().await;
}

/// A harness whose default flow queues the caller in `sales`, whose one member is agent
/// 1001 (a phone that registers with MD5 digest).
async fn queue_harness() -> Harness {
    queue_harness_named("sales").await
}

/// Like [`queue_harness`], the ACD's one queue named `queue`.
async fn queue_harness_named(queue: &str) -> Harness {
    let harness = Harness::start_flow("queue", |config| {
        let mut auth = ramal_sip::AuthConfig::new("ramal.test", b"0123456789abcdef".to_vec());
        auth.algorithms = vec![ramal_sip::Algorithm::Md5];
        config.registrar = Some(ramal_sip::RegistrarConfig::new(auth));
        config.acd = Some(ramal_acd::AcdConfig {
            queues: vec![ramal_acd::QueueConfig {
                id: ramal_acd::QueueId(queue.into()),
                strategy: ramal_acd::Strategy::LongestIdle,
                members: vec![ramal_acd::Member {
                    agent: ramal_acd::AgentId("1001".into()),
                    penalty: 0,
                }],
                max_wait_ms: 8_000,
                max_length: None,
                ring_timeout_ms: 5_000,
                wrap_up_ms: 1_000,
                overflow: ramal_acd::Overflow::Flow,
                announce_every_ms: None,
            }],
            ..ramal_acd::AcdConfig::default()
        });
    })
    .await;
    harness
        .engine
        .phones()
        .set_credentials(std::collections::HashMap::from([(
            "1001".to_owned(),
            ramal_sip::Credential::hashed("1001", "ramal.test", "s3cret"),
        )]))
        .await
        .expect("credentials set");
    harness
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_caller_is_bridged_to_the_registered_agent() {
    let harness = queue_harness().await;
    let agent_port = free_udp_port();
    let agent = harness.run_sipp(AGENT_ANSWERS.to_owned(), agent_port, None);
    let rest = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (ok, output) = harness
            .sipp_scenario(register_contact_scenario("s3cret", 200, Some(agent_port)))
            .await;
        assert!(ok, "the agent's phone did not register:\n{output}");
        let agents = harness.engine.agents().expect("the engine has an ACD");
        let view = agents
            .act("1001", ramal_call::AgentAction::LogIn)
            .await
            .expect("the agent logs in");
        assert_eq!(view.state, "ready");
        alaw_caller(&harness, "", RECV_BYE).await
    };
    let ((agent_ok, agent_output), (caller_ok, caller_output)) = tokio::join!(agent, rest);
    assert!(agent_ok, "the agent's phone failed:\n{agent_output}");
    assert!(caller_ok, "the caller failed:\n{caller_output}");
    let call = harness.the_call().await;
    assert_eq!(path(&call), ["start", "q", "done"], "{:#}", call.trace);
    assert_eq!(call.disposition.as_deref(), Some("talked"));
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_without_a_registered_phone_cannot_log_in() {
    let harness = queue_harness().await;
    let agents = harness.engine.agents().expect("the engine has an ACD");
    let refused = agents.act("1001", ramal_call::AgentAction::LogIn).await;
    assert!(
        matches!(refused, Err(ramal_call::AgentError::NoPhone(ref who)) if who == "1001"),
        "{refused:?}"
    );
    let view = agents.agent("1001").await.expect("the ACD answers");
    assert_eq!(view.state, "logged-out");
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_the_acd_does_not_have_takes_no_agents_at_once() {
    // The flow queues in `sales`; the ACD has only `support`. Before the fix the caller
    // waited out the node's maximum wait and left by `timeout`.
    let harness = queue_harness_named("support").await;
    let (ok, output) = alaw_caller(&harness, "", RECV_BYE).await;
    assert!(ok, "the caller failed:\n{output}");
    let call = harness.the_call().await;
    assert_eq!(path(&call), ["start", "q", "nobody"], "{:#}", call.trace);
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_agent_logged_in_the_queue_takes_no_agents() {
    let harness = queue_harness().await;
    let (ok, output) = alaw_caller(&harness, "", RECV_BYE).await;
    assert!(ok, "the caller failed:\n{output}");
    let call = harness.the_call().await;
    assert_eq!(path(&call), ["start", "q", "nobody"], "{:#}", call.trace);
    harness.stop().await;
}

/// An agent's phone: rings, answers, talks for a second, hangs up.
const AGENT_ANSWERS: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="agent phone">
  <recv request="INVITE" rrs="true">
    <action>
      <ereg regexp="tag=([A-Za-z0-9]+)" search_in="hdr" header="From:" assign_to="fromtag,ramaltag"/>
    </action>
  </recv>
  <Reference variables="fromtag"/>
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:1001@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=agent 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
    ]]>
  </send>
  <recv request="ACK"/>
  <pause milliseconds="1000"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:1001@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
      To: <sip:caller@[local_ip]>;tag=[$ramaltag]
      [last_Call-ID:]
      CSeq: 1 BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>
</scenario>
"#;
