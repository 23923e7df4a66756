//! The `tessera` binary: a node's configuration, its wiring (identity, NATS,
//! key store, Consul readiness, the session runtime and the request consumers),
//! health endpoints, signal handling, and the operator subcommands.
//! `main.rs` only parses the command line and calls [`run`]; everything else is
//! here so it can be tested.
//!
//! Modules:
//! - [`cli`]: the command line (clap).
//! - [`config`]: `config.yaml` types, defaults and validation.
//! - [`config_error`]: `ConfigError`, naming the key or variable at fault.
//! - [`env`](mod@env): `TESSERA_*` environment overrides.
//! - [`duration`]: `"10s"`-style durations.
//! - [`secrets`]: reading secret files (passphrases, passwords, tokens).
//! - [`retry`]: waiting for NATS and Consul at start-up (capped, jittered backoff).
//! - [`keystore`]: the key store's directory and at-rest secret, as `start` opens it.
//! - [`roster`]: the cluster's identities from the config (`peers`).
//! - [`logging`]: the tracing subscriber (text or JSON).
//! - [`fatal`]: the error that ends the process, in the configured log format.
//! - [`start`]: `tessera start`, wiring the node together.
//! - [`health`]: `/healthz`, `/readyz` and `/metrics`; [`metrics`]: the Prometheus exporter.
//! - [`audit`]: the hash-chained audit log.
//! - [`shutdown`]: signals and the shutdown order.
//! - [`commands`]: `config check`, `backup`, `restore`, `identity`, `initiator`,
//!   `peers`, `cluster status`, `bans`, `audit verify` and the client commands.

pub mod audit;
pub mod cli;
pub mod commands;
pub mod config;
pub mod config_error;
pub mod duration;
pub mod env;
pub mod fatal;
pub mod health;
pub mod keystore;
pub mod logging;
pub mod metrics;
pub mod no_core_dumps;
pub mod retry;
pub mod roster;
pub mod secrets;
pub mod shutdown;
pub mod start;

use std::io::Write;

use tessera_security::KdfParams;

use crate::cli::{
    AuditCommand, BansCommand, Cli, ClusterCommand, Command, ConfigCommand, IdentityCommand,
    InitiatorCommand, PeersCommand,
};
use crate::config::Config;

/// An error and its causes on one line. Many errors here and in the other
/// crates already include their cause's text, so a cause whose text is already
/// shown is skipped rather than printed twice.
pub fn render_error(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Runs one command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match cli.command {
        Command::Start(args) => {
            drop(stdout);
            start::run(args).await
        }
        Command::Config(ConfigCommand::Check(args)) => {
            // Logs nothing: the report is the output, the error the exit status.
            commands::config_check::run(&args, &mut stdout).await?;
            Ok(())
        }
        Command::Cluster(ClusterCommand::Status { config, consul }) => {
            let (mut c, _) = Config::load(&config.config)?;
            consul.apply(&mut c);
            c.validate()?;
            logging::init(&c.log.level, c.log.format)?;
            commands::cluster::status(&c, &mut stdout).await
        }
        Command::Backup(args) => commands::backup::run_backup(&args, &mut stdout).await,
        Command::Restore(args) => commands::backup::run_restore(&args, &mut stdout).await,
        Command::Identity(IdentityCommand::Generate {
            node_id,
            out,
            passphrase_file,
        }) => {
            let pub_path = commands::identity::generate(
                &node_id,
                &out,
                passphrase_file.as_deref(),
                KdfParams::default(),
                &mut stdout,
            )?;
            eprintln!(
                "wrote {} (private, mode 0600) and {} (public: copy it into the other nodes' peers.dir)",
                out.display(),
                pub_path.display()
            );
            Ok(())
        }
        Command::Initiator(InitiatorCommand::Generate {
            kind,
            out,
            mpcium_seed_file,
        }) => {
            commands::initiator::generate(kind, &out, mpcium_seed_file.as_deref(), &mut stdout)?;
            stdout.flush()?;
            eprintln!(
                "wrote {} (private, mode 0600); put the public key above in config.yaml as \
                 initiator: {{kind: {kind}, public_key: <hex>}} or TESSERA_INITIATOR_PUBLIC_KEY",
                out.display()
            );
            if let Some(seed) = &mpcium_seed_file {
                eprintln!(
                    "wrote {} (private, mode 0600): the same key as mpcium's clients read it",
                    seed.display()
                );
            }
            Ok(())
        }
        Command::Peers(PeersCommand::Register {
            config,
            identity,
            consul,
        }) => {
            let (mut c, _) = Config::load(&config.config)?;
            identity.apply(&mut c);
            consul.apply(&mut c);
            c.validate()?;
            logging::init(&c.log.level, c.log.format)?;
            commands::peers::register(&c, &mut stdout).await
        }
        Command::Peers(PeersCommand::List { config, consul }) => {
            let (mut c, _) = Config::load(&config.config)?;
            consul.apply(&mut c);
            c.validate()?;
            logging::init(&c.log.level, c.log.format)?;
            commands::peers::list(&c, &mut stdout).await
        }
        Command::Bans(cmd) => {
            let (BansCommand::List { config } | BansCommand::Clear { config, .. }) = &cmd;
            // Only `node_id`, `storage.dir` and `log` matter here: no secret is read.
            let (c, _) = Config::load(&config.config)?;
            logging::init(&c.log.level, c.log.format)?;
            match &cmd {
                BansCommand::List { .. } => {
                    commands::bans::list(&c.node_id, &c.storage.dir, &mut stdout)
                }
                BansCommand::Clear { party, .. } => {
                    commands::bans::clear(&c.node_id, &c.storage.dir, party, &mut stdout)
                }
            }
        }
        Command::Audit(AuditCommand::Verify { files }) => commands::audit::run(&files, &mut stdout),
        Command::Keygen(args) => commands::client_cmds::keygen(&args).await,
        Command::Sign(args) => commands::client_cmds::sign(&args).await,
        Command::Reshare(args) => commands::reshare_cmds::reshare(&args).await,
        Command::Refresh(args) => commands::reshare_cmds::refresh(&args).await,
        Command::Bench(args) => commands::bench::bench(&args).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_error_skips_repeated_causes() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::new(crate::config::ConfigError::Read {
            path: "c.yaml".into(),
            source: io,
        })
        .context("cannot start");
        assert_eq!(
            render_error(&e),
            "cannot start: cannot read config file c.yaml: no such file"
        );
    }
}
