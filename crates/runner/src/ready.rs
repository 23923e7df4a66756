//! What the connection state machine asks of the I/O loop after an input:
//! frames to send, protocol messages to hand to the session, reports for the
//! session's error channel, and phase events.

use tessera_security::RunId;
use tessera_session::ProtocolMessage;
use tessera_types::NodeId;

use crate::error::SessionError;
use crate::frame::{Frame, Join};

/// One frame to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outgoing {
    /// This node's join, to every peer's control subject, signed but not
    /// encrypted (see [`Frame::Join`]).
    Join(Join),
    /// To every peer's control subject (reaches peers that have not opened the
    /// session yet): aborts.
    ControlAll(Frame),
    /// On the session's broadcast subject: heartbeats, `Finished`, `KeygenDone`.
    Broadcast(Frame),
}

/// A phase the connection reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// Every peer joined: protocol messages may be sent.
    Joined,
    /// Every peer confirmed the same key as this node: the share may be stored.
    Confirmed,
    /// The wait for the peers' `Finished` after storing ended; `missing` did not
    /// say they stored their share (empty: all did).
    PeersStored { missing: Vec<NodeId> },
}

/// Everything pending, taken at once with `Connection::take_ready`.
#[derive(Debug, Default)]
pub(crate) struct Ready {
    /// The run id, once every peer's join is in: the link binds it before
    /// sending anything else, so every later envelope carries it.
    pub(crate) bind: Option<RunId>,
    pub(crate) send: Vec<Outgoing>,
    /// Protocol messages from peers, in arrival order, for the session.
    pub(crate) messages: Vec<ProtocolMessage>,
    /// Non-fatal problems for the session's error channel.
    pub(crate) reports: Vec<SessionError>,
    pub(crate) events: Vec<Event>,
}

impl Ready {
    pub(crate) fn is_empty(&self) -> bool {
        self.bind.is_none()
            && self.send.is_empty()
            && self.messages.is_empty()
            && self.reports.is_empty()
            && self.events.is_empty()
    }
}
