//! Checking a client request: size, JSON, ids, initiator and authorizer
//! signatures, and for signing the digest length, the derivation path and the
//! signature that authenticates it, and for `tessera_session` the signature
//! that covers it. The node that pulls a request and every
//! player run the same checks, each with its own configuration.

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
    Wire(#[from] WireError),
    #[error("initiator signature does not verify: {0}")]
    InitiatorSignature(SignatureError),
    #[error("derivation_path is not covered by a valid tessera_path_signature")]
    UnauthenticatedPath,
    #[error("tessera_session is not covered by a valid tessera_session_signature")]
    UnauthenticatedSession,
    #[error("missing approval of authorizer {0}")]
    MissingAuthorizer(String),
    #[error("approval of authorizer {id} does not verify: {source}")]
    AuthorizerSignature { id: String, source: SignatureError },
}

impl InvalidRequest {
    pub fn code(&self) -> ErrorCode {
        match self {
            InvalidRequest::TooLarge { .. } => ErrorCode::PayloadTooLarge,
            InvalidRequest::Wire(e) => e.code(),
            InvalidRequest::InitiatorSignature(_)
            | InvalidRequest::UnauthenticatedPath
            | InvalidRequest::UnauthenticatedSession => ErrorCode::InvalidInitiatorSignature,
            InvalidRequest::MissingAuthorizer(_) => ErrorCode::MissingAuthorizerSignature,
            InvalidRequest::AuthorizerSignature { .. } => ErrorCode::InvalidAuthorizerSignature,
        }
    }
}

fn check_size(raw: &[u8], config: &ConsumerConfig) -> Result<(), InvalidRequest> {
    if raw.len() > config.max_request_bytes {
        return Err(InvalidRequest::TooLarge {
            len: raw.len(),
            max: config.max_request_bytes,
        });
    }
    Ok(())
}

fn check_signatures(
    m: &impl InitiatorMessage,
    config: &ConsumerConfig,
) -> Result<(), InvalidRequest> {
    config
        .initiator
        .verify(&m.signing_bytes(), m.initiator_signature())
        .map_err(InvalidRequest::InitiatorSignature)?;
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

/// `tessera_session` changes who plays, so the initiator must have signed it.
fn check_session(
    spec: Option<&SessionSpec>,
    signed: impl FnOnce() -> Vec<u8>,
    signature: Option<&[u8]>,
    config: &ConsumerConfig,
) -> Result<(), InvalidRequest> {
    if spec.is_none_or(SessionSpec::is_empty) {
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
    let m = GenerateKeyMessage::from_json(raw)?;
    m.validate()?;
    check_signatures(&m, config)?;
    check_session(
        m.session.as_ref(),
        || m.session_signing_bytes(),
        m.session_signature.as_deref(),
        config,
    )?;
    Ok(m)
}

/// A signing request that passed every check. A derivation path is honoured only
/// when the initiator also signed it (`tessera_path_signature`).
pub fn sign(raw: &[u8], config: &ConsumerConfig) -> Result<SignTxMessage, InvalidRequest> {
    check_size(raw, config)?;
    let m = SignTxMessage::from_json(raw)?;
    m.validate()?;
    check_signatures(&m, config)?;
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
    Ok(m)
}
