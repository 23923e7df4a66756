//! `RegistryError`: what talking to Consul or checking the ready set can fail
//! at, and the client code each failure maps to.
//!
//! Grouped like the rest of Tessera: bad configuration (TLS files and failed
//! TLS handshakes included), transient I/O with Consul (unreachable, timed out,
//! an HTTP error status, an answer we cannot read) and refusals of the quorum
//! check. Messages name the Consul endpoint, the HTTP status or the root cause
//! of a connection failure; they never carry the ACL token, KV values or the
//! contents of a TLS file.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use tessera_types::{ErrorCode, NodeId};

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("invalid registry config: {reason}")]
    InvalidConfig { reason: String },
    #[error("invalid consul key {key:?}")]
    InvalidKey { key: String },
    #[error("{setting} {}: {reason}", path.display())]
    TlsFile {
        /// The setting, e.g. `consul tls.ca_file`.
        setting: &'static str,
        path: PathBuf,
        reason: String,
    },
    /// The TLS handshake with Consul failed: almost always a setting (CA, client
    /// certificate, address) rather than an outage.
    #[error("consul {endpoint}: tls: {problem} ({detail})")]
    Tls {
        endpoint: &'static str,
        problem: TlsProblem,
        /// The TLS library's words for it, e.g. `invalid peer certificate: UnknownIssuer`.
        detail: String,
    },
    #[error("consul {endpoint}: unreachable: {cause}")]
    Unreachable {
        endpoint: &'static str,
        /// The innermost cause, e.g. `Connection refused (os error 111)`.
        cause: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("consul {endpoint}: timed out")]
    Timeout { endpoint: &'static str },
    #[error("consul {endpoint}: http {status}: {message}")]
    Status {
        endpoint: &'static str,
        status: u16,
        /// The start of Consul's error text.
        message: String,
    },
    #[error("consul {endpoint}: malformed answer: {reason}")]
    Malformed {
        endpoint: &'static str,
        reason: String,
    },
    #[error("ready key {key} is held by another consul session; is another process running as {node_id}?")]
    NodeIdInUse { node_id: NodeId, key: String },
    #[error("only {ready} nodes are ready, {needed} are needed")]
    NotEnoughReady { ready: usize, needed: usize },
    #[error("the ready view is stale (last consul answer {age:?} ago)")]
    StaleView {
        /// `None` when Consul has never answered.
        age: Option<Duration>,
    },
}

impl RegistryError {
    /// The code a result event carries for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            RegistryError::InvalidConfig { .. } => ErrorCode::InvalidConfiguration,
            RegistryError::InvalidKey { .. } => ErrorCode::InvalidConfiguration,
            RegistryError::TlsFile { .. } => ErrorCode::InvalidConfiguration,
            RegistryError::Tls { .. } => ErrorCode::InvalidConfiguration,
            RegistryError::Unreachable { .. } => ErrorCode::NetworkConnection,
            RegistryError::Timeout { .. } => ErrorCode::NetworkTimeout,
            // A refused ACL token is the operator's configuration, not an outage.
            RegistryError::Status {
                status: 401 | 403, ..
            } => ErrorCode::InvalidConfiguration,
            RegistryError::Status { .. } => ErrorCode::ClusterNotReady,
            RegistryError::Malformed { .. } => ErrorCode::ClusterNotReady,
            RegistryError::NodeIdInUse { .. } => ErrorCode::InvalidConfiguration,
            // mpcium answers a failed `AreMajorityReady` with ERROR_PEER_UNAVAILABLE.
            RegistryError::NotEnoughReady { .. } => ErrorCode::PeerUnavailable,
            RegistryError::StaleView { .. } => ErrorCode::ClusterNotReady,
        }
    }

    /// True for failures that may go away by themselves (Consul down or busy).
    pub fn is_transient(&self) -> bool {
        match self {
            RegistryError::Unreachable { .. }
            | RegistryError::Timeout { .. }
            | RegistryError::StaleView { .. }
            | RegistryError::NotEnoughReady { .. } => true,
            RegistryError::Status { status, .. } => *status >= 500 || *status == 429,
            RegistryError::InvalidConfig { .. }
            | RegistryError::InvalidKey { .. }
            | RegistryError::TlsFile { .. }
            | RegistryError::Tls { .. }
            | RegistryError::Malformed { .. }
            | RegistryError::NodeIdInUse { .. } => false,
        }
    }
}

/// What a failed TLS handshake with Consul points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsProblem {
    /// Consul's certificate does not chain to a trusted CA.
    CertificateNotTrusted,
    /// Consul's certificate does not name the address's host.
    WrongHostName,
    /// Consul's certificate is expired or not yet valid.
    CertificateExpired,
    /// Consul's certificate was refused for another reason.
    BadCertificate,
    /// Consul requires a client certificate and none is configured.
    ClientCertificateRequired,
    /// Consul refused the configured client certificate.
    ClientCertificateRefused,
    /// The port did not answer in TLS (a plain HTTP port).
    NotTls,
    /// Another handshake failure (versions, cipher suites, a broken peer).
    Handshake,
}

