//! Which result events the client believes: those a cluster node signed.
//!
//! Every node signs each result it publishes with its Ed25519 identity key
//! over the result's subject, its `Nats-Msg-Id` and its JSON payload
//! (`tessera_security::statement`, domain `tessera/result/v1`), and names
//! itself in the `Tessera-Node` header; the signature (128 hex digits) is in
//! `Tessera-Signature`. The client checks it against the public identities it
//! was configured with, never against keys learnt from the network, so write
//! access to a result subject is not enough to forge a result.
//!
//! What this module does not decide is *when* a result was published; the
//! pump compares stream sequences for that (see `routing`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use tessera_security::identity_file::read_public_document;
use tessera_security::statement::{self, Domain, StatementError};
use tessera_transport::async_nats::HeaderMap;
use tessera_transport::mpc;
use tessera_types::{NodeId, PublicIdentity};

use crate::ClientError;

/// The `*.pub.json` identity documents in `dir` (as `tessera identity
/// generate` writes them), sorted by node id. Other files are ignored; an
/// unreadable document is an error, and so is a directory without any.
pub fn read_identity_dir(dir: &Path) -> Result<Vec<PublicIdentity>, ClientError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ClientError::ClusterIdentity {
        path: dir.to_path_buf(),
        reason: format!("cannot read directory: {}", e.kind()),
    })?;
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| ClientError::ClusterIdentity {
            path: dir.to_path_buf(),
            reason: format!("cannot read directory: {}", e.kind()),
        })?;
        let path = entry.path();
        let is_doc = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".pub.json"));
        if is_doc && path.is_file() {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        return Err(ClientError::ClusterIdentity {
            path: dir.to_path_buf(),
            reason: "no *.pub.json identity documents".into(),
        });
    }
    read_identity_files(paths)
}

/// The identity documents at `paths`, sorted by node id.
pub fn read_identity_files<P: AsRef<Path>>(
    paths: impl IntoIterator<Item = P>,
) -> Result<Vec<PublicIdentity>, ClientError> {
    let mut out = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let doc = read_public_document(path).map_err(|e| ClientError::ClusterIdentity {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        out.push(doc);
    }
    out.sort_by(|a, b| a.node_id.cmp(&b.node_id));
    Ok(out)
}

/// The cluster's node identities by id; two different keys under one id are
/// a configuration error.
pub(crate) fn by_node(
    identities: &[PublicIdentity],
) -> Result<BTreeMap<NodeId, PublicIdentity>, ClientError> {
    let mut map = BTreeMap::new();
    for id in identities {
        match map.insert(id.node_id.clone(), id.clone()) {
            Some(old) if old != *id => {
                return Err(ClientError::InvalidConfig {
                    reason: "two different cluster identities for one node id",
                })
            }
            _ => {}
        }
    }
    Ok(map)
}

/// Why a result was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// No `Tessera-Node` / `Tessera-Signature` / `Nats-Msg-Id` header.
    Unsigned,
    /// Signed in the name of a node the client does not know.
    UnknownSigner,
    /// The signature is not hex, or does not verify under the node's key.
    BadSignature,
    /// Published before this client's request (a genuine but old result).
    BeforeRequest,
}

impl Rejection {
    pub fn reason(&self) -> &'static str {
        match self {
            Rejection::Unsigned => "unsigned result",
            Rejection::UnknownSigner => "signed by a node not in the cluster's identities",
            Rejection::BadSignature => "signature does not verify",
            Rejection::BeforeRequest => "published before the request was sent",
        }
    }
}

/// What the client did not accept, since it connected, across both result
/// kinds. Each of these results was acked (so not delivered again) and
/// dropped; none reached a caller.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RejectedResults {
    /// Results without a node signature (counted only while unsigned results
    /// are refused, the default).
    pub unsigned: u64,
    /// Results claiming a node the client's configuration does not list.
    pub unknown_signer: u64,
    /// Results whose signature is malformed or does not verify.
    pub bad_signature: u64,
    /// Signed results for an id published before this client's request for
    /// it (or, for an id it never requested, before it connected).
    pub before_request: u64,
}

