//! The cluster-wide request ledger, a JetStream key-value bucket: which request
//! (wallet, tx id) is being served or was served, with which payload digest and
//! which result. Any node can pull a repeat of a request, so the record of what
//! was done must be shared: a repeat gets the stored result and is never signed
//! twice; the same ids with another payload are a conflict.
//!
//! Every record is signed by the node that wrote it (`ledger_record`); one
//! that fails the check is reported and treated as absent.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use tessera_transport::async_nats::jetstream::{self, kv};
use tessera_transport::mpc::{self, StreamSettings};

use tessera_runner::Node;

use crate::error::RequestError;
pub use crate::ledger_record::Record;
use crate::ledger_record::{self, RecordError};
use crate::request::Request;

pub const BUCKET: &str = "tessera_requests";

/// What a claim found.
#[derive(Debug)]
pub enum Claim {
    /// Ours to serve; `revision` is what `finish` updates. `taken_from` names
    /// the node whose orphaned claim this replaced.
    Fresh {
        revision: u64,
        taken_from: Option<String>,
    },
    /// Already served with the same payload: this is its result (JSON).
    Done(String),
    /// A live node (another, or this process) is serving the same request right now.
    InProgress,
    /// The same ids with a different payload.
    Conflict,
}

#[derive(Clone, Debug)]
pub struct Ledger {
    store: kv::Store,
    /// This node: its identity signs records, its directory checks them.
    runner: Node,
    node: String,
    instance: String,
    /// A pending record older than this is taken over (its node died).
    stale_after: Duration,
    /// Keys this run of the node claimed and is serving now. A pending record
    /// of this run that is not among them was left behind (its result could
    /// not be recorded or its claim released while NATS was away): it is
    /// taken over at once rather than when it goes stale.
    serving: Arc<Mutex<HashSet<String>>>,
    /// Results this run published but could not record yet, by key. Their
    /// keys stay in `serving`, so a repeat never starts a second protocol run:
    /// it records the result first and is answered with it, or waits.
    unrecorded: Arc<Mutex<HashMap<String, Unrecorded>>>,
}

/// A result waiting to be recorded under a claim of this run.
#[derive(Clone, Debug)]
struct Unrecorded {
    digest: String,
    revision: u64,
    result: Vec<u8>,
}

pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A request's ledger key (its ids) and digest (what the initiator signed).
/// The digest covers `tessera_session` as signed when there is one, so a
/// copy with the session stripped (or changed) is another payload under the
/// same ids: a conflict, never served as the same request.
pub fn entry(request: &Request) -> (String, String) {
    let (ids, signed, session) = request.signed_parts();
    let kind = match request {
        Request::Keygen(_) => "keygen",
        Request::Sign(_) => "sign",
    };
    let digest = match session {
        None => digest(&signed),
        Some(session) => digest_of(&[&signed, &session]),
    };
    (key(kind, &ids), digest)
}

/// SHA-256 of several parts, each length-prefixed (hex).
pub fn digest_of(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    hex::encode(h.finalize())
}

