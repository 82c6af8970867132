//! Exit statuses (documented in `--help` and the README) and the one user-facing error type.

use std::process::ExitCode;

/// What the process tells its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Everything owed a redelivery got one or is waiting for its next rung.
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
}

/// An error that ends the command, with the status to exit with and an optional hint.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub error: anyhow::Error,
    pub hint: Option<String>,
}

impl Failure {
    pub fn new(exit: Exit, error: impl Into<anyhow::Error>) -> Self {
        Self { exit, error: error.into(), hint: None }
    }

    pub fn config(message: impl std::fmt::Display) -> Self {
        Self::new(Exit::Config, anyhow::anyhow!("{message}"))
    }

    pub fn internal(error: anyhow::Error) -> Self {
        Self::new(Exit::State, error)
    }

    pub fn with_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }
}

/// Prints a failure as `error: …` with its cause chain and `hint: …`, and maps it to the exit code.
pub fn finish(result: Result<Exit, Failure>) -> ExitCode {
    match result {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(failure) => {
            eprintln!("error: {}", failure.error);
            for cause in failure.error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            if let Some(hint) = failure.hint {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(failure.exit as u8)
        }
    }
}
