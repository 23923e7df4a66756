//! The `ERROR_*` codes of result events.
//!
//! The first block is mpcium's set, string for string, because clients match on
//! them. The second block is what Tessera adds; old clients see an unfamiliar
//! string and fall back to their generic error handling.
//!
//! Codes come from typed errors (`fn code(&self) -> ErrorCode` in each crate),
//! never from matching error text.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = $s:literal, )*) => {
        /// A result event's `error_code`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The wire string, e.g. `"ERROR_PEER_UNAVAILABLE"`.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $s,)* }
            }
        }

        impl FromStr for ErrorCode {
            type Err = UnknownErrorCode;
            fn from_str(s: &str) -> Result<Self, UnknownErrorCode> {
                match s {
                    $($s => Ok(ErrorCode::$variant),)*
                    _ => Err(UnknownErrorCode),
                }
            }
        }
    };
}

error_codes! {
    // mpcium's codes.
    Unknown = "ERROR_UNKNOWN",
    NetworkTimeout = "ERROR_NETWORK_TIMEOUT",
    NetworkConnection = "ERROR_NETWORK_CONNECTION",
    NetworkSubscription = "ERROR_NETWORK_SUBSCRIPTION",
    MessageRouting = "ERROR_MESSAGE_ROUTING",
    DirectMessaging = "ERROR_DIRECT_MESSAGING",
    SessionTimeout = "ERROR_SESSION_TIMEOUT",
    SessionCreation = "ERROR_SESSION_CREATION",
    SessionInitialization = "ERROR_SESSION_INITIALIZATION",
    SessionCleanup = "ERROR_SESSION_CLEANUP",
    SessionDuplicate = "ERROR_SESSION_DUPLICATE",
    SessionStale = "ERROR_SESSION_STALE",
    InsufficientParticipants = "ERROR_INSUFFICIENT_PARTICIPANTS",
    IncompatiblePeerIds = "ERROR_INCOMPATIBLE_PEER_IDS",
    PeerNotReady = "ERROR_PEER_NOT_READY",
    PeerUnavailable = "ERROR_PEER_UNAVAILABLE",
    ParticipantNotFound = "ERROR_PARTICIPANT_NOT_FOUND",
    KeyNotFound = "ERROR_KEY_NOT_FOUND",
    KeyAlreadyExists = "ERROR_KEY_ALREADY_EXISTS",
    KeyGeneration = "ERROR_KEY_GENERATION",
    KeySave = "ERROR_KEY_SAVE",
    KeyLoad = "ERROR_KEY_LOAD",
    KeyInfoSave = "ERROR_KEY_INFO_SAVE",
    KeyInfoLoad = "ERROR_KEY_INFO_LOAD",
    KeyEncoding = "ERROR_KEY_ENCODING",
    KeyDecoding = "ERROR_KEY_DECODING",
    MsgValidation = "ERROR_MSG_VALIDATION",
    SignatureGeneration = "ERROR_SIGNATURE_GENERATION",
    SignatureVerification = "ERROR_SIGNATURE_VERIFICATION",
    InvalidInitiatorSignature = "ERROR_INVALID_INITIATOR_SIGNATURE",
    PreParamsGeneration = "ERROR_PRE_PARAMS_GENERATION",
    TssPartyCreation = "ERROR_TSS_PARTY_CREATION",
    MissingAuthorizerSignature = "ERROR_MISSING_AUTHORIZER_SIGNATURE",
    InvalidAuthorizerSignature = "ERROR_INVALID_AUTHORIZER_SIGNATURE",
    MarshalFailure = "ERROR_MARSHAL_FAILURE",
    UnmarshalFailure = "ERROR_UNMARSHAL_FAILURE",
    DataCorruption = "ERROR_DATA_CORRUPTION",
    StorageRead = "ERROR_STORAGE_READ",
    StorageWrite = "ERROR_STORAGE_WRITE",
    StorageInit = "ERROR_STORAGE_INIT",
    MessageVerification = "ERROR_MESSAGE_VERIFICATION",
    MessageFormat = "ERROR_MESSAGE_FORMAT",
    MessageDelivery = "ERROR_MESSAGE_DELIVERY",
    MaxDeliveryAttempts = "ERROR_MAX_DELIVERY_ATTEMPTS",
    InvalidConfiguration = "ERROR_INVALID_CONFIGURATION",
    InvalidThreshold = "ERROR_INVALID_THRESHOLD",
    InvalidSessionType = "ERROR_INVALID_SESSION_TYPE",
    ResourceExhausted = "ERROR_RESOURCE_EXHAUSTED",
    MemoryAllocation = "ERROR_MEMORY_ALLOCATION",
    ConcurrencyLimit = "ERROR_CONCURRENCY_LIMIT",
    KeygenFailure = "ERROR_KEYGEN_FAILURE",
    SigningFailure = "ERROR_SIGNING_FAILURE",
    ReshareFailure = "ERROR_RESHARE_FAILURE",
    ContextCancelled = "ERROR_CONTEXT_CANCELLED",
    OperationAborted = "ERROR_OPERATION_ABORTED",
    NotMajority = "ERROR_NOT_MAJORITY",
    ClusterNotReady = "ERROR_CLUSTER_NOT_READY",

    // Tessera's additions.
    /// A player did not join the session within the connection timeout.
    SessionJoinTimeout = "ERROR_SESSION_JOIN_TIMEOUT",
    /// A peer aborted the session and said why.
    PeerAborted = "ERROR_PEER_ABORTED",
    /// Messages arrived for a session this node never opened.
    UnknownSession = "ERROR_UNKNOWN_SESSION",
    /// A player's public key differs from the one configured for it.
    PublicKeyMismatch = "ERROR_PUBLIC_KEY_MISMATCH",
    /// Players disagree on the session's metadata (the error names the field and the player).
    SessionMismatch = "ERROR_SESSION_MISMATCH",
    /// A session needs a dynamic public key for a player that nobody supplied or registered.
    DynamicKeyMissing = "ERROR_DYNAMIC_KEY_MISSING",
    /// The wallet has a tenant participant the request does not name, and the
    /// other participants cannot sign alone.
    TenantRequired = "ERROR_TENANT_REQUIRED",
    /// A party sent different broadcast messages to different parties.
    Equivocation = "ERROR_EQUIVOCATION",
    /// A party sent a message that fails the protocol's checks; it is named.
    ProtocolCheating = "ERROR_PROTOCOL_CHEATING",
    /// The request needs a party this node has banned for cheating (the
    /// error names it; an operator lifts a ban with `tessera bans clear`).
    PartyBanned = "ERROR_PARTY_BANNED",
    /// A derivation path with a hardened or out-of-range index.
    InvalidDerivationPath = "ERROR_INVALID_DERIVATION_PATH",
    /// A request or message larger than allowed.
    PayloadTooLarge = "ERROR_PAYLOAD_TOO_LARGE",
    /// The same tx id was reused with a different payload.
    RequestConflict = "ERROR_REQUEST_CONFLICT",
    /// Players hold different epochs of a key (one of them missed or was left
    /// out of a refresh); the error names the stale player.
    EpochMismatch = "ERROR_EPOCH_MISMATCH",
    /// The node or protocol library broke an internal invariant.
    Internal = "ERROR_INTERNAL",
}

