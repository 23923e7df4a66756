//! Every NATS subject Tessera's nodes talk on, built from session and node ids
//! only. Wallet and transaction ids never appear: two operations on one wallet
//! run as two sessions and must never share a subject.
//!
//! [`SessionId`] and [`NodeId`] reject `.`, `*`, `>` and whitespace, so each id
//! is exactly one subject token and no id can widen a subscription.
//!
//! - session broadcast: `tessera.session.<sid>.bcast`
//! - session p2p, one subject per direction: `tessera.session.<sid>.p2p.<from>.<to>`
//! - node control inbox, reachable before the node opened a session:
//!   `tessera.node.<node_id>.control`

use tessera_types::{NodeId, SessionId};

/// First token of every Tessera subject.
pub const ROOT: &str = "tessera";

/// Where a session's broadcast messages travel.
pub fn session_broadcast(session_id: &SessionId) -> String {
    format!("{ROOT}.session.{session_id}.bcast")
}

/// Where `from` sends p2p messages to `to` in a session.
pub fn session_p2p(session_id: &SessionId, from: &NodeId, to: &NodeId) -> String {
    format!("{ROOT}.session.{session_id}.p2p.{from}.{to}")
}

/// What `me` subscribes to for the p2p messages addressed to it, from anyone.
pub fn session_p2p_inbox(session_id: &SessionId, me: &NodeId) -> String {
    format!("{ROOT}.session.{session_id}.p2p.*.{me}")
}

/// A node's control inbox: session-scoped messages that must reach it even
/// before it opened the session (they are held briefly, see the router).
pub fn node_control(node_id: &NodeId) -> String {
    format!("{ROOT}.node.{node_id}.control")
}

/// `tessera.node.<node_id>.proposal`: session proposals (request-reply) for a node.
pub fn node_proposal(node_id: &NodeId) -> String {
    format!("{ROOT}.node.{node_id}.proposal")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(s: &str) -> SessionId {
        SessionId::new(s).unwrap()
    }

    fn node(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    #[test]
    fn subjects_have_the_documented_shape() {
        let s = sid("sess-1");
        assert_eq!(session_broadcast(&s), "tessera.session.sess-1.bcast");
        assert_eq!(
            session_p2p(&s, &node("node0"), &node("node1")),
            "tessera.session.sess-1.p2p.node0.node1"
        );
        assert_eq!(
            session_p2p_inbox(&s, &node("node1")),
            "tessera.session.sess-1.p2p.*.node1"
        );
        assert_eq!(node_control(&node("node2")), "tessera.node.node2.control");
    }

    #[test]
    fn directions_and_sessions_never_collide() {
        let (a, b) = (node("a"), node("b"));
        let (s1, s2) = (sid("s1"), sid("s2"));
        assert_ne!(session_p2p(&s1, &a, &b), session_p2p(&s1, &b, &a));
        assert_ne!(session_p2p(&s1, &a, &b), session_p2p(&s2, &a, &b));
        assert_ne!(session_broadcast(&s1), session_broadcast(&s2));
        assert_ne!(node_control(&a), node_control(&b));
    }

    /// Token-level match of a NATS subject against a pattern with `*`.
    fn matches(pattern: &str, subject: &str) -> bool {
        let p: Vec<&str> = pattern.split('.').collect();
        let s: Vec<&str> = subject.split('.').collect();
        p.len() == s.len() && p.iter().zip(&s).all(|(p, s)| *p == "*" || p == s)
    }

    #[test]
    fn the_p2p_inbox_covers_exactly_the_messages_to_me() {
        let (a, b, c) = (node("a"), node("b"), node("c"));
        let s = sid("s");
        let inbox = session_p2p_inbox(&s, &b);
        assert!(matches(&inbox, &session_p2p(&s, &a, &b)));
        assert!(matches(&inbox, &session_p2p(&s, &c, &b)));
        // The probe subject a node uses to confirm its own subscription.
        assert!(matches(&inbox, &session_p2p(&s, &b, &b)));
        assert!(!matches(&inbox, &session_p2p(&s, &b, &a)));
        assert!(!matches(&inbox, &session_p2p(&sid("t"), &a, &b)));
        assert!(!matches(&inbox, &session_broadcast(&s)));
    }

    #[test]
    fn every_id_is_a_single_token() {
        let s = sid("x-1_Y");
        assert_eq!(session_broadcast(&s).split('.').count(), 4);
        assert_eq!(
            session_p2p(&s, &node("n0"), &node("n1")).split('.').count(),
            6
        );
        assert_eq!(node_control(&node("n0")).split('.').count(), 4);
    }
}
