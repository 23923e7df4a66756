//! `ConsulClient`: a small typed client for the few Consul HTTP endpoints the
//! registry needs (KV in [`crate::kv`], sessions in [`crate::sessions`]).
//!
//! It speaks plain HTTP on loopback or HTTPS through rustls (with a private CA
//! and a client certificate, see [`crate::tls`]), sends the ACL token in
//! `X-Consul-Token` (never in a URL, never in `Debug` or error text; the address
//! may not carry a user or password), follows no redirects, and bounds every
//! request by a timeout. A failed request becomes a typed error naming its
//! innermost cause: a TLS problem ([`RegistryError::Tls`]), a timeout, or
//! `Unreachable`. A blocking query's timeout is stretched by its
//! `wait` plus Consul's jitter (`wait / 16`) so a healthy but quiet Consul is not
//! mistaken for a dead one.

use std::error::Error as _;
use std::fmt;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, Response, Url};

use crate::error::{RegistryError, TlsProblem};
use crate::tls::ConsulTls;
use crate::token::ConsulToken;

/// Header carrying the ACL token.
pub const TOKEN_HEADER: &str = "X-Consul-Token";
/// Header carrying the raft index of a read, for blocking queries.
pub const INDEX_HEADER: &str = "X-Consul-Index";
/// Longest `wait` Consul honours for a blocking query.
pub const MAX_WAIT: Duration = Duration::from_secs(600);
/// Shortest `wait` sent: Consul reads `0` as its 5-minute default.
const MIN_WAIT: Duration = Duration::from_millis(10);
/// How much of Consul's error text goes into an error.
const MAX_MESSAGE: usize = 200;

/// A blocking read: return once the data's index passes `index`, or after `wait`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockingQuery {
    /// The `X-Consul-Index` of the previous answer (0 answers at once).
    pub index: u64,
    /// How long Consul may hold the request (capped at [`MAX_WAIT`]).
    pub wait: Duration,
}

impl BlockingQuery {
    fn clamped_wait(&self) -> Duration {
        self.wait.clamp(MIN_WAIT, MAX_WAIT)
    }
}

/// A Consul HTTP API client. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct ConsulClient {
    http: reqwest::Client,
    base: Url,
    token: Option<ConsulToken>,
    timeout: Duration,
    /// Whether a client certificate is configured (to tell "required" from "refused").
    client_cert: bool,
}

impl fmt::Debug for ConsulClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsulClient")
            .field("base", &self.base.as_str())
            .field("token", &self.token)
            .field("timeout", &self.timeout)
            .field("client_cert", &self.client_cert)
            .finish()
    }
}

