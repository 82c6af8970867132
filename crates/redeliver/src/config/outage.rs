//! The knobs of outage-aware recovery (issue 11), resolved per target: whether it is on, the
//! health model's thresholds, which events drain first, and how fast a backlog drains.

use super::Knobs;
use super::values::patterns;
use crate::exit::Failure;
use redeliver_core::health::{HealthPolicy, RECENT_FAILURES};
use redeliver_core::plan::EventFilter;
use std::str::FromStr;
use std::time::Duration;

/// What a target does when its receiver is down.
#[derive(Debug, Clone, PartialEq)]
pub struct OutageSettings {
    /// Off with `--no-outage-awareness` (`outage_awareness = false`): the ladder treats every
    /// failure as the event's, as before issue 11 (kept for the benchmark's comparison).
    pub enabled: bool,
    pub health: HealthPolicy,
    /// `--priority`: these events drain first (only `include` is used).
    pub priority: EventFilter,
    /// `--drain-rate`: at most this many redelivery requests a second to the target.
    pub drain_rate: Option<DrainRate>,
}

impl Default for OutageSettings {
    fn default() -> Self {
        OutageSettings {
            enabled: true,
            health: HealthPolicy::default(),
            priority: EventFilter::default(),
            drain_rate: None,
        }
    }
}

/// Redelivery requests a second, written `N/s` or `N` (`0.5/s` is one every two seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrainRate(f64);

impl DrainRate {
    /// The gap between two requests at this rate.
    pub fn gap(self) -> Duration {
        Duration::from_secs_f64(1.0 / self.0)
    }
}

impl FromStr for DrainRate {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let number = text.trim().strip_suffix("/s").unwrap_or(text.trim());
        match number.trim().parse::<f64>() {
            Ok(n) if n.is_finite() && (0.001..=1000.0).contains(&n) => Ok(DrainRate(n)),
            _ => Err("not a drain rate: write requests a second, such as 5/s or 0.5/s (0.001 to 1000)".into()),
        }
    }
}

/// The settings the stacked knobs give; whatever no layer set takes its default.
pub fn settings(knobs: &Knobs) -> Result<OutageSettings, Failure> {
    let defaults = HealthPolicy::default();
    let to_chrono = |d: Duration| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
    let probe_interval = knobs.probe_interval.map_or(defaults.probe_interval, to_chrono);
    let max_probe_interval = knobs.max_probe_interval.map_or(defaults.max_probe_interval, to_chrono);
    if probe_interval <= chrono::Duration::zero() || max_probe_interval < probe_interval {
        return Err(Failure::config(
            "the probe interval must be more than zero and no longer than the longest probe interval \
             (`probe_interval`, `max_probe_interval`)",
        ));
    }
    let min_events = knobs.down_after.map_or(defaults.min_events, |n| n as usize);
    if !(1..=RECENT_FAILURES).contains(&min_events) {
        return Err(Failure::config(format!(
            "down after must be a number of events from 1 to {RECENT_FAILURES} (`down_after`)"
        )));
    }
    Ok(OutageSettings {
        enabled: knobs.outage_awareness.unwrap_or(true),
        health: HealthPolicy { min_events, probe_interval, max_probe_interval },
        priority: EventFilter { include: patterns(&knobs.priority)?, exclude: Vec::new() },
        drain_rate: knobs.drain_rate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drain_rates_are_requests_a_second() {
        assert_eq!("5/s".parse::<DrainRate>().unwrap().gap(), Duration::from_millis(200));
        assert_eq!("0.5".parse::<DrainRate>().unwrap().gap(), Duration::from_secs(2));
        for bad in ["", "fast", "0/s", "-1", "inf", "5/m"] {
            assert!(bad.parse::<DrainRate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_and_checks() {
        let s = settings(&Knobs::default()).unwrap();
        assert_eq!(s, OutageSettings::default());
        let knobs = Knobs {
            probe_interval: Some(Duration::from_secs(120)),
            max_probe_interval: Some(Duration::from_secs(60)),
            ..Knobs::default()
        };
        assert!(settings(&knobs).is_err(), "the longest interval is shorter than the first");
        assert!(settings(&Knobs { down_after: Some(0), ..Knobs::default() }).is_err());
        let off = settings(&Knobs { outage_awareness: Some(false), priority: vec!["push".into()], ..Knobs::default() });
        let off = off.unwrap();
        assert!(!off.enabled);
        assert_eq!(off.priority.include, vec!["push".to_string()]);
    }
}
