//! Memory between runs: the ledger ([`Ledger`], a front over the embedded SQLite file, the
//! default, and a PostgreSQL database several replicas share, [`postgres`]), the lock that keeps
//! two processes from acting on one state file, and the ledger's compact form carried between GitHub
//! Actions runs ([`carry`]). The Actions variables themselves, the docs script's watermark and
//! the carried ledger, are read and written by [`crate::github::variables`], a GitHub API.

mod archive;
pub mod carry;
mod front;
mod health;
mod ledger;
mod lock;
mod owed;
mod path_problem;
mod polls;
pub mod postgres;

pub use archive::{ArchiveLimits, Archived, ArchivedRecord, HookConfigRecord};
pub use front::{Ledger, Locate, StateLocation};
pub use health::RedeliveryKind;
pub use ledger::{RedeliveryRecord, RedeliveryState, SqliteLedger, StateError};
pub use lock::{LockError, StateLock};
pub use owed::{Owed, OwedCounts};
pub use path_problem::{PathProblem, diagnose};

use std::path::{Path, PathBuf};

/// Creates the state's folder (and missing parents) readable by this user only (0700): the
/// state will hold archived payloads, which can carry private data. Existing folders are left
/// as they are.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Opens options that create a file readable and writable by this user only (0600).
pub(crate) fn private_file_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// The default state file: `$XDG_STATE_HOME/redeliver/state.db`, else
/// `$HOME/.local/state/redeliver/state.db`, else `./redeliver-state.db`.
pub fn default_state_path(xdg_state_home: Option<&Path>, home: Option<&Path>) -> PathBuf {
    match (xdg_state_home, home) {
        (Some(xdg), _) if xdg.is_absolute() => xdg.join("redeliver").join("state.db"),
        (_, Some(home)) if home.is_absolute() => home.join(".local/state/redeliver/state.db"),
        _ => PathBuf::from("redeliver-state.db"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_follows_xdg_then_home() {
        assert_eq!(
            default_state_path(Some(Path::new("/x")), Some(Path::new("/h"))),
            PathBuf::from("/x/redeliver/state.db")
        );
        assert_eq!(
            default_state_path(Some(Path::new("rel")), Some(Path::new("/h"))),
            PathBuf::from("/h/.local/state/redeliver/state.db")
        );
        assert_eq!(default_state_path(None, None), PathBuf::from("redeliver-state.db"));
    }
}
