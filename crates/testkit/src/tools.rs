//! Where the service binaries come from: `$TESSERA_TOOLS_DIR`, the project's
//! `.tools/bin`, then `PATH`.

use std::path::{Path, PathBuf};

use crate::TestkitError;

/// The command that installs the tools into `.tools/bin` on a fresh Debian machine.
pub const INSTALL_COMMAND: &str = "make setup   (runs scripts/install-tools.sh)";

/// The project's tools folder: `<workspace>/.tools/bin`.
pub fn project_tools_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TESSERA_TOOLS_DIR") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.tools/bin")
        .components()
        .collect()
}

/// Finds `name` in the project's tools folder or on `PATH`.
pub fn find(name: &str) -> Result<PathBuf, TestkitError> {
    let local = project_tools_dir().join(name);
    if is_executable(&local) {
        return Ok(local);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if is_executable(&candidate) {
                return Ok(candidate);
            }
        }
    }
    Err(TestkitError::Missing {
        name: name.to_string(),
        install: INSTALL_COMMAND.to_string(),
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}
