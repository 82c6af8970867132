//! How far apart to send state-changing requests (redeliveries): a fixed gap, GitHub's advice
//! ("wait at least one second between each" mutating request,
//! <https://docs.github.com/rest/using-the-rest-api/best-practices-for-using-the-rest-api#pause-between-mutative-requests>),
//! or a gap that adapts to GitHub's answers to drain a backlog faster without provoking its
//! secondary rate limits (<https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits>).
//!
//! [`Pacer`] is pure: it is told `now` and what GitHub answered, and says when the next request
//! may go; the client sleeps.

use crate::policy::parse_duration;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;
use tokio::time::Instant;

/// The gap GitHub recommends between mutating requests, and where [`Pace::Auto`] starts.
pub const RECOMMENDED_GAP: Duration = Duration::from_secs(1);
/// [`Pace::AUTO`]'s shortest gap: ten redeliveries a second at most.
pub const AUTO_MIN: Duration = Duration::from_millis(100);
/// [`Pace::AUTO`]'s longest gap. After a limit the client waits out GitHub's `Retry-After` (or
/// at least a minute) anyway, so the gap need not grow past GitHub's own advice.
pub const AUTO_MAX: Duration = RECOMMENDED_GAP;
/// In how many accepted requests [`Pace::Auto`] walks from its start down to `min`.
pub const AUTO_STEPS: u32 = 30;

/// How state-changing requests are spaced. Reads are never paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// At least this long between two mutating requests (`0s`: no pacing).
    Fixed(Duration),
    /// Starts at 1 s (clamped into `min..=max`), shortens the gap by a constant step after each
    /// accepted request and doubles it (up to `max`) on a secondary rate limit; never below `min`.
    Auto { min: Duration, max: Duration },
}

impl Pace {
    /// GitHub's advice, and the default: one second between mutating requests.
    pub const DEFAULT: Pace = Pace::Fixed(RECOMMENDED_GAP);
    /// What `auto` means: from 1 s down to 100 ms while GitHub accepts.
    pub const AUTO: Pace = Pace::Auto { min: AUTO_MIN, max: AUTO_MAX };
}

impl Default for Pace {
    fn default() -> Self {
        Pace::DEFAULT
    }
}

impl From<Duration> for Pace {
    fn from(gap: Duration) -> Self {
        Pace::Fixed(gap)
    }
}

impl FromStr for Pace {
    type Err = String;

    /// `auto`, or a duration: `250ms`, `1s`, `2m`, `1m30s`, or a bare number of seconds.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("auto") {
            return Ok(Pace::AUTO);
        }
        parse_duration(text)
            .map(Pace::Fixed)
            .map_err(|_| format!("'{text}' is not a pace: write auto, or a duration such as 250ms, 1s or 2m"))
    }
}

impl fmt::Display for Pace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pace::Auto { .. } => f.write_str("auto"),
            Pace::Fixed(gap) if gap.subsec_nanos() == 0 => {
                write!(f, "{}", crate::policy::Human(chrono::Duration::seconds(gap.as_secs() as i64)))
            }
            Pace::Fixed(gap) => write!(f, "{}ms", gap.as_millis()),
        }
    }
}

/// What GitHub made of a paced request, as far as pacing cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaceSignal {
    /// GitHub took the request (any answer that is not a rate limit: 2xx, 404, 422 ...).
    Accepted,
    /// A secondary rate limit (403/429 with GitHub's message) or an answer with `Retry-After`.
    Limited,
    /// No answer (network error, timeout) or a 5xx: says nothing about the pace.
    Neutral,
}

/// The pacing controller: when the next state-changing request may be sent.
#[derive(Debug, Clone)]
pub struct Pacer {
    pace: Pace,
    gap: Duration,
    last: Option<Instant>,
}

impl Pacer {
    pub fn new(pace: Pace) -> Self {
        let gap = match pace {
            Pace::Fixed(gap) => gap,
            Pace::Auto { min, max } => RECOMMENDED_GAP.min(max).max(min),
        };
        Pacer { pace, gap, last: None }
    }

    pub fn pace(&self) -> Pace {
        self.pace
    }

    /// The current minimum gap between two state-changing requests.
    pub fn gap(&self) -> Duration {
        self.gap
    }

    /// When the next state-changing request may be sent (`None`: at once).
    pub fn next_at(&self) -> Option<Instant> {
        self.last.map(|last| last + self.gap)
    }

    /// How long to wait at `now` before sending.
    pub fn wait(&self, now: Instant) -> Duration {
        self.next_at().map_or(Duration::ZERO, |at| at.saturating_duration_since(now))
    }

    /// A state-changing request was answered (or failed) at `now`: the next one is measured from
    /// here, and under [`Pace::Auto`] the gap follows the answer.
    pub fn record(&mut self, signal: PaceSignal, now: Instant) {
        self.last = Some(now);
        let Pace::Auto { min, max } = self.pace else { return };
        self.gap = match signal {
            // Additive: a constant step, so that the gap creeps towards the limit.
            PaceSignal::Accepted => self.gap.saturating_sub(auto_step(min, max)).max(min),
            // Multiplicative: back off fast, at least one step even from a zero gap.
            PaceSignal::Limited => self.gap.saturating_mul(2).max(auto_step(min, max)).min(max).max(min),
            PaceSignal::Neutral => self.gap,
        };
    }
}

