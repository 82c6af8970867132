//! Delivery history: every attempt to deliver an event to a hook, with its outcome and payload,
//! and the queries the list endpoints answer from it (newest first, filtered, within retention).

use super::{HookId, State, World};
use crate::hookshot::Outbound;
use crate::ids;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::ops::Bound;

/// One delivery attempt, with the fields of GitHub's "Simple webhook delivery".
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryRecord {
    /// Unique per attempt; large, and growing with `delivered_at`.
    pub id: u64,
    /// Shared by every attempt to deliver the same event (the `X-GitHub-Delivery` header).
    pub guid: String,
    /// When the attempt started.
    pub delivered_at: DateTime<Utc>,
    /// Whether the attempt was asked for through the redelivery endpoint.
    pub redelivery: bool,
    /// `"OK"`, `"Invalid HTTP Response: 503"`, `"failed to connect"`, `"timed out"`, ...
    pub status: String,
    /// The receiver's HTTP status, or 0 when there was no HTTP answer.
    pub status_code: i64,
    pub event: String,
    pub action: Option<String>,
    pub installation_id: Option<i64>,
    pub repository_id: Option<i64>,
    /// The hook the attempt belongs to.
    pub hook: HookId,
    /// Seconds spent delivering.
    pub duration: f64,
    /// When GitHub slowed the delivery down during a surge, if it did.
    pub throttled_at: Option<DateTime<Utc>>,
}

/// An attempt to add to the history without sending anything (see [`World::record_attempt`]).
#[derive(Clone, Debug, PartialEq)]
pub struct NewAttempt {
    /// `None` for a fresh GUID (a new event); `Some` to add an attempt to an existing event.
    pub guid: Option<String>,
    pub event: String,
    pub action: Option<String>,
    pub delivered_at: DateTime<Utc>,
    pub status_code: i64,
    /// `None` derives it from `status_code` like GitHub words it.
    pub status: Option<String>,
    pub redelivery: bool,
    pub installation_id: Option<i64>,
    pub repository_id: Option<i64>,
    /// When GitHub throttled the delivery, if it did.
    pub throttled_at: Option<DateTime<Utc>>,
}

impl NewAttempt {
    /// A first attempt of a new `event` at `delivered_at` that got `status_code`.
    pub fn new(event: &str, status_code: i64, delivered_at: DateTime<Utc>) -> NewAttempt {
        NewAttempt {
            guid: None,
            event: event.to_string(),
            action: None,
            delivered_at,
            status_code,
            status: None,
            redelivery: false,
            installation_id: None,
            repository_id: None,
            throttled_at: None,
        }
    }

    /// GitHub throttled this delivery at `at` (during a surge of deliveries to the account).
    pub fn throttled_at(mut self, at: DateTime<Utc>) -> NewAttempt {
        self.throttled_at = Some(at);
        self
    }

    /// Another attempt at the event `guid`.
    pub fn guid(mut self, guid: &str) -> NewAttempt {
        self.guid = Some(guid.to_string());
        self
    }

    pub fn action(mut self, action: &str) -> NewAttempt {
        self.action = Some(action.to_string());
        self
    }

    pub fn redelivery(mut self, redelivery: bool) -> NewAttempt {
        self.redelivery = redelivery;
        self
    }

    pub fn status(mut self, status: &str) -> NewAttempt {
        self.status = Some(status.to_string());
        self
    }

    pub fn installation_id(mut self, id: i64) -> NewAttempt {
        self.installation_id = Some(id);
        self
    }

    pub fn repository_id(mut self, id: i64) -> NewAttempt {
        self.repository_id = Some(id);
        self
    }
}

/// GitHub's wording when the receiver refused the connection ("Troubleshooting webhooks":
/// `failed to connect to network`).
pub(crate) const FAILED_TO_CONNECT: &str = "failed to connect to network";
/// GitHub's wording when the receiver did not answer within the timeout.
pub(crate) const TIMED_OUT: &str = "timed out";

