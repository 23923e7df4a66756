//! `tessera identity generate`: a new node identity (Ed25519 signing key and
//! X25519 agreement key) in a 0600 file, optionally sealed with a passphrase,
//! and its public document `<out>.pub.json` for the other nodes' `peers.dir`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use tessera_security::{KdfParams, KeyProtection, NodeIdentity};
use tessera_types::NodeId;

use crate::secrets::read_secret_file;

/// Writes the identity; prints the public document to `out_doc`. Returns the
/// public document's path.
pub fn generate(
    node_id: &str,
    out: &Path,
    passphrase_file: Option<&Path>,
    params: KdfParams,
    out_doc: &mut impl Write,
) -> anyhow::Result<PathBuf> {
    let node_id = NodeId::new(node_id).context("--node-id")?;
    let passphrase = passphrase_file
        .map(|p| read_secret_file("identity passphrase", p))
        .transpose()?;
    let protection = match &passphrase {
        Some(p) => KeyProtection::Passphrase {
            passphrase: p.as_slice(),
            params,
        },
        None => KeyProtection::Plain,
    };
    let identity = NodeIdentity::generate(node_id);
    let pub_path = identity
        .save(out, protection)
        .with_context(|| format!("cannot write identity file {}", out.display()))?;
    let doc = serde_json::to_string_pretty(&identity.public())?;
    writeln!(out_doc, "{doc}")?;
    Ok(pub_path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use tessera_security::identity_file::read_public_document;
    use tessera_types::PublicIdentity;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn generate_writes_private_and_public_files_that_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("node0.key");
        let mut printed = Vec::new();
        let pub_path = generate(
            "node0",
            &out,
            None,
            KdfParams::insecure_for_tests(),
            &mut printed,
        )
        .unwrap();
        assert_eq!(mode(&out), 0o600);
        assert_eq!(pub_path, dir.path().join("node0.key.pub.json"));
        let loaded = NodeIdentity::load(&out, None).unwrap();
        let doc = read_public_document(&pub_path).unwrap();
        assert_eq!(loaded.public(), doc);
        let shown: PublicIdentity = serde_json::from_slice(&printed).unwrap();
        assert_eq!(shown, doc);
        // Never overwritten.
        let again = generate(
            "node0",
            &out,
            None,
            KdfParams::insecure_for_tests(),
            &mut Vec::new(),
        );
        assert!(again.is_err());
    }

    #[test]
    fn generate_with_a_passphrase_seals_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let pass = dir.path().join("pass");
        std::fs::write(&pass, "correct horse\n").unwrap();
        std::fs::set_permissions(&pass, std::fs::Permissions::from_mode(0o600)).unwrap();
        let out = dir.path().join("node1.key");
        generate(
            "node1",
            &out,
            Some(&pass),
            KdfParams::insecure_for_tests(),
            &mut Vec::new(),
        )
        .unwrap();
        assert_eq!(mode(&out), 0o600);
        assert!(NodeIdentity::load(&out, None).is_err());
        let id = NodeIdentity::load(&out, Some(b"correct horse")).unwrap();
        assert_eq!(id.node_id().as_str(), "node1");
    }

    #[test]
    fn a_bad_node_id_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = generate(
            "node.0",
            &dir.path().join("x"),
            None,
            KdfParams::insecure_for_tests(),
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("--node-id"));
    }
}
