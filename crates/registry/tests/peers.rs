//! Peer identities in Consul: register and list round-trip; malformed entries
//! are skipped.

mod common;

use std::time::Duration;

use common::{client, config, consul, node, prefix, within};
use tessera_registry::Registry;
use tessera_types::PublicIdentity;

fn identity(name: &str, byte: u8) -> PublicIdentity {
    PublicIdentity {
        node_id: node(name),
        signing_key: [byte; 32],
        agreement_key: [byte.wrapping_add(1); 32],
    }
}

#[tokio::test]
async fn register_and_list_skipping_malformed_entries() {
    let consul = consul().await;
    let p = prefix("peers");
    let mut cfg = config(&consul, &p, "node-a", Duration::from_secs(2));
    cfg.publish_ready = false;
    let r = within(10, Registry::start(cfg)).await.unwrap();
    assert!(within(5, r.peers()).await.unwrap().is_empty());

    within(5, async {
        r.register_peer(&identity("node-b", 2)).await.unwrap();
        r.register_peer(&identity("node-a", 1)).await.unwrap();
        // Re-registering replaces the old entry (key rotation).
        r.register_peer(&identity("node-b", 3)).await.unwrap();

        let c = client(&consul);
        let dir = r.keys().peers_prefix();
        let good = serde_json::to_vec(&identity("node-c", 4)).unwrap();
        c.kv_put(&format!("{dir}node-d"), b"{not json", None)
            .await
            .unwrap();
        c.kv_put(&format!("{dir}bad.id"), &good, None)
            .await
            .unwrap();
        c.kv_put(&format!("{dir}node-e"), &good, None)
            .await
            .unwrap(); // names node-c
        c.kv_put(&format!("{dir}nested/node-f"), &good, None)
            .await
            .unwrap();
        let short = br#"{"node_id":"node-g","signing_key":"ab","agreement_key":"cd"}"#;
        c.kv_put(&format!("{dir}node-g"), short, None)
            .await
            .unwrap();
    })
    .await;

    let peers = within(5, r.peers()).await.unwrap();
    assert_eq!(peers, vec![identity("node-a", 1), identity("node-b", 3)]);
    within(5, r.shutdown()).await;
}
