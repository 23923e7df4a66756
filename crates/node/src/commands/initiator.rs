//! `tessera initiator generate` and the initiator key file.
//!
//! An initiator key signs client requests; the nodes only hold its public half
//! (`initiator.public_key` in config.yaml). The private file is JSON, mode 0600,
//! written atomically and never overwritten:
//!
//! ```json
//! {"format":"tessera-initiator-key","version":1,"kind":"ed25519",
//!  "secret_key":"<hex: ed25519 seed or p256 scalar, 32 bytes>",
//!  "public_key":"<hex: as in config.yaml>"}
//! ```

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use tessera_security::private_file::{read_private, write_private, Overwrite};
use tessera_security::{InitiatorKey, InitiatorKeyKind, InitiatorSigner, Secret, SecretBytes};

const FORMAT: &str = "tessera-initiator-key";
const VERSION: u32 = 1;
const MAX_FILE_LEN: u64 = 16 * 1024;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    format: String,
    version: u32,
    kind: InitiatorKeyKind,
    secret_key: String,
    public_key: String,
}

/// Writes a new key to `out`; prints the public key hex (one line) to `stdout`.
pub fn generate(
    kind: InitiatorKeyKind,
    out: &Path,
    stdout: &mut impl Write,
) -> anyhow::Result<InitiatorKey> {
    let signer = InitiatorSigner::generate(kind);
    let public = signer.public();
    let secret_hex = Secret::new(hex::encode(signer.secret_bytes().as_slice()));
    let file = KeyFile {
        format: FORMAT.into(),
        version: VERSION,
        kind,
        secret_key: secret_hex.expose().clone(),
        public_key: public.to_hex(),
    };
    let mut json = SecretBytes::new(Vec::with_capacity(1024));
    serde_json::to_writer_pretty(json.expose_mut(), &file)?;
    // The struct's copy of the secret hex is wiped here.
    drop(Secret::new(file.secret_key));
    json.expose_mut().push(b'\n');
    write_private(out, json.as_slice(), Overwrite::Refuse)
        .with_context(|| format!("cannot write initiator key {}", out.display()))?;
    writeln!(stdout, "{}", public.to_hex())?;
    Ok(public)
}

/// Loads an initiator key file, checking that its public key matches the secret.
pub fn load(path: &Path) -> anyhow::Result<InitiatorSigner> {
    let bytes = read_private(path, MAX_FILE_LEN)?;
    let file: KeyFile = serde_json::from_slice(bytes.as_slice())
        .map_err(|_| anyhow::anyhow!("{} is not an initiator key file", path.display()))?;
    let secret_hex = Secret::new(file.secret_key);
    if file.format != FORMAT || file.version != VERSION {
        bail!(
            "{} is not a version {VERSION} initiator key file",
            path.display()
        );
    }
    let secret = SecretBytes::new(
        hex::decode(secret_hex.expose())
            .map_err(|_| anyhow::anyhow!("{}: secret_key is not hex", path.display()))?,
    );
    let signer = InitiatorSigner::from_secret_bytes(file.kind, secret.as_slice())
        .with_context(|| format!("{}: secret_key", path.display()))?;
    if signer.public().to_hex() != file.public_key.trim().to_ascii_lowercase() {
        bail!("{}: public_key does not match secret_key", path.display());
    }
    Ok(signer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generate_prints_a_key_config_accepts_and_the_file_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        for kind in [InitiatorKeyKind::Ed25519, InitiatorKeyKind::P256] {
            let out = dir.path().join(format!("{kind}.key"));
            let mut printed = Vec::new();
            let public = generate(kind, &out, &mut printed).unwrap();
            let line = String::from_utf8(printed).unwrap();
            let parsed = InitiatorKey::from_hex(kind, line.trim()).unwrap();
            assert_eq!(parsed, public);
            let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let signer = load(&out).unwrap();
            assert_eq!(signer.public(), public);
            let sig = signer.sign(b"request");
            parsed.verify(b"request", &sig).unwrap();
            assert!(
                generate(kind, &out, &mut Vec::new()).is_err(),
                "never overwrites"
            );
        }
    }

    #[test]
    fn load_refuses_a_mismatched_public_key() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k");
        generate(InitiatorKeyKind::Ed25519, &out, &mut Vec::new()).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        let other = InitiatorSigner::generate(InitiatorKeyKind::Ed25519)
            .public()
            .to_hex();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let edited = text.replace(v["public_key"].as_str().unwrap(), &other);
        std::fs::remove_file(&out).unwrap();
        write_private(&out, edited.as_bytes(), Overwrite::Refuse).unwrap();
        let e = load(&out).err().unwrap().to_string();
        assert!(e.contains("does not match"), "{e}");
    }
}
