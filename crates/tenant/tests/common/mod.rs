//! Tenants in one test process over a real nats-server: each its own identity,
//! NATS connection and store directory; helpers to run both sides of a
//! session and to check signatures with `k256` and `ed25519-dalek` (not with
//! Tessera code).

#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::Verifier;
use k256::ecdsa::signature::hazmat::PrehashVerifier;
use tessera_tenant::{
    AtRestKey, NodeId, NodeIdentity, PublicIdentity, RunnerOptions, SessionId, Signature, StoreKey,
    Tenant, TenantConfig, WalletKeys,
};

/// Every wait in these tests is bounded by this (keygen of both curves
/// included), unless a test says otherwise.
pub const LIMIT: Duration = Duration::from_secs(60);

pub fn id(name: &str) -> NodeId {
    NodeId::new(name).unwrap()
}

/// A session id unique to this test run.
pub fn sid(label: &str) -> SessionId {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    SessionId::new(format!("{label}-{n}-{nanos}")).unwrap()
}

/// Logs to the test's output (`RUST_LOG`, default warn).
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .try_init();
}

/// Awaits `fut` for at most `within`, panicking with `what` after that.
pub async fn within<T>(within: Duration, what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(within, fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: not done within {within:?}"))
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
            identity: Arc::new(NodeIdentity::generate(id(name))),
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
    let key = k256::ecdsa::VerifyingKey::from_sec1_bytes(public_key).unwrap();
    let signature = k256::ecdsa::Signature::from_scalars(s.r, s.s).unwrap();
    key.verify_prehash(digest, &signature)
        .expect("k256 verifies the signature");
    let recid = k256::ecdsa::RecoveryId::from_byte(s.recovery_id).unwrap();
    let recovered =
        k256::ecdsa::VerifyingKey::recover_from_prehash(digest, &signature, recid).unwrap();
    assert_eq!(recovered, key, "the recovery id recovers the wallet's key");
}

/// Checks an Ed25519 signature over `message` under `public_key` with
/// `ed25519-dalek`'s strict verification.
pub fn check_eddsa(public_key: &[u8; 32], message: &[u8], sig: &Signature) {
    let Signature::Eddsa(s) = sig else {
        panic!("not an eddsa signature: {sig:?}")
    };
    assert_eq!(&s.public_key, public_key, "signed with the wallet's key");
    let key = ed25519_dalek::VerifyingKey::from_bytes(public_key).unwrap();
    let signature = ed25519_dalek::Signature::from_bytes(&s.signature);
    key.verify(message, &signature)
        .expect("ed25519-dalek verifies the signature");
    key.verify_strict(message, &signature)
        .expect("ed25519-dalek verifies the signature strictly");
}
