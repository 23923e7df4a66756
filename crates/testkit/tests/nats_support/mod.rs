//! Connecting to a locked-down test server as one of its users, and watching
//! what the server refuses.

#![allow(dead_code)] // each test file uses a part

pub mod setup;

use std::path::Path;
use std::time::Duration;

use async_nats::jetstream;
use futures::StreamExt;
use tessera_testkit::{Nats, NatsSecurity, NatsServerTls, NatsUser, TestCa};
use tokio::sync::mpsc;

/// Every wait in these tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(10);

/// Client id of the client user `app` (with a `-`, which consumer names turn into `_`).
pub const APP_ID: &str = "app-1";
pub const TENANT_ID: &str = "device-7";

/// A CA, and a server with users in every role: `node0` and `node1` (nodes),
/// `app` (client with ClientID [`APP_ID`]), `other` (client `app-2`), `device`
/// (tenant [`TENANT_ID`]).
pub async fn locked_down() -> (TestCa, Nats) {
    let mut ca = TestCa::new("nats test ca").expect("ca");
    let tls = NatsServerTls::from_ca(&mut ca).expect("server cert");
    let nats = Nats::start_secure(security(Some(tls)))
        .await
        .expect("secure nats starts");
    (ca, nats)
}

pub fn security(tls: Option<NatsServerTls>) -> NatsSecurity {
    NatsSecurity::new(tls)
        .user(NatsUser::node("node0", "node0-secret"))
        .user(NatsUser::node("node1", "node1-secret"))
        .user(NatsUser::client("app", "app-secret", Some(APP_ID)))
        .user(NatsUser::client("other", "other-secret", Some("app-2")))
        .user(NatsUser::tenant("device", "device-secret", TENANT_ID))
}

/// A connection and the errors the server sent it.
pub struct Conn {
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    errors: mpsc::UnboundedReceiver<String>,
    /// For users without JetStream: a subject of their own to publish to and
    /// hear back from.
    echo: Option<(String, async_nats::Subscriber)>,
}

/// The subject a user without JetStream confirms round trips on.
fn echo_subject(user: &str) -> Option<String> {
    (user == "device").then(|| format!("tessera.node.{TENANT_ID}.control"))
}

/// Options for `user` as the product builds them: the password read from the
/// harness's file, the CA from the server's TLS settings, short request timeouts.
pub fn options(ca: Option<&Path>, user: &str, password_file: &Path) -> async_nats::ConnectOptions {
    let password = std::fs::read_to_string(password_file).expect("password file");
    let mut options = async_nats::ConnectOptions::with_user_and_password(user.into(), password)
        .request_timeout(Some(Duration::from_secs(2)))
        .connection_timeout(Duration::from_secs(5));
    if let Some(ca) = ca {
        options = options
            .add_root_certificates(ca.to_path_buf())
            .require_tls(true);
    }
    options
}

/// The servers of `urls` (comma-separated, as the product takes them).
pub fn addrs(urls: &str) -> Vec<async_nats::ServerAddr> {
    urls.split(',')
        .map(|u| u.trim().parse().expect("server url"))
        .collect()
}

/// Connects to `url` as `user`, collecting the server's errors.
pub async fn connect_to(url: &str, ca: Option<&Path>, user: &str, password_file: &Path) -> Conn {
    let (tx, errors) = mpsc::unbounded_channel();
    let client = options(ca, user, password_file)
        .event_callback(move |event| {
            let tx = tx.clone();
            async move {
                if let async_nats::Event::ServerError(e) = event {
                    let _ = tx.send(e.to_string());
                }
            }
        })
        .connect(addrs(url))
        .await
        .unwrap_or_else(|e| panic!("{user} connects: {e}"));
    let js = jetstream::new(client.clone());
    let echo = match echo_subject(user) {
        Some(subject) => {
            let sub = client.subscribe(subject.clone()).await.expect("subscribe");
            Some((subject, sub))
        }
        None => None,
    };
    Conn {
        client,
        js,
        errors,
        echo,
    }
}

/// Connects to `nats` as `user`.
pub async fn connect(nats: &Nats, user: &str) -> Conn {
    let file = nats.password_file(user).expect("a password user");
    let ca = nats.tls().map(|t| t.ca_file.clone());
    connect_to(&nats.url(), ca.as_deref(), user, file).await
}

impl Conn {
    /// Waits for the server's permissions violation for `what` (`Publish to`
    /// or `Subscription to`) `subject`, then checks the connection still works.
    pub async fn refused(&mut self, what: &str, subject: &str) {
        let wanted = format!("permissions violation for {what} \"{subject}\"").to_lowercase();
        let found = tokio::time::timeout(WAIT, async {
            while let Some(e) = self.errors.recv().await {
                if e.to_lowercase().contains(&wanted) {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(found, Ok(true), "no violation for {what} {subject}");
        self.alive().await;
    }

    /// Waits for the refusal of a publish to `subject`.
    pub async fn refused_publish(&mut self, subject: &str) {
        self.refused("publish to", subject).await;
    }

    /// The connection is up and the server answers a round trip, so it has
    /// processed everything sent before (a flush only says it was written).
    pub async fn alive(&mut self) {
        let round_trip = async {
            match self.echo.as_mut() {
                None => {
                    self.client
                        .request("$JS.API.INFO", "".into())
                        .await
                        .expect("account info answered");
                }
                Some((subject, sub)) => {
                    let nonce = self.client.new_inbox();
                    self.client
                        .publish(subject.clone(), nonce.clone().into())
                        .await
                        .expect("echo queued");
                    while let Some(msg) = sub.next().await {
                        if msg.payload == nonce.as_bytes() {
                            return;
                        }
                    }
                    panic!("echo subscription ended");
                }
            }
        };
        tokio::time::timeout(WAIT, round_trip)
            .await
            .expect("round trip in time");
        assert_eq!(
            self.client.connection_state(),
            async_nats::connection::State::Connected
        );
    }

    /// Publishes `subject` (core NATS).
    pub async fn publish(&self, subject: &str) {
        self.client
            .publish(subject.to_string(), "x".into())
            .await
            .expect("publish queued");
    }

    /// No further server error arrived within a short while (after a flush).
    pub async fn no_errors(&mut self) {
        self.alive().await;
        assert!(self.errors.try_recv().is_err(), "unexpected server error");
    }
}
