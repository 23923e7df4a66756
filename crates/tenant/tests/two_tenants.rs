//! Two tenants over a real nats-server, each the other's only "server": a
//! 2-of-2 wallet (t = 1) with both curves, signatures on both curves checked
//! with `k256` and `ed25519-dalek`, a child key checked against BIP-32 done
//! here with `hmac`/`k256`, and shares that survive a restart.

mod common;

use std::time::Instant;

use common::{check_ecdsa, check_eddsa, id, init_logs, same_keys, sid, within, Device, LIMIT};
use hmac::{Hmac, Mac};
use k256::elliptic_curve::sec1::ToEncodedPoint;
use sha2::{Digest, Sha256, Sha512};
use tessera_tenant::{
    AtRestKey, ErrorCode, KeyType, Signature, StoreKey, Tenant, TenantConfig, TenantKeygen,
    TenantSign, Threshold, WalletId, WalletKeys,
};
use tessera_testkit::Nats;

/// Both tenants run the wallet's keygen; returns the keys they agree on.
async fn keygen_pair(a: &Tenant, b: &Tenant, wallet: &str) -> WalletKeys {
    let req = TenantKeygen {
        session_id: sid("keygen"),
        wallet_id: WalletId::new(wallet).unwrap(),
        players: vec![a.node_id().clone(), b.node_id().clone()],
        threshold: Threshold(1),
    };
    let started = Instant::now();
    let (ka, kb) = within(LIMIT, "keygen", async {
        tokio::join!(a.keygen(req.clone()), b.keygen(req.clone()))
    })
    .await;
    println!("keygen of both curves: {:?}", started.elapsed());
    same_keys(ka.expect("keygen on a"), kb.expect("keygen on b"))
}

/// Both tenants sign; returns the signature they agree on.
async fn sign_pair(
    a: &Tenant,
    b: &Tenant,
    wallet: &str,
    key_type: KeyType,
    message: &[u8],
    path: &[u32],
) -> Signature {
    let req = TenantSign {
        session_id: sid("sign"),
        wallet_id: WalletId::new(wallet).unwrap(),
        key_type,
        players: vec![a.node_id().clone(), b.node_id().clone()],
        message: message.to_vec(),
        path: path.to_vec(),
    };
    let started = Instant::now();
    let (sa, sb) = within(LIMIT, "signing", async {
        tokio::join!(a.sign(req.clone()), b.sign(req.clone()))
    })
    .await;
    println!("{key_type} signing: {:?}", started.elapsed());
    let (sa, sb) = (sa.expect("signing on a"), sb.expect("signing on b"));
    assert_eq!(sa, sb, "both signers return the same signature");
    sa
}

/// BIP-32 public child derivation (non-hardened), written out with `hmac`,
/// `sha2` and `k256` rather than Tessera's code.
fn bip32_child(public_key: &[u8], chain_code: [u8; 32], path: &[u32]) -> Vec<u8> {
    let (mut key, mut chain) = (public_key.to_vec(), chain_code);
    for index in path {
        let mut mac = Hmac::<Sha512>::new_from_slice(&chain).unwrap();
        mac.update(&key);
        mac.update(&index.to_be_bytes());
        let i = mac.finalize().into_bytes();
        let tweak = k256::SecretKey::from_slice(&i[..32]).unwrap();
        let parent = k256::PublicKey::from_sec1_bytes(&key).unwrap();
        let child = parent.to_projective() + tweak.public_key().to_projective();
        key = child.to_affine().to_encoded_point(true).as_bytes().to_vec();
        chain.copy_from_slice(&i[32..]);
    }
    key
}

/// NATS and two running tenants, each the other's only server.
async fn start_pair() -> (Nats, tempfile::TempDir, Device, Device, Tenant, Tenant) {
    init_logs();
    let nats = Nats::start().await.expect("nats");
    let root = tempfile::tempdir().unwrap();
    let (da, db) = (
        Device::new("device-a", root.path()),
        Device::new("device-b", root.path()),
    );
    let a = da.start(&nats.url(), vec![db.public()]).await;
    let b = db.start(&nats.url(), vec![da.public()]).await;
    (nats, root, da, db, a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_tenants_make_a_2_of_2_wallet_and_sign_on_both_curves() {
    let (_nats, _root, da, _db, a, b) = start_pair().await;
    assert_eq!(a.node_id(), &id("device-a"));
    assert_eq!(a.public_identity(), da.public());

    let keys = keygen_pair(&a, &b, "wallet-1").await;

    let digest: [u8; 32] = Sha256::digest(b"pay 1 BTC to bob").into();
    let sig = sign_pair(&a, &b, "wallet-1", KeyType::Secp256k1, &digest, &[]).await;
    check_ecdsa(&keys.ecdsa_public_key, &digest, &sig);

    let message = b"solana transfer: 5 SOL to carol";
    let sig = sign_pair(&a, &b, "wallet-1", KeyType::Ed25519, message, &[]).await;
    check_eddsa(&keys.eddsa_public_key, message, &sig);

    // A child key: the chain code from keygen derives it.
    let path = [44, 60, 0, 0, 7];
    let child = bip32_child(&keys.ecdsa_public_key, keys.ecdsa_chain_code, &path);
    let sig = sign_pair(&a, &b, "wallet-1", KeyType::Secp256k1, &digest, &path).await;
    check_ecdsa(&child, &digest, &sig);

    within(LIMIT, "shutdown", async {
        tokio::join!(a.shutdown(), b.shutdown())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shares_survive_a_restart() {
    let (nats, _root, da, db, a, b) = start_pair().await;
    let keys = keygen_pair(&a, &b, "wallet-r").await;

    within(LIMIT, "shutdown", a.shutdown()).await;
    // The store is closed: another key is refused (not "locked").
    let config = TenantConfig::new(
        nats.url(),
        da.identity.clone(),
        da.dir.clone(),
        StoreKey::Key(AtRestKey::from_key_bytes(&[7; 32]).unwrap()),
        vec![db.public()],
    );
    let err = within(LIMIT, "start", Tenant::start(config))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::KeyLoad, "{err}");

    let started = Instant::now();
    // The same key as the first start.
    let a = da.start(&nats.url(), vec![db.public()]).await;
    println!("restart: {:?}", started.elapsed());

    let digest: [u8; 32] = Sha256::digest(b"after the restart").into();
    let sig = sign_pair(&a, &b, "wallet-r", KeyType::Secp256k1, &digest, &[]).await;
    check_ecdsa(&keys.ecdsa_public_key, &digest, &sig);
    let message = b"after the restart";
    let sig = sign_pair(&b, &a, "wallet-r", KeyType::Ed25519, message, &[]).await;
    check_eddsa(&keys.eddsa_public_key, message, &sig);

    // The wallet is still there: a second keygen is refused before any session.
    let again = within(
        LIMIT,
        "keygen again",
        a.keygen(TenantKeygen {
            session_id: sid("again"),
            wallet_id: WalletId::new("wallet-r").unwrap(),
            players: vec![a.node_id().clone(), b.node_id().clone()],
            threshold: Threshold(1),
        }),
    )
    .await
    .unwrap_err();
    assert_eq!(again.code(), ErrorCode::KeyAlreadyExists, "{again}");

    within(LIMIT, "shutdown", async {
        tokio::join!(a.shutdown(), b.shutdown())
    })
    .await;
}
