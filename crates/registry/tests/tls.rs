//! Consul over HTTPS with a private CA: readiness works with the CA (and a client
//! certificate when Consul requires one); a wrong CA, a missing or foreign client
//! certificate and a plain port fail with clear, typed errors; the token stays
//! out of every `Debug` output.

mod common;

use std::time::Duration;

use common::{init_tracing, node, prefix, within};
use tessera_registry::{
    ConsulTls, ConsulToken, Registry, RegistryConfig, RegistryError, TlsProblem,
};
use tessera_testkit::{CertFiles, Consul, TestCa};
use tessera_types::ErrorCode;

const TTL: Duration = Duration::from_secs(2);

async fn tls_consul(ca: &mut TestCa, require_client_cert: bool) -> Consul {
    init_tracing();
    let start = async {
        if require_client_cert {
            Consul::start_mtls(ca).await
        } else {
            Consul::start_tls(ca).await
        }
    };
    within(60, start).await.expect("consul starts with tls")
}

fn config(addr: &str, p: &str, name: &str, tls: ConsulTls) -> RegistryConfig {
    let mut c = RegistryConfig::new(addr, p, node(name));
    c.ttl = TTL;
    c.request_timeout = Duration::from_secs(2);
    c.tls = tls;
    c
}

fn trust(ca: &TestCa) -> ConsulTls {
    ConsulTls {
        ca_file: Some(ca.ca_file().to_path_buf()),
        ..ConsulTls::default()
    }
}

fn with_cert(ca: &TestCa, cert: CertFiles) -> ConsulTls {
    ConsulTls {
        cert_file: Some(cert.cert),
        key_file: Some(cert.key),
        ..trust(ca)
    }
}

/// Starts a registry and waits until it sees itself ready.
async fn ready(config: RegistryConfig) -> Registry {
    let me = config.node_id.clone();
    let r = within(15, Registry::start(config))
        .await
        .expect("registry starts over https");
    let seen = r
        .wait_until(|v| v.contains(&me), Duration::from_secs(5))
        .await;
    assert!(seen.is_some(), "{me} not ready: {:?}", r.ready_nodes());
    r
}

/// Starting fails with a TLS error; returns it.
async fn tls_failure(config: RegistryConfig, want: TlsProblem) -> RegistryError {
    let err = within(15, Registry::start(config)).await.unwrap_err();
    eprintln!("{want:?}: {err}");
    match &err {
        RegistryError::Tls { problem, .. } => assert_eq!(*problem, want, "{err}"),
        other => panic!("expected a tls error, got: {other}"),
    }
    assert_eq!(err.code(), ErrorCode::InvalidConfiguration);
    assert!(!err.is_transient());
    err
}

#[tokio::test]
async fn ready_over_https_with_the_private_ca() {
    let mut ca = TestCa::new("tessera test ca").unwrap();
    let consul = tls_consul(&mut ca, false).await;
    let p = prefix("tls");
    let mut c = config(&consul.https_addr(), &p, "node-a", trust(&ca));
    c.token = Some(ConsulToken::new("tok-3f1e-secret".to_string()));
    let a = ready(c).await;
    assert!(a.consul().base_url().starts_with("https://"));
    assert!(a.are_majority_ready(0));

    // A second node (watch-only) sees it; then shutdown removes the key at once.
    let mut observer = config(&consul.https_addr(), &p, "observer", trust(&ca));
    observer.publish_ready = false;
    let o = within(15, Registry::start(observer)).await.unwrap();
    let seen = o
        .wait_until(|v| v.contains(&node("node-a")), Duration::from_secs(5))
        .await;
    assert!(seen.is_some());
    within(10, a.shutdown()).await;
    let gone = o.wait_until(|v| v.is_empty(), Duration::from_secs(5)).await;
    assert!(gone.is_some(), "{:?}", o.ready_nodes());
    within(10, o.shutdown()).await;
}

#[tokio::test]
async fn client_certificate_when_consul_requires_one() {
    let mut ca = TestCa::new("tessera test ca").unwrap();
    let consul = tls_consul(&mut ca, true).await;
    assert!(consul.requires_client_cert());
    let p = prefix("mtls");
    let cert = ca.client("node-a").unwrap();
    let a = ready(config(
        &consul.https_addr(),
        &p,
        "node-a",
        with_cert(&ca, cert),
    ))
    .await;

    // Without a client certificate: refused, and the error says what is missing.
    let err = tls_failure(
        config(&consul.https_addr(), &p, "node-b", trust(&ca)),
        TlsProblem::ClientCertificateRequired,
    )
    .await;
    let text = err.to_string();
    assert!(text.contains("requires a client certificate"), "{text}");
    assert!(text.contains("tls.cert_file"), "{text}");

    // A certificate from another CA: refused as such.
    let mut other = TestCa::new("other ca").unwrap();
    let foreign = other.client("node-b").unwrap();
    let err = tls_failure(
        config(&consul.https_addr(), &p, "node-b", with_cert(&ca, foreign)),
        TlsProblem::ClientCertificateRefused,
    )
    .await;
    assert!(
        err.to_string().contains("refused the client certificate"),
        "{err}"
    );

    // The node with a certificate is unaffected.
    assert!(a.is_ready(&node("node-a")));
    within(10, a.shutdown()).await;
}

