//! Logs: `tracing` to stderr, as text or JSON lines. The filter is `RUST_LOG`
//! when set, else `log.level` from the configuration (`TESSERA_LOG_LEVEL`).
//! Nothing secret is ever a field: secrets live in `Secret` types whose
//! `Debug` and `Display` print `<redacted>`.

use std::io::IsTerminal;

use anyhow::Context;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber (once per process).
pub fn init(level: &str, format: LogFormat) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => EnvFilter::builder()
            .parse(&v)
            .context("RUST_LOG is not a log filter")?,
        _ => EnvFilter::builder()
            .parse(level)
            .context("log.level is not a log filter")?,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, not in files or collectors.
        .with_ansi(std::io::stderr().is_terminal());
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))
}
