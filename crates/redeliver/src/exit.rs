//! Exit statuses (documented in `--help` and the README) and the one user-facing error type.
//!
//! Every error a command can end with becomes a [`Failure`] through a `From` impl or a named
//! constructor, and [`Failure::code`] is the one place that says which status it exits with.

use redeliver_core::github::ApiError;
use redeliver_core::state::{LockError, StateError};
use std::process::ExitCode;

/// What the process tells its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Everything owed a redelivery got one or is waiting for its next rung. Also a reader that
    /// closed the output early (`redeliver demo | head`): it asked for no more.
    Success = 0,
    /// The pass finished and state was saved, but something needs a person: a redelivery was
    /// refused, or an event was given up (cap or horizon).
    Attention = 1,
    /// Usage or configuration error: bad flag, unreadable key, invalid URL or variable name.
    Config = 2,
    /// Could not read from GitHub (auth, permissions, network, malformed answers); nothing written.
    GitHub = 3,
    /// The state could not be read, written or locked.
    State = 4,
    /// A failure of redeliver itself or of the machine, not of the input, GitHub or the state:
    /// the async runtime, a socket or a temporary file the demo needs (`EX_SOFTWARE`).
    Internal = 70,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// An error that ends the command: what went wrong, the status to exit with, and a hint when
/// one is known.
#[derive(Debug)]
pub struct Failure {
    code: Exit,
    pub error: anyhow::Error,
    pub hint: Option<String>,
    /// The reader of stdout went away: nothing more is printed, and the command ends quietly.
    closed: bool,
}

impl Failure {
    fn new(code: Exit, error: impl Into<anyhow::Error>) -> Self {
        Self { code, error: error.into(), hint: None, closed: false }
    }

    /// A bad flag, file or value.
    pub fn config(message: impl std::fmt::Display) -> Self {
        Self::new(Exit::Config, anyhow::anyhow!("{message}"))
    }

    /// The state could not be read or written (an Actions variable that cannot be saved, too).
    pub fn state(error: impl Into<anyhow::Error>) -> Self {
        Self::new(Exit::State, error)
    }

    /// Not the user's, GitHub's or the state's doing: see [`Exit::Internal`].
    pub fn internal(error: anyhow::Error) -> Self {
        Self::new(Exit::Internal, error)
    }

    /// stdout was closed by its reader (EPIPE).
    pub fn closed() -> Self {
        Self { closed: true, ..Self::new(Exit::Success, anyhow::anyhow!("the output was closed")) }
    }

    pub fn with_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    /// The status this failure exits with.
    pub fn code(&self) -> Exit {
        self.code
    }

    /// The error and its causes, each once: a cause whose words the error (or an earlier cause)
    /// already quotes is left out, as errors that say "cannot open X: {source}" quote their source.
    pub fn causes(&self) -> Vec<String> {
        let mut said: Vec<String> = Vec::new();
        for cause in self.error.chain().map(|c| c.to_string()) {
            if !said.iter().any(|s| s.contains(&cause)) {
                said.push(cause);
            }
        }
        said
    }

    /// [`Self::causes`] on one line, joined by `: ` (a target's error among others', JSON).
    pub fn one_line(&self) -> String {
        self.causes().join(": ")
    }

    /// Whether there is nothing to tell: the reader of stdout went away.
    pub fn is_closed(&self) -> bool {
        self.closed
    }
}

/// GitHub could not be read; its own hint (permissions, rate limit) goes along.
impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        let hint = e.hint();
        Self::new(Exit::GitHub, e).with_hint(hint)
    }
}

impl From<StateError> for Failure {
    fn from(e: StateError) -> Self {
        let hint = e.hint();
        Self::state(e).with_hint(hint)
    }
}

/// Another process holds the state (wait for it), or its path is unusable (fix the path).
impl From<LockError> for Failure {
    fn from(e: LockError) -> Self {
        let hint = e.hint();
        Self::state(e).with_hint(hint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_error_has_its_status() {
        assert_eq!(Failure::config("bad flag").code(), Exit::Config);
        let refused = ApiError::Unauthorized { message: "Bad credentials".into(), request_id: None };
        let github = Failure::from(refused);
        assert_eq!(github.code(), Exit::GitHub);
        assert!(github.hint.is_some(), "GitHub's hint goes along");
        let busy = LockError::Busy { path: "state.db".into(), holder: "pid 1".into() };
        let busy = Failure::from(busy);
        assert_eq!((busy.code(), busy.hint.is_some()), (Exit::State, true));
        assert_eq!(Failure::internal(anyhow::anyhow!("no runtime")).code() as u8, 70);
        let quoted = Failure::from(LockError::Io { path: "x.lock".into(), source: std::io::ErrorKind::Other.into() });
        assert_eq!(quoted.causes(), ["cannot create the lock file x.lock: other error"], "the source once, not twice");
        let wrapped = Failure::state(anyhow::anyhow!("disk I/O error").context("cannot save"));
        assert_eq!(wrapped.one_line(), "cannot save: disk I/O error");
        let closed = Failure::closed();
        assert_eq!((closed.code(), closed.is_closed()), (Exit::Success, true));
    }
}
