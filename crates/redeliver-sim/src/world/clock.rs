//! GitHub's clock in the simulator: this machine's, moved by a skew and optionally running
//! faster, so tests can play outages of days in seconds of wall time.

use chrono::{DateTime, Duration, Utc};

/// GitHub's clock. Plain data (`Copy`) so a POST in flight can read it without the world's lock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    /// How far GitHub's clock is ahead of this machine's (negative: behind).
    pub skew: Duration,
    /// How many GitHub seconds pass per real second (1: real time).
    pub scale: u32,
    /// When the scale was set: the real instant and GitHub's unskewed time then.
    pub anchor: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock { skew: Duration::zero(), scale: 1, anchor: None }
    }
}

impl Clock {
    /// GitHub's time now.
    pub fn now(&self) -> DateTime<Utc> {
        self.at(Utc::now())
    }

    /// GitHub's time at the real instant `real`: anchor + elapsed × scale + skew. Saturates
    /// rather than overflowing, which would need a scale and a run of centuries.
    pub fn at(&self, real: DateTime<Utc>) -> DateTime<Utc> {
        let unskewed = match self.anchor {
            Some((real_anchor, github_anchor)) => {
                let elapsed = (real - real_anchor).num_microseconds().unwrap_or(i64::MAX);
                let scaled = Duration::microseconds(elapsed.saturating_mul(i64::from(self.scale)));
                github_anchor.checked_add_signed(scaled).unwrap_or(DateTime::<Utc>::MAX_UTC)
            }
            None => real,
        };
        unskewed.checked_add_signed(self.skew).unwrap_or(unskewed)
    }

    /// Makes the clock run `factor` times faster from now on (at least 1), continuing from the
    /// time it shows now, so no time is skipped or repeated.
    pub fn set_scale(&mut self, factor: u32) {
        let real = Utc::now();
        let unskewed = self.at(real).checked_sub_signed(self.skew).unwrap_or(real);
        self.scale = factor.max(1);
        self.anchor = Some((real, unskewed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scaled_clock_runs_factor_times_faster_from_its_anchor() {
        let real = Utc::now();
        let clock = Clock { skew: Duration::minutes(1), scale: 3600, anchor: Some((real, real)) };
        assert_eq!(clock.at(real), real + Duration::minutes(1));
        assert_eq!(clock.at(real + Duration::seconds(2)), real + Duration::hours(2) + Duration::minutes(1));
    }

    #[test]
    fn changing_the_scale_continues_from_the_time_shown() {
        let mut clock = Clock::default();
        clock.set_scale(1000);
        let before = clock.now();
        clock.set_scale(1);
        let after = clock.now();
        assert!(after >= before, "{before} {after}");
        assert!(after - before < Duration::seconds(60), "{before} {after}");
        clock.set_scale(0);
        assert_eq!(clock.scale, 1, "a scale below 1 is taken as 1");
    }

    #[test]
    fn an_absurd_elapsed_time_saturates_instead_of_overflowing() {
        let clock =
            Clock { skew: Duration::zero(), scale: u32::MAX, anchor: Some((DateTime::<Utc>::MIN_UTC, Utc::now())) };
        assert_eq!(clock.now(), DateTime::<Utc>::MAX_UTC);
    }
}
