//! `ConsulClient`: a small typed client for the few Consul HTTP endpoints the
//! registry needs (KV in [`crate::kv`], sessions in [`crate::sessions`]).
//!
//! It speaks plain HTTP on loopback or HTTPS through rustls, sends the ACL token
//! in `X-Consul-Token` (never in a URL, never in `Debug` or error text), and bounds
//! every request by a timeout. A blocking query's timeout is stretched by its
//! `wait` plus Consul's jitter (`wait / 16`) so a healthy but quiet Consul is not
//! mistaken for a dead one.

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, Response, Url};

use crate::error::RegistryError;

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
    token: Option<String>,
    timeout: Duration,
}

impl fmt::Debug for ConsulClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsulClient")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl ConsulClient {
    /// A client for the agent at `base_url` (e.g. `http://127.0.0.1:8500`).
    /// `timeout` bounds each non-blocking request, connection included.
    pub fn new(
        base_url: &str,
        token: Option<String>,
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
        if timeout.is_zero() {
            return Err(invalid("consul request timeout must be positive"));
        }
        if token.as_deref().is_some_and(|t| t.is_empty()) {
            return Err(invalid("consul token is empty; leave it unset instead"));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            .build()
            .map_err(|_| invalid("cannot build the http client"))?;
        Ok(Self {
            http,
            base,
            token,
            timeout,
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
            req = req.header(TOKEN_HEADER, token);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        req.send().await.map_err(|e| transport_error(endpoint, e))
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
            .map_err(|e| transport_error(endpoint, e))?;
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

fn transport_error(endpoint: &'static str, e: reqwest::Error) -> RegistryError {
    if e.is_timeout() {
        RegistryError::Timeout { endpoint }
    } else {
        // The text names Consul's URL; the token travels in a header, never in it.
        RegistryError::Unreachable {
            endpoint,
            source: e,
        }
    }
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
            Some("s3cret".into()),
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
        let c = ConsulClient::new("https://proxy.example/consul", None, Duration::from_secs(1))
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
        for bad in ["127.0.0.1:8500", "ftp://x", "http://x/?a=b", "not a url"] {
            assert!(
                ConsulClient::new(bad, None, Duration::from_secs(1)).is_err(),
                "{bad}"
            );
        }
        assert!(ConsulClient::new("http://x", None, Duration::ZERO).is_err());
    }

    #[test]
    fn durations_in_go_syntax() {
        assert_eq!(go_duration(Duration::from_secs(10)), "10s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1500ms");
    }
}
