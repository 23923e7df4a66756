//! Failures: a crashed node (session abandoned, never destroyed), restarts with
//! the same node id, a lost session, a duplicate node id, Consul going away.

mod common;

use std::time::{Duration, Instant};

use common::{client, config, config_at, consul, ids, node, prefix, start, within, Proxy};
use tessera_registry::{ReadyView, Registry, RegistryError};
use tessera_testkit::wait::{poll_until, wait_until, POLL};
use tessera_types::ErrorCode;

const TTL: Duration = Duration::from_secs(1);
/// Slack for the watcher on top of Consul's 2×TTL: the blocking query returns
/// as soon as the key is deleted, so this covers scheduling and HTTP round trips.
const WATCH_SLACK: Duration = Duration::from_millis(500);

#[tokio::test]
async fn crashed_node_leaves_within_two_ttl() {
    let consul = consul().await;
    let p = prefix("crash");
    let a = start(&consul, &p, "node-a", TTL).await;
    let b = start(&consul, &p, "node-b", TTL).await;
    let c = start(&consul, &p, "node-c", TTL).await;
    let all = ids(&["node-a", "node-b", "node-c"]);
    assert!(a
        .wait_until(|v| v.nodes == all, Duration::from_secs(3))
        .await
        .is_some());
    assert!(a.are_majority_ready(2));

    let t0 = Instant::now();
    within(5, c.abandon()).await;
    // Still there right after the crash: nobody destroyed the session.
    assert!(a.is_ready(&node("node-c")));
    let gone = |v: &ReadyView| !v.contains(&node("node-c"));
    let seen = a.wait_until(gone, 2 * TTL + Duration::from_secs(3)).await;
    let latency = t0.elapsed();
    eprintln!(
        "crash: node-c left node-a's view {latency:?} after it stopped renewing (ttl {TTL:?})"
    );
    assert!(seen.is_some(), "node-c never left");
    assert!(latency <= 2 * TTL + WATCH_SLACK, "took {latency:?}");
    assert!(!a.are_majority_ready(2));
    assert!(a.are_majority_ready(1));
    assert!(b.wait_until(gone, Duration::from_secs(1)).await.is_some());

    within(5, a.shutdown()).await;
    within(5, b.shutdown()).await;
}

#[tokio::test]
async fn same_node_id_restarts_after_crash_and_after_shutdown() {
    let consul = consul().await;
    let p = prefix("restart");
    let a = start(&consul, &p, "node-a", TTL).await;
    let b = start(&consul, &p, "node-b", TTL).await;

    // After a clean shutdown the key is free at once (LockDelay 0).
    within(5, b.shutdown()).await;
    let t0 = Instant::now();
    let b = start(&consul, &p, "node-b", TTL).await;
    let clean = t0.elapsed();
    eprintln!("restart after shutdown: ready again after {clean:?}");
    assert!(clean < Duration::from_millis(500), "took {clean:?}");

    // After a crash the old session holds the key until Consul expires it;
    // start() waits for that instead of failing.
    let key = b.keys().ready_key(&node("node-b"));
    let old = client(&consul).kv_get(&key).await.unwrap().unwrap();
    let old = old.session.expect("the ready key is held by a session");
    within(5, b.abandon()).await;
    let t0 = Instant::now();
    let b = start(&consul, &p, "node-b", TTL).await;
    let crash = t0.elapsed();
    eprintln!("restart after crash: ready again after {crash:?}");
    assert!(
        crash <= 2 * TTL + Duration::from_millis(500),
        "took {crash:?}"
    );
    let both = ids(&["node-a", "node-b"]);
    assert!(a
        .wait_until(|v| v.nodes == both, Duration::from_secs(2))
        .await
        .is_some());
    // The new instance stays ready past the old session's expiry: once Consul
    // no longer knows the old session, node-b must not leave node-a's view for
    // another 2×TTL (a bounded wait for something that must not happen: its
    // own session is renewed, so it outlives its TTL).
    let (agent, old) = (&consul, &old);
    let expired = wait_until(2 * TTL + WATCH_SLACK, POLL, || async move {
        !agent
            .session_exists(old.as_str())
            .await
            .expect("consul answers")
    })
    .await;
    assert!(expired, "the old session outlived 2×TTL");
    let left = a
        .wait_until(|v| !v.contains(&node("node-b")), 2 * TTL)
        .await;
    assert!(left.is_none(), "node-b left node-a's view: {left:?}");
    assert!(a.is_ready(&node("node-b")) && b.is_ready(&node("node-b")));

    within(5, a.shutdown()).await;
    within(5, b.shutdown()).await;
}

