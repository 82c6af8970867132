//! One process at a time per state file: an advisory OS lock on `<state>.lock`, released by the
//! kernel when the process exits, so a crash never leaves a stale lock behind.

use super::path_problem::{PathProblem, diagnose};
use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another redeliver process ({holder}) is acting on the state {path}; two at once could redeliver an event twice"
    )]
    Busy { path: PathBuf, holder: String },
    /// The state's path is unusable (a file in the way, no permission …): said about the path.
    #[error("cannot use the state file {state}: {}", problem.what)]
    Path { state: PathBuf, problem: PathProblem },
    #[error("cannot create the lock file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl LockError {
    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            LockError::Busy { .. } => {
                Some("wait for the other process to finish, or give each schedule its own --state".into())
            }
            LockError::Path { problem, .. } => Some(problem.fix.clone()),
            LockError::Io { .. } => None,
        }
    }
}

/// Held for as long as the value lives.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

impl StateLock {
    /// Takes the lock for `state`, or says who holds it.
    pub fn acquire(state: &Path) -> Result<Self, LockError> {
        let path = lock_path(state);
        let io = |source: std::io::Error| match diagnose(state, Some(source.kind())) {
            Some(problem) => LockError::Path { state: state.to_path_buf(), problem },
            None => LockError::Io { path: path.clone(), source },
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            super::create_private_dir(dir).map_err(io)?;
        }
        let mut file = super::private_file_options().open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim() {
                    "" => "unknown pid".to_string(),
                    pid => format!("pid {pid}"),
                };
                return Err(LockError::Busy { path: state.to_path_buf(), holder });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        Ok(Self { _file: file })
    }
}

fn lock_path(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("sub/state.db");
        let first = StateLock::acquire(&state).unwrap();
        let err = StateLock::acquire(&state).unwrap_err();
        assert!(err.to_string().contains(&format!("pid {}", std::process::id())), "{err}");
        drop(first);
        StateLock::acquire(&state).unwrap();
    }

    #[test]
    fn a_file_in_the_way_is_said_about_the_path_with_no_word_of_another_process() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("afile"), "").unwrap();
        let err = StateLock::acquire(&dir.path().join("afile/state.db")).unwrap_err();
        assert!(matches!(err, LockError::Path { .. }), "{err:?}");
        assert!(err.to_string().contains("afile is a file, not a folder"), "{err}");
        assert!(!err.hint().unwrap().contains("other process"), "{:?}", err.hint());
    }
}
