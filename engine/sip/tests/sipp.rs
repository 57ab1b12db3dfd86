//! A real peer: sipp's built-in `uac` scenario places five calls against a small server on
//! the UDP endpoint, which answers each with 180 and 200 (with an SDP answer) and accepts
//! the BYE. sipp exits 0 only if every call went through.
//!
//! sipp comes from the Debian package `sip-tester`; `cargo xtask test` installs it. If it
//! is missing this test fails rather than skipping.

use ramal_sip::proto::sdp::{LocalMedia, build_answer, choose_answer};
use ramal_sip::{EndpointConfig, SipEndpoint, UaEvent};
use std::net::{SocketAddr, UdpSocket};
use std::process::Command;
use std::time::Duration;

fn sipp_version() -> String {
    match Command::new("sipp").arg("-v").output() {
        Ok(output) => String::from_utf8_lossy(&output.stdout).trim().to_string(),
        Err(error) => panic!(
            "sipp is not installed ({error}); `cargo xtask test` installs it \
             (Debian package sip-tester)"
        ),
    }
}

/// A free UDP port on loopback for sipp's own socket.
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|socket| socket.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_uac_calls_are_answered_and_hung_up() {
    let version = sipp_version();
    let (server, mut events) = SipEndpoint::bind(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        EndpointConfig::default(),
    )
    .await
    .expect("binds");
    let port = server.local_addr().port();
    let answering = server.clone();
    let tu = tokio::spawn(async move {
        let mut ended = 0;
        while let Some(event) = events.recv().await {
            match event {
                UaEvent::IncomingCall { call, offer, .. } => {
                    let plan = offer.as_ref().and_then(|offer| choose_answer(offer).ok());
                    let Some(plan) = plan else {
                        let _ = answering
                            .reject(call, 488, "Not Acceptable Here".into())
                            .await;
                        continue;
                    };
                    let local = LocalMedia {
                        address: "127.0.0.1".parse().expect("an address"),
                        port: 30_000,
                        session_id: 1,
                        session_version: 1,
                    };
                    answering.ringing(call).await.expect("rings");
                    answering
                        .answer(call, build_answer(&plan, &local))
                        .await
                        .expect("answers");
                }
                UaEvent::CallEnded { .. } => ended += 1,
                _ => {}
            }
            if ended == 5 {
                break;
            }
        }
        ended
    });
    let sipp_port = free_port();
    let run = tokio::task::spawn_blocking(move || {
        Command::new("sipp")
            .args(["-sn", "uac", "-m", "5", "-r", "5", "-timeout", "20s"])
            .args(["-buff_size", "262144", "-nostdin", "-i", "127.0.0.1"])
            .args(["-p", &sipp_port.to_string()])
            .arg(format!("127.0.0.1:{port}"))
            .output()
    });
    let output = tokio::time::timeout(Duration::from_secs(40), run)
        .await
        .expect("sipp ends within its own -timeout")
        .expect("the blocking task runs")
        .expect("sipp starts");
    assert!(
        output.status.success(),
        "{version} exited with {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let ended = tokio::time::timeout(Duration::from_secs(10), tu)
        .await
        .expect("the server saw every call end")
        .expect("the TU task did not panic");
    assert_eq!(ended, 5);
    drop(server);
}
