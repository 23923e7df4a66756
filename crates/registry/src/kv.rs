//! Consul KV: get, recursive list (optionally blocking), put with check-and-set,
//! acquire and release with a session, delete.
//!
//! Values travel base64-encoded in Consul's JSON; [`KvEntry::value`] holds the
//! decoded bytes. Nothing in Consul is trusted for anything secret or
//! security-relevant: these are hints and presence markers.

use std::fmt;

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde::Deserialize;

use crate::consul::{index_of, BlockingQuery, ConsulClient};
use crate::error::RegistryError;
use crate::sessions::ConsulSessionId;

/// One key as Consul stores it.
#[derive(Clone, PartialEq, Eq)]
pub struct KvEntry {
    pub key: String,
    /// The decoded value (empty when Consul holds none).
    pub value: Vec<u8>,
    /// Raft index of the last write; the `cas` value for the next one.
    pub modify_index: u64,
    /// The session holding the key's lock, if any.
    pub session: Option<ConsulSessionId>,
}

impl fmt::Debug for KvEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KvEntry")
            .field("key", &self.key)
            .field("value_len", &self.value.len())
            .field("modify_index", &self.modify_index)
            .field("session", &self.session)
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawEntry {
    key: String,
    value: Option<String>,
    modify_index: u64,
    session: Option<ConsulSessionId>,
}

impl RawEntry {
    fn decode(self, endpoint: &'static str) -> Result<KvEntry, RegistryError> {
        let value = match self.value {
            None => Vec::new(),
            Some(b64) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| RegistryError::Malformed {
                    endpoint,
                    reason: format!("value of {} is not base64", self.key),
                })?,
        };
        Ok(KvEntry {
            key: self.key,
            value,
            modify_index: self.modify_index,
            session: self.session,
        })
    }
}

fn decode_list(endpoint: &'static str, text: &str) -> Result<Vec<KvEntry>, RegistryError> {
    let raw: Option<Vec<RawEntry>> =
        serde_json::from_str(text).map_err(|e| RegistryError::Malformed {
            endpoint,
            reason: e.to_string(),
        })?;
    raw.unwrap_or_default()
        .into_iter()
        .map(|r| r.decode(endpoint))
        .collect()
}

impl ConsulClient {
    /// The entry at exactly `key`, or `None`.
    pub async fn kv_get(&self, key: &str) -> Result<Option<KvEntry>, RegistryError> {
        const EP: &str = "kv get";
        let url = self.url(&["kv"], Some(key))?;
        let resp = self.send(EP, Method::GET, url, None, None).await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let text = Self::success_body(EP, resp).await?;
        Ok(decode_list(EP, &text)?.into_iter().find(|e| e.key == key))
    }

    /// Every entry under `prefix`, and the index to pass to the next blocking
    /// read. With `blocking`, Consul holds the request until something under the
    /// prefix changes past `blocking.index` or `blocking.wait` passes.
    pub async fn kv_list(
        &self,
        prefix: &str,
        blocking: Option<BlockingQuery>,
    ) -> Result<(Vec<KvEntry>, u64), RegistryError> {
        const EP: &str = "kv list";
        let mut url = self.url(&["kv"], Some(prefix))?;
        url.query_pairs_mut().append_pair("recurse", "true");
        let resp = self.send(EP, Method::GET, url, None, blocking).await?;
        // An empty prefix answers 404, still with an index to block on.
        let index = index_of(EP, resp.headers())?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok((Vec::new(), index));
        }
        let text = Self::success_body(EP, resp).await?;
        let mut entries = decode_list(EP, &text)?;
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        Ok((entries, index))
    }

    /// Writes `value`. With `cas = Some(i)` the write happens only if the key's
    /// modify index is still `i` (`Some(0)`: only if the key does not exist).
    /// `Ok(false)` when the check failed.
    pub async fn kv_put(
        &self,
        key: &str,
        value: &[u8],
        cas: Option<u64>,
    ) -> Result<bool, RegistryError> {
        const EP: &str = "kv put";
        let mut url = self.url(&["kv"], Some(key))?;
        if let Some(cas) = cas {
            url.query_pairs_mut().append_pair("cas", &cas.to_string());
        }
        let resp = self
            .send(EP, Method::PUT, url, Some(value.to_vec()), None)
            .await?;
        Self::bool_body(EP, resp).await
    }

    /// Takes the key's lock for `session` and writes `value`. `Ok(false)` when
    /// another session holds it (or the lock delay of an invalidated holder runs).
    pub async fn kv_acquire(
        &self,
        key: &str,
        value: &[u8],
        session: &ConsulSessionId,
    ) -> Result<bool, RegistryError> {
        const EP: &str = "kv acquire";
        let mut url = self.url(&["kv"], Some(key))?;
        url.query_pairs_mut()
            .append_pair("acquire", session.as_str());
        let resp = self
            .send(EP, Method::PUT, url, Some(value.to_vec()), None)
            .await?;
        Self::bool_body(EP, resp).await
    }

    /// Releases the key's lock held by `session`; the key stays. `Ok(false)`
    /// when `session` does not hold it.
    pub async fn kv_release(
        &self,
        key: &str,
        session: &ConsulSessionId,
    ) -> Result<bool, RegistryError> {
        const EP: &str = "kv release";
        let mut url = self.url(&["kv"], Some(key))?;
        url.query_pairs_mut()
            .append_pair("release", session.as_str());
        let resp = self.send(EP, Method::PUT, url, None, None).await?;
        Self::bool_body(EP, resp).await
    }

    /// Deletes `key` (with `cas`, only at that modify index). `Ok(false)` when the
    /// check failed; deleting a missing key succeeds.
    pub async fn kv_delete(&self, key: &str, cas: Option<u64>) -> Result<bool, RegistryError> {
        const EP: &str = "kv delete";
        let mut url = self.url(&["kv"], Some(key))?;
        if let Some(cas) = cas {
            url.query_pairs_mut().append_pair("cas", &cas.to_string());
        }
        let resp = self.send(EP, Method::DELETE, url, None, None).await?;
        Self::bool_body(EP, resp).await
    }

    /// Deletes every key under `prefix`.
    pub async fn kv_delete_prefix(&self, prefix: &str) -> Result<(), RegistryError> {
        const EP: &str = "kv delete";
        let mut url = self.url(&["kv"], Some(prefix))?;
        url.query_pairs_mut().append_pair("recurse", "true");
        let resp = self.send(EP, Method::DELETE, url, None, None).await?;
        Self::bool_body(EP, resp).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_consul_entries() {
        let text = r#"[{"LockIndex":1,"Key":"p/a","Flags":0,"Value":"aGk=","CreateIndex":5,"ModifyIndex":7,"Session":"abc"},
                      {"Key":"p/b","Value":null,"ModifyIndex":8}]"#;
        let list = decode_list("kv list", text).unwrap();
        assert_eq!(list[0].value, b"hi");
        assert_eq!(list[0].modify_index, 7);
        assert_eq!(list[0].session.as_ref().unwrap().as_str(), "abc");
        assert!(list[1].value.is_empty() && list[1].session.is_none());
        assert!(decode_list("kv list", r#"[{"Key":"x","Value":"!!","ModifyIndex":1}]"#).is_err());
        assert!(decode_list("kv list", "null").unwrap().is_empty());
    }
}
