//! `tessera`: see the `tessera_node` library for everything it does.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tessera_node::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(tessera_node::run(cli));
    // Blocking work (a storage call) must not hold the exit forever.
    runtime.shutdown_timeout(Duration::from_secs(5));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // In the configured log format (a JSON line with `log.format: json`).
            tessera_node::fatal::report(&e);
            ExitCode::FAILURE
        }
    }
}
