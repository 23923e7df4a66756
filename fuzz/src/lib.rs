//! Fixtures shared by the fuzz targets in `fuzz_targets/` and by
//! `examples/write_seeds.rs`, which writes the seed corpus from real encodings.
//!
//! Everything here is deterministic: identities come from a fixed seed, so a
//! seed envelope written once still verifies in every later fuzzing run.

use std::sync::OnceLock;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tessera_security::{AtRestKey, NodeIdentity};
use tessera_types::{NodeId, PublicIdentity, SessionId};

/// Domain label the envelope signature covers (`tessera_security::envelope`,
/// private there). [`Cluster::get`] checks it still matches what `seal` signs.
pub const ENVELOPE_SIG_LABEL: &[u8] = b"tessera/envelope/sig/v1";

/// The session every fuzzed envelope is opened in.
pub const SESSION: &str = "fuzz-session";

/// Record id and version the `stored_record` target opens share records as.
pub const SHARE_RECORD_ID: &str = "share/wallet-1/secp256k1";
pub const SHARE_RECORD_VERSION: u32 = 1;

/// Three nodes with fixed keys. `node1` and `node3` send to `node2`, which opens.
pub struct Cluster {
    pub nodes: [NodeIdentity; 3],
    pub publics: Vec<PublicIdentity>,
}

impl Cluster {
    /// Built once per process (key generation and the label check are not free).
    pub fn get() -> &'static Cluster {
        static CLUSTER: OnceLock<Cluster> = OnceLock::new();
        CLUSTER.get_or_init(Cluster::new)
    }

    fn new() -> Cluster {
        let mut rng = ChaCha20Rng::seed_from_u64(0x7e55_e2a0);
        let nodes = ["node1", "node2", "node3"]
            .map(|name| NodeIdentity::generate_with(NodeId::new(name).unwrap(), &mut rng));
        let publics = nodes.iter().map(NodeIdentity::public).collect();
        let cluster = Cluster { nodes, publics };
        cluster.check_label();
        cluster
    }

    pub fn session() -> SessionId {
        SessionId::new(SESSION).unwrap()
    }

    /// The node that opens fuzzed envelopes.
    pub fn receiver(&self) -> &NodeIdentity {
        &self.nodes[1]
    }

    /// Signs `unsigned` (version byte, header, body) as `signer` would, and
    /// returns the whole envelope, so fuzzed headers get past the signature check.
    pub fn sign_envelope(&self, signer: &NodeIdentity, unsigned: &[u8]) -> Vec<u8> {
        let mut input = Vec::with_capacity(ENVELOPE_SIG_LABEL.len() + unsigned.len());
        input.extend_from_slice(ENVELOPE_SIG_LABEL);
        input.extend_from_slice(unsigned);
        let mut out = Vec::with_capacity(unsigned.len() + 64);
        out.extend_from_slice(unsigned);
        out.extend_from_slice(&signer.sign(&input));
        out
    }

    /// Re-signing a sealed envelope must reproduce `seal`'s own signature
    /// (Ed25519 is deterministic); otherwise the label above is stale.
    fn check_label(&self) {
        let from = &self.nodes[0];
        let header = tessera_security::EnvelopeHeader {
            session_id: Cluster::session(),
            sender: from.node_id().clone(),
            receiver: None,
            round: 1,
            seq: 0,
        };
        let env = tessera_security::seal(from, header, b"label check", None).unwrap();
        let bytes = env.as_bytes();
        let resigned = self.sign_envelope(from, &bytes[..bytes.len() - 64]);
        assert_eq!(
            resigned, bytes,
            "ENVELOPE_SIG_LABEL no longer matches tessera-security"
        );
    }
}

/// The key-file key the `stored_record` target opens share records with.
pub fn share_key() -> &'static AtRestKey {
    static KEY: OnceLock<AtRestKey> = OnceLock::new();
    KEY.get_or_init(|| AtRestKey::from_key_bytes(&[0x5a; 32]).unwrap())
}
