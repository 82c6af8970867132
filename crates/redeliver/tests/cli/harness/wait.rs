//! Waiting for a condition instead of for time: look at it often, give up at a deadline.

use std::time::Duration;

/// How often a condition is looked at again: short next to any wait, long next to a check.
const POLL: Duration = Duration::from_millis(50);

/// Returns as soon as `done` holds; fails, naming `what`, if it does not within `within`.
#[track_caller]
pub fn wait_until(within: Duration, what: &str, done: impl FnMut() -> bool) -> impl Future<Output = ()> {
    // Taken here, outside the future, so that a failure names the test's line, not this one.
    let caller = std::panic::Location::caller();
    let what = what.to_string();
    async move {
        assert!(poll_until(within, done).await, "{caller}: not within {within:?}: {what}");
    }
}

/// Whether `done` came to hold within `within`, for a caller that reports a failure its own way.
pub async fn poll_until(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if done() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}
