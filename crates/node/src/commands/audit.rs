//! `tessera audit verify FILE...`: checks an audit chain (see `crate::audit`).
//! Files are one chain in the order given (oldest first: `audit.jsonl.2
//! audit.jsonl.1 audit.jsonl`). Exit status 0 when it holds; otherwise the
//! error names the first broken file and line.

use std::io::Write;
use std::path::PathBuf;

use crate::audit::line::GENESIS;
use crate::audit::verify::verify;

pub fn run(files: &[PathBuf], out: &mut impl Write) -> anyhow::Result<()> {
    let intact = verify(files)?;
    let start = if intact.starts_after == GENESIS {
        "from the first line ever written".to_string()
    } else {
        format!(
            "continuing an earlier file (first prev {})",
            intact.starts_after
        )
    };
    writeln!(out, "audit chain intact: {} lines, {start}", intact.lines)?;
    Ok(())
}
