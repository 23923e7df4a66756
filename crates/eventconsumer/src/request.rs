//! Checking a client request, in this order: size, JSON, the initiator's
//! signature (before anything of the request is believed), ids, for signing
//! the digest length, the derivation path and the signature that
//! authenticates it, the signature that covers `tessera_session`, and last
//! the authorizers' approvals (with a path, of the path-signed bytes). The
//! node that pulls a request and every player run the same checks, each with
//! its own configuration.

use tessera_security::SignatureError;
use tessera_types::wire::{
    CheckedSession, GenerateKeyMessage, InitiatorMessage, SessionSpec, SignTxMessage, WireError,
};
use tessera_types::{ErrorCode, WalletId};

use crate::config::ConsumerConfig;

/// Why a request was refused before any session. Each maps to the code the client sees.
#[derive(Debug, thiserror::Error)]
pub enum InvalidRequest {
    #[error("request of {len} bytes exceeds the limit of {max}")]
    TooLarge { len: usize, max: usize },
    #[error("{0}")]
    Unreadable(WireError),
    #[error("{0}")]
    Wire(#[from] WireError),
    #[error("initiator signature does not verify: {0}")]
    InitiatorSignature(SignatureError),
    #[error("derivation_path is not covered by a valid tessera_path_signature")]
    UnauthenticatedPath,
    #[error("tessera_session is not covered by a valid tessera_session_signature")]
    UnauthenticatedSession,
    #[error("this cluster requires tessera_session in every request (requests.require_session)")]
    SessionRequired,
    #[error("tessera_session_signature without tessera_session: the session was stripped from the request")]
    SessionStripped,
    #[error("tessera_replace is not covered by a valid tessera_replace_signature")]
    UnauthenticatedReplace,
    #[error("tessera_replace_signature without tessera_replace: the replace list was stripped from the request")]
    ReplaceStripped,
    #[error("missing approval of authorizer {0}")]
    MissingAuthorizer(String),
    #[error("approval of authorizer {id} does not verify: {source}")]
    AuthorizerSignature { id: String, source: SignatureError },
}

impl InvalidRequest {
    pub fn code(&self) -> ErrorCode {
        match self {
            InvalidRequest::TooLarge { .. } => ErrorCode::PayloadTooLarge,
            InvalidRequest::Unreadable(e) | InvalidRequest::Wire(e) => e.code(),
            InvalidRequest::InitiatorSignature(_)
            | InvalidRequest::UnauthenticatedPath
            | InvalidRequest::UnauthenticatedSession
            | InvalidRequest::SessionStripped
            | InvalidRequest::UnauthenticatedReplace
            | InvalidRequest::ReplaceStripped => ErrorCode::InvalidInitiatorSignature,
            InvalidRequest::SessionRequired => ErrorCode::MsgValidation,
            InvalidRequest::MissingAuthorizer(_) => ErrorCode::MissingAuthorizerSignature,
            InvalidRequest::AuthorizerSignature { .. } => ErrorCode::InvalidAuthorizerSignature,
        }
    }
}

impl InvalidRequest {
    /// Whether the initiator's signature verified before this was found: only
    /// then do the request's ids name the client's request, and only then are
    /// they echoed in its error result. Anyone can send a request with a
    /// victim's tx id and a bad signature.
    pub fn ids_verified(&self) -> bool {
        match self {
            InvalidRequest::TooLarge { .. }
            | InvalidRequest::Unreadable(_)
            | InvalidRequest::InitiatorSignature(_) => false,
            InvalidRequest::Wire(_)
            | InvalidRequest::UnauthenticatedPath
            | InvalidRequest::UnauthenticatedSession
            | InvalidRequest::SessionRequired
            | InvalidRequest::SessionStripped
            | InvalidRequest::UnauthenticatedReplace
            | InvalidRequest::ReplaceStripped
            | InvalidRequest::MissingAuthorizer(_)
            | InvalidRequest::AuthorizerSignature { .. } => true,
        }
    }
}

pub(crate) fn check_size(raw: &[u8], config: &ConsumerConfig) -> Result<(), InvalidRequest> {
    if raw.len() > config.max_request_bytes {
        return Err(InvalidRequest::TooLarge {
            len: raw.len(),
            max: config.max_request_bytes,
        });
    }
    Ok(())
}

/// First of all checks, right after the JSON is read: nothing of a request
/// is believed (or echoed) before its initiator signature verifies.
pub(crate) fn check_initiator(
    m: &impl InitiatorMessage,
    config: &ConsumerConfig,
) -> Result<(), InvalidRequest> {
    config
        .initiator
        .verify(&m.signing_bytes(), m.initiator_signature())
        .map_err(InvalidRequest::InitiatorSignature)
}

pub(crate) fn check_authorizers(
    m: &impl InitiatorMessage,
    config: &ConsumerConfig,
) -> Result<(), InvalidRequest> {
    let Some(policy) = &config.authorizers else {
        return Ok(());
    };
    let payload = m.authorizer_payload();
    for (id, key) in &policy.required {
        let approval = m
            .authorizer_signatures()
            .iter()
            .find(|a| a.authorizer_id == *id)
            .ok_or_else(|| InvalidRequest::MissingAuthorizer(id.clone()))?;
        key.verify(&payload, &approval.signature)
            .map_err(|source| InvalidRequest::AuthorizerSignature {
                id: id.clone(),
                source,
            })?;
    }
    Ok(())
}

fn has_session(spec: Option<&SessionSpec>) -> bool {
    spec.is_some_and(|s| !s.is_empty())
}

/// `tessera_session` changes who plays, so the initiator must have signed it.
/// With `requests.require_session` every request must have one: a copy with
/// its session stripped cannot be served with server-only shares.
fn check_session(
    spec: Option<&SessionSpec>,
    signed: impl FnOnce() -> Vec<u8>,
    signature: Option<&[u8]>,
    config: &ConsumerConfig,
) -> Result<(), InvalidRequest> {
    if !has_session(spec) {
        if config.require_session {
            return Err(InvalidRequest::SessionRequired);
        }
        if signature.is_some() {
            // Signed for a session that is not there: it was stripped.
            return Err(InvalidRequest::SessionStripped);
        }
        return Ok(());
    }
    let sig = signature.ok_or(InvalidRequest::UnauthenticatedSession)?;
    config
        .initiator
        .verify(&signed(), sig)
        .map_err(|_| InvalidRequest::UnauthenticatedSession)
}

/// The two kinds of request, as pulled from their streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Keygen,
    Sign,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Keygen => "keygen",
            Kind::Sign => "sign",
        }
    }
}