impl fmt::Display for TlsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsProblem::CertificateNotTrusted => {
                "certificate not trusted; is consul's certificate signed by the CA in tls.ca_file?"
            }
            TlsProblem::WrongHostName => "consul's certificate does not name the address's host",
            TlsProblem::CertificateExpired => "consul's certificate is expired or not yet valid",
            TlsProblem::BadCertificate => "consul's certificate was refused",
            TlsProblem::ClientCertificateRequired => {
                "consul requires a client certificate; set tls.cert_file and tls.key_file"
            }
            TlsProblem::ClientCertificateRefused => {
                "consul refused the client certificate; is it signed by a CA consul trusts?"
            }
            TlsProblem::NotTls => "the server did not answer in tls; is this consul's https port?",
            TlsProblem::Handshake => "handshake failed",
        })
    }
}

impl TlsProblem {
    /// Reads the innermost error text of a failed request (rustls' wording) as
    /// a TLS problem; `None` when it is not a TLS failure. `client_cert`: whether
    /// a client certificate was configured.
    pub(crate) fn classify(cause: &str, client_cert: bool) -> Option<TlsProblem> {
        if let Some(cert) = cause.strip_prefix("invalid peer certificate: ") {
            return Some(
                if cert.contains("UnknownIssuer") || cert.contains("BadSignature") {
                    TlsProblem::CertificateNotTrusted
                } else if cert.contains("not valid for name") || cert.contains("NotValidForName") {
                    TlsProblem::WrongHostName
                } else if cert.contains("xpired") || cert.contains("NotValidYet") {
                    TlsProblem::CertificateExpired
                } else {
                    TlsProblem::BadCertificate
                },
            );
        }
        if let Some(alert) = cause.strip_prefix("received fatal alert: ") {
            const CLIENT_CERT: [&str; 8] = [
                "BadCertificate",
                "UnsupportedCertificate",
                "CertificateRevoked",
                "CertificateExpired",
                "CertificateUnknown",
                "UnknownCA",
                "AccessDenied",
                "CertificateRequired",
            ];
            return Some(if !CLIENT_CERT.contains(&alert.trim()) {
                TlsProblem::Handshake
            } else if client_cert {
                TlsProblem::ClientCertificateRefused
            } else {
                TlsProblem::ClientCertificateRequired
            });
        }
        if cause.starts_with("received corrupt message") {
            return Some(TlsProblem::NotTls);
        }
        const HANDSHAKE: [&str; 5] = [
            "peer is incompatible",
            "peer misbehaved",
            "peer sent no certificates",
            "received unexpected message",
            "received unexpected handshake message",
        ];
        HANDSHAKE
            .iter()
            .any(|p| cause.starts_with(p))
            .then_some(TlsProblem::Handshake)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        let status = |status| RegistryError::Status {
            endpoint: "kv get",
            status,
            message: String::new(),
        };
        assert_eq!(status(403).code(), ErrorCode::InvalidConfiguration);
        assert_eq!(status(500).code(), ErrorCode::ClusterNotReady);
        assert!(status(503).is_transient());
        assert!(!status(400).is_transient());
        let e = RegistryError::NotEnoughReady {
            ready: 1,
            needed: 2,
        };
        assert_eq!(e.code(), ErrorCode::PeerUnavailable);
        assert_eq!(e.to_string(), "only 1 nodes are ready, 2 are needed");
    }

    #[test]
    fn tls_causes_are_classified() {
        use TlsProblem::*;
        let cases = [
            ("invalid peer certificate: UnknownIssuer", false, Some(CertificateNotTrusted)),
            (
                "invalid peer certificate: certificate not valid for name \"x\"; certificate is only valid for y",
                false,
                Some(WrongHostName),
            ),
            ("invalid peer certificate: certificate expired: ...", false, Some(CertificateExpired)),
            ("received fatal alert: BadCertificate", false, Some(ClientCertificateRequired)),
            ("received fatal alert: CertificateRequired", false, Some(ClientCertificateRequired)),
            ("received fatal alert: UnknownCA", true, Some(ClientCertificateRefused)),
            ("received fatal alert: HandshakeFailure", true, Some(Handshake)),
            ("received corrupt message of type InvalidContentType", false, Some(NotTls)),
            ("Connection refused (os error 111)", false, None),
        ];
        for (cause, client_cert, want) in cases {
            assert_eq!(TlsProblem::classify(cause, client_cert), want, "{cause}");
        }
        let e = RegistryError::Tls {
            endpoint: "kv get",
            problem: CertificateNotTrusted,
            detail: "invalid peer certificate: UnknownIssuer".into(),
        };
        assert_eq!(e.code(), ErrorCode::InvalidConfiguration);
        assert!(!e.is_transient());
        assert!(
            e.to_string()
                .starts_with("consul kv get: tls: certificate not trusted"),
            "{e}"
        );
    }
}