#[tokio::test]
async fn lost_session_is_recreated_and_duplicates_are_refused() {
    let consul = consul().await;
    let p = prefix("lost");
    let a = start(&consul, &p, "node-a", TTL).await;
    let c = client(&consul);
    let key = a.keys().ready_key(&node("node-a"));

    // Someone destroys our session (as Consul does when it expires during an
    // outage): the key goes, the renew task notices, recreates, re-acquires.
    let session = c.kv_get(&key).await.unwrap().unwrap().session.unwrap();
    c.session_destroy(&session).await.unwrap();
    let gone = a
        .wait_until(|v| !v.contains(&node("node-a")), Duration::from_secs(2))
        .await;
    assert!(gone.is_some());
    let back = a.wait_until(|v| v.contains(&node("node-a")), 2 * TTL).await;
    assert!(back.is_some(), "node-a did not come back");
    let now = c.kv_get(&key).await.unwrap().unwrap().session.unwrap();
    assert_ne!(now, session);

    // A second live process with the same id is refused after the takeover wait.
    let mut dup = config(&consul, &p, "node-a", TTL);
    dup.takeover_timeout = Some(Duration::from_millis(600));
    let err = within(5, Registry::start(dup)).await.unwrap_err();
    assert!(matches!(err, RegistryError::NodeIdInUse { .. }), "{err}");
    assert_eq!(err.code(), ErrorCode::InvalidConfiguration);
    assert!(a.is_ready(&node("node-a")));

    within(5, a.shutdown()).await;
}

#[tokio::test]
async fn consul_unreachable_keeps_the_view_but_it_goes_stale() {
    let mut consul = consul().await;
    let p = prefix("down");
    let a = start(&consul, &p, "node-a", TTL).await;
    let b = start(&consul, &p, "node-b", TTL).await;
    let both = ids(&["node-a", "node-b"]);
    assert!(a
        .wait_until(|v| v.nodes == both, Duration::from_secs(3))
        .await
        .is_some());
    assert!(a.is_fresh(TTL));

    let addr = consul.http_addr();
    consul.kill();
    let t0 = Instant::now();
    // Freshness lapses once no answer came for one TTL; the nodes stay.
    let stale = poll_until(Duration::from_secs(5), POLL, || !a.is_fresh(TTL)).await;
    assert!(stale, "the view stayed fresh for 5 s");
    eprintln!("consul down: view stale after {:?}", t0.elapsed());
    assert_eq!(a.ready_nodes(), both);
    assert!(a.are_majority_ready(1));
    let stale = a.check_quorum(1).unwrap_err();
    assert!(matches!(stale, RegistryError::StaleView { .. }));
    assert_eq!(stale.code(), ErrorCode::ClusterNotReady);

    // Calls that need Consul fail with typed, transient errors.
    let err = within(5, a.peers()).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::NetworkConnection, "{err}");
    assert!(err.is_transient());
    let err = within(10, Registry::start(config_at(&addr, &p, "node-c", TTL)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RegistryError::Unreachable {
                endpoint: "session create",
                ..
            }
        ),
        "{err}"
    );

    // Shutdown still completes (the destroy fails; the session would expire).
    within(10, a.shutdown()).await;
    within(10, b.shutdown()).await;
}

#[tokio::test]
async fn consul_outage_then_recovery_without_a_restart() {
    let consul = consul().await;
    let proxy = Proxy::start(&consul).await;
    let p = prefix("outage");
    // node-a reaches Consul through the proxy; node-b directly.
    let a = within(
        10,
        Registry::start(config_at(&proxy.http_addr(), &p, "node-a", TTL)),
    )
    .await
    .unwrap();
    let b = start(&consul, &p, "node-b", TTL).await;
    let both = ids(&["node-a", "node-b"]);
    assert!(a
        .wait_until(|v| v.nodes == both, Duration::from_secs(3))
        .await
        .is_some());
    assert!(b
        .wait_until(|v| v.nodes == both, Duration::from_secs(3))
        .await
        .is_some());

    // Longer than 2×TTL: node-a's session expires, node-b sees it leave.
    proxy.set_up(false);
    let left = b
        .wait_until(|v| !v.contains(&node("node-a")), 2 * TTL + WATCH_SLACK)
        .await;
    assert!(left.is_some(), "node-a's key outlived its session");
    assert!(!a.is_fresh(TTL));
    assert_eq!(a.ready_nodes(), both, "node-a dropped its last view");

    // Back: node-a's watcher resumes by itself and its renew task replaces the
    // lost session, so node-b sees it again.
    proxy.set_up(true);
    let t0 = std::time::Instant::now();
    let fresh = a
        .wait_until(|v| v.is_fresh(TTL), Duration::from_secs(4))
        .await;
    assert!(fresh.is_some(), "node-a's view did not recover");
    let back = b
        .wait_until(|v| v.contains(&node("node-a")), Duration::from_secs(4))
        .await;
    eprintln!("outage over: node-a ready again after {:?}", t0.elapsed());
    assert!(back.is_some(), "node-a did not re-publish");
    assert!(a
        .wait_until(|v| v.nodes == both, Duration::from_secs(2))
        .await
        .is_some());

    within(5, a.shutdown()).await;
    within(5, b.shutdown()).await;
}
