//! The planner's outage step, pure: a plan made by [`super::plan`] for one hook, turned into the
//! outage-aware one from the hook's [`HookHealth`] at `now`. While the receiver is down the
//! ladder is paused: no event is redelivered except one canary per probe interval, every other
//! owed event is held (still remembered, the stored time still holds for it), and an event that
//! reaches the horizon is given up with reason `outage`. While up, the plan drains as made, with
//! `--priority` events first.

use super::{Decision, EventFilter, GiveUpReason, Plan, Verdict};
use crate::health::HookHealth;
use chrono::{DateTime, Utc};

/// The outage-aware plan. `priority` holds `event` or `event.action` patterns (the filter
/// grammar; only its `include` list is read) whose redeliveries go first when draining.
pub fn outage_aware(mut plan: Plan, health: &HookHealth, priority: &EventFilter, now: DateTime<Utc>) -> Plan {
    if !health.is_down() {
        if !priority.include.is_empty() {
            let first = |v: &Verdict| {
                matches!(v.decision, Decision::Redeliver { .. })
                    && priority.allows(&v.history.event, v.history.action.as_deref())
            };
            // Stable: within each group the planner's order (oldest first) stays.
            plan.verdicts.sort_by_key(|v| !first(v));
        }
        return plan;
    }
    let owed =
        |d: &Decision| matches!(d, Decision::Redeliver { .. } | Decision::Deferred { .. } | Decision::Waiting { .. });
    // The canary is the oldest *due* event: one still waiting for its rung (its last request,
    // perhaps refused, was moments ago) is not sent early because the hook is down.
    let due = |d: &Decision| matches!(d, Decision::Redeliver { .. } | Decision::Deferred { .. });
    let canary = health
        .probe_due(now)
        .then(|| {
            plan.verdicts
                .iter()
                .enumerate()
                .filter(|(_, v)| due(&v.decision))
                .min_by_key(|(_, v)| (v.first_attempt_at, &v.history.guid))
                .map(|(i, _)| i)
        })
        .flatten();
    for (i, v) in plan.verdicts.iter_mut().enumerate() {
        v.decision = match v.decision {
            Decision::GiveUp { reason: GiveUpReason::Horizon } => Decision::GiveUp { reason: GiveUpReason::Outage },
            ref d if owed(d) && Some(i) == canary => Decision::Probe { delivery_id: v.history.newest_id },
            ref d if owed(d) => Decision::Held,
            ref d => d.clone(),
        };
    }
    // The canary first, as redeliveries are.
    plan.verdicts.sort_by_key(|v| !matches!(v.decision, Decision::Probe { .. }));
    plan
}

#[cfg(test)]
#[path = "outage_tests.rs"]
mod tests;
