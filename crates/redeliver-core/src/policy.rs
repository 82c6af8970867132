//! The retry policy: a ladder of waits between attempts, a cap on attempts per event, and the
//! horizon past which GitHub can no longer redeliver. Pure values and parsing, no clock.

use chrono::Duration;
use std::fmt;
use std::time::Duration as StdDuration;

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

/// The longest duration any setting accepts: a century, far past any use (GitHub keeps
/// deliveries for days), and short enough that subtracting it from any date stays a date.
pub const MAX_DURATION: StdDuration = StdDuration::from_secs(36_500 * 86_400);

/// Why a text is not a duration. The text itself is not repeated: the caller knows where it came
/// from (clap prints the flag's value; a config file's errors never echo values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationError {
    Empty,
    Malformed,
    TooLong,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const GRAMMAR: &str = "write a number with a unit (ms, s, m, h, d), e.g. 250ms, 90s, 5m, 2h, 3d or 1h30m";
        match self {
            DurationError::Empty => write!(f, "an empty duration: {GRAMMAR}"),
            DurationError::Malformed => write!(f, "not a duration: {GRAMMAR}"),
            DurationError::TooLong => f.write_str("too long: the longest duration accepted is 36500d (100 years)"),
        }
    }
}

impl std::error::Error for DurationError {}

/// The one duration grammar of every setting (flags, config file, ladder rungs, pace):
/// `250ms`, `90s`, `5m`, `2h`, `3d`, combinations such as `1h30m` or `1s500ms` (spaces between
/// parts are fine), or a bare number of seconds. Never negative, never fractional, at most
/// [`MAX_DURATION`]; arithmetic is checked, so a huge number is an error, not a panic.
pub fn parse_duration(text: &str) -> Result<StdDuration, DurationError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    // `+5` was read as 5 seconds when bare numbers went through `str::parse`; keep reading it.
    let text = match text.strip_prefix('+') {
        Some("") => return Err(DurationError::Malformed),
        Some(rest) => rest,
        None => text,
    };
    let mut total = StdDuration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(DurationError::Malformed);
        }
        // All digits: only a number too large for u64 fails here.
        let n: u64 = rest[..digits].parse().map_err(|_| DurationError::TooLong)?;
        let after = rest[digits..].trim_start();
        let unit_len = after.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        // A bare number means seconds, but only as the whole text (`5m3` is a typo, not 5m3s).
        if unit.is_empty() && !(next.is_empty() && total.is_zero() && rest.len() == text.len()) {
            return Err(DurationError::Malformed);
        }
        let part = match unit {
            "ms" => Some(StdDuration::from_millis(n)),
            "s" | "" => Some(StdDuration::from_secs(n)),
            "m" => n.checked_mul(60).map(StdDuration::from_secs),
            "h" => n.checked_mul(3_600).map(StdDuration::from_secs),
            "d" => n.checked_mul(86_400).map(StdDuration::from_secs),
            _ => return Err(DurationError::Malformed),
        };
        total = part.and_then(|p| total.checked_add(p)).ok_or(DurationError::TooLong)?;
        rest = next.trim_start();
    }
    if total > MAX_DURATION { Err(DurationError::TooLong) } else { Ok(total) }
}

/// A parsed duration as the planner's time type. Cannot saturate: [`parse_duration`] caps at
/// [`MAX_DURATION`], far inside chrono's range.
pub fn to_chrono(d: StdDuration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::MAX)
}

/// Parses a comma-separated ladder such as `1m,5m,30m,2h`. An empty text is refused (it used to
/// mean "no wait" by accident); write `0s` for that.
pub fn parse_ladder(text: &str) -> Result<Vec<Duration>, String> {
    if text.trim().is_empty() {
        return Err("an empty ladder: give the waits between attempts, e.g. 1m,5m,30m (or 0s for no wait)".into());
    }
    text.split(',')
        .enumerate()
        .map(|(i, rung)| parse_duration(rung).map(to_chrono).map_err(|e| format!("rung {}: {e}", i + 1)))
        .collect()
}

