//! Shrinking: a failing history made smaller while it still breaks the same rule, so the seed
//! that found a defect comes with the few steps that show it.
//!
//! Greedy and bounded: drop one step at a time (latest first, so the backlog and the first
//! passes go last), then cut event counts to one. Every try replays the history for real, so
//! the number of tries is capped by the caller; timing may make a try pass by luck, which only
//! makes the result less small, never wrong: whatever is returned failed when it was played.

use super::history::{History, Step};
use super::invariants::Invariant;
use std::future::Future;

/// The smallest history found that still fails with `invariant`, after at most `budget` replays.
/// `fails` plays a history and says whether it broke `invariant`.
pub async fn shrink<F, Fut>(history: &History, invariant: Invariant, budget: usize, mut fails: F) -> History
where
    F: FnMut(History) -> Fut,
    Fut: Future<Output = Vec<Invariant>>,
{
    let mut best = history.clone();
    let mut tries = 0;
    let mut i = best.steps.len();
    while i > 0 && tries < budget {
        i -= 1;
        let mut candidate = best.clone();
        candidate.steps.remove(i);
        tries += 1;
        if fails(candidate.clone()).await.contains(&invariant) {
            best = candidate;
        }
    }
    for i in 0..best.steps.len() {
        if tries >= budget {
            break;
        }
        let Step::Events { count, kind, failed, age_ms } = best.steps[i] else { continue };
        if count <= 1 {
            continue;
        }
        let mut candidate = best.clone();
        candidate.steps[i] = Step::Events { count: 1, kind, failed, age_ms };
        tries += 1;
        if fails(candidate.clone()).await.contains(&invariant) {
            best = candidate;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::generate::generate;

    /// A stand-in for playing: "fails" while a watch is started and a failing event fires.
    fn fake(h: &History) -> Vec<Invariant> {
        let watch = h.steps.iter().any(|s| matches!(s, Step::WatchStart { .. }));
        let failure = h.steps.iter().any(|s| matches!(s, Step::Events { failed: true, .. }));
        if watch && failure { vec![Invariant::Lost] } else { vec![] }
    }

    #[tokio::test]
    async fn drops_every_step_the_failure_does_not_need() {
        let seed = (0..1000).find(|&s| fake(&generate(s)) == [Invariant::Lost]).expect("some seed has a watch");
        let h = generate(seed);
        let small = shrink(&h, Invariant::Lost, 100, |c| async move { fake(&c) }).await;
        assert_eq!(small.steps.len(), 2, "{small}");
        assert!(fake(&small).contains(&Invariant::Lost));
        assert!(small.steps.iter().all(|s| !matches!(s, Step::Events { count: 2.., .. })), "{small}");
    }

    #[tokio::test]
    async fn stops_at_its_budget() {
        let h = generate(3);
        let mut calls = 0;
        let _ = shrink(&h, Invariant::Lost, 2, |_| {
            calls += 1;
            async { vec![Invariant::Lost] }
        })
        .await;
        assert_eq!(calls, 2);
    }
}
