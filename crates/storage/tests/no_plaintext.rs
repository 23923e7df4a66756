//! Nothing secret is written in clear: neither the database file nor a backup
//! holds any 16-byte window of a share's plaintext.

mod common;

use common::*;
use tempfile::tempdir;
use tessera_security::KdfParams;
use tessera_session::ecdsa::EcdsaKeygen;
use tessera_session::eddsa::EddsaKeygen;
use tessera_session::simulator::{run, sessions, Faults};
use tessera_session::{KeyShare, ShareInfo};
use tessera_storage::{KeyMetadata, Store, DB_FILE};
use tessera_types::{KeyType, NodeId, PublicIdentity, SessionConfig, SessionId, Threshold};

fn assert_not_in_files(dir: &std::path::Path, backup: &std::path::Path, secret: &[u8]) {
    let db = std::fs::read(dir.join(DB_FILE)).unwrap();
    assert!(!db.is_empty());
    assert!(
        !contains_any_window(&db, secret),
        "share bytes found in the database"
    );
    let bk = std::fs::read(backup).unwrap();
    assert!(
        !contains_any_window(&bk, secret),
        "share bytes found in the backup"
    );
}

#[test]
fn random_share_blobs_never_reach_the_disk_in_clear() {
    let dir = tempdir().unwrap();
    let ecdsa = random_bytes(100 * 1024);
    let eddsa = random_bytes(100 * 1024);
    let refreshed = random_bytes(100 * 1024);
    let backup = dir.path().join("store.tsbk");
    {
        let store = open(&dir.path().join("db"));
        store
            .put_key(&meta("w", KeyType::Secp256k1), &ecdsa)
            .unwrap();
        store.put_key(&meta("w", KeyType::Ed25519), &eddsa).unwrap();
        store
            .put_share(&wallet("w"), KeyType::Ed25519, &refreshed)
            .unwrap();
        store
            .backup(&backup, b"backup pw", KdfParams::insecure_for_tests())
            .unwrap();
    }
    // The scan itself works: an unsealed copy would be found.
    assert!(contains_any_window(
        &[b"xx".as_slice(), &ecdsa[500..600]].concat(),
        &ecdsa
    ));
    for secret in [&ecdsa, &eddsa, &refreshed] {
        assert_not_in_files(&dir.path().join("db"), &backup, secret);
    }
}

/// Two parties keep the DKLs23 keygen to a second or two.
fn config(sid: &str) -> SessionConfig {
    let players = (0..2).map(|i| NodeId::new(format!("node{i}")).unwrap());
    SessionConfig::new(SessionId::new(sid).unwrap(), players, Threshold(1)).unwrap()
}

fn metadata(wallet_id: &str, key_type: KeyType, info: &ShareInfo) -> KeyMetadata {
    KeyMetadata {
        wallet_id: wallet(wallet_id),
        key_type,
        participants: info
            .participants
            .iter()
            .enumerate()
            .map(|(i, id)| PublicIdentity {
                node_id: id.clone(),
                signing_key: [i as u8; 32],
                agreement_key: [i as u8 + 50; 32],
            })
            .collect(),
        threshold: info.threshold,
        public_key: info.public_key.clone(),
        chain_code: Some(info.chain_code),
        created_at_unix: 1_700_000_000,
        share_version: 0,
    }
}

#[test]
fn real_protocol_shares_round_trip_and_stay_sealed() {
    let cfg = config("kg-storage-eddsa");
    let eddsa = run(
        sessions(&cfg, |me| EddsaKeygen::new(cfg.clone(), me.clone())).unwrap(),
        &Faults::default(),
    )
    .into_outputs()
    .unwrap();
    let cfg = config("kg-storage-ecdsa");
    let ecdsa = run(
        sessions(&cfg, |me| EcdsaKeygen::new(cfg.clone(), me.clone())).unwrap(),
        &Faults::default(),
    )
    .into_outputs()
    .unwrap();
    let me = NodeId::new("node0").unwrap();
    let shares = [
        (KeyType::Ed25519, KeyShare::Eddsa(eddsa[&me].clone())),
        (KeyType::Secp256k1, KeyShare::Ecdsa(ecdsa[&me].clone())),
    ];

    let dir = tempdir().unwrap();
    let db_dir = dir.path().join("db");
    let backup = dir.path().join("store.tsbk");
    {
        let store = Store::open(&db_dir, key()).unwrap();
        for (kt, share) in &shares {
            let m = metadata("wallet-1", *kt, share.info());
            store.put_key(&m, &share.to_bytes().unwrap()).unwrap();
        }
        store
            .backup(&backup, b"backup pw", KdfParams::insecure_for_tests())
            .unwrap();
    }
    let store = Store::open(&db_dir, key()).unwrap();
    for (kt, share) in &shares {
        let bytes = share.to_bytes().unwrap();
        // The scan would find an unsealed copy.
        assert!(contains_any_window(&bytes, &bytes));
        let got = store.get_share(&wallet("wallet-1"), *kt).unwrap().unwrap();
        assert_eq!(got.plaintext.as_slice(), bytes.as_slice());
        let decoded = KeyShare::from_bytes(got.plaintext.as_slice()).unwrap();
        assert_eq!(decoded.info(), share.info());
        assert_eq!(decoded.to_bytes().unwrap().as_slice(), bytes.as_slice());
        assert_not_in_files(&db_dir, &backup, &bytes);
    }
}
