//! Control messages for sessions a node has not opened yet: held for a while,
//! delivered if the session opens in time, dropped (and logged once) if not.

mod common;

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use tessera_testkit::wait::{holds_for, POLL};
use tessera_testkit::Nats;
use tessera_transport::{HoldLimits, TransportOptions};

/// Log lines captured from this test's thread (tests here run on a
/// current-thread runtime, so the router task logs on it too).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let logs = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || logs.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn lines_with(&self, needles: &[&str]) -> Vec<String> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .filter(|l| needles.iter().all(|n| l.contains(n)))
            .map(str::to_string)
            .collect()
    }
}

fn hold_for(ms: u64) -> TransportOptions {
    TransportOptions {
        hold_unopened: Duration::from_millis(ms),
        ..TransportOptions::default()
    }
}

#[tokio::test]
async fn held_control_messages_are_delivered_when_the_session_opens_in_time() {
    // Every test here installs a subscriber: tracing caches callsite interest
    // process-wide, and a test without one could race the others' capture.
    let _guard = Logs::default().install();
    let nats = Nats::start().await.unwrap();
    let (a, b) = (identity("a"), identity("b"));
    let (ta, tb) = (connect(&nats, &a).await, connect(&nats, &b).await);
    let peers = publics(&[&a, &b]);
    let s = sid("held");
    let mut la = open(&ta, &s, &peers).await;
    la.send_control(b.node_id(), 0, b"proposal").await.unwrap();
    la.send_control(b.node_id(), 0, b"follow-up").await.unwrap();
    // b's router has them (held), and b opens well within the (default, 2 s)
    // hold period.
    control_barrier(&ta, &tb, &peers).await;
    let mut lb = open(&tb, &s, &peers).await;
    assert_eq!(next_message(&mut lb).await.payload.as_slice(), b"proposal");
    assert_eq!(next_message(&mut lb).await.payload.as_slice(), b"follow-up");
    // Live control messages follow the held ones.
    la.send_control(b.node_id(), 1, b"live").await.unwrap();
    assert_eq!(next_message(&mut lb).await.payload.as_slice(), b"live");
    assert_eq!(tb.dropped_unopened(), 0);
}

#[tokio::test]
async fn control_messages_for_a_session_never_opened_are_dropped_with_one_warning() {
    let logs = Logs::default();
    let _guard = logs.install();
    let nats = Nats::start().await.unwrap();
    let (a, b) = (identity("a"), identity("b"));
    let ta = connect(&nats, &a).await;
    let tb = connect_with(&nats, &b, hold_for(1000)).await;
    let peers = publics(&[&a, &b]);
    let s = sid("never");
    let mut la = open(&ta, &s, &peers).await;
    for i in 0..3u16 {
        la.send_control(b.node_id(), i, b"too early").await.unwrap();
    }
    control_barrier(&ta, &tb, &peers).await;
    // Must not happen: b's router has the three, and drops none of them for a
    // while (the hold period is 1 s).
    assert!(
        holds_for(Duration::from_millis(100), POLL, || tb.dropped_unopened()
            == 0)
        .await,
        "dropped before the hold period"
    );
    eventually(WAIT, "held messages dropped", || tb.dropped_unopened() == 3).await;
    // Must not happen: any further drop.
    assert!(
        holds_for(Duration::from_millis(300), POLL, || tb.dropped_unopened()
            == 3)
        .await,
        "dropped more than the three"
    );
    // One line for the three messages, with the code, the session id and the sender.
    let lines = logs.lines_with(&["WARN", s.as_str()]);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let line = &lines[0];
    for needle in [
        "dropped messages for a session this node never opened \
         (mismatched session ids, or players started at different times)",
        "code=ERROR_UNKNOWN_SESSION",
        &format!("session_id={s}"),
        "senders=a",
        "dropped=3",
        "node_id=b",
    ] {
        assert!(line.contains(needle), "{needle:?} not in {line}");
    }

    // Opening it now delivers nothing: the messages are gone.
    let mut lb = open(&tb, &s, &peers).await;
    assert_quiet(&mut lb).await;
}

#[tokio::test]
async fn hold_limits_cap_what_strangers_can_park() {
    let logs = Logs::default();
    let _guard = logs.install();
    let nats = Nats::start().await.unwrap();
    let (a, b) = (identity("a"), identity("b"));
    let ta = connect(&nats, &a).await;
    let options = TransportOptions {
        hold_limits: HoldLimits {
            sessions: 1,
            messages_per_session: 2,
            ..HoldLimits::default()
        },
        ..hold_for(1000)
    };
    let tb = connect_with(&nats, &b, options).await;
    let peers = publics(&[&a, &b]);
    let (s1, s2) = (sid("capped"), sid("overflow"));
    let mut a1 = open(&ta, &s1, &peers).await;
    let mut a2 = open(&ta, &s2, &peers).await;
    for i in 0..3u16 {
        a1.send_control(b.node_id(), i, &i.to_be_bytes())
            .await
            .unwrap();
    }
    // The session table is full: s2's messages are dropped at once.
    a2.send_control(b.node_id(), 0, b"no room").await.unwrap();
    eventually(WAIT, "over-limit drops", || tb.dropped_unopened() == 2).await;

    let mut lb = open(&tb, &s1, &peers).await;
    assert_eq!(next_message(&mut lb).await.header.round, 0);
    assert_eq!(next_message(&mut lb).await.header.round, 1);
    assert_quiet(&mut lb).await;
    let over = logs.lines_with(&["WARN", s1.as_str(), "dropped=1", "hold limits"]);
    assert_eq!(over.len(), 1, "{over:#?}");
    eventually(WAIT, "overflow reported", || {
        logs.lines_with(&["WARN", "dropped=1", "too many unopened sessions"])
            .len()
            == 1
    })
    .await;
    assert_eq!(tb.dropped_unopened(), 2);
}
