//! A node's transport authenticating to a locked-down nats-server (the
//! reference permissions of `deploy/nats/`) in each way `NatsAccess` offers
//! that a server configuration file supports: an nkey seed file, a user and
//! password file, and a TLS client certificate on a server that verifies
//! clients. A wrong credential is refused with a clear error that never
//! contains the secret.

mod common;

use common::{identity, WAIT};
use tessera_testkit::certs::write_private;
use tessera_testkit::nats_security::{NatsSecurity, NatsServerTls, NatsUser};
use tessera_testkit::{Nats, TestCa};
use tessera_transport::{
    NatsAccess, NatsAuth, NatsTls, Transport, TransportError, TransportOptions,
};

async fn connect(access: &NatsAccess, name: &str) -> Result<Transport, TransportError> {
    tokio::time::timeout(
        WAIT,
        Transport::connect_with(access, identity(name), TransportOptions::default()),
    )
    .await
    .expect("connect answers in time")
}

#[tokio::test]
async fn nodes_authenticate_with_an_nkey_seed_or_a_password_over_verified_tls() {
    let mut ca = TestCa::new("transport test ca").unwrap();
    let mut tls = NatsServerTls::from_ca(&mut ca).unwrap();
    tls.verify = true;
    let nkey = nkeys::KeyPair::new_user();
    let security = NatsSecurity::new(Some(tls))
        .user(NatsUser::node_nkey("node-a", &nkey.public_key()))
        .user(NatsUser::node("node-b", "b-password-73"));
    let nats = Nats::start_secure(security).await.unwrap();
    let client_cert = ca.client("node").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tls = NatsTls {
        ca_file: Some(ca.ca_file().to_path_buf()),
        cert_file: Some(client_cert.cert.clone()),
        key_file: Some(client_cert.key.clone()),
        require: true,
    };

    // An nkey seed file.
    let seed = dir.path().join("node-a.nk");
    write_private(&seed, &nkey.seed().unwrap()).unwrap();
    let a = NatsAccess {
        url: nats.url(),
        auth: NatsAuth::NkeySeedFile(seed),
        tls: tls.clone(),
    };
    let ta = connect(&a, "a").await.expect("nkey user connects");
    assert!(ta.is_connected());

    // A user and password file.
    let b = NatsAccess {
        url: nats.url(),
        auth: NatsAuth::UserPassword {
            user: "node-b".into(),
            password_file: nats.password_file("node-b").unwrap().to_path_buf(),
        },
        tls: tls.clone(),
    };
    let tb = connect(&b, "b").await.expect("password user connects");
    assert!(tb.is_connected());

    // A wrong password: refused, final, and the password is not in the text.
    let wrong = dir.path().join("wrong");
    write_private(&wrong, "not-b-password-19").unwrap();
    let bad = NatsAccess {
        auth: NatsAuth::UserPassword {
            user: "node-b".into(),
            password_file: wrong,
        },
        ..b.clone()
    };
    let e = connect(&bad, "b").await.unwrap_err();
    let text = e.to_string();
    assert!(text.contains("authorization violation"), "{text}");
    assert!(!text.contains("not-b-password-19"), "{text}");
    assert!(!e.is_transient(), "a refused credential is not retried");

    // No client certificate on a server that verifies clients: refused, final.
    let no_cert = NatsAccess {
        tls: NatsTls {
            cert_file: None,
            key_file: None,
            ..tls.clone()
        },
        ..b.clone()
    };
    let e = connect(&no_cert, "b").await.unwrap_err();
    assert!(!e.is_transient(), "{e}");

    // A server certificate from another CA: refused, final, says tls.
    let other = TestCa::new("another ca").unwrap();
    let untrusting = NatsAccess {
        tls: NatsTls {
            ca_file: Some(other.ca_file().to_path_buf()),
            ..tls
        },
        ..b
    };
    let e = connect(&untrusting, "b").await.unwrap_err();
    assert!(e.to_string().contains("tls failed"), "{e}");
    assert!(!e.is_transient(), "{e}");
}