/// A client request that passed every check, parsed once: the node that
/// pulled it, a delegate and every player hold the same typed value.
#[derive(Clone, Debug)]
pub enum Request {
    Keygen(Keygen),
    Sign(Sign),
}

#[derive(Clone, Debug)]
pub struct Keygen {
    pub message: GenerateKeyMessage,
    pub wallet: WalletId,
    pub session: CheckedSession,
}

#[derive(Clone, Debug)]
pub struct Sign {
    pub message: SignTxMessage,
    pub wallet: WalletId,
    pub session: CheckedSession,
}

impl Request {
    /// Checks `raw` as a request of `kind`: size, JSON, fields, signatures.
    pub fn parse(kind: Kind, raw: &[u8], config: &ConsumerConfig) -> Result<Self, InvalidRequest> {
        Ok(match kind {
            Kind::Keygen => Request::Keygen(parse_keygen(raw, config)?),
            Kind::Sign => Request::Sign(parse_sign(raw, config)?),
        })
    }

    pub fn kind(&self) -> Kind {
        match self {
            Request::Keygen(_) => Kind::Keygen,
            Request::Sign(_) => Kind::Sign,
        }
    }

    pub fn session(&self) -> &CheckedSession {
        match self {
            Request::Keygen(k) => &k.session,
            Request::Sign(s) => &s.session,
        }
    }

    /// The ids that name the request in the ledger (keygen: the wallet;
    /// signing: wallet and tx id), what the initiator signed (with the path
    /// for signing), and the signed session bytes when there is a session.
    pub fn signed_parts(&self) -> (Vec<&str>, Vec<u8>, Option<Vec<u8>>) {
        match self {
            Request::Keygen(k) => (
                vec![&k.message.wallet_id],
                k.message.signing_bytes(),
                has_session(k.message.session.as_ref()).then(|| k.message.session_signing_bytes()),
            ),
            Request::Sign(s) => (
                vec![&s.message.wallet_id, &s.message.tx_id],
                s.message.path_signing_bytes(),
                has_session(s.message.session.as_ref()).then(|| s.message.session_signing_bytes()),
            ),
        }
    }

    /// The request's id for logs and the ledger: the wallet (keygen) or the tx id.
    pub fn id(&self) -> &str {
        match self {
            Request::Keygen(k) => &k.message.wallet_id,
            Request::Sign(s) => &s.message.tx_id,
        }
    }
}

fn parse_keygen(raw: &[u8], config: &ConsumerConfig) -> Result<Keygen, InvalidRequest> {
    let message = keygen(raw, config)?;
    Ok(Keygen {
        wallet: message.parse_wallet_id()?,
        session: message.checked_session()?,
        message,
    })
}

fn parse_sign(raw: &[u8], config: &ConsumerConfig) -> Result<Sign, InvalidRequest> {
    let message = sign(raw, config)?;
    Ok(Sign {
        wallet: message.parse_wallet_id()?,
        session: message.checked_session()?,
        message,
    })
}

/// A keygen request that passed every check.
pub fn keygen(raw: &[u8], config: &ConsumerConfig) -> Result<GenerateKeyMessage, InvalidRequest> {
    check_size(raw, config)?;
    let m = GenerateKeyMessage::from_json(raw).map_err(InvalidRequest::Unreadable)?;
    check_initiator(&m, config)?;
    m.validate()?;
    check_session(
        m.session.as_ref(),
        || m.session_signing_bytes(),
        m.session_signature.as_deref(),
        config,
    )?;
    check_authorizers(&m, config)?;
    Ok(m)
}

