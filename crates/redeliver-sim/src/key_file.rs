//! A private key written where only this user can read it: a fresh directory with an
//! unpredictable name (mode 0700 on Unix) under the temp dir, removed when dropped. A fixed
//! `/tmp/name.pem` could be pre-created or read by another user of the machine.

use std::io;
use std::path::{Path, PathBuf};

/// Attempts at a fresh directory name before giving up (a clash is already unlikely).
const ATTEMPTS: usize = 16;

/// A key file in a private directory; both are removed on drop.
#[derive(Debug)]
pub struct PrivateKeyFile {
    dir: PathBuf,
    path: PathBuf,
}

impl PrivateKeyFile {
    /// Writes `pem` to `<temp>/redeliver-sim-<random>/app-key.pem`.
    ///
    /// # Errors
    /// When no private directory can be created or the file cannot be written.
    pub fn create(pem: &str) -> io::Result<PrivateKeyFile> {
        let dir = private_dir(&std::env::temp_dir())?;
        let path = dir.join("app-key.pem");
        let file = PrivateKeyFile { dir, path };
        write_private(&file.path, pem.as_bytes())?;
        Ok(file)
    }

    /// Where the key is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The private directory holding it (a good place for a throw-away state file too).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PrivateKeyFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn private_dir(parent: &Path) -> io::Result<PathBuf> {
    let mut last = io::Error::other("no attempt made");
    for _ in 0..ATTEMPTS {
        let name: String = (0..16).map(|_| fastrand::alphanumeric()).collect();
        let dir = parent.join(format!("redeliver-sim-{name}"));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        // `create` (not `create_all`) fails if the name exists: nobody else's directory is reused.
        match builder.create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_private_unpredictable_and_removed_on_drop() {
        let a = PrivateKeyFile::create("pem").unwrap();
        let b = PrivateKeyFile::create("pem").unwrap();
        assert_ne!(a.dir(), b.dir());
        assert_eq!(std::fs::read_to_string(a.path()).unwrap(), "pem");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(a.dir()).unwrap().permissions().mode() & 0o777, 0o700);
            assert_eq!(std::fs::metadata(a.path()).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let dir = a.dir().to_path_buf();
        drop(a);
        assert!(!dir.exists());
    }
}