/// A string that is not a known code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown error code")]
pub struct UnknownErrorCode;

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Lenient: a code this build does not know (from a newer node) reads as
/// [`ErrorCode::Unknown`] rather than failing the whole event.
impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(s.parse().unwrap_or(ErrorCode::Unknown))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {code}");
            assert!(code.as_str().starts_with("ERROR_"));
            assert_eq!(code.as_str().parse::<ErrorCode>(), Ok(*code));
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), *code);
        }
    }

    #[test]
    fn mpcium_codes_are_all_present() {
        // The full list of mpcium's codes; clients match on these strings.
        let mpcium = "ERROR_UNKNOWN ERROR_NETWORK_TIMEOUT ERROR_NETWORK_CONNECTION \
            ERROR_NETWORK_SUBSCRIPTION ERROR_MESSAGE_ROUTING ERROR_DIRECT_MESSAGING \
            ERROR_SESSION_TIMEOUT ERROR_SESSION_CREATION ERROR_SESSION_INITIALIZATION \
            ERROR_SESSION_CLEANUP ERROR_SESSION_DUPLICATE ERROR_SESSION_STALE \
            ERROR_INSUFFICIENT_PARTICIPANTS ERROR_INCOMPATIBLE_PEER_IDS ERROR_PEER_NOT_READY \
            ERROR_PEER_UNAVAILABLE ERROR_PARTICIPANT_NOT_FOUND ERROR_KEY_NOT_FOUND \
            ERROR_KEY_ALREADY_EXISTS ERROR_KEY_GENERATION ERROR_KEY_SAVE ERROR_KEY_LOAD \
            ERROR_KEY_INFO_SAVE ERROR_KEY_INFO_LOAD ERROR_KEY_ENCODING ERROR_KEY_DECODING \
            ERROR_MSG_VALIDATION ERROR_SIGNATURE_GENERATION ERROR_SIGNATURE_VERIFICATION \
            ERROR_INVALID_INITIATOR_SIGNATURE ERROR_PRE_PARAMS_GENERATION \
            ERROR_TSS_PARTY_CREATION ERROR_MISSING_AUTHORIZER_SIGNATURE \
            ERROR_INVALID_AUTHORIZER_SIGNATURE ERROR_MARSHAL_FAILURE ERROR_UNMARSHAL_FAILURE \
            ERROR_DATA_CORRUPTION ERROR_STORAGE_READ ERROR_STORAGE_WRITE ERROR_STORAGE_INIT \
            ERROR_MESSAGE_VERIFICATION ERROR_MESSAGE_FORMAT ERROR_MESSAGE_DELIVERY \
            ERROR_MAX_DELIVERY_ATTEMPTS ERROR_INVALID_CONFIGURATION ERROR_INVALID_THRESHOLD \
            ERROR_INVALID_SESSION_TYPE ERROR_RESOURCE_EXHAUSTED ERROR_MEMORY_ALLOCATION \
            ERROR_CONCURRENCY_LIMIT ERROR_KEYGEN_FAILURE ERROR_SIGNING_FAILURE \
            ERROR_RESHARE_FAILURE ERROR_CONTEXT_CANCELLED ERROR_OPERATION_ABORTED \
            ERROR_NOT_MAJORITY ERROR_CLUSTER_NOT_READY";
        for s in mpcium.split_whitespace() {
            assert!(s.parse::<ErrorCode>().is_ok(), "{s} missing");
        }
    }

    #[test]
    fn unknown_strings_read_as_unknown() {
        let c: ErrorCode = serde_json::from_str("\"ERROR_FROM_THE_FUTURE\"").unwrap();
        assert_eq!(c, ErrorCode::Unknown);
    }
}
