//! The NATS and Consul a test cluster runs on: one nats-server or a
//! three-server NATS cluster, open or locked down like production (the
//! reference permissions of `deploy/nats/`, one credential per node and per
//! client, TLS with a private CA; Consul over HTTPS with the same CA).

use std::path::{Path, PathBuf};

use tessera_testkit::nats_security::{NatsSecurity, NatsServerTls, NatsUser};
use tessera_testkit::{Consul, Nats, NatsCluster, TestCa, TestkitError};
use tessera_transport::{NatsAccess, NatsAuth, NatsTls};

/// The NATS of a test cluster.
#[derive(Debug)]
pub enum NatsUnderTest {
    One(Nats),
    Three(NatsCluster),
}

impl NatsUnderTest {
    /// The URL(s) nodes and clients connect to.
    pub fn url(&self) -> String {
        match self {
            NatsUnderTest::One(n) => n.url(),
            NatsUnderTest::Three(c) => c.urls(),
        }
    }

    /// Kills the (single) server.
    pub fn kill(&mut self) {
        self.one().kill()
    }

    /// Starts the (single) server again on its port and store.
    pub async fn restart(&mut self) -> Result<(), TestkitError> {
        self.one().restart().await
    }

    pub fn one(&mut self) -> &mut Nats {
        match self {
            NatsUnderTest::One(n) => n,
            NatsUnderTest::Three(_) => panic!("this test cluster runs three nats-servers"),
        }
    }

    pub fn three(&mut self) -> &mut NatsCluster {
        match self {
            NatsUnderTest::Three(c) => c,
            NatsUnderTest::One(_) => panic!("this test cluster runs one nats-server"),
        }
    }

    fn password_file(&self, user: &str) -> Option<&Path> {
        match self {
            NatsUnderTest::One(n) => n.password_file(user),
            NatsUnderTest::Three(c) => c.password_file(user),
        }
    }
}

/// Credentials and the CA of a locked-down test cluster.
#[derive(Debug)]
pub struct Locked {
    /// The private CA of NATS's and Consul's certificates.
    pub ca: TestCa,
    /// The CA file clients trust.
    pub ca_file: PathBuf,
}

/// The NATS user name of node `id` and of a client.
pub fn node_user(id: &str) -> String {
    format!("user-{id}")
}

pub fn client_user(client_id: Option<&str>) -> String {
    format!("client-{}", client_id.unwrap_or("default"))
}

pub fn tenant_user(tenant_id: &str) -> String {
    format!("tenant-{tenant_id}")
}

/// Starts NATS (1 or 3 servers) and Consul, locked down when `options.locked`:
/// a user per node in `nodes`, per client id (plus the client without an id)
/// and per tenant id, TLS everywhere.
pub async fn start(
    options: &super::ClusterOptions,
    nodes: &[String],
) -> (NatsUnderTest, Consul, Option<Locked>) {
    let servers = options.nats_servers;
    if !options.locked {
        let nats = match servers {
            1 => NatsUnderTest::One(Nats::start().await.expect("nats-server starts")),
            _ => NatsUnderTest::Three(NatsCluster::start().await.expect("nats cluster starts")),
        };
        let consul = Consul::start().await.expect("consul starts");
        return (nats, consul, None);
    }
    let mut ca = TestCa::new("tessera test ca").expect("test ca");
    let tls = NatsServerTls::from_ca(&mut ca).expect("nats certificate");
    let mut security = NatsSecurity::new(Some(tls));
    for id in nodes {
        security = security.user(NatsUser::node(&node_user(id), &random_secret()));
    }
    let mut ids: Vec<Option<&str>> = vec![None];
    ids.extend(options.clients.iter().map(|c| Some(c.as_str())));
    for cid in ids {
        security = security.user(NatsUser::client(&client_user(cid), &random_secret(), cid));
    }
    for tid in &options.tenants {
        security = security.user(NatsUser::tenant(&tenant_user(tid), &random_secret(), tid));
    }
    let nats = match servers {
        1 => NatsUnderTest::One(
            Nats::start_secure(security)
                .await
                .expect("secured nats-server starts"),
        ),
        _ => NatsUnderTest::Three(
            NatsCluster::start_secure(security)
                .await
                .expect("secured nats cluster starts"),
        ),
    };
    let consul = Consul::start_tls(&mut ca)
        .await
        .expect("consul over https starts");
    let ca_file = ca.ca_file().to_path_buf();
    (nats, consul, Some(Locked { ca, ca_file }))
}

impl Locked {
    /// What `user` needs to connect: its password file and the CA.
    pub fn access(&self, nats: &NatsUnderTest, user: &str) -> NatsAccess {
        let password_file = nats
            .password_file(user)
            .unwrap_or_else(|| panic!("no nats user {user}"))
            .to_path_buf();
        NatsAccess {
            url: nats.url(),
            auth: NatsAuth::UserPassword {
                user: user.to_string(),
                password_file,
            },
            tls: NatsTls {
                ca_file: Some(self.ca_file.clone()),
                ..NatsTls::default()
            },
        }
    }
}

fn random_secret() -> String {
    use rand_core::{OsRng, RngCore};
    let mut b = [0u8; 24];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}
