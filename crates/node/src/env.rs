//! `TESSERA_*` environment overrides.
//!
//! A flat, fixed list: every scalar key `a.b_c` has the variable
//! `TESSERA_A_B_C` (dots become `_`, upper case), e.g. `node_id` is
//! `TESSERA_NODE_ID`, `nats.url` is `TESSERA_NATS_URL`, `timeouts.sign_deadline`
//! is `TESSERA_TIMEOUTS_SIGN_DEADLINE`. Because the list is fixed, a name never
//! has two readings. Lists (`peers.nodes`, `authorizers.keys`) have no variable:
//! use `peers.dir` or the file.
//!
//! Overrides are applied to the parsed YAML before it is read into
//! [`crate::config::Config`], so a value from the environment is checked exactly
//! like one from the file. For an optional path, an empty value unsets it.

use serde_yaml_ng::{Mapping, Number, Value};

use crate::config_error::ConfigError;

/// How a variable's text becomes a YAML value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Taken as is (durations are strings too).
    Str,
    /// As is; empty means unset.
    OptStr,
    /// A whole number.
    Int,
    /// `true` or `false`.
    Bool,
}

/// Every key the environment can set.
pub const KEYS: &[(&str, Kind)] = &[
    ("node_id", Kind::Str),
    ("threshold", Kind::Int),
    ("nats.url", Kind::Str),
    ("nats.creds_file", Kind::OptStr),
    ("nats.nkey_seed_file", Kind::OptStr),
    ("nats.user", Kind::OptStr),
    ("nats.password_file", Kind::OptStr),
    ("nats.token_file", Kind::OptStr),
    ("nats.tls.ca_file", Kind::OptStr),
    ("nats.tls.cert_file", Kind::OptStr),
    ("nats.tls.key_file", Kind::OptStr),
    ("nats.tls.require", Kind::Bool),
    ("jetstream.replicas", Kind::Int),
    ("jetstream.request_max_age", Kind::Str),
    ("jetstream.request_max_bytes", Kind::Int),
    ("jetstream.result_max_bytes", Kind::Int),
    ("jetstream.ledger_max_age", Kind::Str),
    ("jetstream.ledger_max_bytes", Kind::Int),
    ("jetstream.tenant_keys_max_bytes", Kind::Int),
    ("consul.addr", Kind::Str),
    ("consul.prefix", Kind::Str),
    ("consul.ttl", Kind::Str),
    ("consul.token_file", Kind::OptStr),
    ("consul.tls.ca_file", Kind::OptStr),
    ("consul.tls.cert_file", Kind::OptStr),
    ("consul.tls.key_file", Kind::OptStr),
    ("storage.dir", Kind::Str),
    ("storage.password_file", Kind::OptStr),
    ("storage.key_file", Kind::OptStr),
    ("identity.file", Kind::Str),
    ("identity.passphrase_file", Kind::OptStr),
    ("peers.dir", Kind::OptStr),
    ("initiator.kind", Kind::Str),
    ("initiator.public_key", Kind::Str),
    ("authorizers.enabled", Kind::Bool),
    ("limits.keygen_concurrency", Kind::Int),
    ("limits.signing_concurrency", Kind::Int),
    ("limits.max_request_bytes", Kind::Int),
    ("limits.max_request_age", Kind::Str),
    ("timeouts.connect_timeout", Kind::Str),
    ("timeouts.keygen_deadline", Kind::Str),
    ("timeouts.sign_deadline", Kind::Str),
    ("timeouts.peer_silence", Kind::Str),
    ("timeouts.ack_wait", Kind::Str),
    ("timeouts.progress_interval", Kind::Str),
    ("timeouts.shutdown_grace", Kind::Str),
    ("recovery.retry_signing", Kind::Bool),
    ("requests.require_session", Kind::Bool),
    ("requests.max_deliver", Kind::Int),
    ("health.listen", Kind::Str),
    ("log.level", Kind::Str),
    ("log.format", Kind::Str),
    ("audit.enabled", Kind::Bool),
    ("audit.file", Kind::OptStr),
    ("audit.max_bytes", Kind::Int),
    ("audit.keep", Kind::Int),
];

/// `TESSERA_*` variables that are not config keys but are expected: the
/// config file's path (read by the command line), and the fault-injection
/// delay of debug builds (see `tessera_runner`'s `fault` module).
pub const OTHER_VARS: &[&str] = &["TESSERA_CONFIG", "TESSERA_FAULT_ROUND_DELAY_MS"];

const PREFIX: &str = "TESSERA_";

