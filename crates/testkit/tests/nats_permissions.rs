//! The reference permissions of nodes (`deploy/nats/permissions.conf`) and
//! clients (`client.conf.template`) on a real server with TLS: each role can do
//! its work, and the server refuses the rest with a permissions violation while
//! the connection keeps working.

mod nats_support;

use async_nats::jetstream::consumer::pull;
use async_nats::HeaderMap;
use futures::StreamExt;
use nats_support::setup::{
    api, mpcium_streams, node_setup, pull_one, request_consumer, reshare_stream, tenant_keys,
};
use nats_support::{connect, locked_down, APP_ID, WAIT};

#[tokio::test]
async fn a_client_is_refused_what_only_nodes_may_do() {
    let (_ca, nats) = locked_down().await;
    let node = connect(&nats, "node0").await;
    node_setup(&node).await;
    let mut app = connect(&nats, "app").await;

    for subject in [
        "mpc.mpc_signing_result.app-1.complete",
        "mpc.mpc_keygen_result.w1",
        "mpc.mpc_reshare_result.s1",
        "$KV.tessera_requests.x",
        "tessera.session.x.bcast",
        "tessera.session.x.p2p.node0.node1",
        "tessera.node.n.control",
        "tessera.node.node0.proposal",
    ] {
        app.publish(subject).await;
        app.refused_publish(subject).await;
    }
    // The ledger through the KV API: the bucket cannot even be looked up.
    assert!(app.js.get_key_value("tessera_requests").await.is_err());
    app.refused_publish("$JS.API.STREAM.INFO.KV_tessera_requests")
        .await;
    // Deleting or purging a stream.
    assert!(app.js.delete_stream("mpc-signing").await.is_err());
    app.refused_publish("$JS.API.STREAM.DELETE.mpc-signing")
        .await;
    api(&app, "$JS.API.STREAM.PURGE.mpc", "{}").await;
    app.refused_publish("$JS.API.STREAM.PURGE.mpc").await;
    // Pulling the nodes' requests.
    for subject in [
        "$JS.API.CONSUMER.MSG.NEXT.mpc-signing.mpc_signing_request",
        "$JS.API.CONSUMER.MSG.NEXT.mpc-keygen.mpc_keygen_request",
        "$JS.API.CONSUMER.MSG.NEXT.mpc-reshare.mpc_reshare_request",
    ] {
        api(&app, subject, r#"{"batch":1}"#).await;
        app.refused_publish(subject).await;
    }
    // Another client's result consumer.
    let other = "$JS.API.CONSUMER.CREATE.mpc.mpc_signing_result_app_2";
    api(&app, other, "{}").await;
    app.refused_publish(other).await;
    // Listening to sessions.
    let _sub = app.client.subscribe("tessera.>").await.expect("sub queued");
    app.refused("subscription to", "tessera.>").await;
    // Everything is still there.
    node.js
        .get_stream("mpc-signing")
        .await
        .expect("still there");
    assert!(app.js.get_stream("mpc-signing").await.is_ok());
}

#[tokio::test]
async fn a_client_publishes_requests_and_reads_its_own_results() {
    let (_ca, nats) = locked_down().await;
    let mut app = connect(&nats, "app").await;
    // mpcium's Go client: CreateOrUpdateStream on the two request streams.
    // Nobody updates the result stream: a client may not change it.
    let [keygen, signing, results] = mpcium_streams();
    for config in [keygen, signing] {
        app.js.create_stream(config.clone()).await.expect("create");
        app.js.update_stream(&config).await.expect("update");
    }
    app.js.create_stream(results.clone()).await.expect("create");
    assert!(
        app.js.update_stream(&results).await.is_err(),
        "a client updated the result stream"
    );
    app.refused_publish("$JS.API.STREAM.UPDATE.mpc").await;
    // Tessera's SDK: the reshare request stream (looked up or created, never updated).
    app.js
        .get_or_create_stream(reshare_stream())
        .await
        .expect("reshare stream");
    let mut headers = HeaderMap::new();
    headers.insert("ClientID", APP_ID);
    headers.insert("Nats-Msg-Id", "tx1");
    app.js
        .publish_with_headers("mpc.signing_request.tx1", headers, "{}".into())
        .await
        .expect("publish")
        .await
        .expect("stored");
    // mpcium's Go client publishes to the literal wildcard subject.
    app.js
        .publish("mpc.keygen_request.*", "{}".into())
        .await
        .expect("publish")
        .await
        .expect("stored");
    // A reshare request: durable (Tessera's SDK and CLI) and mpcium's core NATS one.
    let mut headers = HeaderMap::new();
    headers.insert("ClientID", APP_ID);
    app.js
        .publish_with_headers("mpc.reshare_request.s1", headers, "{}".into())
        .await
        .expect("publish")
        .await
        .expect("stored");
    app.publish("mpc:reshare").await;
    // Its own consumers: with the filter in the body (Tessera's SDK, mpcium's
    // Go client) or in the subject too (single filter, as nats.js sends it).
    let signing = app
        .js
        .create_consumer_on_stream(
            pull::Config {
                durable_name: Some("mpc_signing_result_app_1".into()),
                name: Some("mpc_signing_result_app_1".into()),
                filter_subjects: vec![format!("mpc.mpc_signing_result.{APP_ID}.complete")],
                ..Default::default()
            },
            "mpc",
        )
        .await
        .expect("signing result consumer");
    app.js
        .create_consumer_on_stream(
            pull::Config {
                durable_name: Some("mpc_keygen_result_app_1".into()),
                filter_subject: format!("mpc.mpc_keygen_result.{APP_ID}.*"),
                ..Default::default()
            },
            "mpc",
        )
        .await
        .expect("keygen result consumer");
    app.js
        .create_consumer_on_stream(
            pull::Config {
                durable_name: Some("mpc_reshare_result_app_1".into()),
                filter_subject: format!("mpc.mpc_reshare_result.{APP_ID}.*"),
                ..Default::default()
            },
            "mpc",
        )
        .await
        .expect("reshare result consumer");
    // A node publishes the result; the client reads and acks it.
    let node = connect(&nats, "node0").await;
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", "app-1:tx1");
    node.js
        .publish_with_headers(
            format!("mpc.mpc_signing_result.{APP_ID}.complete"),
            headers,
            "signed".into(),
        )
        .await
        .expect("publish")
        .await
        .expect("stored");
    let result = pull_one(&signing).await;
    assert_eq!(&result.payload[..], b"signed");
    // Registering a tenant key.
    let keys = tenant_keys(&app).await;
    keys.put("aa.bb", "registration".into()).await.expect("put");
    app.no_errors().await;
}

#[tokio::test]
async fn a_node_serves_requests_and_keeps_the_ledger() {
    let (_ca, nats) = locked_down().await;
    let mut node = connect(&nats, "node0").await;
    let ledger = node_setup(&node).await;
    // The ledger: create, read, update, delete.
    let rev = ledger.create("req1", "claim".into()).await.expect("claim");
    let rev = ledger
        .update("req1", "done".into(), rev)
        .await
        .expect("done");
    assert_eq!(
        ledger
            .entry("req1")
            .await
            .expect("read")
            .expect("entry")
            .revision,
        rev
    );
    ledger.delete("req1").await.expect("release");
    // A client's request is pulled and acked by the node.
    let app = connect(&nats, "app").await;
    app.js
        .publish("mpc.keygen_request.w1", "{}".into())
        .await
        .expect("publish")
        .await
        .expect("stored");
    let requests = request_consumer(&node, "mpc-keygen", "mpc_keygen_request").await;
    assert_eq!(
        pull_one(&requests).await.subject.as_str(),
        "mpc.keygen_request.w1"
    );
    // mpcium's reshare request: taken in the nodes' queue group, carried over
    // into the reshare stream, pulled from the shared consumer.
    let mut mpcium = node
        .client
        .queue_subscribe("mpc:reshare", "tessera_reshare".into())
        .await
        .expect("queue subscribe");
    node.alive().await;
    app.publish("mpc:reshare").await;
    let raw = tokio::time::timeout(WAIT, mpcium.next())
        .await
        .expect("reshare request in time")
        .expect("reshare request");
    node.js
        .publish("mpc.reshare_request.s1", raw.payload)
        .await
        .expect("publish")
        .await
        .expect("stored");
    let reshares = request_consumer(&node, "mpc-reshare", "mpc_reshare_request").await;
    assert_eq!(
        pull_one(&reshares).await.subject.as_str(),
        "mpc.reshare_request.s1"
    );
    // Results.
    for subject in [
        "mpc.mpc_keygen_result.w1",
        "mpc.mpc_signing_result.complete",
        "mpc.mpc_reshare_result.app-1.s1",
    ] {
        node.js
            .publish(subject, "r".into())
            .await
            .expect("publish")
            .await
            .expect("stored");
    }
    // Tenant keys: the node watches and reads what a client registers.
    let keys = tenant_keys(&node).await;
    let mut watch = keys.watch_all().await.expect("watch");
    tenant_keys(&app)
        .await
        .put("aa.bb", "reg".into())
        .await
        .expect("put");
    let seen = tokio::time::timeout(WAIT, watch.next())
        .await
        .expect("watched in time")
        .expect("an entry")
        .expect("a good entry");
    assert_eq!(seen.key, "aa.bb");
    assert_eq!(
        keys.get("aa.bb").await.expect("get").as_deref(),
        Some(&b"reg"[..])
    );
    // A proposal to another node is answered (request-reply).
    let mut node1 = connect(&nats, "node1").await;
    let mut proposals = node1
        .client
        .subscribe("tessera.node.node1.proposal")
        .await
        .expect("subscribe");
    node1.alive().await;
    let answer = tokio::spawn({
        let client = node.client.clone();
        async move {
            client
                .request("tessera.node.node1.proposal", "p".into())
                .await
        }
    });
    let proposal = tokio::time::timeout(WAIT, proposals.next())
        .await
        .expect("proposal in time")
        .expect("proposal");
    let reply = proposal.reply.expect("a reply subject");
    node1
        .client
        .publish(reply, "joined".into())
        .await
        .expect("reply");
    let answer = answer.await.expect("task").expect("answered");
    assert_eq!(&answer.payload[..], b"joined");
    node.no_errors().await;
    // Nodes delete nothing and never make requests.
    assert!(node.js.delete_stream("mpc").await.is_err());
    node.refused_publish("$JS.API.STREAM.DELETE.mpc").await;
    node.publish("mpc.signing_request.t1").await;
    node.refused_publish("mpc.signing_request.t1").await;
    node.publish("$KV.mpc-tenant-keys.aa.bb").await;
    node.refused_publish("$KV.mpc-tenant-keys.aa.bb").await;
    node.publish("mpc:reshare").await;
    node.refused_publish("mpc:reshare").await;
    // mpc:reshare outside the queue group: every node would get every request.
    let _all = node
        .client
        .subscribe("mpc:reshare")
        .await
        .expect("sub queued");
    node.refused("subscription to", "mpc:reshare").await;
}
