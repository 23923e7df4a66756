//! The harness starts real services that answer, and stops them on drop.

use std::time::Duration;

use tessera_testkit::{Consul, Nats, NatsOptions};

async fn get(url: &str) -> Option<String> {
    let resp = reqwest::get(url).await.ok()?;
    resp.text().await.ok()
}

#[tokio::test]
async fn nats_starts_with_jetstream_and_stops_on_drop() {
    let nats = Nats::start_with(NatsOptions {
        max_payload: Some(4 << 20),
    })
    .await
    .expect("nats starts");
    let port = nats.port();
    let addr = format!("127.0.0.1:{port}");
    // The client protocol answers with an INFO line naming JetStream and our max payload.
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), async {
        use tokio::io::AsyncReadExt;
        stream.read(&mut buf).await
    })
    .await
    .expect("info in time")
    .expect("read");
    let info = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(info.starts_with("INFO "), "{info}");
    assert!(info.contains("\"jetstream\":true"), "{info}");
    assert!(info.contains("\"max_payload\":4194304"), "{info}");
    drop(stream);
    drop(nats);
    assert!(
        tokio::net::TcpStream::connect(&addr).await.is_err(),
        "server still listening after drop"
    );
}

#[tokio::test]
async fn nats_restarts_on_the_same_port() {
    let mut nats = Nats::start().await.expect("nats starts");
    let addr = format!("127.0.0.1:{}", nats.port());
    nats.kill();
    assert!(tokio::net::TcpStream::connect(&addr).await.is_err());
    nats.restart().await.expect("restart");
    assert!(tokio::net::TcpStream::connect(&addr).await.is_ok());
}

#[tokio::test]
async fn consul_elects_a_leader_and_serves_kv() {
    let consul = Consul::start().await.expect("consul starts");
    let base = consul.http_addr();
    let leader = get(&format!("{base}/v1/status/leader"))
        .await
        .expect("leader");
    assert!(leader.contains("127.0.0.1:"), "{leader}");
    let client = reqwest::Client::new();
    let put = client
        .put(format!("{base}/v1/kv/testkit/probe"))
        .body("hello")
        .send()
        .await
        .expect("put");
    assert!(put.status().is_success());
    let raw = get(&format!("{base}/v1/kv/testkit/probe?raw")).await;
    assert_eq!(raw.as_deref(), Some("hello"));
    // A 1 s session TTL is accepted (the harness lowers session_ttl_min).
    let session = client
        .put(format!("{base}/v1/session/create"))
        .body(r#"{"TTL":"1s","Behavior":"delete"}"#)
        .send()
        .await
        .expect("session");
    assert!(session.status().is_success(), "{:?}", session.text().await);
    drop(consul);
    assert!(get(&format!("{base}/v1/status/leader")).await.is_none());
}

#[test]
fn a_missing_binary_names_the_install_command() {
    let err = tessera_testkit::tools::find("tessera-no-such-tool").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("make setup"), "{text}");
    assert!(text.contains("tessera-no-such-tool"), "{text}");
}
