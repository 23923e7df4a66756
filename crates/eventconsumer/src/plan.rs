//! Who plays a request, decided without I/O: from the checked request, what
//! the store says of its key, and a snapshot of the cluster's readiness.
//! The node that pulled a request, a delegate and every player compute the
//! same plan from the same signed request, each with its own view.
//!
//! Players that are nodes of this cluster are "servers"; any other player is
//! a tenant (a user's device): in no node's configuration, never in Consul's
//! ready set, joining by session id.
//!
//! Banned parties (this node's ban list) are never picked; a request that
//! cannot be served without one is refused with `ERROR_PARTY_BANNED` naming it.

use std::collections::BTreeSet;

use tessera_runner::KeyMetadata;
use tessera_types::wire::{CheckedSession, KeyType};
use tessera_types::{NodeId, SessionId, Threshold};

use crate::error::ServeError;
use crate::refused::Refused;
use crate::request::{Keygen, Request, Sign};

/// What this node knows of the cluster when it plans.
#[derive(Clone, Debug)]
pub(crate) struct Snapshot {
    pub(crate) me: NodeId,
    /// The configured server nodes, sorted.
    pub(crate) servers: Vec<NodeId>,
    /// The servers the registry reports ready.
    pub(crate) ready: BTreeSet<NodeId>,
    /// Set when the readiness view is older than the registry TTL: such a
    /// view is not trusted to pick players or judge quorum.
    pub(crate) stale_view: Option<(String, u128)>,
    /// The cluster's default threshold for new keys.
    pub(crate) threshold: Threshold,
    /// Whether a failed signing session is retried without its culprits.
    pub(crate) retry_signing: bool,
    /// Parties this node banned: never picked, never played with.
    pub(crate) banned: BTreeSet<NodeId>,
}

impl Snapshot {
    fn ready_among(&self, candidates: &[NodeId]) -> Vec<NodeId> {
        candidates
            .iter()
            .filter(|n| self.ready.contains(*n))
            .cloned()
            .collect()
    }

    fn is_server(&self, id: &NodeId) -> bool {
        self.servers.contains(id)
    }

    fn fresh(&self) -> Result<(), Refused> {
        match &self.stale_view {
            None => Ok(()),
            Some((age, ttl_ms)) => Err(Refused::StaleView {
                age: age.clone(),
                ttl_ms: *ttl_ms,
            }),
        }
    }

    fn split(&self, players: &[NodeId]) -> (Vec<NodeId>, Vec<NodeId>) {
        players.iter().cloned().partition(|p| self.is_server(p))
    }

    /// Refuses when one of `players` (all needed) is banned here.
    fn none_banned(&self, players: &[NodeId]) -> Result<(), Refused> {
        match players.iter().find(|p| self.banned.contains(*p)) {
            Some(p) => Err(Refused::PartyBanned(p.clone())),
            None => Ok(()),
        }
    }
}

/// What the store says of the request's key, read once per request.
#[derive(Debug)]
pub(crate) enum KeyFacts {
    /// Keygen: whether this node already has keys for the wallet.
    Wallet { exists: bool },
    /// Signing: the key's metadata, `None` when this node holds no share.
    Key(Option<Box<KeyMetadata>>),
}

