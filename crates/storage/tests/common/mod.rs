//! Shared helpers: stores in temporary directories, sample metadata, byte
//! scans, and re-running this test binary as a second process.
#![allow(dead_code)]

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Output};

use rand_core::{OsRng, RngCore};
use tessera_security::AtRestKey;
use tessera_storage::{KeyMetadata, Store};
use tessera_types::{KeyType, NodeId, PublicIdentity, Threshold, WalletId};

pub const KEY_BYTES: [u8; 32] = [7; 32];

pub fn key() -> AtRestKey {
    AtRestKey::from_key_bytes(&KEY_BYTES).unwrap()
}

pub fn other_key() -> AtRestKey {
    AtRestKey::from_key_bytes(&[9; 32]).unwrap()
}

pub fn open(dir: &Path) -> Store {
    Store::open(dir, key()).unwrap()
}

pub fn wallet(s: &str) -> WalletId {
    WalletId::new(s).unwrap()
}

pub fn identity(i: u8) -> PublicIdentity {
    PublicIdentity {
        node_id: NodeId::new(format!("node{i}")).unwrap(),
        signing_key: [i; 32],
        agreement_key: [i + 100; 32],
    }
}

pub fn meta(w: &str, key_type: KeyType) -> KeyMetadata {
    KeyMetadata {
        wallet_id: wallet(w),
        key_type,
        participants: (0..3).map(identity).collect(),
        threshold: Threshold(1),
        public_key: match key_type {
            KeyType::Secp256k1 => vec![2; 33],
            KeyType::Ed25519 => vec![3; 32],
        },
        chain_code: Some([5; 32]),
        created_at_unix: 1_700_000_000,
        share_version: 0,
    }
}

/// Deterministic, varied bytes from `tag` (xorshift64 seeded by FNV-1a of the tag):
/// the shares of the v1 fixture, and anything a test must reproduce exactly.
pub fn share_bytes(tag: &str, len: usize) -> Vec<u8> {
    let mut x: u64 = 0xcbf2_9ce4_8422_2325;
    for b in tag.bytes() {
        x = (x ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    OsRng.fill_bytes(&mut v);
    v
}

/// Whether any 16-byte window of `secret` occurs anywhere in `haystack`.
///
/// Only windows with at least 8 distinct byte values count: real shares hold
/// runs of zeros and short ids that a database file also holds for unrelated
/// reasons; secret scalars and random blobs are nowhere near that uniform.
/// Panics if fewer than half the windows qualify, so the scan is never vacuous.
pub fn contains_any_window(haystack: &[u8], secret: &[u8]) -> bool {
    const W: usize = 16;
    let distinct = |w: &[u8]| w.iter().collect::<HashSet<_>>().len();
    let windows: HashSet<&[u8]> = secret.windows(W).filter(|w| distinct(w) >= 8).collect();
    assert!(
        windows.len() * 2 >= secret.len().saturating_sub(W),
        "only {} of {} windows are varied enough to scan for",
        windows.len(),
        secret.len()
    );
    haystack.windows(W).any(|w| windows.contains(w))
}

/// Runs the ignored test `name` of this same test binary in a child process,
/// with `env` set. The helper reports through its stdout.
pub fn run_helper(name: &str, env: &[(&str, &str)]) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}
