//! `/metrics`: the Prometheus text exposition (format 0.0.4) of the daemon's status, one series
//! per target. A pure function of the status and `now`.

use super::health::assess;
use super::status::{Status, TargetStatus};
use chrono::{DateTime, Utc};
use redeliver_core::state::RedeliveryState;
use std::fmt::{self, Write as _};

/// Prometheus text exposition format 0.0.4.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The Prometheus exposition of `status`: one series per target (`target="name"`).
pub fn exposition(status: &Status, now: DateTime<Utc>) -> String {
    let mut x = Exposition::default();
    let targets = &status.targets;
    let counter = |x: &mut Exposition, name: &str, help: &str, value: fn(&TargetStatus) -> u64| {
        x.family(name, "counter", help);
        for t in targets {
            x.sample(name, &[("target", &t.name)], value(t));
        }
    };
    counter(&mut x, "redeliver_polls_total", "Polls of the delivery log since the daemon started.", |t| t.polls);
    counter(&mut x, "redeliver_deliveries_read_total", "Delivery attempts read from GitHub.", |t| t.deliveries_read);
    counter(&mut x, "redeliver_failed_events_seen_total", "Failed events (GUIDs) seen.", |t| t.failed_events_seen);

    x.family("redeliver_redeliveries_total", "counter", "Redeliveries requested, by GitHub's answer.");
    for t in targets {
        // The three known answers always have a series, so that rate() works from the first one.
        let known = ANSWERS.map(RedeliveryState::as_str);
        let known = known.into_iter().filter(|a| !t.redeliveries.contains_key(*a)).map(|a| (a, 0));
        let seen = t.redeliveries.iter().map(|(a, n)| (a.as_str(), *n));
        let mut all: Vec<_> = known.chain(seen).collect();
        all.sort();
        for (answer, n) in all {
            x.sample("redeliver_redeliveries_total", &[("target", &t.name), ("answer", answer)], n);
        }
    }

    counter(&mut x, "redeliver_given_up_total", "Events given up (attempt cap or horizon).", |t| t.given_up_total);

    x.family("redeliver_pending_events", "gauge", "Events still owed a redelivery, as of the last poll.");
    for t in targets {
        x.sample("redeliver_pending_events", &[("target", &t.name)], t.pending.len());
    }

    x.family("redeliver_api_requests_total", "counter", "GitHub API requests, by endpoint and HTTP status.");
    for t in targets {
        for (key, n) in &t.api_requests {
            // Keys are "endpoint status"; a key without a status keeps an empty one.
            let (endpoint, code) = key.rsplit_once(' ').unwrap_or((key, ""));
            let labels = [("target", t.name.as_str()), ("endpoint", endpoint), ("status", code)];
            x.sample("redeliver_api_requests_total", &labels, n);
        }
    }

    x.family("redeliver_rate_limit_remaining", "gauge", "GitHub API requests left in the window.");
    for t in targets {
        if let Some(left) = t.rate_limit_remaining {
            x.sample("redeliver_rate_limit_remaining", &[("target", &t.name)], left);
        }
    }

    x.family(
        "redeliver_clock_skew_seconds",
        "gauge",
        "GitHub's clock minus this machine's, from GitHub's Date header.",
    );
    for t in targets {
        if let Some(skew) = t.clock_skew_seconds {
            x.sample("redeliver_clock_skew_seconds", &[("target", &t.name)], skew);
        }
    }

    x.family("redeliver_last_success_timestamp_seconds", "gauge", "When the last successful poll finished.");
    for t in targets {
        // A target that never succeeded has no series; `redeliver_up` covers it.
        if let Some(at) = t.last_success_at {
            let secs = at.timestamp_millis() as f64 / 1000.0;
            x.sample("redeliver_last_success_timestamp_seconds", &[("target", &t.name)], secs);
        }
    }

    // Outage-aware recovery (issue 11): targets with it off have no receiver series.
    x.family("redeliver_receiver_up", "gauge", "0 while the hook's receiver is down (an outage), else 1.");
    for t in targets {
        if let Some(r) = &t.receiver {
            x.sample("redeliver_receiver_up", &[("target", &t.name)], u8::from(r.state != "down"));
        }
    }
    counter(&mut x, "redeliver_outages_total", "Outages of the hook's receiver seen start.", |t| t.outages_total);
    let help = "Length of the receiver's outages seen end, together.";
    counter(&mut x, "redeliver_outage_seconds_total", help, |t| t.outage_seconds_total);
    let help = "Canary redeliveries sent while the receiver was down.";
    counter(&mut x, "redeliver_canaries_total", help, |t| t.canaries_total);

    x.family("redeliver_up", "gauge", "1 if the target polled successfully recently (the /healthz rule).");
    for t in targets {
        x.sample("redeliver_up", &[("target", &t.name)], u8::from(assess(status, t, now).is_up()));
    }

    // --- Direct delivery (issue 12): posts straight to the receiver ---
    x.family("redeliver_replays_total", "counter", "Events posted straight to the receiver, by its answer.");
    for t in targets {
        for answer in REPLAY_ANSWERS {
            let n = t.replays.get(answer).copied().unwrap_or(0);
            x.sample("redeliver_replays_total", &[("target", &t.name), ("answer", answer)], n);
        }
    }
    x.family("redeliver_replays_owed", "gauge", "Events owed a direct delivery, as of the last poll.");
    for t in targets {
        x.sample("redeliver_replays_owed", &[("target", &t.name)], t.replays_owed);
    }
    let help = "Direct deliveries written down but never completed (a killed process); not sent again.";
    x.family("redeliver_replays_uncertain", "gauge", help);
    for t in targets {
        x.sample("redeliver_replays_uncertain", &[("target", &t.name)], t.replays_uncertain);
    }
    x.family("redeliver_last_replay_timestamp_seconds", "gauge", "When the last direct delivery was posted.");
    for t in targets {
        if let Some(at) = t.last_replay_at {
            x.sample("redeliver_last_replay_timestamp_seconds", &[("target", &t.name)], at.timestamp());
        }
    }
    let help = "When the receiver last refused or missed a direct delivery.";
    x.family("redeliver_last_replay_failure_timestamp_seconds", "gauge", help);
    for t in targets {
        if let Some(f) = &t.last_replay_failure {
            x.sample("redeliver_last_replay_failure_timestamp_seconds", &[("target", &t.name)], f.at.timestamp());
        }
    }
    // --- end of direct delivery ---

    // The daemon's own, not a target's: no labels.
    let help = "Given-up notifications dropped because the notification queue was full.";
    x.family("redeliver_notifications_dropped_total", "counter", help);
    let _ = writeln!(x.out, "redeliver_notifications_dropped_total {}", status.notifications_dropped);
    if let Some(fleet) = &status.fleet {
        super::fleet_status::metrics(fleet, &mut x.out);
    }
    x.out
}