/// What to do with a request.
#[derive(Debug)]
pub(crate) enum Plan {
    /// Run the session here with these players.
    Run(Players),
    /// This node is not among the request's players: hand it to this server player.
    Delegate(NodeId),
    /// This node holds no share of the key: ask these ready servers in turn;
    /// `not_found` if none has it.
    AskHolders {
        candidates: Vec<NodeId>,
        not_found: Refused,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Players {
    /// Every player, sorted.
    pub(crate) players: Vec<NodeId>,
    /// The session id the client chose, if any.
    pub(crate) session_id: Option<SessionId>,
    /// For keygen: the new key's threshold.
    pub(crate) threshold: Threshold,
    /// When a failed session may be retried without its culprits: how to pick again.
    pub(crate) retry: Option<Pick>,
}

/// t+1 ready servers among a key's participants.
#[derive(Clone, Debug)]
pub(crate) struct Pick {
    pub(crate) servers: Vec<NodeId>,
    pub(crate) needed: usize,
}

/// The plan for `request`. `delegated`: another node handed it here, so it is
/// never handed on.
pub(crate) fn plan(
    view: &Snapshot,
    request: &Request,
    facts: KeyFacts,
    delegated: bool,
) -> Result<Plan, ServeError> {
    match (request, facts) {
        (Request::Keygen(k), KeyFacts::Wallet { exists }) => keygen(view, k, exists, delegated),
        (Request::Sign(s), KeyFacts::Key(meta)) => sign(view, s, meta, delegated),
        (Request::Keygen(_), KeyFacts::Key(_)) | (Request::Sign(_), KeyFacts::Wallet { .. }) => {
            Err(ServeError::Bug(
                "key facts of the other kind of request".into(),
            ))
        }
    }
}

/// A new wallet: the request's players (all servers by default), all of them ready.
fn keygen(view: &Snapshot, k: &Keygen, exists: bool, delegated: bool) -> Result<Plan, ServeError> {
    if exists {
        return Err(Refused::KeyExists(k.wallet.to_string()).into());
    }
    view.fresh()?;
    let players = keygen_players(view, &k.session)?;
    view.none_banned(&players.players)?;
    let (servers, _) = view.split(&players.players);
    let ready = view.ready_among(&servers);
    if ready.len() < servers.len() {
        let missing = servers.into_iter().filter(|p| !ready.contains(p)).collect();
        return Err(Refused::KeygenPlayersNotReady(missing).into());
    }
    if !players.players.contains(&view.me) {
        return Ok(Plan::Delegate(delegate_to(
            view,
            &servers_of(view, &players),
            delegated,
        )?));
    }
    Ok(Plan::Run(players))
}

/// The players and threshold of a new key, as every player checks them too.
pub(crate) fn keygen_players(
    view: &Snapshot,
    session: &CheckedSession,
) -> Result<Players, Refused> {
    let players = session
        .players
        .clone()
        .unwrap_or_else(|| view.servers.clone());
    let threshold = session.threshold.map_or(view.threshold, Threshold);
    threshold.check(players.len()).map_err(Refused::Threshold)?;
    named(view, session, &players)?;
    Ok(Players {
        players,
        session_id: session.session_id.clone(),
        threshold,
        retry: None,
    })
}

fn servers_of(view: &Snapshot, players: &Players) -> Vec<NodeId> {
    view.split(&players.players).0
}

/// A signature with an existing key: the request's players, or t+1 ready
/// servers with this node first.
fn sign(
    view: &Snapshot,
    s: &Sign,
    meta: Option<Box<KeyMetadata>>,
    delegated: bool,
) -> Result<Plan, ServeError> {
    let not_found = || Refused::KeyNotFound {
        wallet: s.wallet.to_string(),
        key_type: s.message.key_type.to_string(),
    };
    let Some(meta) = meta else {
        if delegated {
            return Err(not_found().into());
        }
        // Not a participant of this wallet: a server that is may have it.
        let candidates: Vec<NodeId> = s
            .session
            .players
            .clone()
            .unwrap_or_else(|| view.servers.clone())
            .into_iter()
            .filter(|n| *n != view.me && view.is_server(n) && !view.banned.contains(n))
            .collect();
        return Ok(Plan::AskHolders {
            candidates: view.ready_among(&candidates),
            not_found: not_found(),
        });
    };
    let participants: Vec<NodeId> = meta
        .participants
        .iter()
        .map(|p| p.node_id.clone())
        .collect();
    let (servers, tenants) = view.split(&participants);
    let needed = meta.threshold.signers();
    let Some(named_players) = s.session.players.clone() else {
        view.fresh()?;
        let players = pick(view, &servers, needed, &[]).map_err(|refusal| {
            if tenants.is_empty() {
                refusal
            } else {
                Refused::TenantRequired {
                    tenants: tenants.clone(),
                    ready: view.ready_among(&servers).len(),
                    needed,
                }
            }
        })?;
        let fixed = s.session.session_id.clone();
        return Ok(Plan::Run(Players {
            retry: (view.retry_signing && fixed.is_none()).then_some(Pick { servers, needed }),
            players,
            session_id: fixed,
            threshold: meta.threshold,
        }));
    };
    check_signers(&named_players, &participants, needed, s.message.key_type)?;
    named(view, &s.session, &named_players)?;
    let (named_servers, _) = view.split(&named_players);
    if !named_players.contains(&view.me) {
        return Ok(Plan::Delegate(delegate_to(
            view,
            &named_servers,
            delegated,
        )?));
    }
    // Only a player refuses for its bans: a node that hands the request on
    // runs no session with anyone.
    view.none_banned(&named_players)?;
    view.fresh()?;
    if let Some(down) = named_servers.iter().find(|p| !view.ready.contains(*p)) {
        return Err(Refused::PlayerNotReady(down.clone()).into());
    }
    Ok(Plan::Run(Players {
        players: named_players,
        session_id: s.session.session_id.clone(),
        threshold: meta.threshold,
        retry: None,
    }))
}

/// The players a signing request names must be the key's, as many as it signs with.
fn check_signers(
    players: &[NodeId],
    participants: &[NodeId],
    needed: usize,
    key_type: KeyType,
) -> Result<(), Refused> {
    if let Some(stranger) = players.iter().find(|p| !participants.contains(p)) {
        return Err(Refused::NotAParticipant(stranger.clone()));
    }
    // DKLs23 signs with exactly t+1 parties; FROST with any t+1 or more.
    if key_type == KeyType::Secp256k1 && players.len() > needed {
        return Err(Refused::TooManySigners {
            named: players.len(),
            signers: needed,
        });
    }
    if players.len() < needed {
        return Err(Refused::TooFewSigners {
            named: players.len(),
            needed,
        });
    }
    Ok(())
}

/// Named players include at least one server, and a session id when a tenant plays.
fn named(view: &Snapshot, session: &CheckedSession, players: &[NodeId]) -> Result<(), Refused> {
    let (servers, tenants) = view.split(players);
    if servers.is_empty() {
        return Err(Refused::NoServerPlayer(players.to_vec()));
    }
    // A tenant can only find its session by id.
    if !tenants.is_empty() && session.session_id.is_none() {
        return Err(Refused::SessionIdRequired(tenants));
    }
    Ok(())
}

/// The server player to hand a request to: the first ready one this node
/// has not banned (a banned one is never handed a request).
fn delegate_to(view: &Snapshot, servers: &[NodeId], delegated: bool) -> Result<NodeId, ServeError> {
    if delegated {
        return Err(ServeError::Bug(
            "a delegated request named players without the delegate".into(),
        ));
    }
    let ready = view.ready_among(servers);
    if let Some(to) = ready.iter().find(|n| !view.banned.contains(*n)) {
        return Ok(to.clone());
    }
    Err(match ready.into_iter().next() {
        Some(banned) => Refused::PartyBanned(banned),
        None => Refused::NoPlayerReady,
    }
    .into())
}

/// This node and the first `needed - 1` other ready servers neither in
/// `excluded` nor banned, sorted. When only a banned server is missing, the
/// refusal names it.
pub(crate) fn pick(
    view: &Snapshot,
    servers: &[NodeId],
    needed: usize,
    excluded: &[NodeId],
) -> Result<Vec<NodeId>, Refused> {
    let candidates: Vec<NodeId> = view
        .ready_among(servers)
        .into_iter()
        .filter(|n| !excluded.contains(n))
        .collect();
    let (banned, ready): (Vec<NodeId>, Vec<NodeId>) = candidates
        .iter()
        .cloned()
        .partition(|n| view.banned.contains(n));
    let enough = |r: &[NodeId]| r.len() >= needed && r.contains(&view.me);
    if !enough(&ready) && enough(&candidates) {
        if let Some(b) = banned.into_iter().next() {
            return Err(Refused::PartyBanned(b));
        }
    }
    if !enough(&ready) {
        return Err(Refused::NotMajority {
            ready: ready.len(),
            total: servers.len(),
            needed,
            excluded: excluded.to_vec(),
        });
    }
    let mut players = vec![view.me.clone()];
    players.extend(ready.into_iter().filter(|n| *n != view.me).take(needed - 1));
    players.sort();
    Ok(players)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
