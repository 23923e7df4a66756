use std::path::Path;
use std::time::Duration;

use tessera_security::{InitiatorKeyKind, InitiatorSigner};

use super::*;

fn minimal_yaml() -> String {
    let key = InitiatorSigner::generate(InitiatorKeyKind::Ed25519)
        .public()
        .to_hex();
    format!(
        "node_id: node0\nthreshold: 1\nstorage: {{dir: /tmp/x}}\nidentity: {{file: /tmp/id}}\n\
         initiator: {{kind: ed25519, public_key: {key}}}\n"
    )
}

fn parse(yaml: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars = vars.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    Config::parse(Path::new("test.yaml"), yaml, vars).map(|(c, _)| c)
}

/// A valid config with defaults, for other modules' tests.
pub(crate) fn sample() -> Config {
    let c = parse(&minimal_yaml(), &[]).unwrap();
    c.validate().unwrap();
    c
}

fn err_text(r: Result<Config, ConfigError>) -> String {
    match r {
        Ok(c) => c.validate().expect_err("expected an error").to_string(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_repository_config_parses_and_validates() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config.yaml");
    let yaml = std::fs::read_to_string(&path).unwrap();
    let (config, unknown) = Config::parse(&path, &yaml, Vec::new()).unwrap();
    assert!(unknown.is_empty());
    config.validate().unwrap();
    assert_eq!(config.node_id.as_str(), "node0");
    assert_eq!(config.threshold, 1);
    assert!(config.peers.dir.is_some());
    assert!(config.authorizer_keys().unwrap().is_none());
    // The file spells out the defaults; keep them in step with the code.
    let defaults = TimeoutsConfig::default();
    assert_eq!(config.timeouts.connect_timeout, defaults.connect_timeout);
    assert_eq!(config.timeouts.peer_silence, defaults.peer_silence);
    assert_eq!(config.timeouts.keygen_deadline, defaults.keygen_deadline);
    assert_eq!(config.timeouts.sign_deadline, defaults.sign_deadline);
    assert_eq!(config.consul.ttl, ConsulConfig::default().ttl);
    assert_eq!(
        config.limits.max_request_bytes,
        LimitsConfig::default().max_request_bytes
    );
}

#[test]
fn defaults_fill_missing_sections() {
    let c = sample();
    assert_eq!(c.nats.url, "nats://127.0.0.1:4222");
    assert_eq!(c.consul.prefix, "tessera");
    assert_eq!(c.consul.ttl, Duration::from_secs(10));
    assert_eq!(c.timeouts.peer_silence, Duration::from_millis(1500));
    assert_eq!(c.health.listen, "127.0.0.1:8081");
    assert_eq!(c.log.format, LogFormat::Text);
}

#[test]
fn environment_overrides_the_file() {
    let c = parse(
        &minimal_yaml(),
        &[
            ("TESSERA_NODE_ID", "node2"),
            (
                "TESSERA_NATS_URL",
                "nats://10.0.0.1:4222,nats://10.0.0.2:4222",
            ),
            ("TESSERA_CONSUL_ADDR", "http://consul:8500"),
            ("TESSERA_CONSUL_TTL", "15s"),
            ("TESSERA_STORAGE_DIR", "/data/node2"),
            ("TESSERA_STORAGE_KEY_FILE", "/run/secrets/storage.key"),
            ("TESSERA_THRESHOLD", "2"),
            ("TESSERA_TIMEOUTS_SIGN_DEADLINE", "45s"),
            ("TESSERA_HEALTH_LISTEN", "0.0.0.0:9000"),
            ("TESSERA_LOG_FORMAT", "json"),
        ],
    )
    .unwrap();
    c.validate().unwrap();
    assert_eq!(c.node_id.as_str(), "node2");
    assert_eq!(c.nats.url, "nats://10.0.0.1:4222,nats://10.0.0.2:4222");
    assert_eq!(c.consul.addr, "http://consul:8500");
    assert_eq!(c.consul.ttl, Duration::from_secs(15));
    assert_eq!(c.storage.dir, Path::new("/data/node2"));
    assert_eq!(
        c.storage.key_file.as_deref(),
        Some(Path::new("/run/secrets/storage.key"))
    );
    assert_eq!(c.threshold, 2);
    assert_eq!(c.timeouts.sign_deadline, Duration::from_secs(45));
    assert_eq!(c.health.listen, "0.0.0.0:9000");
    assert_eq!(c.log.format, LogFormat::Json);
}

#[test]
fn an_invalid_value_names_its_key() {
    let base = minimal_yaml();
    let cases: &[(&str, &str)] = &[
        ("timeouts: {sign_deadline: 30}\n", "timeouts.sign_deadline"),
        ("timeouts: {peer_silence: 5 s}\n", "timeouts.peer_silence"),
        (
            "timeouts: {peer_silence: 100ms}\n",
            "`timeouts.peer_silence`",
        ),
        (
            "timeouts: {sign_deadline: 5s}\n",
            "`timeouts.sign_deadline`",
        ),
        ("consul: {ttl: 0s}\n", "`consul.ttl`"),
        ("consul: {addr: 127.0.0.1:8500}\n", "`consul.addr`"),
        ("consul: {prefix: /tessera}\n", "`consul.prefix`"),
        ("health: {listen: localhost}\n", "`health.listen`"),
        (
            "limits: {signing_concurrency: 0}\n",
            "`limits.signing_concurrency`",
        ),
        (
            "limits: {keygen_concurrency: -1}\n",
            "limits.keygen_concurrency",
        ),
        ("log: {level: \"info,[\"}\n", "`log.level`"),
        ("log: {format: xml}\n", "log.format"),
        ("nats: {url: \"\"}\n", "`nats.url`"),
        ("nats: {urls: x}\n", "urls"),
    ];
    for (extra, key) in cases {
        let e = err_text(parse(&format!("{base}{extra}"), &[]));
        assert!(e.contains(key), "{extra:?}: {e:?} should name {key}");
    }
    let e = err_text(parse(&base.replace("threshold: 1", "threshold: 0"), &[]));
    assert!(e.contains("`threshold`"), "{e}");
    let e = err_text(parse(&base.replace("public_key: ", "public_key: 00"), &[]));
    assert!(e.contains("`initiator.public_key`"), "{e}");
    let e = err_text(parse(&base, &[("TESSERA_THRESHOLD", "two")]));
    assert!(
        e.contains("TESSERA_THRESHOLD") && e.contains("threshold"),
        "{e}"
    );
}

#[test]
fn authorizers_enabled_without_keys_is_an_error() {
    let base = minimal_yaml();
    let e = err_text(parse(
        &format!("{base}authorizers: {{enabled: true}}\n"),
        &[],
    ));
    assert!(e.contains("`authorizers.keys`"), "{e}");
    assert!(e.contains("no key is listed"), "{e}");
    // Disabled with keys listed: fine, nothing is required.
    let key = InitiatorSigner::generate(InitiatorKeyKind::P256)
        .public()
        .to_hex();
    let listed = format!(
        "{base}authorizers:\n  enabled: false\n  keys: [{{id: ops, kind: p256, public_key: {key}}}]\n"
    );
    let c = parse(&listed, &[]).unwrap();
    c.validate().unwrap();
    assert!(c.authorizer_keys().unwrap().is_none());
    let c = parse(&listed.replace("enabled: false", "enabled: true"), &[]).unwrap();
    c.validate().unwrap();
    let keys = c.authorizer_keys().unwrap().unwrap();
    assert_eq!(keys[0].0, "ops");
    // The same id twice.
    let twice = listed.replace("enabled: false", "enabled: true").replace(
        &format!("keys: [{{id: ops, kind: p256, public_key: {key}}}]"),
        &format!(
            "keys: [{{id: ops, kind: p256, public_key: {key}}}, {{id: ops, kind: p256, public_key: {key}}}]"
        ),
    );
    let e = err_text(parse(&twice, &[]));
    assert!(e.contains("`authorizers.keys[1].id`"), "{e}");
}

#[test]
fn storage_secret_sources_are_exclusive() {
    let base = minimal_yaml().replace(
        "storage: {dir: /tmp/x}",
        "storage: {dir: /tmp/x, password_file: /a, key_file: /b}",
    );
    let e = err_text(parse(&base, &[]));
    assert!(e.contains("`storage`"), "{e}");
    // The environment can unset one of them.
    let c = parse(&base, &[("TESSERA_STORAGE_PASSWORD_FILE", "")]).unwrap();
    c.validate().unwrap();
    assert!(c.storage.password_file.is_none());
}

#[test]
fn one_nats_credential_and_tls_files_that_fit() {
    let two = minimal_yaml() + "nats: {url: 'nats://h:4222', token_file: /t, nkey_seed_file: /s}\n";
    let e = err_text(parse(&two, &[]));
    assert!(e.contains("only one nats credential"), "{e}");
    let e = err_text(parse(&minimal_yaml(), &[("TESSERA_NATS_USER", "node0")]));
    assert!(e.contains("nats.password_file"), "{e}");
    let c = parse(
        &minimal_yaml(),
        &[
            ("TESSERA_NATS_USER", "node0"),
            ("TESSERA_NATS_PASSWORD_FILE", "/run/secrets/nats"),
            ("TESSERA_NATS_TLS_CA_FILE", "/run/ca.pem"),
        ],
    )
    .unwrap();
    c.validate().unwrap();
    let access = c.nats.access().unwrap();
    assert!(matches!(
        access.auth,
        tessera_transport::NatsAuth::UserPassword { ref user, .. } if user == "node0"
    ));
    assert_eq!(
        access.tls.ca_file.as_deref(),
        Some(Path::new("/run/ca.pem"))
    );
    let e = err_text(parse(
        &minimal_yaml(),
        &[("TESSERA_NATS_URL", "nats://node0:hunter2@h:4222")],
    ));
    assert!(e.contains("nats.url") && !e.contains("hunter2"), "{e}");
}

#[test]
fn consul_tls_needs_https_and_jetstream_settings_are_checked() {
    let e = err_text(parse(
        &minimal_yaml(),
        &[("TESSERA_CONSUL_TLS_CA_FILE", "/ca.pem")],
    ));
    assert!(e.contains("https://"), "{e}");
    let c = parse(
        &minimal_yaml(),
        &[
            ("TESSERA_CONSUL_ADDR", "https://127.0.0.1:8501"),
            ("TESSERA_CONSUL_TLS_CA_FILE", "/ca.pem"),
            ("TESSERA_JETSTREAM_REPLICAS", "3"),
            ("TESSERA_LIMITS_MAX_REQUEST_AGE", "90s"),
        ],
    )
    .unwrap();
    c.validate().unwrap();
    assert_eq!(c.jetstream.settings().unwrap().replicas, 3);
    assert_eq!(c.limits.max_request_age, Duration::from_secs(90));
    let e = err_text(parse(
        &minimal_yaml(),
        &[("TESSERA_JETSTREAM_REPLICAS", "7")],
    ));
    assert!(e.contains("jetstream") && e.contains("replicas"), "{e}");
}
