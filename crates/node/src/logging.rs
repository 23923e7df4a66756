//! Logs: `tracing` to stderr, as text or JSON lines. The filter is `RUST_LOG`
//! when set, else `log.level` from the configuration (`TESSERA_LOG_LEVEL`).
//! Nothing secret is ever a field: secrets live in `Secret` types whose
//! `Debug` and `Display` print `<redacted>`.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};

/// Whether the installed logger writes JSON lines (see [`is_json`]).
static JSON: AtomicBool = AtomicBool::new(false);

/// True once a JSON logger is installed: the fatal error is then logged
/// as a JSON line too (see [`crate::fatal`]).
pub fn is_json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// Installs the logger as the config file at `path` asks (with `TESSERA_*`
/// overrides), before the rest of the config is checked, so that a config
/// error is reported in the configured format. A file that cannot be read or
/// parsed, or a bad `log.level`, falls back to text at `info`; loading the
/// config for real reports those.
pub fn init_from_file(path: &Path) -> anyhow::Result<()> {
    let (level, format) = match Config::load(path) {
        Ok((c, _)) => (c.log.level, c.log.format),
        Err(_) => ("info".to_string(), LogFormat::Text),
    };
    let level = if EnvFilter::builder().parse(&level).is_ok() {
        level
    } else {
        "info".to_string()
    };
    init(&level, format)
}

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
    installed.map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))?;
    JSON.store(format == LogFormat::Json, Ordering::Relaxed);
    Ok(())
}
