//! PURE. The hard stop beside the plan: whatever the estimates said, no request goes out while
//! the credential's last `x-ratelimit-remaining` is at or below what the other tools on it are
//! left (`limit × (1 − share)`), until the window resets. A discretionary poll also leaves
//! `hold` points (the [`super::reserve`]) to the polls that must go, which pass `hold = 0`.

use chrono::{DateTime, Utc};

/// `None`: requests may go. `Some(at)`: wait until `at` (the reset, or `now` plus a minute
/// when the reset is unknown or already past) before the next poll on this credential.
pub fn gate(
    remaining: Option<u64>,
    limit: Option<u64>,
    reset: Option<DateTime<Utc>>,
    share: f64,
    hold: f64,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let (remaining, limit) = (remaining?, limit?);
    let left_to_others = (limit as f64 * (1.0 - share.clamp(0.0, 1.0))).ceil() as u64;
    let held = hold.max(0.0).ceil().min(limit as f64) as u64;
    if remaining > left_to_others.saturating_add(held) {
        return None;
    }
    let minute = now + chrono::Duration::minutes(1);
    Some(reset.filter(|at| *at > now).unwrap_or(minute))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_the_share_and_waits_for_the_reset() {
        let now = DateTime::from_timestamp(1_760_000_000, 0).unwrap();
        let reset = now + chrono::Duration::minutes(20);
        assert_eq!(gate(Some(2501), Some(5000), Some(reset), 0.5, 0.0, now), None);
        assert_eq!(gate(Some(2500), Some(5000), Some(reset), 0.5, 0.0, now), Some(reset));
        assert_eq!(gate(Some(0), Some(5000), None, 0.5, 0.0, now), Some(now + chrono::Duration::minutes(1)));
        assert_eq!(gate(None, Some(5000), Some(reset), 0.5, 0.0, now), None, "no headers seen yet: no stop");
        assert_eq!(gate(Some(1), Some(5000), Some(reset), 1.0, 0.0, now), None, "all of it: down to the last point");
    }

    #[test]
    fn discretionary_polls_leave_the_reserve_to_the_forced_ones() {
        let now = DateTime::from_timestamp(1_760_000_000, 0).unwrap();
        let reset = now + chrono::Duration::minutes(20);
        assert_eq!(gate(Some(2600), Some(5000), Some(reset), 0.5, 99.0, now), None);
        assert_eq!(gate(Some(2600), Some(5000), Some(reset), 0.5, 100.0, now), Some(reset));
        assert_eq!(gate(Some(2600), Some(5000), Some(reset), 0.5, 0.0, now), None, "a forced poll holds nothing back");
    }
}