/// GitHub's wording for an attempt's outcome: any 2xx is `OK`; no HTTP answer at all is a failed
/// connection; anything else is an invalid response.
pub(crate) fn status_text(status_code: i64) -> String {
    match status_code {
        200..=299 => "OK".to_string(),
        0 => FAILED_TO_CONNECT.to_string(),
        n => format!("Invalid HTTP Response: {n}"),
    }
}

/// An attempt plus what the single-delivery endpoint shows about it.
#[derive(Clone, Debug)]
pub(crate) struct StoredAttempt {
    pub record: DeliveryRecord,
    /// The receiver URL the attempt went to.
    pub url: String,
    pub payload: Value,
    pub request_headers: Vec<(String, String)>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
}

/// The `status` query filter, classified by `status_code` as GitHub documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StatusFilter {
    /// 200–399.
    Success,
    /// 400–599; attempts with no HTTP answer (status code 0) are in neither class.
    Failure,
}

impl StatusFilter {
    pub(crate) fn admits(self, status_code: i64) -> bool {
        match self {
            StatusFilter::Success => (200..=399).contains(&status_code),
            StatusFilter::Failure => (400..=599).contains(&status_code),
        }
    }
}

impl State {
    /// Stores an attempt under a fresh id derived from its time, and indexes it.
    pub(crate) fn store_attempt(&mut self, mut attempt: StoredAttempt) -> DeliveryRecord {
        let mut id = ids::delivery_id_for(attempt.record.delivered_at);
        while self.attempts.contains_key(&id) {
            id += 1;
        }
        attempt.record.id = id;
        let record = attempt.record.clone();
        self.timeline.entry(record.hook).or_default().insert((record.delivered_at, id));
        self.by_guid.entry(record.guid.clone()).or_default().push(id);
        self.attempts.insert(id, attempt);
        record
    }

    /// The payload of an earlier attempt at `guid`, so every attempt at an event carries the same.
    pub(crate) fn payload_of(&self, guid: &str) -> Option<Value> {
        let first = self.by_guid.get(guid)?.first()?;
        Some(self.attempts[first].payload.clone())
    }

    /// The hook's attempts newest first (time, then id), from `start` (inclusive) back to the
    /// retention `horizon`. Walks an index, so paging through a long history stays cheap.
    pub(crate) fn newest_first_from(
        &self,
        hook: HookId,
        start: Option<(DateTime<Utc>, u64)>,
        horizon: DateTime<Utc>,
    ) -> impl Iterator<Item = &StoredAttempt> + '_ {
        let upper = start.map_or(Bound::Unbounded, Bound::Included);
        self.timeline
            .get(&hook)
            .into_iter()
            .flat_map(move |timeline| timeline.range((Bound::Unbounded, upper)).rev())
            .take_while(move |(at, _)| *at >= horizon)
            .map(|(_, id)| &self.attempts[id])
    }

    fn records(&self, ids: impl Iterator<Item = u64>) -> Vec<DeliveryRecord> {
        let mut list: Vec<_> = ids.map(|id| self.attempts[&id].record.clone()).collect();
        list.sort_by(newest_first);
        list
    }
}

pub(crate) fn newest_first(a: &DeliveryRecord, b: &DeliveryRecord) -> std::cmp::Ordering {
    (b.delivered_at, b.id).cmp(&(a.delivered_at, a.id))
}