/// The additive step of [`Pace::Auto`]: the walk from the start to `min` takes [`AUTO_STEPS`]
/// accepted requests, whatever the scale of the durations.
fn auto_step(min: Duration, max: Duration) -> Duration {
    let start = RECOMMENDED_GAP.min(max).max(min);
    ((start - min) / AUTO_STEPS).max(Duration::from_micros(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn parses_auto_and_durations() {
        assert_eq!("auto".parse::<Pace>(), Ok(Pace::AUTO));
        assert_eq!(" AUTO ".parse::<Pace>(), Ok(Pace::AUTO));
        assert_eq!("1s".parse::<Pace>(), Ok(Pace::Fixed(Duration::from_secs(1))));
        assert_eq!("0s".parse::<Pace>(), Ok(Pace::Fixed(Duration::ZERO)));
        assert_eq!("0".parse::<Pace>(), Ok(Pace::Fixed(Duration::ZERO)));
        assert_eq!("250ms".parse::<Pace>(), Ok(Pace::Fixed(250 * MS)));
        assert_eq!("1m30s".parse::<Pace>(), Ok(Pace::Fixed(Duration::from_secs(90))));
        for bad in ["", "fast", "-1", "1.5s", "ms", "10xs"] {
            let err = bad.parse::<Pace>().unwrap_err();
            assert!(err.contains("not a pace"), "{bad}: {err}");
        }
        assert_eq!(Pace::default(), Pace::Fixed(Duration::from_secs(1)));
        assert_eq!(Pace::from(250 * MS), Pace::Fixed(250 * MS));
    }

    #[test]
    fn displays_the_way_it_parses() {
        for text in ["auto", "1s", "0s", "250ms", "1m30s"] {
            assert_eq!(text.parse::<Pace>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn fixed_keeps_its_gap_whatever_the_answers() {
        let t0 = Instant::now();
        let mut p = Pacer::new(Pace::Fixed(Duration::from_secs(1)));
        assert_eq!(p.wait(t0), Duration::ZERO, "the first request goes at once");
        p.record(PaceSignal::Accepted, t0);
        assert_eq!(p.wait(t0), Duration::from_secs(1));
        assert_eq!(p.wait(t0 + 400 * MS), 600 * MS);
        assert_eq!(p.wait(t0 + Duration::from_secs(5)), Duration::ZERO);
        p.record(PaceSignal::Limited, t0);
        p.record(PaceSignal::Accepted, t0);
        assert_eq!(p.gap(), Duration::from_secs(1));
    }

    #[test]
    fn auto_starts_at_one_second_creeps_down_and_stops_at_min() {
        let t0 = Instant::now();
        let mut p = Pacer::new(Pace::AUTO);
        assert_eq!(p.gap(), Duration::from_secs(1));
        p.record(PaceSignal::Accepted, t0);
        assert_eq!(p.gap(), 970 * MS, "one step is (1s - 100ms) / 30");
        for _ in 0..100 {
            p.record(PaceSignal::Accepted, t0);
        }
        assert_eq!(p.gap(), AUTO_MIN);
        assert_eq!(p.wait(t0), AUTO_MIN);
    }

    #[test]
    fn auto_doubles_on_a_limit_up_to_max() {
        let t0 = Instant::now();
        let mut p = Pacer::new(Pace::Auto { min: 100 * MS, max: Duration::from_secs(60) });
        for _ in 0..100 {
            p.record(PaceSignal::Accepted, t0);
        }
        p.record(PaceSignal::Limited, t0);
        assert_eq!(p.gap(), 200 * MS);
        p.record(PaceSignal::Limited, t0);
        assert_eq!(p.gap(), 400 * MS);
        for _ in 0..20 {
            p.record(PaceSignal::Limited, t0);
        }
        assert_eq!(p.gap(), Duration::from_secs(60));
        p.record(PaceSignal::Neutral, t0);
        assert_eq!(p.gap(), Duration::from_secs(60), "a 5xx or a timeout says nothing");
    }

    #[test]
    fn auto_never_leaves_its_bounds() {
        // A zero minimum still backs off, and bounds given the wrong way round hold at `min`.
        let t0 = Instant::now();
        let mut p = Pacer::new(Pace::Auto { min: Duration::ZERO, max: 50 * MS });
        assert_eq!(p.gap(), 50 * MS);
        for _ in 0..100 {
            p.record(PaceSignal::Accepted, t0);
        }
        assert_eq!(p.gap(), Duration::ZERO);
        p.record(PaceSignal::Limited, t0);
        assert!(p.gap() > Duration::ZERO && p.gap() <= 50 * MS);
        let mut odd = Pacer::new(Pace::Auto { min: 2 * RECOMMENDED_GAP, max: RECOMMENDED_GAP });
        odd.record(PaceSignal::Accepted, t0);
        assert_eq!(odd.gap(), 2 * RECOMMENDED_GAP);
        odd.record(PaceSignal::Limited, t0);
        assert_eq!(odd.gap(), 2 * RECOMMENDED_GAP);
    }

    #[test]
    fn scaled_durations_scale_the_walk() {
        // The benchmark compresses time: `Auto` over 1/20 of the durations walks the same steps.
        let t0 = Instant::now();
        let mut real = Pacer::new(Pace::AUTO);
        let mut fast = Pacer::new(Pace::Auto { min: AUTO_MIN / 20, max: AUTO_MAX / 20 });
        for signal in [PaceSignal::Accepted, PaceSignal::Accepted, PaceSignal::Limited, PaceSignal::Accepted] {
            real.record(signal, t0);
            fast.record(signal, t0);
            assert_eq!(real.gap() / 20, fast.gap());
        }
    }
}
