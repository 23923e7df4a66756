//! A tenant device's credential (`deploy/nats/tenant.conf.template`): it takes
//! part in sessions through its own inboxes, and the server refuses everything else.

mod nats_support;

use nats_support::setup::{node_setup, received};
use nats_support::{connect, locked_down, TENANT_ID};

#[tokio::test]
async fn a_tenant_only_takes_part_in_sessions() {
    let (_ca, nats) = locked_down().await;
    let mut node = connect(&nats, "node0").await;
    node_setup(&node).await;
    let mut device = connect(&nats, "device").await;
    // Its own inboxes: control (from a node) and p2p (from a node, and its own probe).
    let mut control = device
        .client
        .subscribe(format!("tessera.node.{TENANT_ID}.control"))
        .await
        .expect("subscribe");
    let mut p2p = device
        .client
        .subscribe(format!("tessera.session.s1.p2p.*.{TENANT_ID}"))
        .await
        .expect("subscribe");
    let mut bcast = device
        .client
        .subscribe("tessera.session.s1.bcast")
        .await
        .expect("subscribe");
    let mut at_node = node
        .client
        .subscribe("tessera.session.s1.p2p.*.node0")
        .await
        .expect("subscribe");
    // Round trips: the server has every subscription before anyone publishes.
    device.alive().await;
    node.alive().await;
    node.publish(&format!("tessera.node.{TENANT_ID}.control"))
        .await;
    node.publish(&format!("tessera.session.s1.p2p.node0.{TENANT_ID}"))
        .await;
    device
        .publish(&format!("tessera.session.s1.p2p.{TENANT_ID}.{TENANT_ID}"))
        .await;
    device.publish("tessera.session.s1.bcast").await;
    device
        .publish(&format!("tessera.session.s1.p2p.{TENANT_ID}.node0"))
        .await;
    device.publish("tessera.node.node0.control").await;

    received(&mut control, "control").await;
    received(&mut bcast, "bcast").await;
    received(&mut at_node, "p2p at the node").await;
    // From the node, and the device's own probe.
    received(&mut p2p, "p2p").await;
    received(&mut p2p, "p2p probe").await;
    device.no_errors().await;
    // Nothing else.
    for subject in [
        "mpc.signing_request.t1",
        "mpc.keygen_request.w1",
        "mpc:reshare",
        "mpc.mpc_signing_result.complete",
        "mpc.mpc_keygen_result.w1",
        "$KV.tessera_requests.x",
        "$KV.mpc-tenant-keys.x",
        "$JS.API.CONSUMER.MSG.NEXT.mpc-signing.mpc_signing_request",
        "$JS.API.STREAM.INFO.mpc",
        "tessera.node.node0.proposal",
        "tessera.session.s1.p2p.node0.node1",
    ] {
        device.publish(subject).await;
        device.refused_publish(subject).await;
    }
    for subject in [
        "tessera.node.node0.control",
        "tessera.session.s1.p2p.*.node0",
        "_INBOX.>",
    ] {
        let _sub = device.client.subscribe(subject).await.expect("queued");
        device.refused("subscription to", subject).await;
    }
}
