//! Reshare result events as mpcium clients read them: the JSON
//! (`ResharingResultEvent`), the subject and the idempotency key.
//!
//! mpcium (`pkg/eventconsumer/event_consumer.go`, `composeReshareIdempotentKey`)
//! publishes a reshare's result, success or error, on
//! `ReshareResultSubject(clientID, session_id)` with the idempotency key
//! `mpc.mpc_reshare_result.<ScopedOperationID(clientID, id)>`, where `id` is
//! the session id (followed by `:` and the request's `SessionID` header when
//! it has one) and `ScopedOperationID` is `clientID + ":" + id`, or `id`
//! without a client id. Tessera uses the same key, so a client talking to a
//! mixed fleet never receives two results for one request.

use tessera_transport::mpc;
use tessera_types::wire::{KeyType, ResharingResultEvent, WireError};
use tessera_types::{ErrorCode, Threshold};

use crate::error::ServeError;
use crate::results::{ecdsa_xy, Outcome};

/// Where the error result of a reshare request whose initiator signature did
/// not verify goes: under the result stream, on no subject a client's
/// waiter reads. Client subjects have one or two tokens after the prefix
/// (`[<client_id>.]<session_id>`), so this one has three: the two-token
/// `...unverified.refused` would be the result subject of a client named
/// `unverified` for session `refused`.
pub const UNVERIFIED_RESHARE_RESULT: &str = "mpc.mpc_reshare_result.unverified.request.refused";

/// `mpc.mpc_reshare_result[.<client_id>].<session_id>`.
pub fn subject(client_id: Option<&str>, session_id: &str) -> String {
    mpc::reshare_result(client_id.filter(|c| !c.is_empty()), session_id)
}

/// mpcium's idempotency key of a reshare result:
/// `mpc.mpc_reshare_result.[<client_id>:]<session_id>[:<SessionID header>]`.
/// An empty client id or header counts as absent, as in Go.
pub fn msg_id(client_id: Option<&str>, session_id: &str, session_header: Option<&str>) -> String {
    let id = match session_header.filter(|s| !s.is_empty()) {
        Some(sid) => format!("{session_id}:{sid}"),
        None => session_id.to_string(),
    };
    let scoped = match client_id.filter(|c| !c.is_empty()) {
        Some(c) => format!("{c}:{id}"),
        None => id,
    };
    format!("mpc.mpc_reshare_result.{scoped}")
}

fn encoded(json: Result<Vec<u8>, WireError>) -> Result<Vec<u8>, ServeError> {
    json.map_err(|e| ServeError::Bug(format!("result encoding: {e}")))
}

/// A completed reshare of `wallet_id`'s key. `public_key` as stored: SEC1
/// (secp256k1, published in mpcium's 64-byte X‖Y form) or the 32 Ed25519 bytes.
pub fn success(
    wallet_id: &str,
    threshold: Threshold,
    key_type: KeyType,
    public_key: &[u8],
) -> Result<Vec<u8>, ServeError> {
    let pub_key = match key_type {
        KeyType::Secp256k1 => ecdsa_xy(public_key)
            .ok_or(ServeError::KeyEncoding("bad ecdsa public key"))?
            .to_vec(),
        KeyType::Ed25519 => {
            let ed: [u8; 32] = public_key
                .try_into()
                .map_err(|_| ServeError::KeyEncoding("bad eddsa public key"))?;
            ed.to_vec()
        }
    };
    encoded(ResharingResultEvent::success(wallet_id, threshold, key_type, pub_key).to_json())
}

/// A refused or failed reshare: `pub_key` null, the code and reason.
/// `threshold` is the request's `new_threshold`, as mpcium echoes it.
pub fn error(
    wallet_id: &str,
    threshold: Threshold,
    key_type: KeyType,
    code: ErrorCode,
    reason: String,
) -> Result<Vec<u8>, ServeError> {
    encoded(ResharingResultEvent::error(wallet_id, threshold, key_type, code, reason).to_json())
}

