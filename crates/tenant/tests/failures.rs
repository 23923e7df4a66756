//! A tenant whose peer never joins, and configurations a tenant refuses.

mod common;

use std::time::{Duration, Instant};

use common::{id, init_logs, sid, within, Device};
use tessera_tenant::{
    AtRestKey, ErrorCode, KdfParams, RunnerOptions, SecretBytes, StoreKey, Tenant, TenantConfig,
    TenantError, TenantKeygen, Threshold, WalletId,
};
use tessera_testkit::Nats;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peer_that_never_joins_fails_keygen_with_a_join_timeout_naming_it() {
    init_logs();
    let nats = Nats::start().await.expect("nats");
    let root = tempfile::tempdir().unwrap();
    let (da, absent) = (
        Device::new("device-a", root.path()),
        Device::new("node0", root.path()),
    );
    let options = RunnerOptions {
        connect_timeout: Duration::from_secs(1),
        ..RunnerOptions::default()
    };
    let a = da
        .start_with(
            &nats.url(),
            vec![absent.public()],
            common::store_key(),
            options,
        )
        .await;
    let session = sid("nojoin");
    let started = Instant::now();
    let err = within(
        Duration::from_secs(10),
        "keygen failure",
        a.keygen(TenantKeygen {
            session_id: session.clone(),
            wallet_id: WalletId::new("w-nojoin").unwrap(),
            players: vec![id("device-a"), id("node0")],
            threshold: Threshold(1),
        }),
    )
    .await
    .unwrap_err();
    let elapsed = started.elapsed();
    println!("join timeout after {elapsed:?}: {err}");
    assert_eq!(err.code(), ErrorCode::SessionJoinTimeout, "{err}");
    assert_eq!(err.blamed(), vec![id("node0")]);
    let text = err.to_string();
    assert!(
        text.contains("node0") && text.contains(session.as_str()),
        "{text}"
    );
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    within(Duration::from_secs(15), "shutdown", a.shutdown()).await;
}

/// `Tenant::start`, bounded.
async fn start(config: TenantConfig) -> Result<Tenant, TenantError> {
    within(
        Duration::from_secs(10),
        "tenant start",
        Tenant::start(config),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_configurations_and_wrong_passwords_are_refused() {
    init_logs();
    let root = tempfile::tempdir().unwrap();
    let (da, db, dc) = (
        Device::new("device-a", root.path()),
        Device::new("device-b", root.path()),
        Device::new("device-c", root.path()),
    );
    let config = |d: &Device, servers, key, url: &str| {
        TenantConfig::new(url, d.identity.clone(), d.dir.clone(), key, servers)
    };
    let key = || StoreKey::Key(AtRestKey::from_key_bytes(&[1; 32]).unwrap());
    // A loopback port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("nats://{}", closed.local_addr().unwrap());
    drop(closed);

    // Checked before the store or NATS is opened.
    let own = start(config(&da, vec![da.public()], key(), &url)).await;
    assert_eq!(own.unwrap_err().code(), ErrorCode::InvalidConfiguration);
    let twice = start(config(&da, vec![db.public(), db.public()], key(), &url)).await;
    assert_eq!(twice.unwrap_err().code(), ErrorCode::InvalidConfiguration);
    // NATS unreachable: one connection attempt, a network error.
    let err = start(config(&da, vec![db.public()], key(), &url))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NetworkConnection, "{err}");

    // A password store opens again with its password only.
    let nats = Nats::start().await.expect("nats");
    let password = |p: &[u8]| StoreKey::Password {
        password: SecretBytes::from_slice(p),
        params: KdfParams::insecure_for_tests(),
    };
    let with_password = |p| config(&dc, vec![db.public()], password(p), &nats.url());
    let t = start(with_password(b"pw")).await.expect("a new store");
    within(Duration::from_secs(10), "shutdown", t.shutdown()).await;
    let err = start(with_password(b"nope")).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::KeyLoad, "{err}");
    let t = start(with_password(b"pw"))
        .await
        .expect("the right password");
    within(Duration::from_secs(10), "shutdown", t.shutdown()).await;
}
