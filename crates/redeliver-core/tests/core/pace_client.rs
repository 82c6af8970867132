//! `Pace::Auto` in the real client against the simulator's secondary limits: the gap shrinks
//! while GitHub accepts, doubles (up to `max`) on a refusal, and the refused redelivery is
//! waited out (`Retry-After`) and sent again, so nothing is lost.
//!
//! The simulator's minute is compressed to one second, so the one real wait is a 1 s `Retry-After`.

use chrono::{Duration as TimeDelta, Utc};
use redeliver_core::github::{AppKey, ClientConfig, Credentials, GitHubClient, HookTarget, Pace};
use redeliver_sim::{NewAttempt, SecondaryLimits, Sim, keys};
use std::time::Duration;
use url::Url;

const APP_ID: u64 = 4747;
const MS: Duration = Duration::from_millis(1);

#[tokio::test]
async fn auto_pace_backs_off_on_a_secondary_limit_and_loses_nothing() {
    let sim = Sim::start().await.unwrap();
    let world = sim.world();
    let hook = world.add_app(APP_ID, "Iv23pace", keys::TEST_APP_PUBLIC_KEY, "http://127.0.0.1:9/", None);
    let at = Utc::now() - TimeDelta::hours(1);
    let ids: Vec<u64> = (0..5)
        .map(|i| world.record_attempt(hook, NewAttempt::new("push", 502, at + TimeDelta::seconds(i))).id)
        .collect();
    // Three content-generating requests per (one-second) minute.
    world.set_secondary_limits(SecondaryLimits { content_per_minute: 3, ..SecondaryLimits::github() }.compressed(60));

    let mut config = ClientConfig::new(Url::parse(&sim.base_url()).unwrap());
    config.pace = Pace::Auto { min: Duration::ZERO, max: 30 * MS };
    let key = AppKey::from_pem(keys::TEST_APP_KEY_PKCS1).unwrap();
    let mut client = GitHubClient::new(config, Credentials::App { app_id: APP_ID.to_string(), key }).unwrap();
    assert_eq!(client.pace_gap(), 30 * MS, "starts at 1 s, clamped to max");

    let mut gaps = Vec::new();
    for id in &ids[..4] {
        client.redeliver(&HookTarget::App, *id).await.unwrap();
        gaps.push(client.pace_gap());
    }
    // Accepted, accepted, accepted: one step (30 ms / 30) each; the fourth was refused once,
    // which doubled the gap (capped at max), then accepted after the wait: one step down.
    assert_eq!(gaps, [29 * MS, 28 * MS, 27 * MS, 29 * MS]);

    let statuses: Vec<u16> = world.requests().iter().filter(|r| r.method == "POST").map(|r| r.status).collect();
    assert_eq!(statuses, [202, 202, 202, 403, 202]);
    assert_eq!(client.stats().count_status("POST", "redeliver", 403), 1);
    assert_eq!(world.secondary_refusals(), 1);
    world.settle().await;
}

#[tokio::test]
async fn fixed_pace_keeps_its_gap_through_a_refusal() {
    let sim = Sim::start().await.unwrap();
    let world = sim.world();
    let hook = world.add_app(APP_ID, "Iv23pace", keys::TEST_APP_PUBLIC_KEY, "http://127.0.0.1:9/", None);
    let id = world.record_attempt(hook, NewAttempt::new("push", 502, Utc::now() - TimeDelta::hours(1))).id;
    world.inject(redeliver_sim::FaultRule::new(
        "/app/hook/deliveries",
        redeliver_sim::Fault::SecondaryRateLimit { retry_after: Some(0) },
    ));
    let mut config = ClientConfig::new(Url::parse(&sim.base_url()).unwrap());
    config.pace = "5ms".parse().unwrap();
    let key = AppKey::from_pem(keys::TEST_APP_KEY_PKCS1).unwrap();
    let mut client = GitHubClient::new(config, Credentials::App { app_id: APP_ID.to_string(), key }).unwrap();
    client.redeliver(&HookTarget::App, id).await.unwrap();
    assert_eq!(client.pace_gap(), 5 * MS);
    assert_eq!(client.stats().count_status("POST", "redeliver", 403), 1);
    world.settle().await;
}