impl ConsulClient {
    /// A client for the agent at `base_url` (e.g. `http://127.0.0.1:8500` or
    /// `https://consul.internal:8501`). TLS settings need an `https://` address;
    /// their files are read now. `timeout` bounds each non-blocking request,
    /// connection included.
    pub fn new(
        base_url: &str,
        token: Option<ConsulToken>,
        tls: &ConsulTls,
        timeout: Duration,
    ) -> Result<Self, RegistryError> {
        let invalid = |reason: &str| RegistryError::InvalidConfig {
            reason: reason.to_string(),
        };
        let base = Url::parse(base_url).map_err(|_| invalid("consul address is not a url"))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(invalid("consul address must be an http:// or https:// url"));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(invalid("consul address must not have a query or fragment"));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(invalid(
                "consul address must not hold a user or password; use the acl token",
            ));
        }
        if !tls.is_empty() && base.scheme() != "https" {
            return Err(invalid("consul tls settings need an https:// address"));
        }
        if timeout.is_zero() {
            return Err(invalid("consul request timeout must be positive"));
        }
        if let Some(token) = &token {
            if token.expose().is_empty() {
                return Err(invalid("consul token is empty; leave it unset instead"));
            }
            if HeaderValue::from_str(token.expose()).is_err() {
                return Err(invalid(
                    "consul token holds characters not allowed in a header",
                ));
            }
        }
        let builder = reqwest::Client::builder()
            .connect_timeout(timeout)
            // Consul's API does not redirect; a redirect must not carry the token away.
            .redirect(reqwest::redirect::Policy::none());
        let http = tls.apply(builder)?.build().map_err(|e| {
            let cause = root_cause(&e);
            let reason = if cause.starts_with("keys may not be consistent") {
                format!("consul tls.key_file is not the key of tls.cert_file ({cause})")
            } else {
                format!("cannot build the consul http client: {cause}")
            };
            RegistryError::InvalidConfig { reason }
        })?;
        Ok(Self {
            http,
            base,
            token,
            timeout,
            client_cert: tls.has_client_cert(),
        })
    }

    /// The agent's address, as configured.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// `<base>/v1/<fixed...>/<key segments...>`, each segment percent-encoded.
    pub(crate) fn url(&self, fixed: &[&str], key: Option<&str>) -> Result<Url, RegistryError> {
        let mut url = self.base.clone();
        {
            let mut segments =
                url.path_segments_mut()
                    .map_err(|()| RegistryError::InvalidConfig {
                        reason: "consul address cannot take a path".to_string(),
                    })?;
            segments.pop_if_empty().push("v1").extend(fixed);
            if let Some(key) = key {
                check_key(key)?;
                segments.extend(key.split('/'));
            }
        }
        Ok(url)
    }

    /// Sends one request; a transport failure becomes `Unreachable` or `Timeout`.
    /// The status is not checked here.
    pub(crate) async fn send(
        &self,
        endpoint: &'static str,
        method: Method,
        mut url: Url,
        body: Option<Vec<u8>>,
        blocking: Option<BlockingQuery>,
    ) -> Result<Response, RegistryError> {
        let mut timeout = self.timeout;
        if let Some(q) = blocking {
            let wait = q.clamped_wait();
            url.query_pairs_mut()
                .append_pair("index", &q.index.to_string())
                .append_pair("wait", &go_duration(wait));
            timeout += wait + wait / 16;
        }
        let mut req = self.http.request(method, url).timeout(timeout);
        if let Some(token) = &self.token {
            // Checked in `new`; marked sensitive so it is never printed.
            let mut value = HeaderValue::from_str(token.expose()).map_err(|_| {
                RegistryError::InvalidConfig {
                    reason: "consul token holds characters not allowed in a header".to_string(),
                }
            })?;
            value.set_sensitive(true);
            req = req.header(TOKEN_HEADER, value);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        req.send()
            .await
            .map_err(|e| self.transport_error(endpoint, e))
    }

    /// The body of a successful answer; an error status becomes `Status`.
    pub(crate) async fn success_body(
        endpoint: &'static str,
        resp: Response,
    ) -> Result<String, RegistryError> {
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| transport_error(endpoint, e, false))?;
        if !status.is_success() {
            return Err(status_error(endpoint, status.as_u16(), &text));
        }
        Ok(text)
    }

    /// Reads Consul's `true` / `false` answer (KV writes, session destroy).
    pub(crate) async fn bool_body(
        endpoint: &'static str,
        resp: Response,
    ) -> Result<bool, RegistryError> {
        let text = Self::success_body(endpoint, resp).await?;
        match text.trim() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(RegistryError::Malformed {
                endpoint,
                reason: "expected true or false".to_string(),
            }),
        }
    }
}

impl ConsulClient {
    fn transport_error(&self, endpoint: &'static str, e: reqwest::Error) -> RegistryError {
        transport_error(endpoint, e, self.client_cert)
    }
}

/// A failed request: a timeout, a TLS problem, or Consul unreachable (with the
/// innermost cause). The URL in `source` holds no credentials (refused in `new`).
fn transport_error(endpoint: &'static str, e: reqwest::Error, client_cert: bool) -> RegistryError {
    if e.is_timeout() {
        return RegistryError::Timeout { endpoint };
    }
    let cause = root_cause(&e);
    match TlsProblem::classify(&cause, client_cert) {
        Some(problem) => RegistryError::Tls {
            endpoint,
            problem,
            detail: cause,
        },
        None => RegistryError::Unreachable {
            endpoint,
            cause,
            source: e,
        },
    }
}

