//! The model-based checker of the tool's one promise (issue 8): a failed webhook is neither
//! forgotten nor sent twice. It generates delivery histories from a seed ([`generate`]), plays
//! them against the simulator with the real `redeliver` binary ([`runner`]), judges GitHub's
//! record against the invariants ([`invariants`]), and shrinks a failing history ([`shrink`]).
//! [`scenarios`] holds histories shaped to hit the known defects, to show the checker finds them.
//! `docs/checker.md` says how to replay a seed and how to soak.

pub mod exe;
pub mod generate;
pub mod history;
pub mod invariants;
pub mod runner;
pub mod scenarios;
pub mod shrink;

use history::History;
use invariants::{Invariant, Violation};
use redeliver_core::state::RedeliveryKind;
use std::path::Path;
use std::time::Duration;

/// One history played and judged.
#[derive(Debug)]
pub struct Checked {
    pub history: History,
    pub violations: Vec<Violation>,
    pub passes: usize,
    pub events: usize,
    /// Canaries and refunded rungs the tool wrote down (outage awareness, issue 11).
    pub canaries: usize,
    pub refunded: usize,
    pub wall: Duration,
}

impl Checked {
    /// The rules broken, each once, in order.
    pub fn broken(&self) -> Vec<Invariant> {
        let mut out: Vec<Invariant> = self.violations.iter().map(|v| v.invariant).collect();
        out.dedup();
        out
    }

    /// One line: the seed, what ran, and the verdict.
    pub fn summary(&self) -> String {
        let s = &self.history.setup;
        let verdict = if self.violations.is_empty() {
            "ok".to_string()
        } else {
            let names: Vec<&str> = self.broken().iter().map(|i| i.name()).collect();
            format!("VIOLATED {}", names.join(","))
        };
        format!(
            "seed {:>20}  {:<8} {:<6} cap {} ladder {:<9} steps {:>2}  events {:>2}  passes {:>2}  canaries {:>2}  \
             refunded {:>2}  {:>5.1}s  {verdict}",
            self.history.seed,
            format!("{:?}", s.store),
            // Outage-aware (the default) or the plain ladder (`--no-outage-awareness`).
            if s.outage.is_some() { "outage" } else { "plain" },
            s.max_attempts,
            s.ladder_flag(),
            self.history.steps.len(),
            self.events,
            self.passes,
            self.canaries,
            self.refunded,
            self.wall.as_secs_f64(),
        )
    }
}

/// Plays `history` with the binary `exe` and checks every invariant.
pub async fn check(exe: &Path, history: &History) -> anyhow::Result<Checked> {
    let played = runner::play(exe, history).await?;
    let violations = invariants::check(history, &played);
    let kinds = |kind| played.observed.ledger_requests.iter().filter(|(_, k)| *k == kind).count();
    Ok(Checked {
        canaries: kinds(RedeliveryKind::Canary),
        refunded: kinds(RedeliveryKind::Refunded),
        history: history.clone(),
        violations,
        passes: played.observed.passes.len(),
        events: played.observed.events.len(),
        wall: played.observed.wall,
    })
}

/// The smallest history found that still breaks the first rule `checked` broke, replaying at
/// most `budget` times.
pub async fn shrink(exe: &Path, checked: &Checked, budget: usize) -> Option<History> {
    let invariant = *checked.broken().first()?;
    let small = shrink::shrink(&checked.history, invariant, budget, |candidate| async move {
        match check(exe, &candidate).await {
            Ok(c) => c.broken(),
            Err(_) => Vec::new(),
        }
    })
    .await;
    Some(small)
}
