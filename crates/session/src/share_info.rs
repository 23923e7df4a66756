//! What every kind of key share has in common: its public facts
//! ([`ShareInfo`]) and why share bytes could not be read. A leaf module, so the
//! ECDSA and EdDSA shares and the versioned format in `share` can all use it
//! without importing each other.
//!
//! Older format versions keep their own layouts here: version 1 had neither
//! epoch nor indices ([`ShareInfoV1`], read as epoch 0), version 2 had the
//! epoch but no indices ([`ShareInfoV2`]); both read as indices `1..=n`.

use serde::{Deserialize, Serialize};
use tessera_types::{NodeId, Threshold};

use crate::error::Abort;
use crate::parties::{positional_indices, Parties};

/// Public facts about a key, identical on every participant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareInfo {
    /// All participants, sorted by node id.
    pub participants: Vec<NodeId>,
    /// mpcium's `t`: `t + 1` participants sign.
    pub threshold: Threshold,
    /// The participant holding this share.
    pub me: NodeId,
    /// The master public key: SEC1 compressed (33 bytes) or Ed25519 (32 bytes).
    pub public_key: Vec<u8>,
    /// Chain code for non-hardened child keys (see `derive`).
    pub chain_code: [u8; 32],
    /// 0 after keygen, +1 per refresh. Shares of different epochs never sign
    /// together (the libraries refuse it), so players compare it first.
    pub epoch: u64,
    /// Each participant's protocol index, aligned with `participants`:
    /// `1..=n` after keygen; a replace may hand an index to a node that sorts
    /// elsewhere, and FROST identifiers may have gaps.
    pub indices: Vec<u8>,
}

impl ShareInfo {
    /// The participants with their indices.
    pub fn parties(&self) -> Result<Parties, Abort> {
        Parties::with_indices(self.participants.clone(), self.indices.clone())
    }

    /// This share's own protocol index.
    pub fn my_index(&self) -> Result<u8, Abort> {
        self.parties()?.index(&self.me)
    }

    /// `true` when every index is its participant's sorted position + 1, as
    /// the older formats (which stored no indices) assumed.
    pub fn has_positional_indices(&self) -> bool {
        self.indices == positional_indices(self.participants.len())
    }
}

/// `ShareInfo` as format version 2 stored it (no indices).
#[derive(Serialize, Deserialize)]
pub(crate) struct ShareInfoV2 {
    participants: Vec<NodeId>,
    threshold: Threshold,
    me: NodeId,
    public_key: Vec<u8>,
    chain_code: [u8; 32],
    epoch: u64,
}

/// `ShareInfo` as format version 1 stored it (no epoch, no indices).
/// Written for epoch 0, so a node of the first release still reads every
/// share that was never refreshed.
#[derive(Serialize, Deserialize)]
pub(crate) struct ShareInfoV1 {
    participants: Vec<NodeId>,
    threshold: Threshold,
    me: NodeId,
    public_key: Vec<u8>,
    chain_code: [u8; 32],
}

impl From<ShareInfoV2> for ShareInfo {
    fn from(v: ShareInfoV2) -> Self {
        Self {
            indices: positional_indices(v.participants.len()),
            participants: v.participants,
            threshold: v.threshold,
            me: v.me,
            public_key: v.public_key,
            chain_code: v.chain_code,
            epoch: v.epoch,
        }
    }
}

impl From<ShareInfoV1> for ShareInfo {
    fn from(v: ShareInfoV1) -> Self {
        ShareInfoV2 {
            participants: v.participants,
            threshold: v.threshold,
            me: v.me,
            public_key: v.public_key,
            chain_code: v.chain_code,
            epoch: 0,
        }
        .into()
    }
}

impl From<&ShareInfo> for ShareInfoV2 {
    fn from(v: &ShareInfo) -> Self {
        Self {
            participants: v.participants.clone(),
            threshold: v.threshold,
            me: v.me.clone(),
            public_key: v.public_key.clone(),
            chain_code: v.chain_code,
            epoch: v.epoch,
        }
    }
}

impl From<&ShareInfo> for ShareInfoV1 {
    fn from(v: &ShareInfo) -> Self {
        Self {
            participants: v.participants.clone(),
            threshold: v.threshold,
            me: v.me.clone(),
            public_key: v.public_key.clone(),
            chain_code: v.chain_code,
        }
    }
}

/// The oldest share format version that holds `info` (so older readers keep
/// reading what they can): 1 at epoch 0, 2 at a later epoch, 3 once the
/// indices are not positional or `extra` (a part of the body only version 3
/// has, such as the ECDSA public key package) is present.
pub(crate) fn format_version(info: &ShareInfo, extra: bool) -> u8 {
    if extra || !info.has_positional_indices() {
        3
    } else if info.epoch == 0 {
        1
    } else {
        2
    }
}

/// Reads the `ShareInfo` that starts a body of format `version`, returning
/// it and the rest of the body.
pub(crate) fn take_info(body: &[u8], version: u8) -> Result<(ShareInfo, &[u8]), ShareDecodeError> {
    let corrupt = |e: postcard::Error| ShareDecodeError::Corrupt(e.to_string());
    let (info, rest) = match version {
        1 => {
            let (v, rest) = postcard::take_from_bytes::<ShareInfoV1>(body).map_err(corrupt)?;
            (ShareInfo::from(v), rest)
        }
        2 => {
            let (v, rest) = postcard::take_from_bytes::<ShareInfoV2>(body).map_err(corrupt)?;
            (ShareInfo::from(v), rest)
        }
        _ => postcard::take_from_bytes::<ShareInfo>(body).map_err(corrupt)?,
    };
    info.parties()
        .map_err(|e| ShareDecodeError::Corrupt(e.to_string()))?;
    Ok((info, rest))
}

/// Writes the `ShareInfo` that starts a body of format `version`.
pub(crate) fn put_info(info: &ShareInfo, version: u8) -> Result<Vec<u8>, ShareEncodeError> {
    let fail = |e: postcard::Error| ShareEncodeError(e.to_string());
    match version {
        1 => postcard::to_allocvec(&ShareInfoV1::from(info)).map_err(fail),
        2 => postcard::to_allocvec(&ShareInfoV2::from(info)).map_err(fail),
        _ => postcard::to_allocvec(info).map_err(fail),
    }
}

/// Why a share could not be written out (nothing is stored then: an empty or
/// partial share must never reach the store).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("key share not encodable: {0}")]
pub struct ShareEncodeError(pub String);

/// Why share bytes could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShareDecodeError {
    #[error("not a key share (bad magic)")]
    BadMagic,
    #[error("unsupported key share format version {0}")]
    UnsupportedVersion(u8),
    #[error("unknown key scheme {0}")]
    UnknownScheme(u8),
    #[error("corrupt key share: {0}")]
    Corrupt(String),
}
