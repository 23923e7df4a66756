//! Writes the seed corpora under `fuzz/corpus/` from real encodings: envelopes
//! sealed by the fixed fuzz cluster, share records sealed by the store's
//! sealing code, key metadata, a result record and the body of a real backup.
//! (`corpus/request_json` holds JSON files, copied from the types crate's
//! golden files.) Run from anywhere, after changing an encoding:
//!
//! ```sh
//! cargo run --manifest-path fuzz/Cargo.toml --example write_seeds
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use tessera_fuzz::{share_key, Cluster, SHARE_RECORD_ID, SHARE_RECORD_VERSION};
use tessera_security::{seal, AtRestKey, EnvelopeHeader, KdfParams, Salt};
use tessera_storage::{fuzzing, KeyMetadata, ResultKind, Store};
use tessera_types::{KeyType, Threshold, WalletId};

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus");
    envelope(&root.join("envelope"));
    stored_record(&root.join("stored_record"));
    println!("seeds written under {}", root.display());
}

fn write(dir: &Path, name: &str, mode: u8, body: &[u8]) {
    fs::create_dir_all(dir).unwrap();
    let mut bytes = vec![mode];
    bytes.extend_from_slice(body);
    fs::write(dir.join(name), bytes).unwrap();
}

fn envelope(dir: &Path) {
    let k = Cluster::get();
    let (a, b) = (&k.nodes[0], k.receiver());
    let header = |receiver: bool, seq| EnvelopeHeader {
        session_id: Cluster::session(),
        sender: a.node_id().clone(),
        receiver: receiver.then(|| b.node_id().clone()),
        round: 2,
        seq,
    };
    let bc = seal(a, header(false, 7), b"round 2 broadcast", None).unwrap();
    let p2p = seal(a, header(true, 8), b"secret for node2", Some(&b.public())).unwrap();
    for (name, env) in [("broadcast", &bc), ("p2p", &p2p)] {
        let bytes = env.as_bytes();
        write(dir, &format!("raw-{name}"), 0, bytes);
        write(
            dir,
            &format!("resign-{name}"),
            1,
            &bytes[..bytes.len() - 64],
        );
    }
    let mut fields = vec![1u8, 0, 3];
    fields.extend_from_slice(&42u64.to_be_bytes());
    fields.extend_from_slice(b"payload");
    write(dir, "seal-p2p", 2, &fields);
    fields[0] = 0;
    write(dir, "seal-broadcast", 2, &fields);
}

fn stored_record(dir: &Path) {
    // 0: share records, as the store seals them.
    let share = share_key()
        .seal(SHARE_RECORD_ID, SHARE_RECORD_VERSION, b"key share bytes")
        .unwrap();
    write(dir, "share-keyfile", 0, &share);
    let password_key = AtRestKey::from_password(
        b"pw",
        KdfParams::insecure_for_tests(),
        Salt::from_bytes([7; 16]),
    )
    .unwrap();
    let share = password_key
        .seal(SHARE_RECORD_ID, SHARE_RECORD_VERSION, b"key share bytes")
        .unwrap();
    write(dir, "share-password", 0, &share);

    // A real store, with one key and one result, then a real backup of it.
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(
        &tmp.path().join("db"),
        AtRestKey::from_key_bytes(&[1; 32]).unwrap(),
    )
    .unwrap();
    let cluster = Cluster::get();
    let meta = KeyMetadata {
        wallet_id: WalletId::new("wallet-1").unwrap(),
        key_type: KeyType::Ed25519,
        participants: cluster.publics.clone(),
        threshold: Threshold(1),
        public_key: vec![0x11; 32],
        chain_code: Some([0x22; 32]),
        created_at_unix: 1_700_000_000,
        share_version: 1,
    };
    store.put_key(&meta, b"ed25519 share").unwrap();
    let stored = meta.clone();
    store
        .put_share(&stored.wallet_id, stored.key_type, b"refreshed share")
        .unwrap();
    let put = store
        .put_result(
            ResultKind::Sign,
            "tx-1",
            [9; 32],
            br#"{"result_type":"success"}"#,
        )
        .unwrap();

    // 1: metadata, as the store writes it (serde JSON).
    let read = store
        .get_metadata(&meta.wallet_id, meta.key_type)
        .unwrap()
        .unwrap();
    write(dir, "metadata", 1, &serde_json::to_vec(&read).unwrap());

    // 2: a result record: digest, stored_at (u64 BE), the result JSON.
    let r = put.result();
    let mut record = r.digest.to_vec();
    record.extend_from_slice(&r.stored_at_unix.to_be_bytes());
    record.extend_from_slice(&r.result_json);
    assert_eq!(&fuzzing::decode_result_record(&record).unwrap(), r);
    write(dir, "result", 2, &record);

    // 3: the decrypted body of a real backup file.
    let backup = tmp.path().join("backup.tsbk");
    store
        .backup(&backup, b"backup pw", KdfParams::insecure_for_tests())
        .unwrap();
    let file = fs::read(&backup).unwrap();
    let body =
        AtRestKey::open_with_password(b"backup pw", "tessera/backup", 1, &file[5..]).unwrap();
    // Schema 2 backs up the active epoch only: the refreshed share, not the retired one.
    assert_eq!(
        fuzzing::decode_backup_body(body.as_slice()).unwrap(),
        (1, 1, 1)
    );
    write(dir, "backup-body", 3, body.as_slice());
}
