//! What a listing shows of a hook's health, kept bounded: the newest success and the most
//! recent failed attempts. The [`crate::plan::Scan`] fills it as pages are read.

use chrono::{DateTime, Utc};

/// How many recent failed attempts are kept: enough to see the default threshold many times
/// over, small enough that a listing of any size costs a fixed amount.
pub const RECENT_FAILURES: usize = 64;

/// One failed attempt, as much of it as the health model needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedAttempt {
    pub id: u64,
    pub at: DateTime<Utc>,
    pub status_code: i64,
    pub guid: String,
}

/// The newest success and up to [`RECENT_FAILURES`] newest failed attempts listed for a hook.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    pub newest_success: Option<DateTime<Utc>>,
    failures: Vec<FailedAttempt>,
}

impl Observed {
    /// Takes one listed attempt into account; pages may come in any order and repeat items.
    pub fn observe(&mut self, id: u64, at: DateTime<Utc>, status_code: i64, guid: &str, succeeded: bool) {
        if succeeded {
            self.newest_success = self.newest_success.max(Some(at));
            return;
        }
        if self.failures.iter().any(|f| f.id == id) {
            return;
        }
        if self.failures.len() == RECENT_FAILURES {
            let (oldest, kept) = self
                .failures
                .iter()
                .enumerate()
                .min_by_key(|(_, f)| (f.at, f.id))
                .map(|(i, f)| (i, (f.at, f.id)))
                .unwrap_or((0, (at, id)));
            if (at, id) <= kept {
                return;
            }
            self.failures.swap_remove(oldest);
        }
        self.failures.push(FailedAttempt { id, at, status_code, guid: guid.to_string() });
    }

    /// The kept failures, newest first (ties by delivery id, which GitHub hands out in order).
    pub fn failures_newest_first(&self) -> Vec<&FailedAttempt> {
        let mut out: Vec<&FailedAttempt> = self.failures.iter().collect();
        out.sort_by_key(|f| std::cmp::Reverse((f.at, f.id)));
        out
    }
}
