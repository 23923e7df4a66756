//! Messages larger than the server accepts fail loudly, with the fix in the message.

mod common;

use common::*;
use tessera_testkit::{Nats, NatsOptions};
use tessera_transport::TransportError;
use tessera_types::ErrorCode;

#[tokio::test]
async fn too_large_for_the_server_is_a_typed_error() {
    let nats = Nats::start_with(NatsOptions {
        max_payload: Some(64 * 1024),
    })
    .await
    .unwrap();
    let (a, b) = (identity("a"), identity("b"));
    let (ta, tb) = (connect(&nats, &a).await, connect(&nats, &b).await);
    assert_eq!(ta.max_payload(), 64 * 1024);
    let peers = publics(&[&a, &b]);
    let s = sid("small-server");
    let mut la = open(&ta, &s, &peers).await;
    let mut lb = open(&tb, &s, &peers).await;

    let big = vec![7u8; 100_000];
    for to in [None, Some(b.node_id())] {
        let err = la.send(to, 1, &big).await.unwrap_err();
        match &err {
            TransportError::TooLarge {
                session_id,
                len,
                max,
            } => {
                assert_eq!(session_id, &s);
                assert!(*len > 100_000, "{len}");
                assert_eq!(*max, 64 * 1024);
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
        assert_eq!(err.code(), ErrorCode::PayloadTooLarge);
        let text = err.to_string();
        assert!(
            text.contains("max_payload") && text.contains("raise"),
            "{text}"
        );
    }
    let err = la.send_control(b.node_id(), 1, &big).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::PayloadTooLarge);
    // Beyond even the envelope limit: still the server's limit that is reported.
    let huge = vec![0u8; 2 * 1024 * 1024];
    let err = la.send(None, 1, &huge).await.unwrap_err();
    assert!(
        matches!(err, TransportError::TooLarge { max: 65536, .. }),
        "{err:?}"
    );

    // Nothing was truncated and sent; what fits still goes through.
    la.send(None, 2, &[1u8; 60_000]).await.unwrap();
    let m = next_message(&mut lb).await;
    assert_eq!((m.header.round, m.payload.len()), (2, 60_000));
    assert_quiet(&mut lb).await;
}