/// The variable for a config key: `nats.url` -> `TESSERA_NATS_URL`.
pub fn var_name(key: &str) -> String {
    format!("{PREFIX}{}", key.replace('.', "_").to_ascii_uppercase())
}

/// Applies every `TESSERA_*` variable in `vars` that names a key. Returns the
/// `TESSERA_*` names that matched nothing (likely typos), sorted.
pub fn apply(
    doc: &mut Value,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<String>, ConfigError> {
    let mut unknown = Vec::new();
    for (var, text) in vars {
        if !var.starts_with(PREFIX) || OTHER_VARS.contains(&var.as_str()) {
            continue;
        }
        let Some(&(key, kind)) = KEYS.iter().find(|(k, _)| var_name(k) == var) else {
            unknown.push(var);
            continue;
        };
        let value = convert(&var, key, kind, &text)?;
        set(doc, key, value);
    }
    unknown.sort();
    Ok(unknown)
}

fn convert(var: &str, key: &'static str, kind: Kind, text: &str) -> Result<Value, ConfigError> {
    let err = |reason: &str| ConfigError::Env {
        var: var.to_string(),
        key,
        reason: reason.to_string(),
    };
    let t = text.trim();
    Ok(match kind {
        Kind::Str => Value::String(text.to_string()),
        Kind::OptStr if t.is_empty() => Value::Null,
        Kind::OptStr => Value::String(text.to_string()),
        Kind::Int => Value::Number(Number::from(
            t.parse::<u64>()
                .map_err(|_| err("expected a whole number"))?,
        )),
        Kind::Bool => match t.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(err("expected true or false")),
        },
    })
}

/// Sets `a.b` in `doc`, creating mappings on the way (replacing a `null` or
/// scalar found where a mapping is needed).
fn set(doc: &mut Value, key: &str, value: Value) {
    let mut node = doc;
    let mut parts = key.split('.').peekable();
    while let Some(part) = parts.next() {
        if !node.is_mapping() {
            *node = Value::Mapping(Mapping::new());
        }
        let Value::Mapping(map) = node else {
            unreachable!("made a mapping just above")
        };
        let k = Value::String(part.to_string());
        if parts.peek().is_none() {
            map.insert(k, value);
            return;
        }
        node = map.entry(k).or_insert(Value::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_key_has_its_own_variable() {
        let names: BTreeSet<String> = KEYS.iter().map(|(k, _)| var_name(k)).collect();
        assert_eq!(names.len(), KEYS.len());
        assert_eq!(var_name("nats.url"), "TESSERA_NATS_URL");
        assert_eq!(var_name("node_id"), "TESSERA_NODE_ID");
        assert_eq!(
            var_name("timeouts.sign_deadline"),
            "TESSERA_TIMEOUTS_SIGN_DEADLINE"
        );
    }

    #[test]
    fn sets_nested_keys_and_types() {
        let mut doc: Value = serde_yaml_ng::from_str("nats:\nconsul: {addr: x}\n").unwrap();
        let unknown = apply(
            &mut doc,
            vars(&[
                ("TESSERA_NATS_URL", "nats://h:1"),
                ("TESSERA_CONSUL_PREFIX", "p"),
                ("TESSERA_THRESHOLD", " 2 "),
                ("TESSERA_AUTHORIZERS_ENABLED", "TRUE"),
                ("TESSERA_PEERS_DIR", ""),
                ("TESSERA_NATS_URLL", "typo"),
                ("TESSERA_CONFIG", "ignored"),
                ("HOME", "/root"),
            ]),
        )
        .unwrap();
        assert_eq!(unknown, vec!["TESSERA_NATS_URLL".to_string()]);
        assert_eq!(doc["nats"]["url"], Value::String("nats://h:1".into()));
        assert_eq!(doc["consul"]["addr"], Value::String("x".into()));
        assert_eq!(doc["consul"]["prefix"], Value::String("p".into()));
        assert_eq!(doc["threshold"], Value::Number(2u64.into()));
        assert_eq!(doc["authorizers"]["enabled"], Value::Bool(true));
        assert_eq!(doc["peers"]["dir"], Value::Null);
    }

    #[test]
    fn a_bad_value_names_the_variable_and_key() {
        let mut doc = Value::Null;
        let e = apply(
            &mut doc,
            vars(&[("TESSERA_LIMITS_MAX_REQUEST_BYTES", "lots")]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("TESSERA_LIMITS_MAX_REQUEST_BYTES"), "{e}");
        assert!(e.contains("limits.max_request_bytes"), "{e}");
    }
}
