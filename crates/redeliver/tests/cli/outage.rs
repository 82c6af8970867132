//! Outage-aware recovery (issue 11) end to end: the real binary against the simulator with its
//! receiver down for days. GitHub's clock is moved forward between passes (`set_clock_skew`),
//! so a 60-hour outage plays in a bounded number of passes, with no sleep and no timing
//! assertion; every decision the binary makes is on GitHub's clock, learnt from `Date`.

use crate::harness::App;
use crate::harness::report::{Outcome, Reason, ReceiverState, RunReport};
use chrono::Duration;
use redeliver_sim::{NewAttempt, ReceiverMode};
use std::collections::{HashMap, HashSet};

/// The simulator with its receiver down, the time GitHub's clock was moved, and every pass's
/// report and stderr (GitHub Actions annotations land there beside `--json`).
struct Outage {
    app: App,
    skew: Duration,
    reports: Vec<RunReport>,
    stderr: String,
}

impl Outage {
    async fn start() -> Outage {
        let app = App::start().await;
        app.receiver.set_mode(ReceiverMode::Down);
        Outage { app, skew: Duration::zero(), reports: Vec::new(), stderr: String::new() }
    }

    /// Moves GitHub's clock on.
    fn advance(&mut self, by: Duration) {
        self.skew += by;
        self.app.world().set_clock_skew(self.skew);
    }

    /// A new event, delivered now to the receiver as it is.
    async fn fire(&self, event: &str) -> String {
        self.app.world().deliver(self.app.hook, event, Some("opened"), serde_json::json!({"n": 1})).await.guid
    }

    /// One `run --json` under GitHub Actions (annotations on stderr); its redeliveries settle.
    async fn run(&mut self, flags: &[&str]) -> &RunReport {
        let out = self.app.run().json().env("GITHUB_ACTIONS", "true").args(flags.iter().copied()).await;
        assert!(out.code == 0 || out.code == 1, "exit {}:\n{}\n{}", out.code, out.stdout, out.stderr);
        self.app.world().settle().await;
        self.stderr.push_str(&out.stderr);
        self.reports.push(out.report());
        self.reports.last().unwrap()
    }

    fn redelivery_posts(&self) -> usize {
        self.app.count_requests("POST", "/attempts")
    }

    /// Passes until every event has reached the receiver (at most `passes`, `step` apart).
    async fn drain(&mut self, guids: &[String], passes: usize, step: Duration, flags: &[&str]) {
        for _ in 0..passes {
            self.run(flags).await;
            if guids.iter().all(|g| self.app.receiver.successes_for(g) > 0) {
                return;
            }
            self.advance(step);
        }
    }

    /// How many passes reported each event given up, by reason.
    fn given_up(&self) -> HashMap<String, Vec<Reason>> {
        let mut out: HashMap<String, Vec<Reason>> = HashMap::new();
        for r in &self.reports {
            for e in r.events.iter().filter(|e| e.outcome == Outcome::GivenUp) {
                out.entry(e.guid.clone()).or_default().push(e.reason.expect("a reason"));
            }
        }
        out
    }

    fn starts(&self) -> usize {
        self.reports.iter().filter(|r| r.receiver.as_ref().unwrap().outage_started.is_some()).count()
    }

