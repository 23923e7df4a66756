//! Operator subcommands other than `start`.
//!
//! - [`audit`]: `tessera audit verify` (the audit log's hash chain).
//! - [`backup`]: `tessera backup | restore` (the key store to an encrypted file and back).
//! - [`bans`]: `tessera bans list | clear` (parties this node runs no session with).
//! - [`identity`]: `tessera identity generate`.
//! - [`initiator`]: `tessera initiator generate` and the initiator key file format.
//! - [`peers`]: `tessera peers register | list` (Consul, hints only).
//! - [`client_cmds`]: `tessera keygen | sign` (client side, over the SDK).
//! - [`reshare_cmds`]: `tessera reshare | refresh` (client side, over the SDK).
//! - [`bench`]: `tessera bench` (signing load, progress, every signature verified).
//! - [`latency`]: bench's percentiles and latency histogram.
//! - [`scrape`]: bench's reading of the nodes' `/metrics` (CPU, phases).
//! - [`config_check`]: `tessera config check` (a config and its files, nothing started).
//! - [`cluster`]: `tessera cluster status` (ready nodes and identities in Consul).

pub mod audit;
pub mod backup;
pub mod bans;
pub mod bench;
pub mod client_cmds;
pub mod cluster;
pub mod config_check;
pub mod identity;
pub mod initiator;
pub mod latency;
pub mod peers;
pub mod reshare_cmds;
pub mod scrape;