impl World {
    /// Adds an attempt with a given outcome to `hook`'s history without sending anything, e.g.
    /// to build a history in the past. Returns the stored record (with its id).
    ///
    /// # Panics
    /// If `hook` does not exist.
    pub fn record_attempt(&self, hook: HookId, attempt: NewAttempt) -> DeliveryRecord {
        let mut state = self.lock();
        let target = state.hooks.get(&hook).expect("record_attempt: unknown hook").clone();
        let guid = attempt.guid.unwrap_or_else(ids::guid);
        let repository_id = attempt.repository_id.or(target.target.repository_id());
        let payload = state
            .payload_of(&guid)
            .unwrap_or_else(|| synthetic_payload(attempt.action.as_deref(), attempt.installation_id, repository_id));
        let status = attempt.status.unwrap_or_else(|| status_text(attempt.status_code));
        let record = DeliveryRecord {
            id: 0,
            guid,
            delivered_at: attempt.delivered_at,
            redelivery: attempt.redelivery,
            status: status.clone(),
            status_code: attempt.status_code,
            event: attempt.event,
            action: attempt.action,
            installation_id: attempt.installation_id,
            repository_id,
            hook,
            duration: plausible_duration(&status),
            throttled_at: attempt.throttled_at,
        };
        // What the log shows for an attempt that really went out: the headers sent, and the
        // receiver's answer when there was one.
        let body = serde_json::to_vec(&payload).unwrap_or_default();
        let out = Outbound {
            url: target.url.clone(),
            hook_id: target.id,
            guid: record.guid.clone(),
            event: record.event.clone(),
            target: target.target.installation_target(),
            secret: target.secret.clone(),
            body,
            enterprise_host: None,
        };
        let (response_headers, response_body) = recorded_answer(record.status_code);
        state.store_attempt(StoredAttempt {
            record,
            url: target.url,
            payload,
            request_headers: out.headers(),
            response_headers,
            response_body,
        })
    }

    /// Every attempt of `hook`, newest first, including those past retention.
    pub fn deliveries(&self, hook: HookId) -> Vec<DeliveryRecord> {
        let state = self.lock();
        let ids = state.timeline.get(&hook).into_iter().flatten().map(|(_, id)| *id);
        state.records(ids)
    }

    /// Every attempt at the event `guid` (on any hook), newest first.
    pub fn attempts_for(&self, guid: &str) -> Vec<DeliveryRecord> {
        let state = self.lock();
        let ids = state.by_guid.get(guid).into_iter().flatten().copied();
        state.records(ids)
    }

    /// The payload kept for the event `guid`, if any attempt at it exists.
    pub fn payload(&self, guid: &str) -> Option<Value> {
        self.lock().payload_of(guid)
    }
}

/// A plausible time for an outcome: a timeout lasts the whole timeout, a refused connection is
/// quick, an answer takes a fraction of a second.
fn plausible_duration(status: &str) -> f64 {
    match status {
        TIMED_OUT => 10.0,
        FAILED_TO_CONNECT => (fastrand::f64() * 0.05 * 1000.0).round() / 1000.0,
        _ => ((0.05 + fastrand::f64() * 0.5) * 100.0).round() / 100.0,
    }
}

/// The receiver's answer as the log keeps it: none without an HTTP answer.
fn recorded_answer(status_code: i64) -> (Vec<(String, String)>, Option<String>) {
    if status_code == 0 {
        return (Vec::new(), None);
    }
    let body = if (200..300).contains(&status_code) { "ok" } else { "error" };
    let headers = vec![
        ("Content-Type".to_string(), "text/plain; charset=utf-8".to_string()),
        ("Content-Length".to_string(), body.len().to_string()),
    ];
    (headers, Some(body.to_string()))
}

/// A small payload for recorded histories, shaped enough for a receiver to parse.
fn synthetic_payload(action: Option<&str>, installation_id: Option<i64>, repository_id: Option<i64>) -> Value {
    let mut payload = json!({ "sender": { "login": "octocat", "id": 1 } });
    if let Some(action) = action {
        payload["action"] = json!(action);
    }
    if let Some(id) = installation_id {
        payload["installation"] = json!({ "id": id });
    }
    if let Some(id) = repository_id {
        payload["repository"] = json!({ "id": id });
    }
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_text_follows_githubs_wording() {
        assert_eq!(status_text(200), "OK");
        assert_eq!(status_text(204), "OK");
        assert_eq!(status_text(0), "failed to connect to network");
        assert_eq!(status_text(503), "Invalid HTTP Response: 503");
    }

    #[test]
    fn failure_filter_leaves_out_attempts_without_an_http_answer() {
        assert!(StatusFilter::Failure.admits(500));
        assert!(!StatusFilter::Failure.admits(0));
        assert!(StatusFilter::Success.admits(302));
        assert!(!StatusFilter::Success.admits(0));
    }
}
