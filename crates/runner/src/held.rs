//! This node's share of a key, at the epoch a session names: the active one,
//! or one still kept (retired and not yet erased, or pending and about to be
//! promoted). Without a share at that epoch the active one is used, so the
//! join barrier names whoever is behind ([`SessionError::EpochMismatch`])
//! instead of this node failing alone with a vaguer error.

use tessera_session::KeyShare;
use tessera_storage::KeyMetadata;
use tessera_types::{KeyType, WalletId};

use crate::error::SessionError;
use crate::runtime::Inner;

/// The key's metadata at the share's epoch and the share, read and parsed on
/// the blocking pool. `epoch`: `None` for the active one.
pub(crate) async fn load(
    node: &Inner,
    wallet: &WalletId,
    key_type: KeyType,
    epoch: Option<u64>,
) -> Result<(KeyMetadata, KeyShare), SessionError> {
    let w = wallet.clone();
    let found = node
        .with_store(move |s| {
            let at = match epoch {
                Some(e) => {
                    let row = s
                        .list_epochs(&w, key_type)?
                        .into_iter()
                        .find(|r| r.epoch == e);
                    match (row, s.get_share_at(&w, key_type, e)?) {
                        (Some(row), Some(share)) => Some((row.metadata, share)),
                        _ => None,
                    }
                }
                None => None,
            };
            let found = match at {
                Some(found) => Some(found),
                None => s
                    .get_metadata(&w, key_type)?
                    .zip(s.get_share(&w, key_type)?),
            };
            Ok(found.map(|(meta, stored)| {
                let share = KeyShare::from_bytes(stored.plaintext.as_slice());
                (meta, share.map_err(|e| e.to_string()))
            }))
        })
        .await?;
    let Some((meta, share)) = found else {
        return Err(SessionError::KeyNotFound {
            wallet: wallet.to_string(),
            key_type: key_type.to_string(),
        });
    };
    let share =
        share.map_err(|e| SessionError::Internal(format!("stored share for {wallet}: {e}")))?;
    Ok((meta, share))
}
