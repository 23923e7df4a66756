//! Deciding a lifecycle attempt for every player at once, then acting on it.
//!
//! A lifecycle session ends with each player holding the new epoch as
//! *pending*. Whether the attempt is committed is one create-only record in
//! the request ledger's bucket (`lifecycle.<session id>`, signed by the node
//! that wrote it): a player whose session ended with every player's digest
//! writes "commit", one whose session failed writes "abort", and whoever is
//! second follows the record that stands. So all players promote, or all
//! discard: a player that failed late (after the others had every digest)
//! cannot leave them committed without it, nor be left behind.
//!
//! After a commit, the previous epoch stays (retired) for one signing deadline,
//! so signing sessions a coordinator started at it finish; then it is erased
//! and the store compacted. A node that restarts finishes what was left:
//! pending epochs are decided (an undecided one, after the lifecycle deadline,
//! is aborted) and retired epochs erased.

use std::time::Duration;

use tessera_runner::Node;
use tessera_storage::EpochState;
use tessera_types::{KeyType, SessionId, WalletId};

use crate::error::RequestError;
use crate::ledger::Ledger;

/// What an attempt came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Every player stored this epoch with this digest: promote it.
    Commit { epoch: u64, digest: [u8; 32] },
    /// Discard the pending epoch; the key stays at the old one.
    Abort,
}

impl Decision {
    /// The word stored in the record.
    pub fn word(&self) -> String {
        match self {
            Decision::Commit { epoch, digest } => format!("commit:{epoch}:{}", hex::encode(digest)),
            Decision::Abort => "abort".to_string(),
        }
    }

    pub fn from_word(word: &str) -> Option<Self> {
        if word == "abort" {
            return Some(Decision::Abort);
        }
        let rest = word.strip_prefix("commit:")?;
        let (epoch, digest) = rest.split_once(':')?;
        let digest: [u8; 32] = hex::decode(digest).ok()?.try_into().ok()?;
        Some(Decision::Commit {
            epoch: epoch.parse().ok()?,
            digest,
        })
    }
}

/// The record's key for an attempt.
pub fn key(session_id: &SessionId) -> String {
    crate::ledger::key("lifecycle", &[session_id.as_str()])
}

/// Proposes `mine` for `session_id`; returns the decision that stands.
pub async fn decide(
    ledger: &Ledger,
    session_id: &SessionId,
    mine: Decision,
) -> Result<Decision, RequestError> {
    let k = key(session_id);
    let record = ledger.first_word(&k, &mine.word()).await?;
    Decision::from_word(&record.digest)
        .ok_or_else(|| RequestError::JetStream(format!("{k}: unreadable decision")))
}

/// Acts on `decision` in this node's store: promote the pending epoch (then
/// erase the previous one after `grace`) or discard it. Errors are logged:
/// what is left is finished at the next start (`reconcile`).
pub async fn apply(
    node: &Node,
    wallet: &WalletId,
    key_type: KeyType,
    session_id: &SessionId,
    decision: Decision,
    grace: Duration,
) {
    let store = node.store().clone();
    let (w, sid) = (wallet.clone(), session_id.clone());
    let done = tokio::task::spawn_blocking(move || match decision {
        Decision::Commit { epoch, .. } => {
            let before = store.active_epoch(&w, key_type)?;
            match store.promote(&w, key_type, &sid) {
                Ok(_) => Ok(before),
                // Promoted already (a repeated decision) is fine.
                Err(_) if store.active_epoch(&w, key_type)? == Some(epoch) => Ok(None),
                Err(e) => Err(e),
            }
        }
        Decision::Abort => store.discard_pending(&w, key_type, &sid).map(|_| None),
    })
    .await;
    match done {
        Ok(Ok(Some(retired))) => {
            tracing::info!(session_id = %session_id, %wallet, %key_type, retired, "lifecycle committed; the previous epoch is erased after the signing grace");
            erase_later(node.clone(), wallet.clone(), key_type, retired, grace);
        }
        Ok(Ok(None)) => {
            tracing::info!(session_id = %session_id, %wallet, %key_type, ?decision, "lifecycle decision applied")
        }
        Ok(Err(e)) => {
            tracing::error!(session_id = %session_id, %wallet, %key_type, code = %e.code(), "lifecycle decision not applied (finished at the next start): {e}")
        }
        Err(e) => tracing::error!(session_id = %session_id, "store task failed: {e}"),
    }
}