/// The innermost error's text (e.g. `Connection refused (os error 111)`),
/// never the request URL.
fn root_cause(e: &reqwest::Error) -> String {
    let Some(mut cause) = e.source() else {
        return "request failed".to_string();
    };
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// An error status with the start of Consul's (single-line) error text.
pub(crate) fn status_error(endpoint: &'static str, status: u16, text: &str) -> RegistryError {
    let message: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_MESSAGE)
        .collect();
    RegistryError::Status {
        endpoint,
        status,
        message: message.trim().to_string(),
    }
}

/// The `X-Consul-Index` of an answer.
pub(crate) fn index_of(endpoint: &'static str, headers: &HeaderMap) -> Result<u64, RegistryError> {
    headers
        .get(INDEX_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| RegistryError::Malformed {
            endpoint,
            reason: format!("missing or bad {INDEX_HEADER} header"),
        })
}

/// A duration as Go's `time.ParseDuration` reads it (`"10s"`, `"1500ms"`).
pub(crate) fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// Keys are `/`-separated: no empty, `.` or `..` segment (Go's HTTP mux would
/// redirect such a path), except a trailing `/` that marks a prefix.
fn check_key(key: &str) -> Result<(), RegistryError> {
    let body = key.strip_suffix('/').unwrap_or(key);
    let bad = body.is_empty()
        || body
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == ".." || s.chars().any(char::is_control));
    if bad {
        return Err(RegistryError::InvalidKey {
            key: key.chars().take(MAX_MESSAGE).collect(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> ConsulClient {
        ConsulClient::new(
            "http://127.0.0.1:8500/",
            Some(ConsulToken::new("s3cret".into())),
            &ConsulTls::default(),
            Duration::from_secs(1),
        )
        .unwrap()
    }

    #[test]
    fn urls_encode_segments() {
        let c = client();
        let u = c.url(&["kv"], Some("tessera/ready/a?b#c%")).unwrap();
        assert_eq!(
            u.as_str(),
            "http://127.0.0.1:8500/v1/kv/tessera/ready/a%3Fb%23c%25"
        );
        let u = c.url(&["kv"], Some("tessera/ready/")).unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:8500/v1/kv/tessera/ready/");
        for bad in ["", "/a", "a//b", "a/./b", "a/../b", "/"] {
            assert!(c.url(&["kv"], Some(bad)).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn base_url_keeps_a_path_prefix() {
        let c = ConsulClient::new(
            "https://proxy.example/consul",
            None,
            &ConsulTls::default(),
            Duration::from_secs(1),
        )
        .unwrap();
        let u = c.url(&["session", "renew"], Some("abc")).unwrap();
        assert_eq!(
            u.as_str(),
            "https://proxy.example/consul/v1/session/renew/abc"
        );
    }

    #[test]
    fn debug_hides_the_token() {
        let text = format!("{:?}", client());
        assert!(!text.contains("s3cret"));
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn bad_addresses_are_refused() {
        let plain = ConsulTls::default();
        let new = |addr: &str, token: Option<&str>| {
            ConsulClient::new(
                addr,
                token.map(|t| ConsulToken::new(t.to_string())),
                &plain,
                Duration::from_secs(1),
            )
        };
        for bad in [
            "127.0.0.1:8500",
            "ftp://x",
            "http://x/?a=b",
            "not a url",
            "https://user:pw@x",
        ] {
            assert!(new(bad, None).is_err(), "{bad}");
        }
        let e = new("https://user:hunter2@x", None).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(ConsulClient::new("http://x", None, &plain, Duration::ZERO).is_err());
        for bad in ["", "a\nb"] {
            let e = new("http://x", Some(bad)).unwrap_err();
            assert_eq!(e.code(), tessera_types::ErrorCode::InvalidConfiguration);
        }
    }

    #[test]
    fn tls_settings_need_https() {
        let tls = ConsulTls {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..ConsulTls::default()
        };
        let e = ConsulClient::new("http://127.0.0.1:8500", None, &tls, Duration::from_secs(1))
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("consul tls settings need an https:// address"),
            "{e}"
        );
    }

    #[test]
    fn durations_in_go_syntax() {
        assert_eq!(go_duration(Duration::from_secs(10)), "10s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1500ms");
    }
}
