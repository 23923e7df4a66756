//! A locked-down server checks who connects: the server's certificate must be
//! trusted, the password right, and with `verify` the client certificate too.

mod nats_support;

use std::time::Duration;

use nats_support::{connect, locked_down, options, security, WAIT};
use tessera_testkit::{Nats, NatsServerTls, TestCa};

async fn try_connect(
    options: async_nats::ConnectOptions,
    url: &str,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    tokio::time::timeout(WAIT, options.connect(url))
        .await
        .expect("connect answers in time")
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_ca_cannot_connect() {
    let (_ca, nats) = locked_down().await;
    assert!(nats.url().starts_with("tls://127.0.0.1:"), "{}", nats.url());
    let file = nats.password_file("app").expect("password file");
    // Without the CA: the system roots do not know it.
    let err = try_connect(options(None, "app", file).require_tls(true), &nats.url())
        .await
        .expect_err("untrusted server certificate");
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
    // Another CA.
    let other = TestCa::new("other ca").expect("ca");
    let err = try_connect(options(Some(other.ca_file()), "app", file), &nats.url())
        .await
        .expect_err("certificate from another ca");
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
    // With it.
    let mut app = connect(&nats, "app").await;
    app.alive().await;
}

#[tokio::test]
async fn a_wrong_password_is_an_authorization_violation() {
    let (_ca, nats) = locked_down().await;
    let ca = nats.tls().expect("tls").ca_file.clone();
    let wrong = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(wrong.path(), "not-the-password").expect("write");
    for (user, file) in [("app", wrong.path()), ("nobody", wrong.path())] {
        let err = try_connect(options(Some(&ca), user, file), &nats.url())
            .await
            .expect_err("refused");
        assert_eq!(
            err.kind(),
            async_nats::ConnectErrorKind::AuthorizationViolation,
            "{err}"
        );
        assert!(err.to_string().contains("authorization violation"), "{err}");
    }
    // The node's password is not the client's.
    let node_file = nats.password_file("node0").expect("node password");
    let err = try_connect(options(Some(&ca), "app", node_file), &nats.url())
        .await
        .expect_err("refused");
    assert_eq!(
        err.kind(),
        async_nats::ConnectErrorKind::AuthorizationViolation
    );
}

#[tokio::test]
async fn with_verify_a_client_certificate_is_required() {
    let mut ca = TestCa::new("nats test ca").expect("ca");
    let tls = NatsServerTls {
        verify: true,
        ..NatsServerTls::from_ca(&mut ca).expect("server cert")
    };
    let nats = Nats::start_secure(security(Some(tls)))
        .await
        .expect("secure nats starts");
    let file = nats.password_file("node0").expect("password file");
    let without = options(Some(ca.ca_file()), "node0", file);
    assert!(try_connect(without, &nats.url()).await.is_err());
    let cert = ca.client("node0").expect("client cert");
    let with = options(Some(ca.ca_file()), "node0", file)
        .add_client_certificate(cert.cert, cert.key)
        .request_timeout(Some(Duration::from_secs(5)));
    let client = try_connect(with, &nats.url()).await.expect("connects");
    client
        .request("$JS.API.INFO", "".into())
        .await
        .expect("account info");
}

#[tokio::test]
async fn a_secured_server_without_tls_still_checks_passwords() {
    let nats = Nats::start_secure(security(None))
        .await
        .expect("nats starts");
    assert!(nats.url().starts_with("nats://"), "{}", nats.url());
    let mut node = connect(&nats, "node0").await;
    node.alive().await;
    let err = try_connect(async_nats::ConnectOptions::new(), &nats.url())
        .await
        .expect_err("anonymous is refused");
    assert_eq!(
        err.kind(),
        async_nats::ConnectErrorKind::AuthorizationViolation
    );
}