/// A signing request that passed every check. A derivation path is honoured only
/// when the initiator also signed it (`tessera_path_signature`).
pub fn sign(raw: &[u8], config: &ConsumerConfig) -> Result<SignTxMessage, InvalidRequest> {
    check_size(raw, config)?;
    let m = SignTxMessage::from_json(raw).map_err(InvalidRequest::Unreadable)?;
    check_initiator(&m, config)?;
    m.validate()?;
    if m.has_derivation_path() {
        let sig = m
            .path_signature
            .as_deref()
            .ok_or(InvalidRequest::UnauthenticatedPath)?;
        config
            .initiator
            .verify(&m.path_signing_bytes(), sig)
            .map_err(|_| InvalidRequest::UnauthenticatedPath)?;
    }
    check_session(
        m.session.as_ref(),
        || m.session_signing_bytes(),
        m.session_signature.as_deref(),
        config,
    )?;
    // Last: with a path, authorizers approve the path-signed bytes.
    check_authorizers(&m, config)?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use tessera_security::{InitiatorKeyKind, InitiatorSigner};
    use tessera_types::wire::SessionSpec;
    use tessera_types::{NodeId, Threshold};

    use super::*;

    fn config(initiator: &InitiatorSigner) -> ConsumerConfig {
        let nodes = vec![NodeId::new("node0").unwrap(), NodeId::new("node1").unwrap()];
        ConsumerConfig::new(initiator.public(), Threshold(1), nodes)
    }

    fn keygen_json(
        initiator: &InitiatorSigner,
        session: Option<SessionSpec>,
    ) -> GenerateKeyMessage {
        let mut m = GenerateKeyMessage {
            wallet_id: "w1".into(),
            signature: Vec::new(),
            authorizer_signatures: None,
            session,
            session_signature: None,
        };
        m.signature = initiator.sign(&m.signing_bytes());
        if m.session.is_some() {
            m.session_signature = Some(initiator.sign(&m.session_signing_bytes()));
        }
        m
    }

    #[test]
    fn sessions_can_be_required_and_a_stripped_one_is_refused() {
        let initiator = InitiatorSigner::generate(InitiatorKeyKind::Ed25519);
        let mut c = config(&initiator);
        let session = SessionSpec {
            session_id: Some("s-1".into()),
            players: Some(vec!["node0".into(), "node1".into()]),
            ..Default::default()
        };
        let with = keygen_json(&initiator, Some(session));
        let without = keygen_json(&initiator, None);
        let raw = |m: &GenerateKeyMessage| m.to_json().unwrap();
        assert!(keygen(&raw(&with), &c).is_ok());
        assert!(keygen(&raw(&without), &c).is_ok());
        // The session stripped, its signature left.
        let mut stripped = with.clone();
        stripped.session = None;
        let e = keygen(&raw(&stripped), &c).unwrap_err();
        assert!(matches!(e, InvalidRequest::SessionStripped), "{e}");
        assert_eq!(e.code(), ErrorCode::InvalidInitiatorSignature);
        assert!(e.ids_verified());
        c.require_session = true;
        assert!(keygen(&raw(&with), &c).is_ok());
        let e = keygen(&raw(&without), &c).unwrap_err();
        assert!(matches!(e, InvalidRequest::SessionRequired), "{e}");
        assert_eq!(e.code(), ErrorCode::MsgValidation);
        // The ledger digest tells a copy without the session from the original.
        let entry = |m: &GenerateKeyMessage| {
            let request = Request::parse(Kind::Keygen, &raw(m), &config(&initiator)).unwrap();
            crate::ledger::entry(&request)
        };
        let (key_with, digest_with) = entry(&with);
        let (key_without, digest_without) = entry(&without);
        assert_eq!(key_with, key_without);
        assert_ne!(digest_with, digest_without);
    }

    #[test]
    fn ids_count_only_after_the_initiator_signature_verified() {
        let initiator = InitiatorSigner::generate(InitiatorKeyKind::Ed25519);
        let c = config(&initiator);
        let stranger = InitiatorSigner::generate(InitiatorKeyKind::Ed25519);
        let forged = keygen_json(&stranger, None).to_json().unwrap();
        let e = keygen(&forged, &c).unwrap_err();
        assert!(!e.ids_verified(), "{e}");
        let e = keygen(b"{not json", &c).unwrap_err();
        assert!(!e.ids_verified(), "{e}");
        // Signed, but a wallet id that reads as JSON: the ids are the client's.
        let mut odd = keygen_json(&initiator, None);
        odd.wallet_id = "{x".into();
        odd.signature = initiator.sign(&odd.signing_bytes());
        let e = keygen(&odd.to_json().unwrap(), &c).unwrap_err();
        assert!(e.ids_verified(), "{e}");
        assert_eq!(e.code(), ErrorCode::MsgValidation);
    }
}
