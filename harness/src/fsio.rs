//! File writes that matter: atomic (temp file in the same directory, then rename) and with
//! the right permissions from the first byte.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, Result};

/// Permissions for files holding a secret or an override: owner read/write only.
pub const PRIVATE: u32 = 0o600;
/// Permissions for reports and artefacts: readable by everyone, writable by the owner.
pub const PUBLIC: u32 = 0o644;

/// Writes `bytes` to `path` atomically with mode `mode`, creating parent directories.
///
/// The data goes to a temporary file beside the target (created 0600, so a secret is never
/// briefly world-readable), is flushed to disk, gets its final mode, and is renamed over the
/// target. Readers see the old file or the new one, never a torn write.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".stage4-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set permissions on {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

/// Like [`write_atomic`], but fails if `path` already exists (create-if-absent without a race:
/// the temporary file is linked into place, which the OS refuses when the name is taken).
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".stage4-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set permissions on {}", path.display()))?;
    tmp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!("{} already exists", path.display())
        } else {
            anyhow::Error::new(e.error).context(format!("cannot create {}", path.display()))
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_atomically_with_the_requested_mode() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("nested/override.json");
        write_atomic(&target, b"{}\n", PRIVATE).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"{}\n");
        let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        write_atomic(&target, b"[]\n", PUBLIC).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"[]\n");
        let leftovers: Vec<_> = fs::read_dir(target.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "no temp files left: {leftovers:?}");
    }

    #[test]
    fn write_new_refuses_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("o.json");
        write_new(&target, b"1", PRIVATE).unwrap();
        let err = write_new(&target, b"2", PRIVATE).unwrap_err();
        assert!(err.to_string().ends_with("o.json already exists"), "{err}");
        assert_eq!(fs::read(&target).unwrap(), b"1");
    }

    #[test]
    fn unwritable_directory_is_a_clear_error() {
        let err = write_atomic(Path::new("/proc/stage4/x.json"), b"x", PUBLIC).unwrap_err();
        assert!(format!("{err:#}").contains("/proc/stage4"), "{err:#}");
    }
}
