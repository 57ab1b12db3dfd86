//! sipp for the server's end-to-end tests: free loopback ports, and one call to 4000 that
//! presses 2 (RFC 4733, sip-tester's pcap) and waits for the engine's BYE.
#![allow(dead_code)]

pub mod phones;

use std::net::UdpSocket;
use std::path::Path;
use std::process::{Command, Output};

/// A free UDP port on 127.0.0.1.
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|socket| socket.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

/// Runs the press-2 call against the engine's SIP port (blocking); the scenario is written
/// into `dir`.
pub fn call_pressing_two(dir: &Path, sip_port: u16) -> Output {
    let scenario = dir.join("press-2.xml");
    std::fs::write(&scenario, PRESS_TWO).expect("scenario written");
    Command::new("sipp")
        .current_dir(dir)
        .arg("-sf")
        .arg(&scenario)
        .args(["-m", "1", "-s", "4000", "-i", "127.0.0.1", "-nostdin"])
        .args(["-timeout", "30s", "-timeout_error"])
        .args(["-p", &free_udp_port().to_string()])
        .args(["-mp", &(free_udp_port() & !1).to_string()])
        .arg(format!("127.0.0.1:{sip_port}"))
        .output()
        .expect("sipp runs (Debian package sip-tester; `cargo xtask test` installs it)")
}

/// sipp's output, for a failure message.
pub fn explain(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

const PRESS_TWO: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="press 2">
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
      m=audio [media_port] RTP/AVP 8 0 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
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
  <pause milliseconds="600"/>
  <nop><action><exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_2.pcap"/></action></nop>
  <recv request="BYE"/>
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
  </send>
</scenario>
"#;
