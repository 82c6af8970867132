//! What `watch` shows of discovered hooks (issue 14): per organization one summary line (on the
//! status page's first screen) and per hook its schedule (in `/metrics` and `/status.json`).
//! Pure functions of the status.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt::Write as _;

/// The discovered hooks' part of the status.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FleetStatus {
    pub orgs: Vec<OrgRow>,
    pub hooks: Vec<HookRow>,
}

/// One `org-repo-hooks` target.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OrgRow {
    pub name: String,
    pub org: String,
    pub hooks: usize,
    /// Hooks with a failure seen or a redelivery owed.
    pub failing: usize,
    pub repos_listed: usize,
    pub repos_kept: usize,
    pub last_refresh: Option<DateTime<Utc>>,
    pub next_refresh: Option<DateTime<Utc>>,
    pub refresh_error: Option<String>,
    /// The credential's `x-ratelimit-remaining` and `-limit`, last seen.
    pub rate_remaining: Option<u64>,
    pub rate_limit: Option<u64>,
    pub budget_share: f64,
    /// The longest a new failure on one of its hooks may now wait to be seen (the longest interval).
    pub worst_latency_seconds: u64,
    pub requests: u64,
    pub not_modified: u64,
    /// PostgreSQL state: how many of its hooks this replica holds and polls (`None` on a file).
    pub held_here: Option<usize>,
    /// PostgreSQL state: the replica whose listing the hooks come from.
    pub lister: Option<String>,
}

/// One discovered hook's schedule.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HookRow {
    pub source: usize,
    /// The hook's ledger key.
    pub key: String,
    pub last_poll: Option<DateTime<Utc>>,
    pub next_poll: Option<DateTime<Utc>>,
    /// Its current interval: how long a new failure may wait before it is seen.
    pub interval_seconds: u64,
    pub requests: u64,
    pub not_modified: u64,
    pub failing: bool,
    /// PostgreSQL state: another replica holds its lease and polls it; nothing is scheduled here.
    pub elsewhere: bool,
}

impl OrgRow {
    /// The points of the credential this tool may still spend in its window: what is left
    /// above the part kept for other tools.
    pub fn budget_left(&self) -> Option<u64> {
        let (remaining, limit) = (self.rate_remaining?, self.rate_limit?);
        let others = (limit as f64 * (1.0 - self.budget_share)).ceil() as u64;
        Some(remaining.saturating_sub(others))
    }

    /// The summary line: `acme: 120 hooks in 118 of 300 repositories, 3 failing · …`.
    pub fn line(&self, now: DateTime<Utc>) -> String {
        let mut line = format!(
            "{} (org {}): {} hooks in {} of {} repositories, {} failing · a new failure is seen within {} · {} requests, {} of them free 304s",
            self.name,
            self.org,
            self.hooks,
            self.repos_kept,
            self.repos_listed,
            self.failing,
            span(self.worst_latency_seconds),
            self.requests,
            self.not_modified,
        );
        if let Some(held) = self.held_here {
            let _ = write!(line, " · {held} polled by this replica");
        }
        if let Some(lister) = &self.lister {
            let _ = write!(line, ", listed by {}", redeliver_core::text::one_line(lister));
        }
        match (self.budget_left(), self.rate_limit) {
            (Some(left), Some(limit)) => {
                let _ = write!(line, " · budget left {left} of {limit}/h × {}", self.budget_share);
            }
            _ => line.push_str(" · budget not known yet"),
        }
        match (&self.refresh_error, self.last_refresh) {
            (Some(error), _) => {
                let _ = write!(line, " · discovery failed: {}", redeliver_core::text::one_line(error));
            }
            (None, Some(at)) => {
                let _ = write!(line, " · listed {} ago", span((now - at).num_seconds().max(0) as u64));
            }
            (None, None) => line.push_str(" · not listed yet"),
        }
        line
    }
}

fn span(secs: u64) -> String {
    match secs {
        0..120 => format!("{secs}s"),
        120..7200 => format!("{}m", secs / 60),
        _ => format!("{}h", secs / 3600),
    }
}

