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
//!
//! For mpcium's clients (Go `pkg/client` `LocalSigner`, TypeScript
//! `@fystack/mpcium-ts` `MpciumClient.create({keyPath})`), an Ed25519 key can
//! also be written as the file they read: the 32-byte seed as 64 lower-case hex
//! digits, no newline (as `mpcium-cli generate-initiator` writes it; both
//! clients trim whitespace), mode 0600.

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

/// Writes a new key to `out` (and, when given, its seed to `mpcium_seed` in
/// mpcium's hex format); prints the public key hex (one line) to `stdout`.
/// Neither file is ever overwritten.
pub fn generate(
    kind: InitiatorKeyKind,
    out: &Path,
    mpcium_seed: Option<&Path>,
    stdout: &mut impl Write,
) -> anyhow::Result<InitiatorKey> {
    if let Some(seed_path) = mpcium_seed {
        if kind != InitiatorKeyKind::Ed25519 {
            bail!("--mpcium-seed-file is for ed25519 keys only (mpcium's clients read p256 keys differently)");
        }
        // Checked before anything is written, so a refusal leaves no half pair.
        if seed_path.exists() {
            bail!(
                "{} already exists; refusing to overwrite a key file",
                seed_path.display()
            );
        }
    }
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
    if let Some(seed_path) = mpcium_seed {
        // Hex of the seed, no newline: byte for byte what mpcium-cli writes.
        let written = write_private(seed_path, secret_hex.expose().as_bytes(), Overwrite::Refuse);
        if let Err(e) = written {
            // Not one file of the pair without the other.
            let _ = std::fs::remove_file(out);
            return Err(e)
                .with_context(|| format!("cannot write mpcium seed file {}", seed_path.display()));
        }
    }
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
            let public = generate(kind, &out, None, &mut printed).unwrap();
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
                generate(kind, &out, None, &mut Vec::new()).is_err(),
                "never overwrites"
            );
        }
    }

    #[test]
    fn load_refuses_a_mismatched_public_key() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k");
        generate(InitiatorKeyKind::Ed25519, &out, None, &mut Vec::new()).unwrap();
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

    #[test]
    fn the_mpcium_seed_file_is_the_hex_seed_mpcium_clients_sign_with() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("initiator.key");
        let seed_path = dir.path().join("event_initiator.key");
        let mut printed = Vec::new();
        let public = generate(
            InitiatorKeyKind::Ed25519,
            &out,
            Some(&seed_path),
            &mut printed,
        )
        .unwrap();
        let mode = std::fs::metadata(&seed_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // What mpcium's clients do with it: trim, hex-decode, Ed25519 from the seed.
        let text = std::fs::read_to_string(&seed_path).unwrap();
        assert_eq!(text.len(), 64, "64 hex digits, no newline: {text:?}");
        assert!(text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        let seed: [u8; 32] = hex::decode(text.trim()).unwrap().try_into().unwrap();
        let client = ed25519_dalek::SigningKey::from_bytes(&seed);
        let printed = String::from_utf8(printed).unwrap();
        assert_eq!(
            hex::encode(client.verifying_key().as_bytes()),
            printed.trim()
        );
        // A request the mpcium client signs verifies under the configured key,
        // and it is the same key Tessera's own key file holds.
        use ed25519_dalek::Signer;
        let sig = client.sign(b"wallet-1").to_bytes();
        public.verify(b"wallet-1", &sig).unwrap();
        assert_eq!(load(&out).unwrap().public(), public);
    }

    #[test]
    fn the_mpcium_seed_file_is_never_overwritten_and_is_ed25519_only() {
        let dir = tempfile::tempdir().unwrap();
        let seed_path = dir.path().join("seed.hex");
        std::fs::write(&seed_path, "old").unwrap();
        let out = dir.path().join("a.key");
        let e = generate(
            InitiatorKeyKind::Ed25519,
            &out,
            Some(&seed_path),
            &mut Vec::new(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("already exists"), "{e}");
        assert!(!out.exists(), "no key file without its seed file");
        assert_eq!(std::fs::read_to_string(&seed_path).unwrap(), "old");
        let p256 = dir.path().join("p.key");
        let other = dir.path().join("p.seed");
        let e = generate(InitiatorKeyKind::P256, &p256, Some(&other), &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("ed25519"), "{e}");
        assert!(!p256.exists() && !other.exists());
    }
}
