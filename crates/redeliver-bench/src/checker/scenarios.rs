//! Histories shaped to hit the defects issue 8 lists, one each, so tests can show the checker
//! finds them. Each names the defect it targets and the rule that catches it; once a defect is
//! fixed, its history passes and the test that expects a violation is flipped to expect none.
//!
//! | history | defect (issue 8) | caught by |
//! |---|---|---|
//! | [`until_moves_stored_time`] | 1: `--until` alone moves the stored time | `stored_time_passed`, `lost` |
//! | [`event_filter_drops_others`] | 2: `--event` drops the other events | `stored_time_passed`, `lost` |
//! | [`variable_forgets_give_up`] | 3a: the Actions variable forgets a give-up | `over_cap`, `reported_twice` |
//! | [`variable_resends_refused`] | 3b: a 422 is re-sent on every run | `two_posts_in_one_rung` |
//! | [`old_success_loses`] | 6: a success outside the window loses to a later failure | `after_success` |
//! | [`unsent_post_burns_cap`] | 8: a POST GitHub never acted on counts as an attempt | `cap_not_earned` |
//!
//! Not shaped here, for want of simulator support: 4 (a skewed clock), 5 (an empty page with
//! `next`), 7 (an item listed twice). See `docs/checker.md`.

use super::history::{FaultKind, FaultOn, Filter, History, Kind, Receiver, Setup, Step, Store, Window};

/// The plain ladder (`--no-outage-awareness`): each defect was found, and is shaped, on it.
fn setup(store: Store, max_attempts: u32, ladder: &[u32]) -> Setup {
    let ladder = ladder.to_vec();
    Setup { store, max_attempts, ladder, overlap: 2, per_page: 100, skew_s: 0, pace_ms: 0, lease_s: 0, outage: None }
}

fn failed(kind: Kind) -> Step {
    Step::Events { count: 1, kind, failed: true, age_ms: 0 }
}

fn run() -> Step {
    Step::Run { filter: Filter::All, window: Window::Stored, background: false }
}

fn sleep(ms: u32) -> Step {
    Step::Sleep { ms }
}

/// Defect 1: an event newer than `--until` is not planned, so not remembered, yet the stored
/// time moves past it; no later pass sees it.
pub fn until_moves_stored_time() -> History {
    let steps = vec![
        failed(Kind::Push),
        sleep(3000),
        Step::Run { filter: Filter::All, window: Window::Until(5), background: false },
    ];
    History { seed: 0, setup: setup(Store::Sqlite, 5, &[1]), steps }
}

/// Defect 2: after `run --event push`, a failed `issues` event is behind the stored time and
/// not remembered.
pub fn event_filter_drops_others() -> History {
    let steps = vec![
        failed(Kind::Issues),
        sleep(3000),
        Step::Run { filter: Filter::Only(Kind::Push), window: Window::Stored, background: false },
    ];
    History { seed: 0, setup: setup(Store::Sqlite, 5, &[1]), steps }
}

/// Defect 3a: with the ledger lost between runs, an event given up at the cap comes back once
/// its original attempt falls out of view, and is redelivered past the cap.
pub fn variable_forgets_give_up() -> History {
    let mut steps = vec![failed(Kind::Push), Step::Receiver(Receiver::Down)];
    for _ in 0..6 {
        steps.extend([sleep(1200), run()]);
    }
    History { seed: 0, setup: setup(Store::Variable, 3, &[1]), steps }
}

/// Defect 3b: GitHub refuses a redelivery (422, no trace in its record); with the ledger lost,
/// every run sends it again, rung or not.
pub fn variable_resends_refused() -> History {
    let steps = vec![
        failed(Kind::Push),
        sleep(5200),
        Step::Fault { on: FaultOn::Post, kind: FaultKind::Refused, times: 3 },
        run(),
        run(),
        run(),
    ];
    // A rung of 5 s leaves room for slow passes on a busy machine: three runs land inside it.
    History { seed: 0, setup: setup(Store::Variable, 5, &[5]), steps }
}

/// Defect 6: an event whose original attempt succeeded before the window, then got a failed
/// manual redelivery, is redelivered although GitHub lists its success.
pub fn old_success_loses() -> History {
    let steps = vec![run(), Step::ManualFailedRedelivery { kind: Kind::Push, age_s: 5 }, sleep(1500), run()];
    History { seed: 0, setup: setup(Store::Sqlite, 5, &[1]), steps }
}

/// Defect 8: redelivery requests rate-limited past `--max-wait` never reach GitHub, yet each
/// burns a rung, and the event is given up at the cap with one real attempt.
pub fn unsent_post_burns_cap() -> History {
    let limit = Step::Fault { on: FaultOn::Post, kind: FaultKind::SecondaryLimit(3), times: 1 };
    let steps =
        vec![failed(Kind::Push), sleep(1500), limit.clone(), run(), sleep(1500), limit, run(), sleep(1500), run()];
    History { seed: 0, setup: setup(Store::Sqlite, 3, &[1]), steps }
}