/// A bucket key for any ids: hashed, since ids may hold characters keys may not.
pub fn key(kind: &str, ids: &[&str]) -> String {
    let mut h = Sha256::new();
    for id in ids {
        h.update((id.len() as u64).to_be_bytes());
        h.update(id.as_bytes());
    }
    format!("{kind}.{}", hex::encode(h.finalize()))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A ledger entry that is not a node's signed record: someone wrote to the
/// bucket who should not have.
fn report(e: &RecordError) {
    tracing::error!(code = %e.code(), "forged or unreadable request ledger entry ignored (treated as absent): {e}");
}

fn js_err(e: impl std::fmt::Display) -> RequestError {
    RequestError::JetStream(e.to_string())
}

impl Ledger {
    pub async fn open(
        js: &jetstream::Context,
        runner: &Node,
        stale_after: Duration,
        settings: &StreamSettings,
    ) -> Result<Self, RequestError> {
        let store = mpc::key_value(
            js,
            kv::Config {
                bucket: BUCKET.to_string(),
                history: 1,
                max_age: settings.ledger_max_age,
                max_bytes: settings.ledger_max_bytes,
                num_replicas: settings.replicas,
                storage: jetstream::stream::StorageType::File,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| RequestError::JetStream(format!("request ledger: {e}")))?;
        let mut nonce = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
        Ok(Self {
            store,
            runner: runner.clone(),
            node: runner.node_id().as_str().to_string(),
            instance: hex::encode(nonce),
            stale_after,
            serving: Arc::default(),
            unrecorded: Arc::default(),
        })
    }

    fn encode(&self, key: &str, record: &Record) -> Result<bytes::Bytes, RequestError> {
        ledger_record::seal(self.runner.identity(), key, record)
            .map(Into::into)
            .map_err(|e| RequestError::JetStream(e.to_string()))
    }

    /// The record under `key` if a cluster node signed it; a forged one is
    /// reported and treated as absent.
    fn believe(&self, key: &str, bytes: &[u8]) -> Option<Record> {
        match ledger_record::open(key, bytes, |n| self.runner.directory().get(n)) {
            Ok(record) => Some(record),
            Err(e) => {
                report(&e);
                None
            }
        }
    }

    /// The signed record of `key`, if there is one (`None` also for a forged one).
    pub async fn read(&self, key: &str) -> Result<Option<Record>, RequestError> {
        let entry = self.store.entry(key).await.map_err(js_err)?;
        Ok(entry.and_then(|e| self.believe(key, &e.value)))
    }

    /// Whether a node's signed record says `request` was served. A player
    /// refuses a proposal of such a request: a signed request is served once,
    /// whoever proposes it again. A ledger that cannot be read says no (the
    /// join goes on; replays are also caught by `seen`).
    pub async fn served(&self, request: &Request) -> bool {
        let (key, _) = entry(request);
        match self.read(&key).await {
            Ok(record) => record.is_some_and(|r| r.result.is_some()),
            Err(e) => {
                tracing::warn!(
                    id = request.id(),
                    "request ledger not readable, joining without its check: {e}"
                );
                false
            }
        }
    }

    /// Claims `key` for a request with `digest`. A claim still in progress is
    /// taken over (atomically) when its node is not `alive` (per the ready
    /// set), when it is this node's but not being served here (an earlier
    /// run's, or one whose result could not be recorded), or when it is older
    /// than the stale limit.
    pub async fn claim(
        &self,
        key: &str,
        digest: &str,
        alive: impl Fn(&str) -> bool,
    ) -> Result<Claim, RequestError> {
        let pending = Record {
            digest: digest.to_string(),
            result: None,
            node: self.node.clone(),
            instance: self.instance.clone(),
            at_unix: now(),
        };
        let waiting = self.unrecorded().get(key).cloned();
        if let Some(u) = waiting {
            if u.digest != digest {
                return Ok(Claim::Conflict);
            }
            // Published but not recorded: record it now and answer with it.
            return Ok(
                match self.finish(key, &u.digest, u.revision, &u.result).await {
                    Ok(()) => Claim::Done(String::from_utf8_lossy(&u.result).into_owned()),
                    Err(_) => Claim::InProgress,
                },
            );
        }
        if self.serving().contains(key) {
            return Ok(Claim::InProgress);
        }
        match self.store.create(key, self.encode(key, &pending)?).await {
            Ok(revision) => {
                self.serving().insert(key.to_string());
                return Ok(Claim::Fresh {
                    revision,
                    taken_from: None,
                });
            }
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {}
            Err(e) => return Err(js_err(e)),
        }
        let Some(entry) = self.store.entry(key).await.map_err(js_err)? else {
            return Err(RequestError::JetStream("ledger entry vanished".into()));
        };
        let Some(existing) = self.believe(key, &entry.value) else {
            // Forged or unreadable: as if absent.
            return self.take_over(key, &pending, entry.revision, None).await;
        };
        if existing.digest != digest {
            return Ok(Claim::Conflict);
        }
        if let Some(result) = existing.result {
            return Ok(Claim::Done(result));
        }
        let orphaned = if existing.node == self.node {
            // Not being served here (checked above): an earlier run's, or left behind.
            true
        } else {
            !alive(&existing.node)
        };
        let stale = now().saturating_sub(existing.at_unix) > self.stale_after.as_secs();
        if orphaned || stale {
            return self
                .take_over(key, &pending, entry.revision, Some(existing.node))
                .await;
        }
        Ok(Claim::InProgress)
    }

    /// Replaces the entry read at `revision` with this node's claim. Only one
    /// taker wins: the update expects the revision that was read.
    async fn take_over(
        &self,
        key: &str,
        pending: &Record,
        revision: u64,
        taken_from: Option<String>,
    ) -> Result<Claim, RequestError> {
        let revision = self
            .store
            .update(key, self.encode(key, pending)?, revision)
            .await
            .map_err(js_err)?;
        self.serving().insert(key.to_string());
        Ok(Claim::Fresh {
            revision,
            taken_from,
        })
    }

    /// Records the result of a claimed request. When that fails the result is
    /// kept here, and the key stays served by this run: a repeat of the
    /// request records it then (see `claim`), never serves it again.
    pub async fn finish(
        &self,
        key: &str,
        digest: &str,
        revision: u64,
        result: &[u8],
    ) -> Result<(), RequestError> {
        let done = Record {
            digest: digest.to_string(),
            result: Some(String::from_utf8_lossy(result).into_owned()),
            node: self.node.clone(),
            instance: self.instance.clone(),
            at_unix: now(),
        };
        let recorded = match crate::fault::ledger_finish_fails(key) {
            true => Err(RequestError::JetStream("injected ledger failure".into())),
            false => match self.encode(key, &done) {
                Ok(bytes) => self
                    .store
                    .update(key, bytes, revision)
                    .await
                    .map(drop)
                    .map_err(js_err),
                Err(e) => Err(e),
            },
        };
        match &recorded {
            Ok(()) => {
                self.unrecorded().remove(key);
                self.serving().remove(key);
            }
            Err(_) => {
                let waiting = Unrecorded {
                    digest: digest.to_string(),
                    revision,
                    result: result.to_vec(),
                };
                self.unrecorded().insert(key.to_string(), waiting);
            }
        }
        recorded
    }

    /// Writes a record saying `word` under `key` unless one is there already
    /// (create-only: the first writer wins) and returns the record that
    /// stands, this node's or the first writer's. An entry no cluster node
    /// signed is never followed: an error, not a decision.
    pub async fn first_word(&self, key: &str, word: &str) -> Result<Record, RequestError> {
        let mine = Record {
            digest: word.to_string(),
            result: None,
            node: self.node.clone(),
            instance: self.instance.clone(),
            at_unix: now(),
        };
        match self.store.create(key, self.encode(key, &mine)?).await {
            Ok(_) => return Ok(mine),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {}
            Err(e) => return Err(js_err(e)),
        }
        let entry = self.store.entry(key).await.map_err(js_err)?;
        entry
            .and_then(|e| self.believe(key, &e.value))
            .ok_or_else(|| RequestError::JetStream(format!("{key}: no signed record stands")))
    }

    /// Gives a claim up (the request failed before any session: a repeat may retry).
    pub async fn release(&self, key: &str, revision: u64) {
        let _ = self.store.delete_expect_revision(key, Some(revision)).await;
        self.serving().remove(key);
    }

    fn serving(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.serving.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn unrecorded(&self) -> std::sync::MutexGuard<'_, HashMap<String, Unrecorded>> {
        self.unrecorded.lock().unwrap_or_else(|e| e.into_inner())
    }
}
