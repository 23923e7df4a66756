//! Consul sessions: create (with a TTL, a behaviour and no lock delay), renew,
//! destroy.
//!
//! Consul invalidates a session whose TTL lapses, but only after up to **2×TTL**
//! since the last renewal (it doubles the TTL as a grace period). With
//! [`SessionBehavior::Delete`] the keys the session holds are deleted then; on
//! [`ConsulClient::session_destroy`] they are deleted at once.

use std::fmt;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use crate::consul::{go_duration, ConsulClient};
use crate::error::RegistryError;

/// A Consul session's id (a UUID chosen by Consul).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConsulSessionId(String);

impl ConsulSessionId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConsulSessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ConsulSessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConsulSessionId({})", self.0)
    }
}

/// What happens to the keys a session holds when it is invalidated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionBehavior {
    /// The locks are released; the keys stay.
    Release,
    /// The keys are deleted.
    Delete,
}

impl SessionBehavior {
    fn as_str(self) -> &'static str {
        match self {
            SessionBehavior::Release => "release",
            SessionBehavior::Delete => "delete",
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CreateBody<'a> {
    name: &'a str,
    #[serde(rename = "TTL")]
    ttl: String,
    behavior: &'static str,
    lock_delay: &'static str,
}

#[derive(Deserialize)]
struct CreateAnswer {
    #[serde(rename = "ID")]
    id: String,
}

impl ConsulClient {
    /// Creates a session that Consul invalidates unless renewed within `ttl`
    /// (Consul's accepted range is its `session_ttl_min`, 10 s by default, to 24 h).
    ///
    /// `LockDelay` is always 0: our locks are presence markers, not mutexes, and a
    /// restarted node must be able to take its key again at once.
    pub async fn session_create(
        &self,
        name: &str,
        ttl: Duration,
        behavior: SessionBehavior,
    ) -> Result<ConsulSessionId, RegistryError> {
        const EP: &str = "session create";
        let body = serde_json::to_vec(&CreateBody {
            name,
            ttl: go_duration(ttl),
            behavior: behavior.as_str(),
            lock_delay: "0s",
        })
        .map_err(|e| RegistryError::Malformed {
            endpoint: EP,
            reason: e.to_string(),
        })?;
        let url = self.url(&["session", "create"], None)?;
        let resp = self.send(EP, Method::PUT, url, Some(body), None).await?;
        let text = Self::success_body(EP, resp).await?;
        let answer: CreateAnswer =
            serde_json::from_str(&text).map_err(|e| RegistryError::Malformed {
                endpoint: EP,
                reason: e.to_string(),
            })?;
        if answer.id.is_empty() {
            return Err(RegistryError::Malformed {
                endpoint: EP,
                reason: "empty session id".to_string(),
            });
        }
        Ok(ConsulSessionId(answer.id))
    }

    /// Renews a session. `Ok(false)` when Consul no longer knows it (expired,
    /// destroyed, or lost with the agent's state).
    pub async fn session_renew(&self, id: &ConsulSessionId) -> Result<bool, RegistryError> {
        const EP: &str = "session renew";
        let url = self.url(&["session", "renew"], Some(id.as_str()))?;
        let resp = self.send(EP, Method::PUT, url, None, None).await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        let text = Self::success_body(EP, resp).await?;
        // Consul answers with the renewed session in a list; an empty list or
        // `null` also means it is gone.
        let sessions: Option<Vec<serde_json::Value>> =
            serde_json::from_str(&text).map_err(|e| RegistryError::Malformed {
                endpoint: EP,
                reason: e.to_string(),
            })?;
        Ok(sessions.is_some_and(|s| !s.is_empty()))
    }

    /// Destroys a session; with [`SessionBehavior::Delete`] its keys go at once.
    /// Destroying an unknown session succeeds.
    pub async fn session_destroy(&self, id: &ConsulSessionId) -> Result<(), RegistryError> {
        const EP: &str = "session destroy";
        let url = self.url(&["session", "destroy"], Some(id.as_str()))?;
        let resp = self.send(EP, Method::PUT, url, None, None).await?;
        if Self::bool_body(EP, resp).await? {
            Ok(())
        } else {
            Err(RegistryError::Malformed {
                endpoint: EP,
                reason: "consul answered false".to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_body_uses_consul_field_names() {
        let body = serde_json::to_value(CreateBody {
            name: "n",
            ttl: go_duration(Duration::from_secs(10)),
            behavior: SessionBehavior::Delete.as_str(),
            lock_delay: "0s",
        })
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({"Name": "n", "TTL": "10s", "Behavior": "delete", "LockDelay": "0s"})
        );
    }
}
