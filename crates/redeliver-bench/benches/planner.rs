//! Micro-benchmark of the client's per-record work on pages recorded from the simulator: parsing
//! a page, folding it into the scan, and planning. Prints records per second for the old way
//! (a `serde_json::Value` tree, then a `Delivery` per item), the owned page
//! (`GitHubClient::list_deliveries`) and the borrowed one (`list_deliveries_each`).
//!
//! `cargo bench -p redeliver-bench --bench planner [-- RECORDS FAILURE_PERCENT]`

// Printing its measurements is what this program is for.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use chrono::{Duration as TimeDelta, Utc};
use redeliver_core::github::{AppKey, jwt_claims, next_link};
use redeliver_core::model::{Delivery, parse_page};
use redeliver_core::plan::{EventFilter, Scan, Window, plan};
use redeliver_core::policy::Policy;
use redeliver_sim::{NewAttempt, Sim, keys};
use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;
use url::Url;

const APP_ID: u64 = 4444;
const ROUNDS: usize = 5;

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; the numbers are what is left.
    let numbers: Vec<f64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let records = numbers.first().map_or(100_000, |n| *n as usize);
    let failure_percent = numbers.get(1).copied().unwrap_or(1.0);
    let pages = tokio::runtime::Runtime::new()?.block_on(record_pages(records, failure_percent))?;
    let bytes: usize = pages.iter().map(Vec::len).sum();
    println!(
        "{records} records at {failure_percent}% failures, {} pages of JSON ({:.1} MiB), best of {ROUNDS}:",
        pages.len(),
        bytes as f64 / (1 << 20) as f64
    );
    let window = Window { start: Utc::now() - TimeDelta::hours(25), until: None };

    let value_tree = best(|| {
        let mut scan = Scan::new(window);
        for page in &pages {
            let items: Vec<serde_json::Value> = serde_json::from_slice(page).unwrap();
            for item in items {
                if let Ok(d) = serde_json::from_value::<Delivery>(item) {
                    scan.observe(&d);
                }
            }
        }
        scan
    });
    let owned = best(|| {
        let mut scan = Scan::new(window);
        for page in &pages {
            let mut deliveries = Vec::with_capacity(100);
            parse_page(page, |d| deliveries.push(d.into_owned())).unwrap();
            deliveries.iter().for_each(|d| scan.observe(d));
        }
        scan
    });
    let borrowed = best(|| {
        let mut scan = Scan::new(window);
        for page in &pages {
            parse_page(page, |d| scan.observe_ref(&d)).unwrap();
        }
        scan
    });
    let scan = {
        let mut scan = Scan::new(window);
        pages.iter().for_each(|p| drop(parse_page(p, |d| scan.observe_ref(&d))));
        scan
    };
    let planning =
        best(|| plan(scan.failed(), &HashMap::new(), &Policy::github_com(), &EventFilter::default(), None, Utc::now()));
    let failed = scan.failed().count();
    for (name, seconds, count, unit) in [
        ("Value tree -> Delivery -> Scan::observe (before)", value_tree, records, "records"),
        ("parse_page -> owned Delivery -> Scan::observe", owned, records, "records"),
        ("parse_page -> DeliveryRef -> Scan::observe_ref", borrowed, records, "records"),
        ("plan", planning, failed, "failed events"),
    ] {
        println!("  {name:<50} {:>8.1} ms  {:>12.0} {unit}/s", seconds * 1000.0, count as f64 / seconds.max(1e-9));
    }
    Ok(())
}

/// The fastest of a few rounds, in seconds.
fn best<T>(mut f: impl FnMut() -> T) -> f64 {
    (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            black_box(f());
            started.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Every page of a generated history, exactly as the simulator serves it.
async fn record_pages(records: usize, failure_percent: f64) -> anyhow::Result<Vec<Vec<u8>>> {
    let sim = Sim::start().await?;
    let world = sim.world();
    let hook = world.add_app(APP_ID, "Iv23planner", keys::TEST_APP_PUBLIC_KEY, "http://127.0.0.1:9/", None);
    let now = Utc::now();
    let mut rng = fastrand::Rng::with_seed(7);
    for i in 0..records {
        let at = now - TimeDelta::milliseconds((86_000_000 * i / records.max(1)) as i64);
        let code = if rng.f64() * 100.0 < failure_percent { 502 } else { 200 };
        world.record_attempt(hook, NewAttempt::new("push", code, at));
    }
    let key = AppKey::from_pem(keys::TEST_APP_KEY_PKCS1).map_err(|e| anyhow::anyhow!("{e}"))?;
    let jwt = key.sign(&jwt_claims(&APP_ID.to_string(), Utc::now()))?;
    let http = reqwest::Client::new();
    let mut url = Url::parse(&format!("{}/app/hook/deliveries?per_page=100", sim.base_url()))?;
    let mut pages = Vec::new();
    loop {
        let response = http
            .get(url.clone())
            .bearer_auth(jwt.expose())
            .header("user-agent", "redeliver-bench")
            .send()
            .await?
            .error_for_status()?;
        let links: Vec<String> =
            response.headers().get_all("link").iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect();
        pages.push(response.bytes().await?.to_vec());
        match next_link(links.iter().map(String::as_str), &url).map_err(anyhow::Error::msg)? {
            Some(next) => url = next,
            None => break,
        }
    }
    sim.shutdown().await;
    Ok(pages)
}
