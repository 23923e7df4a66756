//! Requests as an mpcium client writes them, built here by hand (format strings
//! and standard base64) and signed with `ed25519-dalek` or `p256` directly: no
//! Tessera code between the test and the wire, so a passing test means an
//! mpcium client works unchanged.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use p256::pkcs8::EncodePublicKey;
use rand_core::OsRng;

use super::{AuthorizerConfig, InitiatorConfig};

/// A client key, held the way an mpcium client holds it.
pub enum RawSigner {
    Ed25519(ed25519_dalek::SigningKey),
    P256(p256::ecdsa::SigningKey),
}

impl RawSigner {
    pub fn ed25519() -> Self {
        RawSigner::Ed25519(ed25519_dalek::SigningKey::generate(&mut OsRng))
    }

    pub fn p256() -> Self {
        RawSigner::P256(p256::ecdsa::SigningKey::random(&mut OsRng))
    }

    fn kind(&self) -> &'static str {
        match self {
            RawSigner::Ed25519(_) => "ed25519",
            RawSigner::P256(_) => "p256",
        }
    }

    /// The public key as config.yaml takes it: raw Ed25519, or P-256 SPKI DER, in hex.
    fn public_hex(&self) -> String {
        match self {
            RawSigner::Ed25519(k) => hex::encode(k.verifying_key().as_bytes()),
            RawSigner::P256(k) => hex::encode(
                k.verifying_key()
                    .to_public_key_der()
                    .expect("SPKI encodes")
                    .as_bytes(),
            ),
        }
    }

    pub fn initiator_config(&self) -> InitiatorConfig {
        InitiatorConfig {
            kind: self.kind(),
            public_key: self.public_hex(),
        }
    }

    pub fn authorizer_config(&self, id: &str) -> AuthorizerConfig {
        AuthorizerConfig {
            id: id.to_string(),
            kind: self.kind(),
            public_key: self.public_hex(),
        }
    }

    /// The same kind, as the SDK names it.
    pub fn sdk_kind(&self) -> tessera_security::InitiatorKeyKind {
        match self {
            RawSigner::Ed25519(_) => tessera_security::InitiatorKeyKind::Ed25519,
            RawSigner::P256(_) => tessera_security::InitiatorKeyKind::P256,
        }
    }

    /// The secret bytes, for building the same key into a Tessera SDK client.
    pub fn secret(&self) -> [u8; 32] {
        match self {
            RawSigner::Ed25519(k) => k.to_bytes(),
            RawSigner::P256(k) => k.to_bytes().into(),
        }
    }

    /// Ed25519 over `msg`, or P-256 ECDSA over SHA-256(`msg`) in ASN.1 DER.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            RawSigner::Ed25519(k) => {
                use ed25519_dalek::Signer;
                k.sign(msg).to_bytes().to_vec()
            }
            RawSigner::P256(k) => {
                use p256::ecdsa::signature::Signer;
                let sig: p256::ecdsa::Signature = k.sign(msg);
                sig.to_der().as_bytes().to_vec()
            }
        }
    }
}

/// Ids here are plain ASCII, so Go's JSON escaping changes nothing.
fn plain(s: &str) -> &str {
    assert!(
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "keep test ids plain: {s}"
    );
    s
}

/// `"authorizer_signatures":[...]` for each (id, key), or nothing.
fn approvals(id: &str, raw: &[u8], sig: &[u8], authorizers: &[(&str, &RawSigner)]) -> String {
    if authorizers.is_empty() {
        return String::new();
    }
    let payload = format!(
        r#"{{"initiator_id":"{}","initiator_raw":"{}","initiator_sig":"{}"}}"#,
        plain(id),
        B64.encode(raw),
        B64.encode(sig)
    );
    let list: Vec<String> = authorizers
        .iter()
        .map(|(aid, key)| {
            format!(
                r#"{{"authorizer_id":"{}","signature":"{}"}}"#,
                plain(aid),
                B64.encode(key.sign(payload.as_bytes()))
            )
        })
        .collect();
    format!(r#","authorizer_signatures":[{}]"#, list.join(","))
}

/// A GenerateKeyMessage: the initiator signs the wallet id's bytes.
pub fn keygen(initiator: &RawSigner, wallet: &str, authorizers: &[(&str, &RawSigner)]) -> Vec<u8> {
    let sig = initiator.sign(plain(wallet).as_bytes());
    format!(
        r#"{{"wallet_id":"{wallet}","signature":"{}"{}}}"#,
        B64.encode(&sig),
        approvals(wallet, wallet.as_bytes(), &sig, authorizers)
    )
    .into_bytes()
}

/// The fields of a SignTxMessage; `signature` is filled in by [`sign`].
pub struct SignFields<'a> {
    pub key_type: &'a str,
    pub wallet: &'a str,
    pub tx_id: &'a str,
    pub tx: &'a [u8],
}

/// A SignTxMessage: the initiator signs the compact JSON of the first five
/// fields in mpcium's order.
pub fn sign(initiator: &RawSigner, f: &SignFields, authorizers: &[(&str, &RawSigner)]) -> Vec<u8> {
    let signed = format!(
        r#"{{"key_type":"{}","wallet_id":"{}","network_internal_code":"e2e-net","tx_id":"{}","tx":"{}"}}"#,
        plain(f.key_type),
        plain(f.wallet),
        plain(f.tx_id),
        B64.encode(f.tx)
    );
    let sig = initiator.sign(signed.as_bytes());
    let body = signed.trim_end_matches('}');
    format!(
        r#"{body},"signature":"{}"{}}}"#,
        B64.encode(&sig),
        approvals(f.tx_id, signed.as_bytes(), &sig, authorizers)
    )
    .into_bytes()
}

/// [`sign`] with a `derivation_path` the initiator's signature does not cover
/// (what an mpcium client sends).
pub fn sign_with_unsigned_path(
    initiator: &RawSigner,
    f: &SignFields,
    path: &[u32],
    authorizers: &[(&str, &RawSigner)],
) -> Vec<u8> {
    let mut json = String::from_utf8(sign(initiator, f, authorizers)).unwrap();
    json.pop();
    let path: Vec<String> = path.iter().map(u32::to_string).collect();
    json.push_str(&format!(r#","derivation_path":[{}]}}"#, path.join(",")));
    json.into_bytes()
}
