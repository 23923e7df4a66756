//! `tessera peers register | list`: this node's public identity in Consul
//! (`<consul.prefix>/peers/<node_id>`). Consul is a hint only: nodes trust the
//! identities in their own configuration, and `list` shows where the two differ.

use std::io::Write;

use anyhow::{bail, Context};
use tessera_registry::config::DEFAULT_REQUEST_TIMEOUT;
use tessera_registry::{peers, ConsulClient, KeyLayout};
use tessera_security::identity_file::{public_document_path, read_public_document};
use tessera_security::NodeIdentity;
use tessera_types::PublicIdentity;

use crate::config::Config;
use crate::roster;
use crate::secrets::read_secret_file;

pub(crate) fn consul(config: &Config) -> anyhow::Result<(ConsulClient, KeyLayout)> {
    let client = ConsulClient::new(
        &config.consul.addr,
        config.consul.token()?,
        &config.consul.tls(),
        DEFAULT_REQUEST_TIMEOUT,
    )?;
    let keys = KeyLayout::new(&config.consul.prefix)?;
    Ok((client, keys))
}

/// This node's public identity: its `.pub.json` if present, else derived from
/// the private file (which may need the passphrase).
pub fn own_identity(config: &Config) -> anyhow::Result<PublicIdentity> {
    let file = &config.identity.file;
    let doc = public_document_path(file);
    let public = if doc.exists() {
        read_public_document(&doc)?
    } else {
        let pass = config
            .identity
            .passphrase_file
            .as_deref()
            .map(|p| read_secret_file("identity passphrase", p))
            .transpose()?;
        NodeIdentity::load(file, pass.as_ref().map(|p| p.as_slice()))
            .with_context(|| format!("identity.file {}", file.display()))?
            .public()
    };
    if public.node_id != config.node_id {
        bail!(
            "identity file {} is for {}, but node_id is {}",
            file.display(),
            public.node_id,
            config.node_id
        );
    }
    Ok(public)
}

pub async fn register(config: &Config, out: &mut impl Write) -> anyhow::Result<()> {
    let identity = own_identity(config)?;
    let (client, keys) = consul(config)?;
    peers::register_peer(&client, &keys, &identity)
        .await
        .context("cannot publish the identity to consul")?;
    writeln!(
        out,
        "published {} at {}",
        identity.node_id,
        keys.peer_key(&identity.node_id)
    )?;
    Ok(())
}

pub async fn list(config: &Config, out: &mut impl Write) -> anyhow::Result<()> {
    let (client, keys) = consul(config)?;
    let published = peers::list_peers(&client, &keys)
        .await
        .context("cannot list peers in consul")?;
    let configured = roster::configured(config)?;
    for p in &published {
        let status = match configured.get(&p.node_id) {
            Some((c, _)) if c == p => "matches-config",
            Some(_) => "DIFFERS-FROM-CONFIG",
            None => "not-in-config",
        };
        writeln!(
            out,
            "{}\t{status}\tsigning_key={}\tagreement_key={}",
            p.node_id,
            hex::encode(p.signing_key),
            hex::encode(p.agreement_key)
        )?;
    }
    for (node, _) in configured
        .iter()
        .filter(|(n, _)| !published.iter().any(|p| &&p.node_id == n))
    {
        writeln!(out, "{node}\tnot-published")?;
    }
    Ok(())
}
