//! Sealed NATS envelopes: `Envelope::from_bytes` and `Opener::open`, as the
//! transport runs them on every message a node receives. Must never panic.
//!
//! The first byte picks how the rest is used (the seeds in
//! `corpus/envelope` cover each):
//! - 0: raw bytes off the wire, opened by `node2`. Without a key, the fuzzer
//!   mostly exercises decoding and the checks before the signature.
//! - 1: an unsigned envelope (version, header, body) that the target signs as
//!   `node1`, so fuzzed headers and bodies reach the checks after the signature
//!   (session, receiver, replay, decryption).
//! - 2: fields for `seal`: flags, round, seq, then the payload. The target
//!   seals from `node1` and `node2` must open exactly that payload, once.
//!
//! Building an `Opener` costs an X25519 exchange per peer, most of a run's
//! time, so one is kept between runs while it is unused: `open` changes an
//! opener's state (its replay window) only when it succeeds (see
//! `tessera_security::opener`), and an opener that opened anything is dropped.
//! Each run so starts from a fresh opener's state, and crashes reproduce alone.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use tessera_fuzz::Cluster;
use tessera_security::{seal, Envelope, EnvelopeError, EnvelopeHeader, Opener, SealError};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let cluster = Cluster::get();
    match mode % 3 {
        0 => raw(cluster, rest),
        1 => {
            let signed = cluster.sign_envelope(&cluster.nodes[0], rest);
            resigned(cluster, &signed);
        }
        _ => sealed(cluster, rest),
    }
});

thread_local! {
    static UNUSED_OPENER: RefCell<Option<Opener>> = const { RefCell::new(None) };
}

/// `node2`'s opener for the session, in the state of a new one.
fn opener(cluster: &Cluster) -> Opener {
    UNUSED_OPENER.take().unwrap_or_else(|| {
        Opener::new(
            cluster.receiver(),
            Cluster::session(),
            cluster.publics.clone(),
        )
        .unwrap()
    })
}

/// Keeps an opener for the next run; only for one that has opened nothing.
fn put_back(opener: Opener) {
    UNUSED_OPENER.set(Some(opener));
}

fn raw(cluster: &Cluster, bytes: &[u8]) {
    if let Ok(env) = Envelope::from_bytes(bytes) {
        assert_eq!(env.as_bytes(), bytes);
        assert_eq!(env.signature().len(), 64);
        assert!(env.body().len() + 64 < bytes.len());
        let _ = format!("{env:?}");
    }
    let mut opener = opener(cluster);
    if let Err(e) = opener.open(bytes) {
        check_error(&e);
        put_back(opener);
    }
}

fn resigned(cluster: &Cluster, bytes: &[u8]) {
    let mut opener = opener(cluster);
    match opener.open(bytes) {
        Ok(opened) => {
            let h = &opened.header;
            assert_eq!(&h.sender, cluster.nodes[0].node_id());
            assert_eq!(h.session_id, Cluster::session());
            assert!(
                h.receiver.is_none() || h.receiver.as_ref() == Some(cluster.receiver().node_id())
            );
            // The same bytes again are a replay, whatever they hold.
            match opener.open(bytes) {
                Err(EnvelopeError::Replayed { seq, .. }) => assert_eq!(seq, h.seq),
                other => panic!("replay was not rejected: {other:?}"),
            }
        }
        Err(e) => {
            check_error(&e);
            put_back(opener);
            assert!(
                !matches!(
                    e,
                    EnvelopeError::BadSignature { .. } | EnvelopeError::UnknownSender { .. }
                ) || Envelope::from_bytes(bytes)
                    .is_ok_and(|env| &env.header().sender != cluster.nodes[0].node_id()),
                "a correctly signed envelope from node1 was refused: {e:?}"
            );
        }
    }
}

fn sealed(cluster: &Cluster, bytes: &[u8]) {
    if bytes.len() < 11 {
        return;
    }
    let (fields, payload) = bytes.split_at(11);
    let p2p = fields[0] & 1 == 1;
    let header = EnvelopeHeader {
        session_id: Cluster::session(),
        sender: cluster.nodes[0].node_id().clone(),
        receiver: p2p.then(|| cluster.receiver().node_id().clone()),
        round: u16::from_be_bytes([fields[1], fields[2]]),
        seq: u64::from_be_bytes(fields[3..11].try_into().unwrap()),
    };
    let receiver_public = p2p.then(|| &cluster.publics[1]);
    let env = match seal(&cluster.nodes[0], header.clone(), payload, receiver_public) {
        Ok(env) => env,
        Err(e) => {
            // Only a payload over the size limit may be refused.
            assert!(matches!(e, SealError::TooLarge { .. }), "{e:?}");
            return;
        }
    };
    let mut opener = opener(cluster);
    let opened = opener
        .open(env.as_bytes())
        .expect("a sealed envelope opens");
    assert_eq!(opened.header, header);
    assert_eq!(opened.payload.as_slice(), payload);
    assert!(matches!(
        opener.open(env.as_bytes()),
        Err(EnvelopeError::Replayed { .. })
    ));
    // Any single flipped bit is caught.
    let mut bad = env.to_bytes();
    let i = usize::from(fields[1]) * 256 + usize::from(fields[2]);
    let i = i % bad.len();
    bad[i] ^= 1 << (fields[0] >> 5);
    assert!(opener.open(&bad).is_err(), "a tampered envelope opened");
}

fn check_error(e: &EnvelopeError) {
    let _ = e.code();
    let _ = e.sender();
    let _ = e.to_string();
}
