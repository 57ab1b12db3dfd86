//! sipp as agents' phones and as callers who wait in a queue.
//!
//! A phone is two sipp runs: a UAS on a port the test picks that answers (or only rings)
//! the INVITE the queue sends, and a REGISTER from another port whose Contact names that
//! port (the registrar keeps the Contact when its host is the REGISTER's source host).

use super::free_udp_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// How a phone treats the INVITE the queue sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phone {
    /// Rings, answers, talks for `talk_ms`, hangs up.
    AnswersAndHangsUp {
        /// How long the agent talks.
        talk_ms: u32,
    },
    /// Rings until the queue cancels the offer.
    RingsOnly,
}

/// A phone's UAS process, answering on `port`.
pub struct PhoneProcess {
    /// The SIP port the phone listens on.
    pub port: u16,
    child: Option<Child>,
}

impl PhoneProcess {
    /// Starts the phone of `agent` (its SIP user) in `dir`.
    pub fn start(dir: &Path, agent: &str, phone: Phone) -> PhoneProcess {
        let port = free_udp_port();
        let scenario = dir.join(format!("phone-{agent}-{port}.xml"));
        let xml = match phone {
            Phone::AnswersAndHangsUp { talk_ms } => ANSWERS
                .replace("RINGING", RINGING)
                .replace("AGENT", agent)
                .replace("TALK_MS", &talk_ms.to_string()),
            Phone::RingsOnly => RINGS.replace("RINGING", RINGING),
        };
        std::fs::write(&scenario, xml).expect("scenario written");
        let child = Command::new("sipp")
            .current_dir(dir)
            .arg("-sf")
            .arg(&scenario)
            .args(["-m", "1", "-i", "127.0.0.1", "-nostdin"])
            .args(["-timeout", "60s", "-timeout_error"])
            .args(["-p", &port.to_string()])
            .args(["-mp", &(free_udp_port() & !1).to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sipp runs (Debian package sip-tester; `cargo xtask test` installs it)");
        PhoneProcess {
            port,
            child: Some(child),
        }
    }

    /// Waits for the scenario to finish.
    pub fn finish(mut self) -> Output {
        self.child
            .take()
            .expect("a running phone")
            .wait_with_output()
            .expect("sipp's output")
    }
}

impl Drop for PhoneProcess {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Registers `agent` with `password` from a fresh port, naming `contact_port` as the phone's
/// Contact (MD5 digest: sipp answers only the first challenge). Blocking.
pub fn register(
    dir: &Path,
    sip_port: u16,
    agent: &str,
    password: &str,
    contact_port: u16,
) -> Output {
    let scenario = dir.join(format!("register-{agent}-{contact_port}.xml"));
    let register = |cseq: u32, auth: &str| {
        REGISTER
            .replace("AGENT", agent)
            .replace("CSEQ", &cseq.to_string())
            .replace("CONTACT_PORT", &contact_port.to_string())
            .replace("AUTH", auth)
    };
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\" ?>\n<scenario name=\"register\">\n{}\n\
         <recv response=\"401\" auth=\"true\"/>\n{}\n<recv response=\"200\"/>\n</scenario>\n",
        register(1, ""),
        register(
            2,
            &format!("[authentication username={agent} password={password}]")
        ),
    );
    std::fs::write(&scenario, xml).expect("scenario written");
    run(dir, &scenario, sip_port, "15s")
}

/// How a caller's call ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerEnds {
    /// Ramal hangs up (the flow ended).
    WaitsForBye,
    /// The caller hangs up after `after_ms` in the call.
    HangsUpAfter {
        /// How long the caller stays.
        after_ms: u32,
    },
}

/// Calls `number` on Ramal from a fresh port. Blocking.
pub fn call(dir: &Path, sip_port: u16, number: &str, ends: CallerEnds) -> Output {
    let ending = match ends {
        CallerEnds::WaitsForBye => RECV_BYE.to_owned(),
        CallerEnds::HangsUpAfter { after_ms } => {
            format!("<pause milliseconds=\"{after_ms}\"/>\n{SEND_BYE}")
        }
    };
    let scenario: PathBuf = dir.join(format!("caller-{}.xml", free_udp_port()));
    std::fs::write(&scenario, CALLER.replace("ENDING", &ending)).expect("scenario written");
    let mut command = Command::new("sipp");
    command
        .current_dir(dir)
        .arg("-sf")
        .arg(&scenario)
        .args(["-m", "1", "-s", number, "-i", "127.0.0.1", "-nostdin"])
        .args(["-timeout", "60s", "-timeout_error"])
        .args(["-p", &free_udp_port().to_string()])
        .args(["-mp", &(free_udp_port() & !1).to_string()])
        .arg(format!("127.0.0.1:{sip_port}"));
    command
        .output()
        .expect("sipp runs (Debian package sip-tester; `cargo xtask test` installs it)")
}

fn run(dir: &Path, scenario: &Path, sip_port: u16, timeout: &str) -> Output {
    Command::new("sipp")
        .current_dir(dir)
        .arg("-sf")
        .arg(scenario)
        .args(["-m", "1", "-i", "127.0.0.1", "-nostdin"])
        .args(["-timeout", timeout, "-timeout_error"])
        .args(["-p", &free_udp_port().to_string()])
        .arg(format!("127.0.0.1:{sip_port}"))
        .output()
        .expect("sipp runs (Debian package sip-tester; `cargo xtask test` installs it)")
}

const REGISTER: &str = r#"<send retrans="500">
    <![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:AGENT@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:AGENT@[remote_ip]>
      Call-ID: [call_id]
      CSeq: CSEQ REGISTER
      Contact: <sip:AGENT@[local_ip]:CONTACT_PORT>
      Max-Forwards: 70
      Expires: 300
      AUTH
      Content-Length: 0
    ]]>
  </send>"#;

/// The phone's 180, in both scenarios.
const RINGING: &str = r#"<send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>"#;

/// Rings, answers, talks, hangs up.
const ANSWERS: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="agent phone answers">
  <recv request="INVITE" rrs="true">
    <action>
      <ereg regexp="tag=([A-Za-z0-9]+)" search_in="hdr" header="From:" assign_to="fromtag,ramaltag"/>
    </action>
  </recv>
  <Reference variables="fromtag"/>
  RINGING
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:AGENT@[local_ip]:[local_port]>
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
  <pause milliseconds="TALK_MS"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:AGENT@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
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

/// Rings until cancelled.
const RINGS: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="agent phone rings">
  <recv request="INVITE">
    <action>
      <ereg regexp="([0-9]+) INVITE" search_in="hdr" header="CSeq:" assign_to="cseqline,invitecseq"/>
    </action>
  </recv>
  <Reference variables="cseqline"/>
  RINGING
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

/// A caller offering PCMU and PCMA; ENDING is how it ends.
const CALLER: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="queued caller">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:5511987654321@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:5511987654321@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 8
      a=rtpmap:0 PCMU/8000
      a=rtpmap:8 PCMA/8000
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
      From: <sip:5511987654321@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: sip:5511987654321@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  ENDING
</scenario>
"#;

const RECV_BYE: &str = r#"<recv request="BYE" timeout="60000"/>
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

const SEND_BYE: &str = r#"<send retrans="500">
    <![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:5511987654321@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 10 BYE
      Contact: sip:5511987654321@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>"#;
