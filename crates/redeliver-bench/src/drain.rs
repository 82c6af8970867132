//! The drain benchmark: a backlog of due events redelivered by the real client
//! ([`GitHubClient::redeliver`], in process) under GitHub's secondary limits, with a fixed
//! 1-second pace and with `auto`.
//!
//! Time is compressed N times: the simulator's minute lasts 60 s / N and every pace duration is
//! divided by N, so rates in GitHub time are the measured rates times N. `Retry-After` stays whole
//! seconds (HTTP has no finer unit), so a refusal costs relatively more here than on GitHub:
//! the compression is unkind to whichever pace gets refused.

use crate::args::Plan;
use crate::table::{self, DrainRow};
use chrono::{Duration as TimeDelta, Utc};
use redeliver_core::github::pace::{AUTO_MAX, AUTO_MIN};
use redeliver_core::github::{AppKey, ClientConfig, Credentials, GitHubClient, HookTarget, Pace};
use redeliver_sim::{NewAttempt, SecondaryLimits, Sim, keys};
use std::time::{Duration, Instant};
use url::Url;

const APP_ID: u64 = 4343;
const RECEIVER: &str = "http://127.0.0.1:9/";

pub async fn run(plan: &Plan) -> anyhow::Result<()> {
    let k = plan.compress;
    table::drain_header(plan.drain_events, k);
    // The hourly content limit (500) caps any pace at 500 an hour, so it is left out: with it, a
    // backlog of thousands takes hours whatever the pace.
    let scenarios = [
        ("900 points/min (redelivery not content)", SecondaryLimits::github().without_content_limits()),
        ("+ 80 content/min", SecondaryLimits { content_per_hour: u32::MAX, ..SecondaryLimits::github() }),
    ];
    for (name, limits) in scenarios {
        for (pace_name, pace) in [
            ("fixed 1s", Pace::Fixed(Duration::from_secs(1) / k)),
            ("auto", Pace::Auto { min: AUTO_MIN / k, max: AUTO_MAX / k }),
        ] {
            let row = one(plan.drain_events, limits.clone().compressed(k), pace).await?;
            table::drain_row(&DrainRow { limits: name, pace: pace_name.into(), compress: k, ..row });
        }
    }
    println!();
    Ok(())
}

async fn one(events: usize, limits: SecondaryLimits, pace: Pace) -> anyhow::Result<DrainRow> {
    let sim = Sim::start().await?;
    let world = sim.world();
    let hook = world.add_app(APP_ID, "Iv23drain", keys::TEST_APP_PUBLIC_KEY, RECEIVER, None);
    let first = Utc::now() - TimeDelta::hours(2);
    let ids: Vec<u64> = (0..events)
        .map(|i| world.record_attempt(hook, NewAttempt::new("push", 503, first + TimeDelta::seconds(i as i64))).id)
        .collect();
    world.set_secondary_limits(limits);

    let mut config = ClientConfig::new(Url::parse(&sim.base_url())?);
    config.pace = pace;
    config.retry_base = Duration::from_millis(10);
    let key = AppKey::from_pem(keys::TEST_APP_KEY_PKCS1).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut client = GitHubClient::new(config, Credentials::App { app_id: APP_ID.to_string(), key })?;

    let started = Instant::now();
    let mut redelivered = 0;
    for id in ids {
        match client.redeliver(&HookTarget::App, id).await {
            Ok(()) => redelivered += 1,
            Err(e) => eprintln!("redelivery of {id} failed: {e}"),
        }
    }
    let wall_seconds = started.elapsed().as_secs_f64();
    let refused = world.secondary_refusals();
    world.settle().await;
    sim.shutdown().await;
    Ok(DrainRow { limits: "", pace: String::new(), redelivered, refused, wall_seconds, compress: 1 })
}