/// A result ready to publish on the client's subject.
pub fn outcome(client_id: Option<&str>, session_id: &str, json: Vec<u8>) -> Outcome {
    Outcome {
        subject: subject(client_id, session_id),
        json,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// secp256k1's generator G, SEC1 compressed.
    const G_SEC1: &str = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";

    fn text(json: Vec<u8>) -> String {
        String::from_utf8(json).unwrap()
    }

    #[test]
    fn success_json_is_mpciums_byte_for_byte() {
        // Go's ResharingResultEvent: wallet_id, new_threshold (int), key_type,
        // pub_key ([]byte: base64), result_type, error_reason, error_code;
        // no omitempty, so the empty strings are written.
        let ecdsa = success(
            "w-1",
            Threshold(1),
            KeyType::Secp256k1,
            &hex::decode(G_SEC1).unwrap(),
        )
        .unwrap();
        assert_eq!(
            text(ecdsa),
            concat!(
                r#"{"wallet_id":"w-1","new_threshold":1,"key_type":"secp256k1","#,
                r#""pub_key":"eb5mfvncu6xVoGKVzocLBwKb/NstzijZWfKBWxb4F5hIOtp3JqPEZV2k+/wOEQio/Re0SKaFVBmcR9CP+xDUuA==","#,
                r#""result_type":"success","error_reason":"","error_code":""}"#
            )
        );
        let ed: Vec<u8> = (0u8..32).collect();
        let eddsa = success("w-1", Threshold(2), KeyType::Ed25519, &ed).unwrap();
        assert_eq!(
            text(eddsa),
            concat!(
                r#"{"wallet_id":"w-1","new_threshold":2,"key_type":"ed25519","#,
                r#""pub_key":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","#,
                r#""result_type":"success","error_reason":"","error_code":""}"#
            )
        );
        // A key that is not what the curve stores is an encoding error, not a result.
        let e = success("w-1", Threshold(1), KeyType::Secp256k1, &[5; 33]).unwrap_err();
        assert_eq!(e.code(), ErrorCode::KeyEncoding);
        let e = success("w-1", Threshold(1), KeyType::Ed25519, &[2; 33]).unwrap_err();
        assert_eq!(e.code(), ErrorCode::KeyEncoding);
    }

    #[test]
    fn error_json_is_mpciums_byte_for_byte() {
        let json = error(
            "w-1",
            Threshold(2),
            KeyType::Secp256k1,
            ErrorCode::InvalidThreshold,
            "threshold change not supported: the key's threshold is fixed at t=1 for its \
             lifetime (dkls23 and frost keep it on refresh and repair); reshare with \
             new_threshold=1 or create a new wallet"
                .into(),
        )
        .unwrap();
        assert_eq!(
            text(json),
            concat!(
                r#"{"wallet_id":"w-1","new_threshold":2,"key_type":"secp256k1","pub_key":null,"#,
                r#""result_type":"error","error_reason":"threshold change not supported: the key's "#,
                r#"threshold is fixed at t=1 for its lifetime (dkls23 and frost keep it on refresh "#,
                r#"and repair); reshare with new_threshold=1 or create a new wallet","#,
                r#""error_code":"ERROR_INVALID_THRESHOLD"}"#
            )
        );
        // Go's HTML escaping of < > & in strings.
        let json = error(
            "w&1",
            Threshold(1),
            KeyType::Ed25519,
            ErrorCode::PeerUnavailable,
            "<node1> is not ready".into(),
        )
        .unwrap();
        assert_eq!(
            text(json),
            concat!(
                r#"{"wallet_id":"w\u00261","new_threshold":1,"key_type":"ed25519","pub_key":null,"#,
                r#""result_type":"error","error_reason":"\u003cnode1\u003e is not ready","#,
                r#""error_code":"ERROR_PEER_UNAVAILABLE"}"#
            )
        );
    }

    #[test]
    fn subjects_and_msg_ids_are_mpciums() {
        assert_eq!(subject(Some("c1"), "s-1"), "mpc.mpc_reshare_result.c1.s-1");
        assert_eq!(subject(None, "s-1"), "mpc.mpc_reshare_result.s-1");
        assert_eq!(subject(Some(""), "s-1"), "mpc.mpc_reshare_result.s-1");
        assert_eq!(
            msg_id(Some("c1"), "s-1", None),
            "mpc.mpc_reshare_result.c1:s-1"
        );
        assert_eq!(msg_id(None, "s-1", None), "mpc.mpc_reshare_result.s-1");
        assert_eq!(
            msg_id(Some(""), "s-1", Some("")),
            "mpc.mpc_reshare_result.s-1"
        );
        assert_eq!(
            msg_id(Some("c1"), "s-1", Some("u-9")),
            "mpc.mpc_reshare_result.c1:s-1:u-9"
        );
        assert_eq!(
            msg_id(None, "s-1", Some("u-9")),
            "mpc.mpc_reshare_result.s-1:u-9"
        );
        let o = outcome(Some("c1"), "s-1", b"{}".to_vec());
        assert_eq!(o.subject, "mpc.mpc_reshare_result.c1.s-1");
        // The unverified subject is no client's: three tokens after the prefix.
        let tail = UNVERIFIED_RESHARE_RESULT
            .strip_prefix("mpc.mpc_reshare_result.")
            .unwrap();
        assert_eq!(tail.split('.').count(), 3);
    }
}
