//! Operator subcommands other than `start`.
//!
//! - [`audit`]: `tessera audit verify` (the audit log's hash chain).
//! - [`backup`]: `tessera backup | restore` (the key store to an encrypted file and back).
//! - [`bans`]: `tessera bans list | clear` (parties this node runs no session with).
//! - [`identity`]: `tessera identity generate`.
//! - [`initiator`]: `tessera initiator generate` and the initiator key file format.
//! - [`peers`]: `tessera peers register | list` (Consul, hints only).
//! - [`client_cmds`]: `tessera keygen | sign | bench` (client side; not wired yet).

pub mod audit;
pub mod backup;
pub mod bans;
pub mod client_cmds;
pub mod identity;
pub mod initiator;
pub mod peers;
