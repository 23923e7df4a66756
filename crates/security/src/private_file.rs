//! Files that hold private keys.
//!
//! Writes are atomic (a temporary file in the same directory, synced, then
//! renamed over the target) so a crash never leaves a half-written key, and the
//! file is created with mode 0600 so it is never readable by others, not even
//! for a moment. Reads refuse a file that group or others can access, like
//! `ssh` does, because such a key must be assumed copied.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore};

use tessera_types::ErrorCode;

use crate::secret::SecretBytes;

/// Why a key file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PrivateFileError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} already exists; refusing to overwrite a key file", path.display())]
    AlreadyExists { path: PathBuf },
    #[error(
        "{} is accessible by group or others (mode {mode:03o}); restrict it with chmod 600",
        path.display()
    )]
    InsecurePermissions { path: PathBuf, mode: u32 },
    #[error("{} is larger than {max} bytes", path.display())]
    TooLarge { path: PathBuf, max: u64 },
}

impl PrivateFileError {
    pub fn code(&self) -> ErrorCode {
        match self {
            PrivateFileError::Read { .. } => ErrorCode::KeyLoad,
            PrivateFileError::Write { .. } => ErrorCode::KeySave,
            PrivateFileError::AlreadyExists { .. } => ErrorCode::KeyAlreadyExists,
            PrivateFileError::InsecurePermissions { .. } => ErrorCode::InvalidConfiguration,
            PrivateFileError::TooLarge { .. } => ErrorCode::KeyDecoding,
        }
    }
}

/// Whether an existing file at the target may be replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overwrite {
    Refuse,
    Allow,
}

/// Writes `bytes` to `path` atomically with mode 0600.
pub fn write_private(
    path: &Path,
    bytes: &[u8],
    overwrite: Overwrite,
) -> Result<(), PrivateFileError> {
    write_atomic(path, bytes, 0o600, overwrite)
}

/// Writes a public document (mode 0644) atomically, replacing any old one.
pub fn write_public(path: &Path, bytes: &[u8]) -> Result<(), PrivateFileError> {
    write_atomic(path, bytes, 0o644, Overwrite::Allow)
}

/// Reads a private file of at most `max_len` bytes, refusing it if group or
/// others have any access (unix only; elsewhere permissions are not checked).
pub fn read_private(path: &Path, max_len: u64) -> Result<SecretBytes, PrivateFileError> {
    let read_err = |source| PrivateFileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(read_err)?;
    // Check the opened handle, not the path, so the file cannot be swapped in between.
    let meta = file.metadata().map_err(read_err)?;
    check_permissions(path, &meta)?;
    if meta.len() > max_len {
        return Err(PrivateFileError::TooLarge {
            path: path.to_path_buf(),
            max: max_len,
        });
    }
    let cap = usize::try_from(meta.len()).unwrap_or(0);
    let mut buf = SecretBytes::new(Vec::with_capacity(cap));
    // `take` bounds a file that grows after the length check; a growing file may
    // reallocate the buffer and leave an unwiped copy, which we accept for that odd case.
    file.take(max_len + 1)
        .read_to_end(buf.expose_mut())
        .map_err(read_err)?;
    if buf.len() as u64 > max_len {
        return Err(PrivateFileError::TooLarge {
            path: path.to_path_buf(),
            max: max_len,
        });
    }
    Ok(buf)
}

#[cfg(unix)]
fn check_permissions(path: &Path, meta: &fs::Metadata) -> Result<(), PrivateFileError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(PrivateFileError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path, _meta: &fs::Metadata) -> Result<(), PrivateFileError> {
    Ok(())
}

fn write_atomic(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    overwrite: Overwrite,
) -> Result<(), PrivateFileError> {
    let write_err = |source| PrivateFileError::Write {
        path: path.to_path_buf(),
        source,
    };
    if overwrite == Overwrite::Refuse && fs::symlink_metadata(path).is_ok() {
        return Err(PrivateFileError::AlreadyExists {
            path: path.to_path_buf(),
        });
    }
    let name = path.file_name().ok_or_else(|| {
        write_err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "path has no file name",
        ))
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{:016x}", OsRng.next_u64()));
    let tmp = dir.join(tmp_name);

    let result = write_new_file(&tmp, bytes, mode).and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = result {
        // Best effort: the temporary file is ours and useless now.
        let _ = fs::remove_file(&tmp);
        return Err(write_err(e));
    }
    sync_dir(&dir);
    Ok(())
}

fn write_new_file(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = opts.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes the rename durable. Best effort: some filesystems cannot sync a directory.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
pub(crate) mod test_dir {
    //! A temporary directory for file tests, removed on drop.
    use std::path::{Path, PathBuf};

    use rand_core::{OsRng, RngCore};

    #[derive(Debug)]
    pub struct TestDir(PathBuf);

    impl TestDir {
        pub fn new() -> Self {
            let p = std::env::temp_dir().join(format!("tessera-sec-{:016x}", OsRng.next_u64()));
            std::fs::create_dir_all(&p).unwrap();
            Self(p)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TestDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_dir::TestDir;
    use super::*;

    #[test]
    fn round_trip_and_no_overwrite() {
        let d = TestDir::new();
        let p = d.path().join("k");
        write_private(&p, b"secret", Overwrite::Refuse).unwrap();
        assert_eq!(read_private(&p, 100).unwrap().as_slice(), b"secret");
        assert!(matches!(
            write_private(&p, b"other", Overwrite::Refuse),
            Err(PrivateFileError::AlreadyExists { .. })
        ));
        write_private(&p, b"other", Overwrite::Allow).unwrap();
        assert_eq!(read_private(&p, 100).unwrap().as_slice(), b"other");
        // No temporary files are left behind.
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn size_is_bounded() {
        let d = TestDir::new();
        let p = d.path().join("k");
        write_private(&p, &[0u8; 10], Overwrite::Refuse).unwrap();
        assert!(matches!(
            read_private(&p, 9),
            Err(PrivateFileError::TooLarge { max: 9, .. })
        ));
    }

    #[test]
    fn missing_file_is_a_read_error() {
        let d = TestDir::new();
        let err = read_private(&d.path().join("nope"), 10).unwrap_err();
        assert!(matches!(err, PrivateFileError::Read { .. }));
    }

    #[cfg(unix)]
    #[test]
    fn modes_and_insecure_files() {
        use std::os::unix::fs::PermissionsExt;
        let d = TestDir::new();
        let p = d.path().join("k");
        write_private(&p, b"x", Overwrite::Refuse).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = read_private(&p, 10).unwrap_err();
        assert!(matches!(
            err,
            PrivateFileError::InsecurePermissions { mode: 0o640, .. }
        ));
        assert!(err.to_string().contains("chmod 600"), "{err}");

        let pubp = d.path().join("k.pub");
        write_public(&pubp, b"pub").unwrap();
        write_public(&pubp, b"pub2").unwrap();
        assert_eq!(std::fs::read(&pubp).unwrap(), b"pub2");
    }
}
