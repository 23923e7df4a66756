//! `tessera reshare | refresh`: client commands over the SDK, like `keygen` and
//! `sign` (`client_cmds`). `reshare` moves one of a wallet's keys to a node set
//! and threshold (optionally making lost shares anew: `--replace`); `refresh`
//! reshares to the same nodes and threshold (new shares, same key), for one key
//! type or both, one after the other. Each prints the result and fails (exit
//! status non-zero) on an error result.

use std::time::Instant;

use anyhow::anyhow;
use tessera_client::{Client, ReshareRequest, ReshareResult};

use crate::cli::{ClientArgs, RefreshArgs, ReshareArgs};
use crate::commands::client_cmds::{connect, waited};

pub async fn reshare(args: &ReshareArgs) -> anyhow::Result<()> {
    let client = connect(&args.client).await?;
    run(&client, args.request(), &args.client).await
}

pub async fn refresh(args: &RefreshArgs) -> anyhow::Result<()> {
    let client = connect(&args.client).await?;
    for key_type in args.key_types() {
        run(&client, args.request(key_type), &args.client).await?;
    }
    Ok(())
}

/// Sends one reshare request, prints its result; an error result is an `Err`.
async fn run(client: &Client, req: ReshareRequest, args: &ClientArgs) -> anyhow::Result<()> {
    let (wallet, key_type) = (req.wallet_id.clone(), req.key_type);
    let (nodes, threshold) = (req.node_ids.join(","), req.new_threshold);
    let started = Instant::now();
    let result = client
        .reshare(req)
        .await
        .map_err(|e| waited(e, args.timeout))?;
    let took = started.elapsed();
    let result = result
        .into_result()
        .map_err(|e| anyhow!("reshare of {wallet} ({}) failed: {e}", key_type.as_str()))?;
    print!("{}", describe(&result, &nodes, threshold));
    println!("took:        {:.0} ms", took.as_secs_f64() * 1000.0);
    Ok(())
}

/// A successful result, one `name: value` line each (as `tessera keygen`).
fn describe(result: &ReshareResult, nodes: &str, threshold: u16) -> String {
    let key = result.pub_key().map(hex::encode).unwrap_or_default();
    format!(
        "wallet:      {}\nkey_type:    {}\nsession_id:  {}\nnodes:       {nodes}\nthreshold:   {threshold} ({} signers)\npublic_key:  {key}\n",
        result.wallet_id(),
        result.key_type().as_str(),
        result.session_id,
        u32::from(threshold) + 1,
    )
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use tessera_client::KeyType;
    use tessera_types::{ResharingResultEvent, Threshold};

    use super::*;
    use crate::cli::{Cli, Command};

    fn parse(argv: &[&str]) -> Result<Command, clap::Error> {
        let mut full = vec!["tessera", argv[0], "--initiator-key-file", "i"];
        full.extend_from_slice(&argv[1..]);
        Cli::try_parse_from(full).map(|c| c.command)
    }

    #[test]
    fn reshare_takes_nodes_threshold_and_a_replace_list() {
        let Command::Reshare(r) = parse(&[
            "reshare",
            "--wallet",
            "w1",
            "--key-type",
            "secp256k1",
            "--nodes",
            "node0,node1,node2",
            "--threshold",
            "1",
            "--replace",
            "node2",
            "--session-id",
            "s1",
            "--timeout",
            "5m",
        ])
        .unwrap() else {
            panic!("not reshare")
        };
        let req = r.request();
        assert_eq!(req.wallet_id, "w1");
        assert_eq!(req.key_type, KeyType::Secp256k1);
        assert_eq!(req.node_ids, ["node0", "node1", "node2"]);
        assert_eq!(req.new_threshold, 1);
        assert_eq!(req.replace, ["node2"]);
        assert_eq!(req.session_id.as_deref(), Some("s1"));
        assert_eq!(r.client.timeout, std::time::Duration::from_secs(300));

        let Command::Reshare(r) = parse(&[
            "reshare",
            "--wallet",
            "w1",
            "--key-type",
            "ed25519",
            "--nodes",
            "node0",
            "--nodes",
            "node3",
            "--threshold",
            "1",
        ])
        .unwrap() else {
            panic!("not reshare")
        };
        let req = r.request();
        assert_eq!(req.node_ids, ["node0", "node3"]);
        assert!(req.replace.is_empty() && req.session_id.is_none());
    }

    #[test]
    fn reshare_needs_wallet_key_type_nodes_and_threshold() {
        let full = [
            "reshare",
            "--wallet",
            "w1",
            "--key-type",
            "ed25519",
            "--nodes",
            "a,b",
            "--threshold",
            "1",
        ];
        assert!(parse(&full).is_ok());
        for drop in [1, 3, 5, 7] {
            let mut argv = full.to_vec();
            argv.drain(drop..drop + 2);
            assert!(parse(&argv).is_err(), "{argv:?}");
        }
        let mut bad = full.to_vec();
        bad[4] = "rsa";
        assert!(parse(&bad).is_err());
        bad = full.to_vec();
        bad[8] = "-1";
        assert!(parse(&bad).is_err());
    }

    #[test]
    fn refresh_defaults_to_both_keys_one_after_the_other() {
        let Command::Refresh(r) = parse(&[
            "refresh",
            "--wallet",
            "w1",
            "--nodes",
            "node0,node1,node2",
            "--threshold",
            "1",
        ])
        .unwrap() else {
            panic!("not refresh")
        };
        assert_eq!(r.key_types(), [KeyType::Secp256k1, KeyType::Ed25519]);
        let req = r.request(KeyType::Ed25519);
        assert_eq!(req.key_type, KeyType::Ed25519);
        assert_eq!(req.node_ids, ["node0", "node1", "node2"]);
        assert_eq!(req.new_threshold, 1);
        assert!(req.replace.is_empty() && req.session_id.is_none());

        let Command::Refresh(r) = parse(&[
            "refresh",
            "--wallet",
            "w1",
            "--key-type",
            "ed25519",
            "--nodes",
            "a,b",
            "--threshold",
            "1",
        ])
        .unwrap() else {
            panic!("not refresh")
        };
        assert_eq!(r.key_types(), [KeyType::Ed25519]);
        // Refresh changes nothing but the shares: no replace list, no nodes flag missing.
        assert!(parse(&[
            "refresh",
            "--wallet",
            "w1",
            "--nodes",
            "a,b",
            "--threshold",
            "1",
            "--replace",
            "a"
        ])
        .is_err());
        assert!(parse(&["refresh", "--wallet", "w1", "--threshold", "1"]).is_err());
    }

    #[test]
    fn a_result_prints_the_unchanged_key() {
        let result = ReshareResult::new(
            "s1",
            ResharingResultEvent::success("w1", Threshold(1), KeyType::Ed25519, vec![0xab; 32]),
        );
        let text = describe(&result, "node0,node1,node2", 1);
        assert!(text.contains("wallet:      w1\n"), "{text}");
        assert!(text.contains("key_type:    ed25519\n"), "{text}");
        assert!(text.contains("session_id:  s1\n"), "{text}");
        assert!(text.contains("threshold:   1 (2 signers)\n"), "{text}");
        assert!(
            text.contains(&format!("public_key:  {}\n", "ab".repeat(32))),
            "{text}"
        );
    }
}
