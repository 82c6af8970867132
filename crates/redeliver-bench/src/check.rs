//! `redeliver-check`: plays generated delivery histories against the simulator with the real
//! `redeliver` binary and checks the promise after each (see `docs/checker.md`). Exits 1 when a
//! history broke an invariant, printing its seed, the shrunk history and the rule; 2 when one
//! could not be played (the PostgreSQL test server unreachable, a pass hung).

#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool whose output is its report

use clap::Parser;
use redeliver_checker::checker::history::Store;
use redeliver_checker::checker::{self, Checked, exe, generate::generate, runner, scenarios};
use std::time::{Duration, Instant};

/// Randomized end-to-end checker of redeliver's promise: no failed event forgotten, none sent twice.
#[derive(Debug, Parser)]
#[command(name = "redeliver-check")]
struct Args {
    /// Replay the history of this one seed.
    #[arg(long, conflicts_with_all = ["histories", "soak"])]
    seed: Option<u64>,
    /// How many histories to check, from --first-seed on.
    #[arg(long, default_value_t = 20)]
    histories: u64,
    /// The first seed of a run of histories. [default: drawn from the clock, and printed]
    #[arg(long)]
    first_seed: Option<u64>,
    /// Check histories until --minutes have passed (a long run; the count is printed at the end).
    #[arg(long)]
    soak: bool,
    /// How long --soak runs.
    #[arg(long, default_value_t = 60)]
    minutes: u64,
    /// Replays allowed to shrink each failing history (0: print it as generated).
    #[arg(long, default_value_t = 12)]
    shrink_budget: usize,
    /// Play the history shaped for one known defect instead (until, event-filter, variable-give-up,
    /// variable-refused, old-success, unsent-post).
    #[arg(long, conflicts_with_all = ["seed", "soak"])]
    scenario: Option<String>,
    /// Print the generated histories without playing them.
    #[arg(long)]
    print_only: bool,
    /// Only the seeds whose history is on this store (sqlite, variable, postgres); the others are
    /// skipped and not counted, so `--histories 40 --store postgres` plays 40 PostgreSQL ones.
    /// PostgreSQL histories need the test server (REDELIVER_TEST_POSTGRES, or
    /// `bash .ci/postgres-test-server`).
    #[arg(long, value_parser = store, conflicts_with = "scenario")]
    store: Option<Store>,
}

fn store(text: &str) -> Result<Store, String> {
    match text {
        "sqlite" => Ok(Store::Sqlite),
        "variable" => Ok(Store::Variable),
        "postgres" => Ok(Store::Postgres),
        other => Err(format!("{other:?} is not a store: sqlite, variable or postgres")),
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    // A history that could not be played (the PostgreSQL test server unreachable, a pass hung)
    // is not a verdict: its own words and status 2, without a backtrace.
    let failed = match runtime.block_on(run(args)) {
        Ok(failed) => failed,
        Err(e) => {
            eprintln!("redeliver-check: {e:#}");
            std::process::exit(2);
        }
    };
    std::process::exit(if failed { 1 } else { 0 });
}

async fn run(args: Args) -> anyhow::Result<bool> {
    let exe = exe::redeliver_exe()?;
    if let Some(name) = &args.scenario {
        let history = match name.as_str() {
            "until" => scenarios::until_moves_stored_time(),
            "event-filter" => scenarios::event_filter_drops_others(),
            "variable-give-up" => scenarios::variable_forgets_give_up(),
            "variable-refused" => scenarios::variable_resends_refused(),
            "old-success" => scenarios::old_success_loses(),
            "unsent-post" => scenarios::unsent_post_burns_cap(),
            other => anyhow::bail!("unknown scenario {other:?}"),
        };
        if args.print_only {
            println!("{history}");
            return Ok(false);
        }
        let checked = checker::check(&exe, &history).await?;
        return Ok(report(&exe, &checked, 0).await);
    }
    let seeds: Box<dyn Iterator<Item = u64>> = match (args.seed, args.first_seed) {
        (Some(seed), _) => Box::new(std::iter::once(seed)),
        (None, first) => {
            let first = first.unwrap_or_else(|| fastrand::u64(..1 << 40));
            println!("first seed {first}");
            let count = if args.soak { u64::MAX } else { args.histories };
            // Filtered by store: `count` histories of that store, from `first` on.
            let wanted = args.store;
            Box::new(
                (first..).filter(move |&s| wanted.is_none_or(|w| generate(s).setup.store == w)).take(count as usize),
            )
        }
    };
    let mut postgres_checked = false;
    let deadline = args.soak.then(|| Instant::now() + Duration::from_secs(args.minutes * 60));
    let (mut checked_count, mut failing) = (0u64, Vec::new());
    for seed in seeds {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let history = generate(seed);
        if args.print_only {
            println!("{history}");
            continue;
        }
        // Stop before the first PostgreSQL history if the server is not there, saying how to start it.
        if history.setup.store == Store::Postgres && !postgres_checked {
            runner::require_postgres()?;
            postgres_checked = true;
        }
        // A history that cannot be played (a pass hung past its limit) still names its seed.
        let checked = checker::check(&exe, &history)
            .await
            .map_err(|e| e.context(format!("seed {seed}: replay with redeliver-check --seed {seed}")))?;
        checked_count += 1;
        if report(&exe, &checked, args.shrink_budget).await {
            failing.push((seed, checked.broken()));
        }
    }
    println!("\n{checked_count} histories checked, {} broke an invariant", failing.len());
    for (seed, broken) in &failing {
        let names: Vec<&str> = broken.iter().map(|i| i.name()).collect();
        println!("  seed {seed}: {}", names.join(", "));
    }
    Ok(!failing.is_empty())
}

/// Prints the summary line, and for a failure the violations and the shrunk history; whether it failed.
async fn report(exe: &std::path::Path, checked: &Checked, shrink_budget: usize) -> bool {
    println!("{}", checked.summary());
    if checked.violations.is_empty() {
        return false;
    }
    for v in &checked.violations {
        println!("    {v}");
    }
    println!("  history:\n{}", indent(&checked.history.to_string()));
    if shrink_budget > 0
        && let Some(small) = checker::shrink(exe, checked, shrink_budget).await
        && small.steps.len() < checked.history.steps.len()
    {
        let rule = checked.broken().first().map_or("", |i| i.name());
        println!("  shrunk (still breaks {rule}):\n{}", indent(&small.to_string()));
    }
    if checked.history.seed != 0 {
        println!("  replay: redeliver-check --seed {}", checked.history.seed);
    }
    true
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}
