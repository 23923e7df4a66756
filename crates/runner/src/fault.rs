//! Fault injection for end-to-end tests, compiled into debug builds only.
//! Release builds ignore the variables (the functions are empty there), so
//! they can never slow or corrupt a production node.
//!
//! - `TESSERA_FAULT_ROUND_DELAY_MS=<n>` makes every protocol step of every
//!   session wait `n` ms on its worker thread, so that a test can kill a node
//!   while a session is surely in flight.
//! - `TESSERA_FAULT_DKLS_CHEAT=<node_id>`: the node with that id corrupts the
//!   OT data of its first-round ECDSA signing messages; each honest signer's
//!   DKLs23 check fails with `BanCounterparty` naming it (the message is
//!   signed by it: proof), so the honest nodes ban it. Any node may be given
//!   the variable; only the named one cheats.
//! - `TESSERA_FAULT_FALSE_BLAME=<node_id>`: the node with that id aborts every
//!   signing session right after the join barrier, with a signed abort frame
//!   falsely naming every other signer as a cheater (`ERROR_PROTOCOL_CHEATING`).
//! - `TESSERA_FAULT_EXIT_IN_LIFECYCLE=<node_id>`: the node with that id exits
//!   (status 70, as a crash would end it) in its next lifecycle session right
//!   after it stored the new epoch as pending, before it tells the others: a
//!   node killed in the middle of a refresh.

use tessera_types::NodeId;

#[cfg(debug_assertions)]
fn delay() -> Option<std::time::Duration> {
    use std::sync::OnceLock;
    use std::time::Duration;
    static DELAY: OnceLock<Option<Duration>> = OnceLock::new();
    *DELAY.get_or_init(|| {
        std::env::var("TESSERA_FAULT_ROUND_DELAY_MS")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .map(Duration::from_millis)
    })
}

/// Whether `var` names node `me` (read each time: tests restart nodes with
/// other variables, and this is only ever asked once per session).
#[cfg(debug_assertions)]
fn names(var: &str, me: &NodeId) -> bool {
    std::env::var(var).is_ok_and(|v| v.trim() == me.as_str())
}

/// Whether a delay is configured: protocol steps then run on the blocking
/// pool, so the sleep never holds an async worker.
#[cfg(debug_assertions)]
pub(crate) fn active() -> bool {
    delay().is_some()
}

/// Called before each protocol step.
#[cfg(debug_assertions)]
pub(crate) fn before_step() {
    if let Some(d) = delay() {
        std::thread::sleep(d);
    }
}

/// Makes `me`'s ECDSA signing cheat in its OT data when the fault names it.
#[cfg(debug_assertions)]
pub(crate) fn ecdsa_sign(me: &NodeId, p: &mut tessera_session::ecdsa::EcdsaSign) {
    if names("TESSERA_FAULT_DKLS_CHEAT", me) {
        tracing::warn!(node_id = %me, "fault injection: corrupting this node's OT data");
        p.cheat_in_ot_for_tests();
    }
}

/// After the join barrier: when the fault names `me`, the error that makes
/// the session abort blaming every other player.
#[cfg(debug_assertions)]
pub(crate) fn false_blame(
    session_id: &tessera_types::SessionId,
    me: &NodeId,
    players: &[NodeId],
) -> Result<(), crate::SessionError> {
    if !names("TESSERA_FAULT_FALSE_BLAME", me) {
        return Ok(());
    }
    let others: Vec<NodeId> = players.iter().filter(|p| *p != me).cloned().collect();
    tracing::warn!(node_id = %me, %session_id, blamed = ?others, "fault injection: falsely blaming");
    Err(crate::SessionError::Protocol {
        session_id: session_id.clone(),
        abort: tessera_session::Abort::Cheating {
            culprits: others,
            ban: false,
            detail: "fault injection: a false accusation".into(),
        },
    })
}

/// In a lifecycle session, after the pending epoch is stored: exits the
/// process when the fault names `me`.
#[cfg(debug_assertions)]
pub(crate) fn exit_in_lifecycle(me: &NodeId) {
    if names("TESSERA_FAULT_EXIT_IN_LIFECYCLE", me) {
        tracing::warn!(node_id = %me, "fault injection: exiting in the middle of a lifecycle session");
        std::process::exit(70);
    }
}

/// Nothing in release builds.
#[cfg(not(debug_assertions))]
pub(crate) fn exit_in_lifecycle(_me: &NodeId) {}

/// Never in release builds.
#[cfg(not(debug_assertions))]
pub(crate) fn active() -> bool {
    false
}

/// Called before each protocol step: nothing in release builds.
#[cfg(not(debug_assertions))]
pub(crate) fn before_step() {}

/// Nothing in release builds.
#[cfg(not(debug_assertions))]
pub(crate) fn ecdsa_sign(_me: &NodeId, _p: &mut tessera_session::ecdsa::EcdsaSign) {}

/// Nothing in release builds.
#[cfg(not(debug_assertions))]
pub(crate) fn false_blame(
    _session_id: &tessera_types::SessionId,
    _me: &NodeId,
    _players: &[NodeId],
) -> Result<(), crate::SessionError> {
    Ok(())
}
