//! Fills a node's key store with copies of one wallet's keys, for the
//! 10,000-wallet figures of docs/performance.md: store size on disk per
//! wallet and a node's memory with that many wallets stored.
//!
//! ```sh
//! cargo run --release -p tessera-node --example store_fill -- \
//!   --storage-dir .state/bench/cluster/data/node0 \
//!   --key-file .state/bench/cluster/storage.key --wallet <wallet> --copies 10000
//! ```
//!
//! Each copy is the wallet's metadata and share bytes under the wallet id
//! `<wallet>-copy-<i>`, written with the store's own `put_key` (sealed at rest
//! as any keygen's share). The copies are for measuring size only: a share
//! names the wallet it was made for, so a copy does not sign. Run it on a
//! stopped node (the store is locked while a node has it open).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Parser;
use tessera_security::AtRestKey;
use tessera_storage::Store;
use tessera_types::{KeyType, WalletId};

#[derive(Parser)]
struct Args {
    /// The node's storage.dir.
    #[arg(long)]
    storage_dir: PathBuf,
    /// The node's storage.key_file.
    #[arg(long)]
    key_file: PathBuf,
    /// The wallet whose keys are copied.
    #[arg(long)]
    wallet: String,
    /// How many copies to write.
    #[arg(long, default_value_t = 10_000)]
    copies: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let key = AtRestKey::from_key_file(&args.key_file).context("--key-file")?;
    let store = Store::open(&args.storage_dir, key).context("cannot open the store")?;
    let wallet = WalletId::new(args.wallet.clone())?;
    let mut keys = Vec::new();
    for key_type in [KeyType::Secp256k1, KeyType::Ed25519] {
        let Some(meta) = store.get_metadata(&wallet, key_type)? else {
            continue;
        };
        let share = store
            .get_share(&wallet, key_type)?
            .context("metadata without share")?;
        println!(
            "{key_type}: share {} bytes (plaintext), {} participants",
            share.plaintext.expose().len(),
            meta.participants.len()
        );
        keys.push((meta, share));
    }
    if keys.is_empty() {
        bail!("wallet {} has no keys in this store", args.wallet);
    }
    let file = args.storage_dir.join("tessera.redb");
    let size_before = std::fs::metadata(&file)?.len();
    let started = Instant::now();
    for i in 0..args.copies {
        let copy = WalletId::new(format!("{}-copy-{i}", args.wallet))?;
        for (meta, share) in &keys {
            let mut meta = meta.clone();
            meta.wallet_id = copy.clone();
            store.put_key(&meta, share.plaintext.expose())?;
        }
    }
    let size_after = std::fs::metadata(&file)?.len();
    // redb grows its file ahead of use; compaction gives back what is free.
    store.compact()?;
    drop(store);
    let compacted = std::fs::metadata(&file)?.len();
    let per_wallet =
        |size: u64| size.saturating_sub(size_before) as f64 / args.copies.max(1) as f64;
    println!(
        "wrote {} wallets ({} keys) in {:.1} s; tessera.redb {} -> {} bytes ({:.0} per wallet), {} bytes after compaction ({:.0} per wallet)",
        args.copies,
        args.copies * keys.len(),
        started.elapsed().as_secs_f64(),
        size_before,
        size_after,
        per_wallet(size_after),
        compacted,
        per_wallet(compacted),
    );
    Ok(())
}
