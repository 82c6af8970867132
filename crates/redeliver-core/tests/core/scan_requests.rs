//! A pass reads the fewest pages possible: against the simulator, with the real client and
//! scan, on random histories and window starts, the list requests made equal the minimum
//! computed from the history (one page per 100 attempts, newest first, down to the first page
//! that holds an attempt older than the window start), and the failed events found are exactly
//! those the history says.

use chrono::{DateTime, Duration as TimeDelta, SubsecRound as _, Utc};
use redeliver_core::github::{AppKey, ClientConfig, Credentials, GitHubClient, HookTarget};
use redeliver_core::plan::{Scan, Window};
use redeliver_sim::{DeliveryRecord, NewAttempt, Sim, World, keys};
use std::collections::HashSet;
use std::time::Duration;
use url::Url;

const APP_ID: u64 = 4545;

async fn client(sim: &Sim) -> GitHubClient {
    let mut config = ClientConfig::new(Url::parse(&sim.base_url()).unwrap());
    config.pace = Duration::ZERO.into();
    config.retry_base = Duration::from_millis(10);
    let key = AppKey::from_pem(keys::TEST_APP_KEY_PKCS1).unwrap();
    GitHubClient::new(config, Credentials::App { app_id: APP_ID.to_string(), key }).unwrap()
}

/// A history of `events` events over the last two days: some in bursts within one second (so
/// the window start often falls inside a second), some redelivered, successes and failures mixed.
fn generate(world: &World, hook: u64, rng: &mut fastrand::Rng, events: usize, now: DateTime<Utc>) {
    let mut at = now - TimeDelta::hours(48);
    for _ in 0..events {
        // Bursts: often the same second, sometimes minutes apart.
        let step = if rng.bool() { rng.i64(0..900) } else { rng.i64(0..600_000) };
        at = (at + TimeDelta::milliseconds(step)).min(now - TimeDelta::seconds(1));
        let code = *rng.choice(&[200, 200, 200, 202, 0, 302, 404, 500, 502]).unwrap();
        let first = world.record_attempt(hook, NewAttempt::new("push", code, at));
        for n in 0..rng.usize(0..3) {
            let later = (at + TimeDelta::seconds(rng.i64(0..300) * (n as i64 + 1))).min(now);
            let code = *rng.choice(&[200, 0, 500, 503]).unwrap();
            world.record_attempt(hook, NewAttempt::new("push", code, later).guid(&first.guid).redelivery(true));
        }
    }
}

/// The fewest list requests that show every attempt at or after `start`.
fn minimum(listed: &[DeliveryRecord], start: DateTime<Utc>) -> usize {
    let start = start.trunc_subsecs(0);
    match listed.iter().position(|d| d.delivered_at.trunc_subsecs(0) < start) {
        Some(i) => i / 100 + 1,
        None => listed.len().div_ceil(100).max(1),
    }
}

/// Events with an attempt at or after `start` and no successful attempt on any page read (the
/// minimum pages: a success just older than the start, on the last page, still counts).
fn failed_events(listed: &[DeliveryRecord], start: DateTime<Utc>) -> HashSet<String> {
    let read = &listed[..listed.len().min(minimum(listed, start) * 100)];
    let start = start.trunc_subsecs(0);
    let in_window: HashSet<&str> =
        read.iter().filter(|d| d.delivered_at.trunc_subsecs(0) >= start).map(|d| d.guid.as_str()).collect();
    let succeeded: HashSet<&str> =
        read.iter().filter(|d| (200..300).contains(&d.status_code)).map(|d| d.guid.as_str()).collect();
    in_window.difference(&succeeded).map(|g| g.to_string()).collect()
}

#[tokio::test]
async fn list_requests_equal_the_minimum_on_random_histories() {
    let mut rng = fastrand::Rng::with_seed(20_240_501);
    let sim = Sim::start().await.unwrap();
    let world = sim.world();
    let mut client = client(&sim).await;
    for case in 0..10 {
        // A fresh hook per case (registering the app again gives it a new, empty hook).
        let hook = world.add_app(APP_ID, "Iv23scan", keys::TEST_APP_PUBLIC_KEY, "http://127.0.0.1:9/", None);
        let now = Utc::now();
        // Sizes around page boundaries too: 0, 100, 200 attempts fall exactly on them.
        let events = match case {
            0 => 0,
            1 => 100,
            _ => rng.usize(1..350),
        };
        if case == 1 {
            for i in 0..100 {
                world.record_attempt(hook, NewAttempt::new("push", 200, now - TimeDelta::minutes(100 - i)));
            }
        } else {
            generate(&world, hook, &mut rng, events, now);
        }
        let listed = world.deliveries(hook);
        for round in 0..4 {
            // A start on an attempt's own second, between attempts, before all, or after all.
            let start = match (round, listed.is_empty()) {
                (_, true) | (0, _) => now - TimeDelta::hours(72),
                (1, _) => listed[rng.usize(..listed.len())].delivered_at,
                (2, _) => listed[rng.usize(..listed.len())].delivered_at + TimeDelta::milliseconds(rng.i64(-900..900)),
                _ => now + TimeDelta::seconds(5),
            };
            world.clear_requests();
            let mut scan = Scan::new(Window { start, until: None });
            let mut next = None;
            loop {
                let page = client.list_deliveries_each(&HookTarget::App, next.as_ref(), |d| scan.observe_ref(&d)).await;
                let page = page.unwrap();
                match page.next {
                    Some(url) if !scan.reached_start && page.deliveries > 0 => next = Some(url),
                    _ => break,
                }
            }
            let made =
                world.requests().iter().filter(|r| r.method == "GET" && r.path == "/app/hook/deliveries").count();
            let context = format!("case {case} round {round}: {} attempts, start {start}", listed.len());
            assert_eq!(made, minimum(&listed, start), "{context}");
            let found: HashSet<String> = scan.failed().map(|h| h.guid.clone()).collect();
            assert_eq!(found, failed_events(&listed, start), "{context}");
        }
    }
}