/// A retry ladder as a value (the `--ladder` flag's and the config file's type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ladder(pub Vec<Duration>);

impl std::str::FromStr for Ladder {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        parse_ladder(text).map(Ladder)
    }
}

/// Formats a setting's duration the way [`parse_duration`] reads it: `1m30s`, `250ms`, `1s500ms`.
pub fn format_duration(d: StdDuration) -> String {
    let seconds = Human(Duration::seconds(d.as_secs().min(i64::MAX as u64) as i64)).to_string();
    match (d.as_secs(), d.subsec_millis()) {
        (_, 0) => seconds,
        (0, ms) => format!("{ms}ms"),
        (_, ms) => format!("{seconds}{ms}ms"),
    }
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
        let ok = |text: &str| parse_duration(text);
        let ms = StdDuration::from_millis;
        let s = StdDuration::from_secs;
        for (text, want) in [
            ("90s", s(90)),
            ("1h30m", s(5_400)),
            ("3d", s(259_200)),
            ("45", s(45)),
            ("0", s(0)),
            ("0s", s(0)),
            (" 5m ", s(300)),
            ("250ms", ms(250)),
            ("250 ms", ms(250)),
            ("1s500ms", ms(1_500)),
            ("1h 30m", s(5_400)),
            ("1m30s", s(90)),
            ("36500d", MAX_DURATION),
            ("+5", s(5)),
        ] {
            assert_eq!(ok(text), Ok(want), "{text}");
        }
        for (text, want) in [
            ("", DurationError::Empty),
            ("  ", DurationError::Empty),
            ("5x", DurationError::Malformed),
            ("m", DurationError::Malformed),
            ("5m3", DurationError::Malformed),
            ("3 5m", DurationError::Malformed),
            ("-3", DurationError::Malformed),
            ("+", DurationError::Malformed),
            ("++5", DurationError::Malformed),
            ("1.5s", DurationError::Malformed),
            ("5M", DurationError::Malformed),
            ("36501d", DurationError::TooLong),
            ("100000000000d", DurationError::TooLong),
            ("99999999999999999d", DurationError::TooLong),
            ("99999999999999999999999999", DurationError::TooLong),
            ("18446744073709551615d", DurationError::TooLong),
            ("18446744073709551615s18446744073709551615s", DurationError::TooLong),
        ] {
            assert_eq!(ok(text), Err(want), "{text}");
        }
        assert!(DurationError::Malformed.to_string().contains("not a duration"));
        assert_eq!(Human(Duration::minutes(150)).to_string(), "2h30m");
        assert_eq!(Human(Duration::zero()).to_string(), "0s");
        for text in ["1m", "0s", "300ms", "1s500ms", "2h30m"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
    }

    #[test]
    fn ladders_parse_rung_by_rung_and_are_never_empty() {
        assert_eq!(parse_ladder(" 1m, 2h ").unwrap(), vec![Duration::minutes(1), Duration::hours(2)]);
        assert_eq!(parse_ladder("0s").unwrap(), vec![Duration::zero()], "an explicit 0s rung is allowed");
        assert_eq!(parse_ladder("500ms").unwrap(), vec![Duration::milliseconds(500)]);
        assert!(parse_ladder("1m,,2h").unwrap_err().starts_with("rung 2: an empty duration"));
        assert!(parse_ladder("1m,5x").unwrap_err().starts_with("rung 2: not a duration"));
        assert!(parse_ladder("100000000000d").unwrap_err().contains("too long"));
        for empty in ["", "  "] {
            assert!(parse_ladder(empty).unwrap_err().contains("an empty ladder"), "{empty:?}");
        }
        assert_eq!("2s,2s".parse::<Ladder>().unwrap().0, vec![Duration::seconds(2); 2]);
        assert_eq!(to_chrono(MAX_DURATION), Duration::days(36_500));
    }
}