/// The `/metrics` families of discovered hooks and their organizations.
pub fn metrics(fleet: &FleetStatus, out: &mut String) {
    let esc = |v: &str| v.replace('\\', r"\\").replace('"', "\\\"").replace('\n', r"\n");
    let family = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    type Hook = fn(&HookRow) -> Option<f64>;
    let per_hook: [(&str, &str, &str, Hook); 5] = [
        (
            "redeliver_hook_last_poll_timestamp_seconds",
            "gauge",
            "When the discovered hook was last polled (by this replica, while it holds the hook).",
            |h| h.last_poll.filter(|_| !h.elsewhere).map(|t| t.timestamp() as f64),
        ),
        (
            "redeliver_hook_next_poll_timestamp_seconds",
            "gauge",
            "When the schedule polls the discovered hook next.",
            |h| h.next_poll.map(|t| t.timestamp() as f64),
        ),
        (
            "redeliver_hook_poll_interval_seconds",
            "gauge",
            "The discovered hook's current interval: how long a new failure may wait to be seen.",
            |h| Some(h.interval_seconds as f64),
        ),
        ("redeliver_hook_requests_total", "counter", "API requests spent on the discovered hook.", |h| {
            Some(h.requests as f64)
        }),
        (
            "redeliver_hook_not_modified_total",
            "counter",
            "Listings of the discovered hook answered 304 (no primary rate limit spent).",
            |h| Some(h.not_modified as f64),
        ),
    ];
    for (name, kind, help, value) in per_hook {
        family(out, name, kind, help);
        for h in &fleet.hooks {
            if let Some(v) = value(h) {
                let source = fleet.orgs.get(h.source).map_or("", |o| o.name.as_str());
                let _ = writeln!(out, "{name}{{source=\"{}\",hook=\"{}\"}} {v}", esc(source), esc(&h.key));
            }
        }
    }
    family(out, "redeliver_budget_left", "gauge", "Points of the credential this tool may still spend in its window.");
    for o in &fleet.orgs {
        if let Some(left) = o.budget_left() {
            let _ = writeln!(out, "redeliver_budget_left{{source=\"{}\"}} {left}", esc(&o.name));
        }
    }
    family(out, "redeliver_discovered_hooks", "gauge", "Hooks the last discovery kept.");
    for o in &fleet.orgs {
        let _ = writeln!(out, "redeliver_discovered_hooks{{source=\"{}\"}} {}", esc(&o.name), o.hooks);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> OrgRow {
        OrgRow {
            name: "acme-ci".into(),
            org: "acme".into(),
            hooks: 120,
            failing: 3,
            repos_listed: 300,
            repos_kept: 290,
            rate_remaining: Some(4000),
            rate_limit: Some(5000),
            budget_share: 0.5,
            worst_latency_seconds: 900,
            requests: 1500,
            not_modified: 1200,
            ..OrgRow::default()
        }
    }

    #[test]
    fn one_line_per_organization_says_hooks_latency_and_budget() {
        let now = DateTime::from_timestamp(1_760_000_000, 0).unwrap();
        let line = org().line(now);
        assert!(line.starts_with("acme-ci (org acme): 120 hooks in 290 of 300 repositories, 3 failing"), "{line}");
        assert!(line.contains("seen within 15m"), "{line}");
        assert!(line.contains("budget left 1500 of 5000/h"), "{line}");
        assert!(line.contains("not listed yet"));
        let failed = OrgRow { refresh_error: Some("HTTP 502\nbad".into()), ..org() };
        assert!(!failed.line(now).contains('\n'));
        assert!(!line.contains("polled by this replica"), "a file state's watch polls them all");
        let replica = OrgRow { held_here: Some(60), lister: Some("pod-b:9:cafe".into()), ..org() };
        assert!(replica.line(now).contains(" · 60 polled by this replica, listed by pod-b:9:cafe · "), "{line}");
    }

    #[test]
    fn a_hook_another_replica_holds_shows_no_poll_time_here() {
        let polled = DateTime::from_timestamp(1_760_000_000, 0);
        let hook = HookRow { key: "repo:acme/a#1@x".into(), last_poll: polled, elsewhere: true, ..HookRow::default() };
        let mut out = String::new();
        metrics(&FleetStatus { orgs: vec![org()], hooks: vec![hook] }, &mut out);
        assert!(!out.contains("redeliver_hook_last_poll_timestamp_seconds{"), "{out}");
        assert!(out.contains("redeliver_hook_requests_total{source=\"acme-ci\",hook=\"repo:acme/a#1@x\"} 0"));
    }

    #[test]
    fn metrics_have_one_series_per_hook_and_organization() {
        let hook = HookRow { source: 0, key: "repo:acme/a#1@x".into(), interval_seconds: 60, ..HookRow::default() };
        let fleet = FleetStatus { orgs: vec![org()], hooks: vec![hook] };
        let mut out = String::new();
        metrics(&fleet, &mut out);
        assert!(out.contains("redeliver_hook_poll_interval_seconds{source=\"acme-ci\",hook=\"repo:acme/a#1@x\"} 60"));
        assert!(out.contains("redeliver_budget_left{source=\"acme-ci\"} 1500"));
        assert!(!out.contains("redeliver_hook_last_poll_timestamp_seconds{"), "never polled: no sample");
    }
}
