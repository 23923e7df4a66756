//! `tessera keygen | sign | bench`: client commands. They will publish signed
//! requests through the client SDK (`tessera-client`) and wait for results;
//! until that is connected they refuse to run rather than pretend.

use anyhow::bail;

use crate::cli::{BenchArgs, KeygenArgs, SignArgs};

fn not_wired(command: &str) -> anyhow::Result<()> {
    bail!(
        "`tessera {command}` is not wired yet: it needs the client SDK (tessera-client), \
         which this build does not connect; nothing was sent"
    )
}

pub async fn keygen(_args: &KeygenArgs) -> anyhow::Result<()> {
    not_wired("keygen")
}

pub async fn sign(_args: &SignArgs) -> anyhow::Result<()> {
    not_wired("sign")
}

pub async fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    if args.requests == 0 || args.concurrency == 0 {
        bail!("-n and -c must be at least 1");
    }
    not_wired("bench")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[tokio::test]
    async fn client_commands_say_they_are_not_wired() {
        let cli = Cli::try_parse_from(["tessera", "keygen", "--initiator-key-file", "k"]).unwrap();
        let Command::Keygen(args) = cli.command else {
            panic!("not keygen")
        };
        let e = keygen(&args).await.unwrap_err().to_string();
        assert!(e.contains("not wired yet"), "{e}");
    }
}
