//! Who plays a request's session and under which id, from the request's
//! `tessera_session` (players, session id, threshold) and this node's
//! configuration. Players that are nodes of this cluster are "servers"; any
//! other player is a tenant (a user's device), which is in no node's
//! configuration and not in Consul's ready set, and which joins by session id.
//!
//! The coordinator and every player compute the same layout from the same
//! signed request, each with its own configuration.

use tessera_types::wire::{CheckedSession, KeyType};
use tessera_types::{ErrorCode, NodeId, SessionId, Threshold};

use crate::shared::Shared;

/// Why a request cannot be served: the code and the reason.
type Refusal = (ErrorCode, String);

#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// Every player, sorted; for signing `None` when the request names none
    /// (the coordinator picks ready servers then).
    pub(crate) players: Option<Vec<NodeId>>,
    /// The players that are nodes of this cluster.
    pub(crate) servers: Vec<NodeId>,
    /// The players that are not.
    pub(crate) tenants: Vec<NodeId>,
    /// The session id the client chose, if any.
    pub(crate) session_id: Option<SessionId>,
    /// For keygen: the new key's threshold.
    pub(crate) threshold: Threshold,
}

fn names(ids: &[NodeId]) -> String {
    ids.iter()
        .map(NodeId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn split(shared: &Shared, players: &[NodeId]) -> (Vec<NodeId>, Vec<NodeId>) {
    players
        .iter()
        .cloned()
        .partition(|p| shared.config.participants.contains(p))
}

/// A tenant can only find its session by id.
fn require_session_id(session: &CheckedSession, tenants: &[NodeId]) -> Result<(), Refusal> {
    if !tenants.is_empty() && session.session_id.is_none() {
        return Err((
            ErrorCode::MsgValidation,
            format!(
                "players include {}, which are not nodes of this cluster: such a player joins by session id, so tessera_session.session_id is required",
                names(tenants)
            ),
        ));
    }
    Ok(())
}

/// A new wallet: the request's players (all cluster nodes by default) and threshold.
pub(crate) fn keygen(shared: &Shared, session: &CheckedSession) -> Result<Layout, Refusal> {
    let players = session
        .players
        .clone()
        .unwrap_or_else(|| shared.config.participants.clone());
    let threshold = session.threshold.map_or(shared.config.threshold, Threshold);
    threshold
        .check(players.len())
        .map_err(|e| (ErrorCode::InvalidThreshold, e.to_string()))?;
    named(shared, session, players, threshold)
}

/// A signature with a key whose participants are `participants` and threshold `threshold`.
pub(crate) fn sign(
    shared: &Shared,
    session: &CheckedSession,
    participants: &[NodeId],
    threshold: Threshold,
    key_type: KeyType,
) -> Result<Layout, Refusal> {
    let (all_servers, all_tenants) = split(shared, participants);
    let Some(players) = session.players.clone() else {
        return Ok(Layout {
            players: None,
            servers: all_servers,
            tenants: all_tenants,
            session_id: session.session_id.clone(),
            threshold,
        });
    };
    if let Some(stranger) = players.iter().find(|p| !participants.contains(p)) {
        return Err((
            ErrorCode::ParticipantNotFound,
            format!("{stranger} is not a participant of this key"),
        ));
    }
    // DKLs23 signs with exactly t+1 parties; FROST with any t+1 or more.
    if key_type == KeyType::Secp256k1 && players.len() > threshold.signers() {
        return Err((
            ErrorCode::InvalidThreshold,
            format!(
                "{} players named; ECDSA signs with exactly t+1 = {}",
                players.len(),
                threshold.signers()
            ),
        ));
    }
    if players.len() < threshold.signers() {
        return Err((
            ErrorCode::InsufficientParticipants,
            format!(
                "{} players named, the key needs {}",
                players.len(),
                threshold.signers()
            ),
        ));
    }
    named(shared, session, players, threshold)
}

/// The layout of a session whose players are given: at least one server
/// among them, and a session id when a tenant is.
fn named(
    shared: &Shared,
    session: &CheckedSession,
    players: Vec<NodeId>,
    threshold: Threshold,
) -> Result<Layout, Refusal> {
    let (servers, tenants) = split(shared, &players);
    if servers.is_empty() {
        return Err((
            ErrorCode::ParticipantNotFound,
            format!(
                "players {} include no node of this cluster",
                names(&players)
            ),
        ));
    }
    require_session_id(session, &tenants)?;
    Ok(Layout {
        players: Some(players),
        servers,
        tenants,
        session_id: session.session_id.clone(),
        threshold,
    })
}

/// The refusal when too few servers are ready and the key has tenants: the
/// servers cannot sign alone, the request must bring a tenant.
pub(crate) fn tenant_required(tenants: &[NodeId], ready: usize, needed: usize) -> Refusal {
    (
        ErrorCode::TenantRequired,
        format!(
            "{ready} server participants ready, {needed} signers needed: this key needs its tenant {}; name it in tessera_session.players with a session_id and run its side",
            names(tenants)
        ),
    )
}
