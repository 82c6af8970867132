//! Sending deliveries: new events delivered now, and redeliveries that GitHub queues after
//! answering 202 and records once the receiver has answered (or not).

use super::{Clock, DeliveryRecord, HookId, State, StoredAttempt, World, status_text};
use crate::flavor::Flavor;
use crate::hookshot::{self, Outbound, Outcome};
use crate::ids;
use serde_json::Value;
use std::time::Duration;

/// `settle` gives up after this long, so a stuck receiver cannot hang a test forever.
const SETTLE_LIMIT: Duration = Duration::from_secs(30);

/// What an attempt needs besides the outcome: the event it delivers.
struct Event {
    hook: HookId,
    guid: String,
    event: String,
    action: Option<String>,
    installation_id: Option<i64>,
    repository_id: Option<i64>,
    payload: Value,
}

/// Counts a redelivery as in flight until dropped, even if its task panics.
struct InFlight(World);

impl InFlight {
    fn start(world: &World) -> InFlight {
        world.shared.in_flight.send_modify(|n| *n += 1);
        InFlight(world.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.shared.in_flight.send_modify(|n| *n -= 1);
    }
}

impl State {
    /// The POST for `event` as `flavor` sends it, its timeout, and GitHub's clock.
    fn outbound(&self, event: &Event, flavor: Flavor) -> (Outbound, Duration, Clock) {
        let hook = &self.hooks[&event.hook];
        let body = serde_json::to_vec(&event.payload).unwrap_or_default();
        let out = Outbound {
            url: hook.url.clone(),
            hook_id: hook.id,
            guid: event.guid.clone(),
            event: event.event.clone(),
            target: hook.target.installation_target(),
            secret: hook.secret.clone(),
            body,
            enterprise_host: (flavor == Flavor::Ghes).then(|| self.host.clone()),
        };
        (out, self.receiver_timeout(flavor), self.clock)
    }

    fn store_outcome(&mut self, event: Event, redelivery: bool, url: String, outcome: Outcome) -> DeliveryRecord {
        let record = DeliveryRecord {
            id: 0,
            guid: event.guid,
            delivered_at: outcome.started,
            redelivery,
            status: outcome.status,
            status_code: outcome.status_code,
            event: event.event,
            action: event.action,
            installation_id: event.installation_id,
            repository_id: event.repository_id,
            hook: event.hook,
            duration: outcome.duration,
            throttled_at: None,
        };
        self.store_attempt(StoredAttempt {
            record,
            url,
            payload: event.payload,
            request_headers: outcome.request_headers,
            response_headers: outcome.response_headers,
            response_body: outcome.response_body,
        })
    }
}

impl World {
    /// Delivers a new event to `hook` now, really POSTing `payload` to its receiver, and records
    /// the attempt with the real outcome. `installation_id` and `repository_id` are read from
    /// the payload (`installation.id`, `repository.id`) as GitHub does. The receiver gets the
    /// timeout of the world's flavor (github.com's unless [`World::set_flavor`] said otherwise).
    ///
    /// # Panics
    /// If `hook` does not exist.
    pub async fn deliver(&self, hook: HookId, event: &str, action: Option<&str>, payload: Value) -> DeliveryRecord {
        let (repository_id, flavor) = {
            let state = self.lock();
            let hook = state.hooks.get(&hook).expect("deliver: unknown hook");
            let repository_id =
                payload.pointer("/repository/id").and_then(Value::as_i64).or(hook.target.repository_id());
            (repository_id, state.flavor.unwrap_or(Flavor::GitHubCom))
        };
        let event = Event {
            hook,
            guid: ids::guid(),
            event: event.to_string(),
            action: action.map(str::to_string),
            installation_id: payload.pointer("/installation/id").and_then(Value::as_i64),
            repository_id,
            payload,
        };
        self.send_and_record(event, false, flavor).await
    }

    async fn send_and_record(&self, event: Event, redelivery: bool, flavor: Flavor) -> DeliveryRecord {
        let (out, timeout, clock) = self.lock().outbound(&event, flavor);
        let outcome = hookshot::send(&self.shared.hookshot, &out, timeout, clock).await;
        self.lock().store_outcome(event, redelivery, out.url, outcome)
    }

    /// Queues a redelivery of attempt `attempt_id` (which must exist) and returns at once, like
    /// GitHub's 202; the receiver gets `flavor`'s timeout. Must be called inside a tokio runtime.
    pub(crate) fn start_redelivery(&self, attempt_id: u64, flavor: Flavor) {
        let (event, scripted) = {
            let mut state = self.lock();
            let original = &state.attempts[&attempt_id];
            let event = Event {
                hook: original.record.hook,
                guid: original.record.guid.clone(),
                event: original.record.event.clone(),
                action: original.record.action.clone(),
                installation_id: original.record.installation_id,
                repository_id: original.record.repository_id,
                payload: original.payload.clone(),
            };
            let scripted = state.scripted.get_mut(&event.guid).and_then(|q| q.pop_front());
            (event, scripted)
        };
        let in_flight = InFlight::start(self);
        let world = self.clone();
        tokio::spawn(async move {
            let _in_flight = in_flight;
            match scripted {
                Some(status_code) => world.record_scripted(event, status_code),
                None => {
                    world.send_and_record(event, true, flavor).await;
                }
            }
        });
    }

    fn record_scripted(&self, event: Event, status_code: i64) {
        let mut state = self.lock();
        let url = state.hooks[&event.hook].url.clone();
        let outcome = Outcome {
            started: state.now(),
            duration: 0.01,
            status_code,
            status: status_text(status_code),
            request_headers: Vec::new(),
            response_headers: Vec::new(),
            response_body: None,
        };
        state.store_outcome(event, true, url, outcome);
    }

    /// Makes the next `times` redeliveries of `guid` end with `status_code` without POSTing
    /// anything (0 reads as "failed to connect to network").
    pub fn script_redelivery_outcome(&self, guid: &str, status_code: i64, times: usize) {
        let mut state = self.lock();
        let queue = state.scripted.entry(guid.to_string()).or_default();
        queue.extend(std::iter::repeat_n(status_code, times));
    }

    /// Waits until every queued redelivery has been attempted and recorded (at most ~30 s).
    pub async fn settle(&self) {
        let mut idle = self.shared.in_flight.subscribe();
        let _ = tokio::time::timeout(SETTLE_LIMIT, idle.wait_for(|n| *n == 0)).await;
    }
}
