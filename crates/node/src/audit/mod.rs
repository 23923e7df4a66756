//! The audit log: one JSON line per operation and outcome on this node
//! (`tessera_eventconsumer::audit::AuditEvent`), in a file of its own.
//!
//! Tamper-evident: every line carries `seq` (one more than the line before)
//! and `prev`, the SHA-256 (hex) of the line before it as written (without
//! its newline). Editing, removing or inserting a line breaks the next line's
//! `prev`; `tessera audit verify` names the first broken line. The chain
//! continues across restarts and rotated files: the first line of a new file
//! links to the last line of the previous one. The last line of the newest
//! file is covered once the next line is written: ship the file off the
//! machine (a log collector) to keep the tail too.
//!
//! - [`line`]: the line format and the chain hash.
//! - [`file`]: [`FileAudit`], the writer (append, rotation by size).
//! - [`verify`]: checking a chain.

pub mod file;
pub mod line;
pub mod verify;

pub use file::FileAudit;
