//! Tenants in one test process over a real nats-server: each its own identity,
//! NATS connection and store directory; helpers to run both sides of a
//! session and to check signatures with `k256` and `ed25519-dalek` (not with
//! Tessera code).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tessera_tenant::{
    AtRestKey, NodeIdentity, PublicIdentity, RunnerOptions, Signature, StoreKey, Tenant,
    TenantConfig, WalletKeys,
};
#[allow(unused_imports)] // each test binary uses its own part
pub use tessera_testkit::ids::{node_id as id, session_id as sid};
use tessera_testkit::signatures;
#[allow(unused_imports)] // each test binary uses its own part
pub use tessera_testkit::wait::within;

/// Every wait in these tests is bounded by this (keygen of both curves
/// included), unless a test says otherwise.
pub const LIMIT: Duration = Duration::from_secs(60);

/// Logs to the test's output (`RUST_LOG`, default warn).
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .try_init();
}

/// The store key the tests use (a tenant restarts with the same bytes).
pub fn store_key() -> StoreKey {
    StoreKey::Key(AtRestKey::from_key_bytes(&[42; 32]).unwrap())
}

/// A device's fixed parts: identity and store directory; started as often as needed.
pub struct Device {
    pub identity: Arc<NodeIdentity>,
    pub dir: PathBuf,
}

impl Device {
    pub fn new(name: &str, root: &Path) -> Self {
        Self {
            identity: tessera_testkit::ids::identity(name),
            dir: root.join(name),
        }
    }

    pub fn public(&self) -> PublicIdentity {
        self.identity.public()
    }

    /// Starts a tenant for this device with `servers` and `key`.
    pub async fn start_with(
        &self,
        nats_url: &str,
        servers: Vec<PublicIdentity>,
        key: StoreKey,
        options: RunnerOptions,
    ) -> Tenant {
        let mut config = TenantConfig::new(
            nats_url,
            self.identity.clone(),
            self.dir.clone(),
            key,
            servers,
        );
        config.options = options;
        within(
            Duration::from_secs(10),
            "tenant start",
            Tenant::start(config),
        )
        .await
        .expect("tenant starts")
    }

    pub async fn start(&self, nats_url: &str, servers: Vec<PublicIdentity>) -> Tenant {
        self.start_with(nats_url, servers, store_key(), RunnerOptions::default())
            .await
    }
}

/// Both tenants' results agree; returns one.
pub fn same_keys(a: WalletKeys, b: WalletKeys) -> WalletKeys {
    assert_eq!(a, b, "both players report the same wallet keys");
    assert_eq!(a.ecdsa_public_key.len(), 33);
    a
}

/// Checks an ECDSA signature over `digest` under `public_key` (SEC1) with
/// `k256`: prehash verification, and public-key recovery with its recovery id.
pub fn check_ecdsa(public_key: &[u8], digest: &[u8; 32], sig: &Signature) {
    let Signature::Ecdsa(s) = sig else {
        panic!("not an ecdsa signature: {sig:?}")
    };
    assert_eq!(s.public_key, public_key, "signed with the wallet's key");
    signatures::check_ecdsa(public_key, digest, s.r, s.s, Some(s.recovery_id));
}

/// Checks an Ed25519 signature over `message` under `public_key` with
/// `ed25519-dalek`'s strict verification.
pub fn check_eddsa(public_key: &[u8; 32], message: &[u8], sig: &Signature) {
    let Signature::Eddsa(s) = sig else {
        panic!("not an eddsa signature: {sig:?}")
    };
    assert_eq!(&s.public_key, public_key, "signed with the wallet's key");
    signatures::check_ed25519(public_key, message, &s.signature);
}
