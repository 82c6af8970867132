//! Memory between runs: the embedded SQLite ledger (default) and the lock that keeps two
//! processes from acting on one state. The Actions-variable watermark, the docs script's memory,
//! lives in [`crate::github::variables`] because it is a GitHub API.

mod ledger;
mod lock;

pub use ledger::{Ledger, RedeliveryRecord, RedeliveryState, StateError};
pub use lock::{LockError, StateLock};

use std::path::{Path, PathBuf};

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
