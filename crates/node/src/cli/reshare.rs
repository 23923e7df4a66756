//! The arguments of `tessera reshare` and `tessera refresh` (run in
//! `commands::reshare_cmds`) and the requests they stand for.

use clap::Args;
use tessera_client::{KeyType, ReshareRequest};

use super::{ClientArgs, KeyTypeArg};

#[derive(Debug, Args)]
pub struct ReshareArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// The wallet whose key is reshared.
    #[arg(long)]
    pub wallet: String,
    /// Which of the wallet's keys is reshared.
    #[arg(long, value_enum)]
    pub key_type: KeyTypeArg,
    /// The nodes that hold the key afterwards (node ids, comma separated or repeated).
    #[arg(long, value_delimiter = ',', required = true)]
    pub nodes: Vec<String>,
    /// mpcium's threshold t of the new key: t+1 of --nodes are needed to sign.
    #[arg(long)]
    pub threshold: u16,
    /// Nodes of --nodes whose share was lost (a new identity, an empty key
    /// store): their shares are made anew (comma separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub replace: Vec<String>,
    /// The request's session id (one NATS subject token); a new random one if omitted.
    #[arg(long)]
    pub session_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct RefreshArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// The wallet whose keys are refreshed.
    #[arg(long)]
    pub wallet: String,
    /// Refresh only this key; both (secp256k1, then ed25519) if omitted.
    #[arg(long, value_enum)]
    pub key_type: Option<KeyTypeArg>,
    /// The nodes that hold the key now (node ids, comma separated or repeated).
    #[arg(long, value_delimiter = ',', required = true)]
    pub nodes: Vec<String>,
    /// The key's threshold t (mpcium's: t+1 of --nodes sign), unchanged.
    #[arg(long)]
    pub threshold: u16,
}

impl ReshareArgs {
    pub fn request(&self) -> ReshareRequest {
        ReshareRequest {
            wallet_id: self.wallet.clone(),
            key_type: self.key_type.into(),
            node_ids: self.nodes.clone(),
            new_threshold: self.threshold,
            session_id: self.session_id.clone(),
            replace: self.replace.clone(),
        }
    }
}

impl RefreshArgs {
    /// The keys to refresh, in order.
    pub fn key_types(&self) -> Vec<KeyType> {
        match self.key_type {
            Some(k) => vec![k.into()],
            None => vec![KeyType::Secp256k1, KeyType::Ed25519],
        }
    }

    /// The reshare request refreshing `key_type` (same nodes and threshold).
    pub fn request(&self, key_type: KeyType) -> ReshareRequest {
        ReshareRequest {
            wallet_id: self.wallet.clone(),
            key_type,
            node_ids: self.nodes.clone(),
            new_threshold: self.threshold,
            session_id: None,
            replace: Vec::new(),
        }
    }
}
