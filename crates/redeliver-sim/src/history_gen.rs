//! Realistic delivery histories, the mix a real hook sees: many event kinds and actions,
//! installation and repository ids where GitHub fills them, every class of outcome (2xx, 4xx,
//! 5xx, no answer: `timed out` or `failed to connect to network`), earlier manual redeliveries,
//! and the occasional throttled delivery. Deterministic for a given seed.

use crate::world::{HookId, NewAttempt, World};
use chrono::{DateTime, Duration, Utc};

/// Events and actions an App hears (installation events included).
const APP_EVENTS: &[(&str, Option<&str>)] = &[
    ("pull_request", Some("opened")),
    ("pull_request", Some("synchronize")),
    ("pull_request", Some("closed")),
    ("push", None),
    ("issues", Some("opened")),
    ("issue_comment", Some("created")),
    ("check_suite", Some("requested")),
    ("check_run", Some("completed")),
    ("workflow_job", Some("queued")),
    ("workflow_job", Some("completed")),
    ("workflow_run", Some("completed")),
    ("installation_repositories", Some("added")),
    ("installation", Some("new_permissions_accepted")),
    ("release", Some("published")),
];
/// Events a repository hook hears.
const REPO_EVENTS: &[(&str, Option<&str>)] = &[
    ("push", None),
    ("pull_request", Some("opened")),
    ("pull_request", Some("closed")),
    ("pull_request_review", Some("submitted")),
    ("issues", Some("opened")),
    ("issues", Some("labeled")),
    ("issue_comment", Some("created")),
    ("create", None),
    ("delete", None),
    ("status", None),
    ("release", Some("published")),
];
/// Events an organization hook hears (some about the organization, not a repository).
const ORG_EVENTS: &[(&str, Option<&str>)] = &[
    ("push", None),
    ("repository", Some("created")),
    ("member", Some("added")),
    ("organization", Some("member_invited")),
    ("membership", Some("added")),
    ("team", Some("created")),
    ("pull_request", Some("opened")),
    ("issues", Some("opened")),
];

/// Which kind of hook a history is for: decides the events and which ids GitHub fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookKind {
    /// An App's hook: `installation_id` on every delivery.
    App { installation_id: i64 },
    /// A repository hook: its repository's id, no installation.
    Repo { repository_id: i64 },
    /// An organization hook: a repository id for repository events, none for the others.
    Org,
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct HistoryPlan {
    pub kind: HookKind,
    /// Events in the history, spread evenly over `span` before `now`.
    pub events: usize,
    /// How many of them are still failed at the end (no success at all), besides those that
    /// fell in the outage (which all end failed).
    pub failed: usize,
    pub span: Duration,
    pub now: DateTime<Utc>,
    /// While the receiver was down: attempts in it fail with no HTTP answer.
    pub outage: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub seed: u64,
}

/// What was generated.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// GUIDs of the events with no successful attempt, oldest first.
    pub failed: Vec<String>,
    /// GUIDs of events that failed and were already redelivered by hand with success.
    pub recovered_by_hand: Vec<String>,
    /// Every attempt recorded.
    pub attempts: usize,
}

/// A failed outcome: its status code and, when there was no HTTP answer, GitHub's wording.
fn failure(rng: &mut fastrand::Rng) -> (i64, Option<&'static str>) {
    match rng.u8(..100) {
        0..=29 => (*pick(rng, &[500, 502, 503, 504]), None),
        30..=49 => (*pick(rng, &[400, 401, 403, 404, 410, 422]), None),
        50..=74 => (0, Some("timed out")),
        _ => (0, Some("failed to connect to network")),
    }
}

fn success(rng: &mut fastrand::Rng) -> i64 {
    *pick(rng, &[200, 200, 200, 200, 201, 202, 204])
}

fn pick<'a, T>(rng: &mut fastrand::Rng, items: &'a [T]) -> &'a T {
    &items[rng.usize(..items.len())]
}

/// Records a realistic history on `hook` (which must exist) and says which events are failed.
/// About 6 % of the other events failed once and were already redelivered by hand with success;
/// a quarter of the failed ones also have a failed manual redelivery; about 3 % are throttled.
///
/// # Panics
/// If `hook` does not exist.
pub fn generate(world: &World, hook: HookId, plan: &HistoryPlan) -> History {
    let mut rng = fastrand::Rng::with_seed(plan.seed);
    let events = plan.events.max(plan.failed).max(1);
    let step = plan.span / i32::try_from(events).unwrap_or(i32::MAX).max(1);
    // Which events end failed: spread over the history, not bunched at one end.
    let mut failed_slots: Vec<usize> = (0..events).collect();
    rng.shuffle(&mut failed_slots);
    failed_slots.truncate(plan.failed);
    let catalogue = match plan.kind {
        HookKind::App { .. } => APP_EVENTS,
        HookKind::Repo { .. } => REPO_EVENTS,
        HookKind::Org => ORG_EVENTS,
    };
    let repos = [70_100_001_i64, 70_100_002, 70_100_003];
    let mut history = History::default();
    for i in 0..events {
        let at = plan.now - plan.span + step * i32::try_from(i).unwrap_or(i32::MAX);
        let (event, action) = *pick(&mut rng, catalogue);
        let in_outage = plan.outage.is_some_and(|(from, to)| at > from && at < to);
        let ends_failed = failed_slots.contains(&i) || in_outage;
        let mut attempt = NewAttempt::new(event, 0, at);
        if let Some(action) = action {
            attempt = attempt.action(action);
        }
        match plan.kind {
            HookKind::App { installation_id } => {
                attempt = attempt.installation_id(installation_id);
                if !event.starts_with("installation") {
                    attempt = attempt.repository_id(*pick(&mut rng, &repos));
                }
            }
            HookKind::Repo { repository_id } => attempt = attempt.repository_id(repository_id),
            HookKind::Org => {
                if !matches!(event, "member" | "organization" | "membership" | "team") {
                    attempt = attempt.repository_id(*pick(&mut rng, &repos));
                }
            }
        }
        // GitHub slows deliveries down in a surge: a few are throttled shortly before they go.
        if rng.u8(..100) < 3 {
            attempt = attempt.throttled_at(at - Duration::seconds(rng.i64(5..90)));
        }
        let first = if in_outage {
            (0, Some("failed to connect to network"))
        } else if ends_failed || rng.u8(..100) < 6 {
            failure(&mut rng)
        } else {
            (success(&mut rng), None)
        };
        attempt.status_code = first.0;
        attempt.status = first.1.map(str::to_string);
        let record = world.record_attempt(hook, attempt.clone());
        history.attempts += 1;
        if first.0 != 0 && (200..300).contains(&first.0) {
            continue;
        }
        // A failure someone already redelivered by hand, minutes later: with success unless the
        // event is one that ends failed (then the manual try failed too).
        let manual = !ends_failed || rng.u8(..100) < 25;
        if manual {
            let later = at + Duration::minutes(rng.i64(3..40));
            let outcome = if ends_failed { failure(&mut rng) } else { (success(&mut rng), None) };
            let mut again = attempt.guid(&record.guid).redelivery(true);
            again.delivered_at = later.min(plan.now);
            again.status_code = outcome.0;
            again.status = outcome.1.map(str::to_string);
            again.throttled_at = None;
            world.record_attempt(hook, again);
            history.attempts += 1;
        }
        if ends_failed {
            history.failed.push(record.guid);
        } else {
            history.recovered_by_hand.push(record.guid);
        }
    }
    history
}
