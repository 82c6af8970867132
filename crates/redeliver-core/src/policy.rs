//! The retry policy: a ladder of waits between attempts, a cap on attempts per event, and the
//! horizon past which GitHub can no longer redeliver. Pure values and parsing, no clock.

use chrono::Duration;
use std::fmt;

/// How often, and for how long, one failed event is retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `ladder[n]` is the wait after the event's `n+1`-th attempt; the last rung repeats.
    pub ladder: Vec<Duration>,
    /// Attempts per GUID (GitHub's original one included) after which the event is given up.
    pub max_attempts: u32,
    /// Age of an event's first attempt past which it is given up: GitHub keeps deliveries
    /// redeliverable for 3 days on github.com and 7 days on GHES.
    pub horizon: Duration,
}

/// Modelled on Svix's schedule: it fits in github.com's 3-day window (about 27.6 h in all).
pub const DEFAULT_LADDER: &str = "1m,5m,30m,2h,5h,10h,10h";
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;

impl Policy {
    /// Defaults for github.com (and GHE.com): 3-day horizon.
    pub fn github_com() -> Self {
        Self {
            ladder: parse_ladder(DEFAULT_LADDER).expect("the default ladder parses"),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            horizon: Duration::days(3),
        }
    }

    /// Defaults for GitHub Enterprise Server: 7-day horizon.
    pub fn ghes() -> Self {
        Self { horizon: Duration::days(7), ..Self::github_com() }
    }

    /// The wait after an event's `attempts`-th attempt (1-based). An empty ladder means no wait.
    pub fn wait_after(&self, attempts: u32) -> Duration {
        let rung = attempts.saturating_sub(1) as usize;
        self.ladder.get(rung).or(self.ladder.last()).copied().unwrap_or_else(Duration::zero)
    }
}

/// Parses a comma-separated ladder such as `1m,5m,30m,2h`.
pub fn parse_ladder(text: &str) -> Result<Vec<Duration>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',').map(|rung| parse_duration(rung.trim())).collect()
}

/// Parses `90s`, `5m`, `2h`, `3d`, `1h30m`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("'{text}' is not a duration: write a number with a unit, e.g. 90s, 5m, 2h, 3d or 1h30m");
    let text = text.trim();
    if text.is_empty() {
        return Err(bad());
    }
    if let Ok(seconds) = text.parse::<i64>() {
        return if seconds >= 0 { Ok(Duration::seconds(seconds)) } else { Err(bad()) };
    }
    let mut total = Duration::zero();
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: i64 = number.parse().map_err(|_| bad())?;
        number.clear();
        let part = match c {
            's' => Duration::try_seconds(n),
            'm' => Duration::try_minutes(n),
            'h' => Duration::try_hours(n),
            'd' => Duration::try_days(n),
            _ => None,
        }
        .ok_or_else(bad)?;
        total = total.checked_add(&part).ok_or_else(bad)?;
    }
    if number.is_empty() { Ok(total) } else { Err(bad()) }
}

/// Formats a duration the way [`parse_duration`] reads it, e.g. `2h30m`.
pub struct Human(pub Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut secs = self.0.num_seconds();
        if secs < 0 {
            f.write_str("-")?;
            secs = -secs;
        }
        if secs == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
            if secs >= size {
                write!(f, "{}{unit}", secs / size)?;
                secs %= size;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ladder_fits_github_coms_window() {
        let p = Policy::github_com();
        let total = p.ladder.iter().fold(Duration::zero(), |a, b| a + *b);
        assert_eq!(p.ladder.len() as u32 + 1, p.max_attempts);
        assert!(total < p.horizon, "{}", Human(total));
        assert_eq!(Policy::ghes().horizon, Duration::days(7));
    }

    #[test]
    fn wait_after_walks_the_ladder_and_repeats_the_last_rung() {
        let p = Policy::github_com();
        assert_eq!(p.wait_after(1), Duration::minutes(1));
        assert_eq!(p.wait_after(2), Duration::minutes(5));
        assert_eq!(p.wait_after(7), Duration::hours(10));
        assert_eq!(p.wait_after(50), Duration::hours(10));
        let flat = Policy { ladder: vec![], ..p };
        assert_eq!(flat.wait_after(3), Duration::zero());
    }

    #[test]
    fn durations_parse_and_print() {
        assert_eq!(parse_duration("90s"), Ok(Duration::seconds(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::minutes(90)));
        assert_eq!(parse_duration("3d"), Ok(Duration::days(3)));
        assert_eq!(parse_duration("45"), Ok(Duration::seconds(45)));
        for bad in ["", "5x", "m", "5m3", "-3", "99999999999999999d"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains("is not a duration"), "{bad}: {err}");
        }
        assert_eq!(Human(Duration::minutes(150)).to_string(), "2h30m");
        assert_eq!(Human(Duration::zero()).to_string(), "0s");
        assert_eq!(parse_ladder(" 1m, 2h ").unwrap(), vec![Duration::minutes(1), Duration::hours(2)]);
        assert!(parse_ladder("1m,,2h").is_err());
    }
}
