//! Readiness with several registries on one Consul: everyone sees everyone,
//! mpcium's `t + 1` boundary, clean shutdown, watcher-only observers.

mod common;

use std::time::{Duration, Instant};

use common::{config, consul, ids, node, prefix, start, within};
use tessera_registry::Registry;
use tessera_types::ErrorCode;

const TTL: Duration = Duration::from_secs(2);

#[tokio::test]
async fn three_nodes_see_each_other_and_the_t_plus_one_boundary() {
    let consul = consul().await;
    let p = prefix("three");
    let a = start(&consul, &p, "node-a", TTL).await;
    let b = start(&consul, &p, "node-b", TTL).await;
    let all = ids(&["node-a", "node-b", "node-c"]);

    // Two ready: t = 1 needs 2 (ready), t = 2 needs 3 (not).
    let two = ids(&["node-a", "node-b"]);
    for r in [&a, &b] {
        let v = r
            .wait_until(|v| v.nodes == two, Duration::from_secs(3))
            .await;
        assert!(v.is_some(), "{} sees {:?}", r.node_id(), r.ready_nodes());
        assert!(r.are_majority_ready(1));
        assert!(!r.are_majority_ready(2));
        assert!(r.check_quorum(1).is_ok());
        let e = r.check_quorum(2).unwrap_err();
        assert_eq!(e.code(), ErrorCode::PeerUnavailable);
    }

    let c = start(&consul, &p, "node-c", TTL).await;
    for r in [&a, &b, &c] {
        let v = r
            .wait_until(|v| v.nodes == all, Duration::from_secs(3))
            .await;
        assert!(v.is_some(), "{} sees {:?}", r.node_id(), r.ready_nodes());
        assert!(r.are_majority_ready(2));
        assert!(!r.are_majority_ready(3));
        assert!(r.is_ready(&node("node-c")));
        assert!(r.is_fresh(TTL));
    }
    let asked = [node("node-x"), node("node-c"), node("node-a")];
    assert_eq!(a.ready_among(&asked), vec![node("node-c"), node("node-a")]);

    for r in [a, b, c] {
        within(5, r.shutdown()).await;
    }
}

#[tokio::test]
async fn clean_shutdown_removes_the_node_within_one_second() {
    let consul = consul().await;
    let p = prefix("shutdown");
    let a = start(&consul, &p, "node-a", TTL).await;
    let b = start(&consul, &p, "node-b", TTL).await;
    let c = start(&consul, &p, "node-c", TTL).await;
    let all = ids(&["node-a", "node-b", "node-c"]);
    for r in [&a, &b] {
        assert!(r
            .wait_until(|v| v.nodes == all, Duration::from_secs(3))
            .await
            .is_some());
    }

    let t0 = Instant::now();
    within(5, c.shutdown()).await;
    let gone = |v: &tessera_registry::ReadyView| !v.contains(&node("node-c"));
    let (seen_a, seen_b) = tokio::join!(
        a.wait_until(gone, Duration::from_secs(3)),
        b.wait_until(gone, Duration::from_secs(3)),
    );
    let latency = t0.elapsed();
    eprintln!("clean shutdown: node-c left both views {latency:?} after shutdown() began");
    assert!(seen_a.is_some() && seen_b.is_some(), "node-c still ready");
    assert!(latency < Duration::from_secs(1), "took {latency:?}");
    assert!(a.are_majority_ready(1) && !a.are_majority_ready(2));

    // Shutdown is idempotent and the stopped handle keeps its last view.
    within(5, c.shutdown()).await;
    assert!(c.ready_nodes().contains(&node("node-a")));
    within(5, a.shutdown()).await;
    within(5, b.shutdown()).await;
}

#[tokio::test]
async fn observer_watches_without_publishing() {
    let consul = consul().await;
    let p = prefix("observer");
    let mut cfg = config(&consul, &p, "client-1", TTL);
    cfg.publish_ready = false;
    let observer = within(10, Registry::start(cfg)).await.unwrap();
    assert!(!observer.is_publishing());
    assert!(observer.ready_nodes().is_empty());
    assert!(!observer.are_majority_ready(0));

    let mut rx = observer.subscribe();
    let a = start(&consul, &p, "node-a", TTL).await;
    within(3, async {
        while !rx.borrow_and_update().contains(&node("node-a")) {
            rx.changed().await.unwrap();
        }
    })
    .await;
    assert_eq!(observer.ready_nodes(), ids(&["node-a"]));
    assert!(
        !a.is_ready(&node("client-1")),
        "observer published a ready key"
    );

    within(5, a.shutdown()).await;
    within(5, observer.shutdown()).await;
}

/// A node signs its ready record and rewrites it at every renewal: an observer
/// that checks it against its own identities (as `tessera cluster status`
/// does) sees when the node renewed and how old its view was; checked against
/// another identity, the same record is refused.
#[tokio::test]
async fn ready_records_are_signed_and_renewed() {
    use std::sync::Arc;
    use tessera_registry::ready_set::read_ready;
    use tessera_registry::{KeyLayout, ReadyRecordError};
    use tessera_security::NodeIdentity;
    use tessera_testkit::wait::wait_for;
    use tessera_types::NodeId;

    let consul = consul().await;
    let p = prefix("signed");
    let identity = Arc::new(NodeIdentity::generate(node("node-a")));
    let mut c = config(&consul, &p, "node-a", TTL);
    c.signer = Some(identity.clone());
    let a = within(15, Registry::start(c))
        .await
        .expect("registry starts");
    let known = |n: &NodeId| (n == identity.node_id()).then(|| identity.public());
    let client = common::client(&consul);
    let keys = KeyLayout::new(&p).unwrap();
    // The first renewal (after TTL/2) adds the age of the node's view.
    let record = wait_for(
        Duration::from_secs(5),
        Duration::from_millis(100),
        || async {
            let ready = read_ready(&client, &keys, &known).await.ok()?;
            let record = ready.into_iter().next()?.record.ok()?;
            record.view_age_ms.map(|_| record)
        },
    )
    .await
    .expect("a signed record with the view's age");
    assert_eq!(record.node_id, node("node-a"));
    assert!(record.renewed_at >= record.started_at);
    assert!(record.view_age_ms.unwrap() < TTL.as_millis() as u64);

    let stranger = NodeIdentity::generate(node("node-a"));
    let ready = read_ready(&client, &keys, |_| Some(stranger.public()))
        .await
        .unwrap();
    assert_eq!(ready.len(), 1);
    assert!(
        matches!(ready[0].record, Err(ReadyRecordError::Signature { .. })),
        "{:?}",
        ready[0].record
    );
    within(5, a.shutdown()).await;
}
