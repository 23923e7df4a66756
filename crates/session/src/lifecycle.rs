//! What every share refresh checks before it starts, for both curves.
//!
//! Both libraries keep the threshold for a key's lifetime, and DKLs23's
//! complete refresh needs every one of the `n` holders. Tessera's refresh keeps
//! the committee as it is (removing or adding holders is a later, separate
//! operation), so the players must be exactly the key's participants. See the
//! "Key lifecycle" section of docs/protocols.md.

use tessera_types::SessionConfig;

use crate::error::Abort;
use crate::parties::Parties;
use crate::share_info::ShareInfo;

/// The key's parties, when `config` is a valid refresh of the key `info`
/// describes (same threshold, every holder a player, nobody else).
pub(crate) fn refresh_parties(config: &SessionConfig, info: &ShareInfo) -> Result<Parties, Abort> {
    if config.threshold != info.threshold {
        return Err(Abort::ThresholdChange {
            key: info.threshold,
            requested: config.threshold,
        });
    }
    let players = config.players();
    let missing: Vec<_> = info
        .participants
        .iter()
        .filter(|p| !players.contains(p))
        .cloned()
        .collect();
    let strangers: Vec<_> = players
        .iter()
        .filter(|p| !info.participants.contains(p))
        .cloned()
        .collect();
    if !missing.is_empty() || !strangers.is_empty() {
        return Err(Abort::RefreshPlayers { missing, strangers });
    }
    if !config.is_player(&info.me) {
        return Err(Abort::NotAParticipant(info.me.clone()));
    }
    info.parties()
}

/// The share information after a refresh: the same key, one epoch later.
pub(crate) fn next_epoch(info: &ShareInfo) -> Result<ShareInfo, Abort> {
    let epoch = info
        .epoch
        .checked_add(1)
        .ok_or_else(|| Abort::Local("epoch counter exhausted".into()))?;
    Ok(ShareInfo {
        epoch,
        ..info.clone()
    })
}