/// A receiver's answers to a direct delivery: each has a series from the start.
const REPLAY_ANSWERS: [&str; 3] = ["delivered", "refused", "unreachable"];

/// GitHub's answers to a redelivery request, by the names the ledger and the polling loop use.
const ANSWERS: [RedeliveryState; 3] = [RedeliveryState::Accepted, RedeliveryState::Ambiguous, RedeliveryState::Refused];

#[derive(Default)]
struct Exposition {
    out: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl fmt::Display) {
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", label_value(v))).collect();
        let _ = writeln!(self.out, "{name}{{{}}} {value}", labels.join(","));
    }
}

/// Label values escape backslash, double quote and line feed, per the 0.0.4 text format.
fn label_value(v: &str) -> String {
    v.replace('\\', r"\\").replace('"', "\\\"").replace('\n', r"\n")
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::daemon::health::tests::{at, one};
    use crate::daemon::page::tests::sample;
    use std::collections::BTreeMap;

    /// What a scraper reads: families (HELP, TYPE) and their samples.
    #[derive(Default, Debug)]
    pub(in crate::daemon) struct Scrape {
        help: BTreeMap<String, String>,
        kind: BTreeMap<String, String>,
        samples: BTreeMap<(String, Vec<(String, String)>), f64>,
    }

    impl Scrape {
        pub(in crate::daemon) fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
            let labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            self.samples.get(&(name.to_owned(), labels)).copied()
        }
    }

    /// A strict reader of the 0.0.4 text format, enough to prove ours is machine-readable: every
    /// sample follows its family's TYPE line, label values unescape, values are numbers.
    pub(in crate::daemon) fn scrape(text: &str) -> Scrape {
        let mut scrape = Scrape::default();
        let mut family = String::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').unwrap();
                assert!(scrape.help.insert(name.into(), help.into()).is_none(), "two HELP lines for {name}");
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(["counter", "gauge"].contains(&kind), "{line}");
                assert!(scrape.help.contains_key(name), "TYPE before HELP: {line}");
                assert!(scrape.kind.insert(name.into(), kind.into()).is_none(), "two TYPE lines for {name}");
                family = name.into();
            } else {
                let (name, labels, value) = sample_line(line);
                assert_eq!(name, family, "sample outside its family: {line}");
                assert!(scrape.samples.insert((name, labels), value).is_none(), "duplicate series: {line}");
            }
        }
        scrape
    }

    fn sample_line(line: &str) -> (String, Vec<(String, String)>, f64) {
        let name_end = line.find(['{', ' ']).unwrap();
        let name = &line[..name_end];
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{line}");
        let mut chars = line[name_end..].chars().peekable();
        let mut labels = Vec::new();
        if chars.peek() == Some(&'{') {
            chars.next();
            while chars.peek() != Some(&'}') {
                let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
                assert_eq!(chars.next(), Some('"'), "{line}");
                let mut value = String::new();
                loop {
                    match chars.next().unwrap() {
                        '"' => break,
                        '\\' => value.push(match chars.next().unwrap() {
                            'n' => '\n',
                            c @ ('\\' | '"') => c,
                            c => panic!("bad escape \\{c} in {line}"),
                        }),
                        '\n' => panic!("raw line feed in {line}"),
                        c => value.push(c),
                    }
                }
                labels.push((key, value));
                if chars.peek() == Some(&',') {
                    chars.next();
                }
            }
            chars.next();
        }
        assert_eq!(chars.next(), Some(' '), "{line}");
        let value: String = chars.collect();
        (name.to_owned(), labels, value.parse().unwrap_or_else(|e| panic!("{line}: {e}")))
    }

    #[test]
    fn metrics_parse_back_to_the_status() {
        let now = Utc::now();
        let status = sample(now);
        let m = scrape(&exposition(&status, now));
        let acme = [("target", "acme-prod")];
        assert_eq!(m.get("redeliver_deliveries_read_total", &acme), Some(12_345.0));
        assert_eq!(m.get("redeliver_failed_events_seen_total", &acme), Some(42.0));
        assert_eq!(m.get("redeliver_polls_total", &acme), Some(187.0));
        assert_eq!(m.get("redeliver_given_up_total", &acme), Some(1.0));
        assert_eq!(m.get("redeliver_pending_events", &acme), Some(2.0));
        assert_eq!(m.get("redeliver_rate_limit_remaining", &acme), Some(4_321.0));
        assert_eq!(m.get("redeliver_up", &acme), Some(1.0));
        assert_eq!(m.get("redeliver_clock_skew_seconds", &acme), Some(-600.0));
        assert_eq!(m.get("redeliver_clock_skew_seconds", &[("target", "ghes-lab")]), None, "unknown is omitted");
        let answer = |t, a| m.get("redeliver_redeliveries_total", &[("target", t), ("answer", a)]);
        assert_eq!(answer("acme-prod", "accepted"), Some(2.0));
        assert_eq!(answer("acme-prod", "refused"), Some(1.0));
        assert_eq!(answer("acme-prod", "ambiguous"), Some(1.0));
        assert_eq!(answer("ghes-lab", "accepted"), Some(0.0), "known answers start at zero");
        let api =
            |e, s| m.get("redeliver_api_requests_total", &[("target", "acme-prod"), ("endpoint", e), ("status", s)]);
        assert_eq!(api("list_deliveries", "200"), Some(187.0));
        assert_eq!(api("redeliver", "422"), Some(1.0));
        let last = m.get("redeliver_last_success_timestamp_seconds", &acme).unwrap();
        let expected = status.targets[0].last_success_at.unwrap().timestamp_millis() as f64 / 1000.0;
        assert!((last - expected).abs() < 0.001, "{last} vs {expected}");

        assert_eq!(m.get("redeliver_up", &[("target", "octo/repo#42")]), Some(1.0), "failing is not yet stale");
        assert_eq!(m.get("redeliver_up", &[("target", "ghes-lab")]), Some(0.0));
        assert_eq!(m.get("redeliver_rate_limit_remaining", &[("target", "ghes-lab")]), None, "unknown is omitted");
        assert_eq!(m.kind["redeliver_up"], "gauge");
        assert_eq!(m.kind["redeliver_redeliveries_total"], "counter");
        assert_eq!(m.get("redeliver_notifications_dropped_total", &[]), Some(0.0));
        let repo = [("target", "octo/repo#42")];
        assert_eq!(m.get("redeliver_receiver_up", &repo), Some(0.0), "its receiver is down");
        assert_eq!(m.get("redeliver_outages_total", &repo), Some(2.0));
        assert_eq!(m.get("redeliver_outage_seconds_total", &repo), Some(10_800.0));
        assert_eq!(m.get("redeliver_canaries_total", &repo), Some(2.0));
        assert_eq!(m.get("redeliver_receiver_up", &acme), None, "no receiver known yet: no series");
        assert_eq!(
            m.kind.len(),
            21,
            "every family, clock skew, outages, direct delivery and dropped notifications included"
        );
        assert_eq!(m.get("redeliver_replays_total", &[("target", "acme-prod"), ("answer", "delivered")]), Some(3.0));
        assert_eq!(m.get("redeliver_replays_total", &[("target", "acme-prod"), ("answer", "unreachable")]), Some(1.0));
        assert_eq!(m.get("redeliver_replays_total", &[("target", "ghes-lab"), ("answer", "refused")]), Some(0.0));
        assert_eq!(m.get("redeliver_replays_owed", &acme), Some(4.0));
        assert!(m.get("redeliver_last_replay_failure_timestamp_seconds", &acme).is_some());
        assert_eq!(m.get("redeliver_last_replay_timestamp_seconds", &[("target", "ghes-lab")]), None);
    }

    #[test]
    fn label_values_are_escaped() {
        let name = "we\"ird\\name\nand more";
        let mut s = one(None, None);
        s.targets[0].name = name.into();
        s.targets[0].api_requests.insert("no-status".into(), 2);
        let text = exposition(&s, at(0));
        assert!(text.contains(r#"target="we\"ird\\name\nand more""#), "{text}");
        let m = scrape(&text);
        assert_eq!(m.get("redeliver_polls_total", &[("target", name)]), Some(0.0));
        let api = [("target", name), ("endpoint", "no-status"), ("status", "")];
        assert_eq!(m.get("redeliver_api_requests_total", &api), Some(2.0));
        assert_eq!(m.get("redeliver_last_success_timestamp_seconds", &[("target", name)]), None);
    }
}