impl RejectedResults {
    /// All rejected results.
    pub fn total(&self) -> u64 {
        self.unsigned + self.unknown_signer + self.bad_signature + self.before_request
    }
}

/// Shared counters behind [`RejectedResults`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    unsigned: AtomicU64,
    unknown_signer: AtomicU64,
    bad_signature: AtomicU64,
    before_request: AtomicU64,
}

impl Counters {
    pub fn count(&self, why: &Rejection) {
        let c = match why {
            Rejection::Unsigned => &self.unsigned,
            Rejection::UnknownSigner => &self.unknown_signer,
            Rejection::BadSignature => &self.bad_signature,
            Rejection::BeforeRequest => &self.before_request,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> RejectedResults {
        RejectedResults {
            unsigned: self.unsigned.load(Ordering::Relaxed),
            unknown_signer: self.unknown_signer.load(Ordering::Relaxed),
            bad_signature: self.bad_signature.load(Ordering::Relaxed),
            before_request: self.before_request.load(Ordering::Relaxed),
        }
    }
}

/// The signer a result names, for logs: at most 64 characters.
pub(crate) fn claimed(headers: Option<&HeaderMap>, name: &str) -> String {
    headers
        .and_then(|h| h.get(name))
        .map(|v| v.as_str().chars().take(64).collect())
        .unwrap_or_default()
}

/// Checks results against the cluster's identities.
#[derive(Debug, Clone)]
pub(crate) struct ResultCheck {
    nodes: BTreeMap<NodeId, PublicIdentity>,
    accept_unsigned: bool,
}

/// A result that passed: the node that signed it, or none when an unsigned
/// result was let through by `accept_unsigned_results`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Accepted {
    pub signer: Option<NodeId>,
}

impl ResultCheck {
    pub fn new(nodes: BTreeMap<NodeId, PublicIdentity>, accept_unsigned: bool) -> Self {
        Self {
            nodes,
            accept_unsigned,
        }
    }

    /// Whether the result on `subject` with `headers` and `payload` was signed
    /// by a cluster node. With `accept_unsigned`, a result without signature
    /// headers passes, and so does a signed one when no identity is
    /// configured (nothing to check it against); one that names a configured
    /// node but does not verify never passes.
    pub fn check(
        &self,
        subject: &str,
        headers: Option<&HeaderMap>,
        payload: &[u8],
    ) -> Result<Accepted, Rejection> {
        let get = |name: &str| headers.and_then(|h| h.get(name)).map(|v| v.as_str());
        let (node, signature) = match (
            get(mpc::RESULT_NODE_HEADER),
            get(mpc::RESULT_SIGNATURE_HEADER),
        ) {
            (Some(node), Some(signature)) => (node, signature),
            _ if self.accept_unsigned => return Ok(Accepted { signer: None }),
            _ => return Err(Rejection::Unsigned),
        };
        if self.nodes.is_empty() && self.accept_unsigned {
            return Ok(Accepted { signer: None });
        }
        let Some(msg_id) = get(mpc::MSG_ID_HEADER) else {
            // A node always sends one; without it the signature covers nothing we can rebuild.
            return Err(Rejection::BadSignature);
        };
        let signature = match hex::decode(signature) {
            Ok(s) if s.len() == 64 => s,
            _ => return Err(Rejection::BadSignature),
        };
        let lookup = |id: &NodeId| self.nodes.get(id).cloned();
        let parts: [&[u8]; 3] = [subject.as_bytes(), msg_id.as_bytes(), payload];
        match statement::verify(lookup, node, &signature, Domain::Result, &parts) {
            Ok(id) => Ok(Accepted { signer: Some(id) }),
            Err(StatementError::UnknownSigner { .. }) => Err(Rejection::UnknownSigner),
            Err(StatementError::BadSignature { .. }) => Err(Rejection::BadSignature),
            Err(StatementError::Unsigned(_)) => Err(Rejection::Unsigned),
        }
    }
}

#[cfg(test)]
#[path = "trust_tests.rs"]
mod tests;