    fn ends(&self) -> Vec<&crate::harness::report::OutageEnd> {
        self.reports.iter().flat_map(|r| r.receiver.as_ref().unwrap().outages_ended.iter()).collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_60_hour_outage_loses_nothing_and_spends_one_canary_per_probe_interval_at_most() {
    let mut o = Outage::start().await;
    let mut guids = Vec::new();
    for _ in 0..3 {
        guids.push(o.fire("push").await);
    }
    // Down from here for 60 hours, with new failures every hour; one pass an hour.
    let hours = 60;
    for _ in 0..hours {
        o.run(&[]).await;
        o.advance(Duration::hours(1));
        guids.push(o.fire("push").await);
    }
    let posts = o.redelivery_posts();
    let canaries: u32 = o.reports.iter().map(|r| r.receiver.as_ref().unwrap().canaries_sent).sum();
    assert_eq!(posts, canaries as usize, "every POST during the outage was a canary");
    assert!(posts <= hours, "at most one per pass: {posts}");
    assert!(posts as i64 <= Duration::hours(hours as i64).num_minutes(), "at most one per probe interval (1m)");
    for r in &o.reports {
        assert_eq!(r.counts.redelivered + r.counts.given_up, 0, "no rung and no give-up while down: {:?}", r.counts);
        let receiver = r.receiver.as_ref().unwrap();
        assert_eq!(receiver.state, ReceiverState::Down);
    }
    // The canary is the oldest event: GitHub lists it with far more attempts than the cap (8),
    // and it was never given up: canaries are charged to no rung.
    let canary_attempts = guids.iter().map(|g| o.app.world().attempts_for(g).len()).max().unwrap();
    assert!(canary_attempts > 8, "{canary_attempts} attempts of the canary event");

    o.app.receiver.set_mode(ReceiverMode::Up);
    guids.push(o.fire("push").await); // GitHub delivers a new event: the receiver is up
    o.advance(Duration::minutes(1));
    o.drain(&guids, 6, Duration::minutes(2), &[]).await;
    o.advance(Duration::minutes(2));
    o.run(&[]).await; // sees the drain's successes: the outage is over
    for g in &guids {
        assert!(o.app.receiver.successes_for(g) > 0, "{g} recovered");
    }
    assert!(o.given_up().is_empty(), "none given up: {:?}", o.given_up());
    assert_eq!(o.starts(), 1, "one start");
    let ends = o.ends();
    assert_eq!(ends.len(), 1, "one end");
    assert!(ends[0].seconds >= 60 * 3600, "{} s", ends[0].seconds);
    assert_eq!(ends[0].given_up, 0);
    assert!(ends[0].recovered >= guids.len() as u64 - 1, "{} recovered", ends[0].recovered);
    assert_eq!(o.stderr.matches("title=Webhook receiver down::").count(), 1, "{}", o.stderr);
    assert_eq!(o.stderr.matches("title=Webhook receiver back::").count(), 1);
    assert_eq!(o.reports.last().unwrap().receiver.as_ref().unwrap().state, ReceiverState::Up);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_past_the_horizon_gives_the_oldest_up_once_with_reason_outage_and_recovers_the_rest() {
    let mut o = Outage::start().await;
    let mut guids = Vec::new();
    for _ in 0..3 {
        guids.push(o.fire("push").await);
    }
    // 80 hours down; github.com keeps deliveries 3 days (the horizon).
    o.run(&[]).await;
    for _ in 0..40 {
        o.advance(Duration::hours(2));
        guids.push(o.fire("push").await);
        o.run(&[]).await;
    }
    let given_up = o.given_up();
    assert!(!given_up.is_empty(), "the oldest crossed the horizon");
    for (g, reasons) in &given_up {
        assert_eq!(reasons, &[Reason::Outage], "{g}: given up once, for the outage");
    }
    o.app.receiver.set_mode(ReceiverMode::Up);
    guids.push(o.fire("push").await);
    let rest: Vec<String> = guids.iter().filter(|g| !given_up.contains_key(*g)).cloned().collect();
    o.drain(&rest, 6, Duration::minutes(2), &[]).await;
    o.advance(Duration::minutes(2));
    o.run(&[]).await;
    for g in &rest {
        assert!(o.app.receiver.successes_for(g) > 0, "{g} recovered");
    }
    assert_eq!(o.given_up().len(), given_up.len(), "nothing else given up, and nothing reported twice");
    let ends = o.ends();
    assert_eq!((o.starts(), ends.len()), (1, 1));
    assert_eq!(ends[0].given_up, given_up.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_is_given_up_at_the_cap_while_its_neighbours_succeed() {
    let mut o = Outage::start().await;
    o.app.receiver.set_mode(ReceiverMode::Up);
    // A gateway answer, but only for this event: the receiver answers the others.
    let poison = o.app.record(NewAttempt::new("push", 503, o.app.world().now())).guid;
    o.app.world().script_redelivery_outcome(&poison, 503, 50);
    let mut neighbours = Vec::new();
    let flags = ["--ladder", "1m", "--max-attempts", "4"];
    for _ in 0..8 {
        neighbours.push(o.fire("issues").await);
        o.run(&flags).await;
        o.advance(Duration::minutes(2));
    }
    assert_eq!(o.given_up().get(&poison), Some(&vec![Reason::Cap]), "given up once, at the cap");
    assert_eq!(o.app.world().attempts_for(&poison).len(), 4, "the original and three rungs");
    assert!(neighbours.iter().all(|g| o.app.receiver.successes_for(g) == 1));
    assert!(o.reports.iter().all(|r| r.receiver.as_ref().unwrap().state == ReceiverState::Up));
    assert_eq!((o.starts(), o.ends().len()), (0, 0), "no outage");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flapping_receiver_recovers_everything_within_the_cap_and_tells_each_outage_once() {
    let mut o = Outage::start().await;
    let mut guids = Vec::new();
    // Up 5 minutes, down 20, four times over; a pass and two new events every 5 minutes.
    for cycle in 0..4 {
        for step in 0..5 {
            let up = step == 0;
            o.app.receiver.set_mode(if up { ReceiverMode::Up } else { ReceiverMode::Down });
            guids.push(o.fire("push").await);
            guids.push(o.fire(if cycle % 2 == 0 { "issues" } else { "pull_request" }).await);
            o.run(&[]).await;
            o.advance(Duration::minutes(5));
        }
    }
    o.app.receiver.set_mode(ReceiverMode::Up);
    guids.push(o.fire("push").await);
    o.drain(&guids, 8, Duration::minutes(5), &[]).await;
    o.advance(Duration::minutes(5));
    o.run(&[]).await;
    for g in &guids {
        assert!(o.app.receiver.successes_for(g) > 0, "{g} recovered");
    }
    assert!(o.given_up().is_empty(), "none given up, none over the cap: {:?}", o.given_up());
    let starts = o.starts();
    assert!(starts >= 3, "each down stretch is an outage: {starts}");
    assert_eq!(o.ends().len(), starts, "one end per start");
    assert_eq!(o.stderr.matches("title=Webhook receiver down::").count(), starts);
    assert_eq!(o.stderr.matches("title=Webhook receiver back::").count(), starts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_drains_priority_first_oldest_first_at_the_drain_rate() {
    let mut o = Outage::start().await;
    let mut events = HashMap::new();
    for i in 0..8 {
        let kind = if i < 4 { "push" } else { "pull_request" };
        events.insert(o.fire(kind).await, kind);
        o.advance(Duration::minutes(1));
    }
    let flags = ["--drain-rate", "20/s", "--priority", "pull_request"];
    o.run(&flags).await;
    assert_eq!(o.reports[0].receiver.as_ref().unwrap().state, ReceiverState::Down);
    o.advance(Duration::hours(1));
    o.app.receiver.set_mode(ReceiverMode::Up);
    o.fire("push").await;
    o.app.world().clear_requests();
    o.run(&flags).await;
    let world = o.app.world();
    let posts: Vec<_> = world.requests().into_iter().filter(|r| r.method == "POST").collect();
    assert_eq!(posts.len(), 8, "the whole backlog in one pass");
    // Which event each POST redelivered, by the attempt id in its path.
    let by_id: HashMap<u64, (String, chrono::DateTime<chrono::Utc>)> =
        events.keys().flat_map(|g| world.attempts_for(g)).map(|a| (a.id, (a.guid.clone(), a.delivered_at))).collect();
    let order: Vec<(String, chrono::DateTime<chrono::Utc>)> = posts
        .iter()
        .map(|p| {
            let id: u64 = p.path.split('/').rev().nth(1).and_then(|s| s.parse().ok()).expect("an attempt id");
            by_id[&id].clone()
        })
        .collect();
    let kinds: Vec<&str> = order.iter().map(|(g, _)| events[g]).collect();
    assert_eq!(kinds, ["pull_request"; 4].iter().chain(["push"; 4].iter()).copied().collect::<Vec<_>>());
    let first = |g: &str| world.attempts_for(g).iter().map(|a| a.delivered_at).min().unwrap();
    for pair in order.windows(2).filter(|w| events[&w[0].0] == events[&w[1].0]) {
        assert!(first(&pair[0].0) <= first(&pair[1].0), "oldest first within each group");
    }
    for pair in posts.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= Duration::milliseconds(45), "20/s keeps 50 ms between requests: {gap}");
    }
    let seen: HashSet<&String> = order.iter().map(|(g, _)| g).collect();
    assert_eq!(seen.len(), 8, "each once");
}

/// `watch` tells an outage twice: once when it starts and once when it is over, through
/// `--notify-command`, however many events it held and however many polls it lasted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_notifies_once_when_an_outage_starts_and_once_when_it_is_over() {
    let o = Outage::start().await;
    let mut guids = Vec::new();
    for _ in 0..6 {
        guids.push(o.fire("push").await);
    }
    let log = o.app.dir.path().join("notifications.log");
    let command = format!("echo \"$REDELIVER_NOTIFICATION\" >> '{}'", log.display());
    let flags =
        ["--interval", "200ms", "--listen", "off", "--pace", "0s", "--ladder", "1s", "--notify-command", &command];
    let mut daemon = o.app.watch().args(flags).spawn();
    let notes = || std::fs::read_to_string(&log).unwrap_or_default();
    let polls = || o.app.count_list_pages();
    crate::harness::wait_until(secs(30), "the outage-started notification", || notes().contains("outage_started"))
        .await;
    // Several more polls while down: still one notification.
    let seen = polls();
    crate::harness::wait_until(secs(30), "five more polls", || polls() >= seen + 5).await;
    o.app.receiver.set_mode(ReceiverMode::Up);
    guids.push(o.fire("push").await);
    crate::harness::wait_until(secs(60), "the outage-ended notification", || notes().contains("outage_ended")).await;
    let seen = polls();
    crate::harness::wait_until(secs(30), "five more polls", || polls() >= seen + 5).await;
    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(20).await, 0, "{}", daemon.seen.join("\n"));
    let lines: Vec<String> = notes().lines().map(str::to_owned).collect();
    assert_eq!(lines, ["outage_started", "outage_ended"], "one each, not one per event or poll");
    assert!(guids.iter().all(|g| o.app.receiver.successes_for(g) > 0), "every event recovered");
}

fn secs(n: u64) -> std::time::Duration {
    std::time::Duration::from_secs(n)
}