#[tokio::test]
async fn untrusted_server_certificate_fails_clearly() {
    let mut ca = TestCa::new("tessera test ca").unwrap();
    let consul = tls_consul(&mut ca, false).await;
    let p = prefix("untrusted");
    let other = TestCa::new("other ca").unwrap();
    for tls in [trust(&other), ConsulTls::default()] {
        let err = tls_failure(
            config(&consul.https_addr(), &p, "node-a", tls),
            TlsProblem::CertificateNotTrusted,
        )
        .await;
        let text = err.to_string();
        assert!(text.contains("tls: certificate not trusted"), "{text}");
        assert!(text.contains("session create"), "{text}");
    }
}

#[tokio::test]
async fn plain_port_and_plain_address_are_refused() {
    init_tracing();
    let plain = within(60, Consul::start()).await.unwrap();
    let ca = TestCa::new("tessera test ca").unwrap();
    let p = prefix("plain");
    // https:// to a port that speaks plain HTTP.
    let https_to_plain = plain.http_addr().replace("http://", "https://");
    let err = tls_failure(
        config(&https_to_plain, &p, "node-a", trust(&ca)),
        TlsProblem::NotTls,
    )
    .await;
    assert!(err.to_string().contains("https port"), "{err}");

    // TLS settings with an http:// address: refused before connecting.
    let err = within(
        5,
        Registry::start(config(&plain.http_addr(), &p, "node-a", trust(&ca))),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RegistryError::InvalidConfig { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("consul tls settings need an https:// address"),
        "{err}"
    );
}

#[tokio::test]
async fn bad_tls_files_fail_before_connecting() {
    let mut ca = TestCa::new("tessera test ca").unwrap();
    let a = ca.client("a").unwrap();
    let b = ca.client("b").unwrap();
    let addr = "https://127.0.0.1:1";
    let p = prefix("files");

    // A certificate with another certificate's key.
    let mismatched = ConsulTls {
        cert_file: Some(a.cert.clone()),
        key_file: Some(b.key.clone()),
        ..trust(&ca)
    };
    let err = within(5, Registry::start(config(addr, &p, "n", mismatched)))
        .await
        .unwrap_err();
    eprintln!("mismatched key: {err}");
    assert!(matches!(err, RegistryError::InvalidConfig { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("tls.key_file is not the key of tls.cert_file"),
        "{err}"
    );
    assert_eq!(err.code(), ErrorCode::InvalidConfiguration, "{err}");

    // A missing CA file: named with its setting.
    let missing = ca.dir().join("missing-ca.pem");
    let tls = ConsulTls {
        ca_file: Some(missing.clone()),
        ..ConsulTls::default()
    };
    let err = within(5, Registry::start(config(addr, &p, "n", tls)))
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::TlsFile { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("consul tls.ca_file"), "{text}");
    assert!(text.contains(&missing.display().to_string()), "{text}");

    // Only one of cert_file and key_file.
    let half = ConsulTls {
        cert_file: Some(a.cert),
        ..trust(&ca)
    };
    let err = within(5, Registry::start(config(addr, &p, "n", half)))
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::InvalidConfig { .. }), "{err}");
}

#[tokio::test]
async fn token_is_redacted_everywhere() {
    let mut ca = TestCa::new("tessera test ca").unwrap();
    let consul = tls_consul(&mut ca, false).await;
    let secret = "tok-9a7c-never-print-me";
    let mut c = config(&consul.https_addr(), &prefix("token"), "node-a", trust(&ca));
    c.token = Some(ConsulToken::new(secret.to_string()));
    let texts = [
        format!("{:?}", c.token),
        format!("{}", c.token.as_ref().unwrap()),
        format!("{c:?}"),
    ];
    let r = ready(c).await;
    for text in texts
        .iter()
        .chain([&format!("{r:?}"), &format!("{:?}", r.consul())])
    {
        assert!(!text.contains(secret), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }
    within(10, r.shutdown()).await;
}