/// On a holder the attempt removes (not a player): waits, at most `within`,
/// for the attempt's decision; on commit this node's share is retired (the key
/// reads as not found here from then on) and erased after `grace`.
pub async fn retire_when_committed(
    node: &Node,
    ledger: &Ledger,
    wallet: &WalletId,
    key_type: KeyType,
    session_id: &SessionId,
    within: Duration,
    grace: Duration,
) {
    let k = key(session_id);
    let deadline = tokio::time::Instant::now() + within;
    let decision = loop {
        if let Ok(Some(record)) = ledger.read(&k).await {
            break Decision::from_word(&record.digest);
        }
        if tokio::time::Instant::now() >= deadline {
            break None;
        }
        tokio::time::sleep(DECISION_POLL).await;
    };
    let Some(Decision::Commit { epoch, .. }) = decision else {
        tracing::info!(session_id = %session_id, ?decision, "this node keeps its share: the attempt that removes it was not committed");
        return;
    };
    let store = node.store().clone();
    let w = wallet.clone();
    let retired = tokio::task::spawn_blocking(move || store.retire_key(&w, key_type, epoch)).await;
    match retired {
        Ok(Ok(old)) => {
            tracing::info!(session_id = %session_id, %wallet, %key_type, epoch, "no longer a holder: share retired, erased after the signing grace");
            erase_later(node.clone(), wallet.clone(), key_type, old, grace);
        }
        Ok(Err(e)) => {
            tracing::error!(session_id = %session_id, %wallet, %key_type, "share of a removed holder not retired: {e}")
        }
        Err(e) => tracing::error!("store task failed: {e}"),
    }
}

/// How often a removed holder reads the decision record.
const DECISION_POLL: Duration = Duration::from_millis(50);

/// Erases `epoch` of the key after `grace`, then compacts the store.
fn erase_later(node: Node, wallet: WalletId, key_type: KeyType, epoch: u64, grace: Duration) {
    tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        let store = node.store().clone();
        let erased = tokio::task::spawn_blocking(move || {
            let erased = store.erase_retired(&wallet, key_type, epoch)?;
            store.compact()?;
            Ok::<_, tessera_storage::StorageError>(erased)
        })
        .await;
        match erased {
            Ok(Ok(_)) => tracing::info!(epoch, "retired epoch erased"),
            Ok(Err(e)) => tracing::error!(
                epoch,
                "retired epoch not erased (retried at the next start): {e}"
            ),
            Err(e) => tracing::error!("store task failed: {e}"),
        }
    });
}

/// At start: every pending epoch is decided (one with no decision after
/// `undecided_after` is aborted), and every retired epoch erased after `grace`.
pub async fn reconcile(node: Node, ledger: Ledger, undecided_after: Duration, grace: Duration) {
    let store = node.store().clone();
    let rows = tokio::task::spawn_blocking(move || store.list_pending()).await;
    let pending = match rows {
        Ok(Ok(rows)) => rows,
        Ok(Err(e)) => return tracing::error!("pending epochs not readable: {e}"),
        Err(e) => return tracing::error!("store task failed: {e}"),
    };
    erase_retired_later(&node, grace).await;
    // Attempts decided while this node was away are followed at once.
    let mut undecided = Vec::new();
    for row in pending {
        let EpochState::Pending { session_id, .. } = &row.state else {
            continue;
        };
        let stands = match ledger.read(&key(session_id)).await {
            Ok(record) => record.and_then(|r| Decision::from_word(&r.digest)),
            Err(e) => {
                tracing::warn!(session_id = %session_id, "lifecycle decision not readable yet: {e}");
                None
            }
        };
        match stands {
            Some(d) => {
                let (wallet, key_type) = (&row.metadata.wallet_id, row.metadata.key_type);
                apply(&node, wallet, key_type, session_id, d, grace).await;
            }
            None => undecided.push(row),
        }
    }
    if undecided.is_empty() {
        return;
    }
    // No decision: the attempt's players may still be deciding; once no
    // session of it can still run, it is aborted (create-only: an existing
    // commit wins and is followed instead).
    tokio::time::sleep(undecided_after).await;
    for row in undecided {
        let EpochState::Pending { session_id, .. } = &row.state else {
            continue;
        };
        let (wallet, key_type) = (row.metadata.wallet_id.clone(), row.metadata.key_type);
        match decide(&ledger, session_id, Decision::Abort).await {
            Ok(decision) => apply(&node, &wallet, key_type, session_id, decision, grace).await,
            Err(e) => {
                tracing::error!(session_id = %session_id, "pending epoch left undecided (ledger unavailable): {e}")
            }
        }
    }
}

/// Schedules the erase of every retired epoch in the store.
async fn erase_retired_later(node: &Node, grace: Duration) {
    let store = node.store().clone();
    let keys =
        tokio::task::spawn_blocking(move || -> Result<Vec<_>, tessera_storage::StorageError> {
            let mut out = Vec::new();
            for key in store.list_keys()? {
                for row in store.list_epochs(&key.wallet_id, key.key_type)? {
                    if row.state.is_retired() {
                        out.push((key.wallet_id.clone(), key.key_type, row.epoch));
                    }
                }
            }
            Ok(out)
        })
        .await;
    if let Ok(Ok(retired)) = keys {
        for (wallet, key_type, epoch) in retired {
            erase_later(node.clone(), wallet, key_type, epoch, grace);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_read_back_from_their_words() {
        let commit = Decision::Commit {
            epoch: 7,
            digest: [0xab; 32],
        };
        assert_eq!(Decision::from_word(&commit.word()), Some(commit));
        assert_eq!(Decision::from_word("abort"), Some(Decision::Abort));
        for bad in ["", "commit", "commit:x:00", "commit:1:abcd", "maybe"] {
            assert_eq!(Decision::from_word(bad), None, "{bad}");
        }
    }
}
