//! The listing benchmark: per history size and failure rate, one dry run (what a pass reads and
//! what it costs the client) and one real pass (one POST per due event), counted by the simulator.

use crate::args::Plan;
use crate::child;
use crate::history;
use crate::table::{self, ListRow};
use chrono::Utc;
use redeliver_sim::{Sim, keys};
use std::path::Path;

pub const APP_ID: u64 = 4242;
/// Nothing listens here, so each redelivery the simulator makes fails fast ("failed to connect").
const RECEIVER: &str = "http://127.0.0.1:9/";

pub async fn run(exe: &Path, plan: &Plan) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    table::list_header();
    for &size in &plan.sizes {
        for &rate in &plan.failure_rates {
            let row = one(exe, plan, size, rate).await?;
            table::list_row(&row);
            rows.push(row);
        }
    }
    table::list_notes(&rows);
    Ok(())
}

async fn one(exe: &Path, plan: &Plan, size: usize, rate: f64) -> anyhow::Result<ListRow> {
    let sim = Sim::start().await?;
    let world = sim.world();
    let hook = world.add_app(APP_ID, "Iv23bench", keys::TEST_APP_PUBLIC_KEY, RECEIVER, None);
    // A million deliveries are 10,000 pages: more than the simulator's default hourly budget of
    // 5,000 (GitHub documents none for App JWTs), so the budget is lifted for the measurement.
    world.set_rate_limit(100_000_000, 100_000_000, std::time::Duration::from_secs(3600));
    let generated = history::build(&world, hook, size, rate, plan.seed, Utc::now());
    let dir = tempfile::tempdir()?;
    let lists = |world: &redeliver_sim::World| {
        world.requests().iter().filter(|r| r.method == "GET" && r.path == "/app/hook/deliveries").count() as u64
    };
    let posts = |world: &redeliver_sim::World| {
        world.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/attempts")).count() as u64
    };

    let mut row = ListRow::new(size, rate, &generated);
    if plan.list {
        world.clear_requests();
        let run = child::run(exe, &sim.base_url(), dir.path(), true).await?;
        row.dry = Some(table::Measured::from_run(&run, lists(&world), posts(&world)));
    }
    if plan.post {
        world.clear_requests();
        let run = child::run(exe, &sim.base_url(), dir.path(), false).await?;
        row.real = Some(table::Measured::from_run(&run, lists(&world), posts(&world)));
        world.settle().await;
    }
    sim.shutdown().await;
    Ok(row)
}
