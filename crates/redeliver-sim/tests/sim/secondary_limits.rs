//! GitHub's secondary rate limits in the simulator: off by default; when on, requests past a
//! limit are refused with GitHub's 403 and a `Retry-After`, and refused requests cost nothing.

use chrono::{Duration as TimeDelta, Utc};
use redeliver_sim::{NewAttempt, SecondaryLimits, Sim, World};

const TOKEN: &str = "ghp_secondary_limits";

/// A repository hook with `n` failed deliveries; returns the world, the hook and the ids.
async fn setup(n: usize) -> (Sim, World, u64, Vec<u64>) {
    let sim = Sim::start().await.unwrap();
    let world = sim.world();
    world.add_token(TOKEN);
    let hook = world.add_repo_hook("octo", "repo", "http://127.0.0.1:9/", None);
    let at = Utc::now() - TimeDelta::hours(1);
    let ids =
        (0..n).map(|i| world.record_attempt(hook, NewAttempt::new("push", 502, at + TimeDelta::seconds(i as i64))).id);
    let ids = ids.collect();
    (sim, world, hook, ids)
}

async fn send(sim: &Sim, method: reqwest::Method, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(method, format!("{}{path}", sim.base_url()))
        .header("authorization", format!("token {TOKEN}"))
        .header("user-agent", "secondary-limits-test")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn secondary_limits_are_off_by_default() {
    let (sim, world, hook, ids) = setup(30).await;
    for id in &ids {
        let r =
            send(&sim, reqwest::Method::POST, &format!("/repos/octo/repo/hooks/{hook}/deliveries/{id}/attempts")).await;
        assert_eq!(r.status(), 202);
    }
    assert_eq!(world.secondary_refusals(), 0);
    world.settle().await;
}

#[tokio::test]
async fn content_past_the_limit_is_refused_with_retry_after_and_reads_go_on() {
    let (sim, world, hook, ids) = setup(5).await;
    world.set_secondary_limits(SecondaryLimits { content_per_minute: 3, ..SecondaryLimits::github() });
    let post = |id: u64| format!("/repos/octo/repo/hooks/{hook}/deliveries/{id}/attempts");
    for id in &ids[..3] {
        assert_eq!(send(&sim, reqwest::Method::POST, &post(*id)).await.status(), 202);
    }
    let refused = send(&sim, reqwest::Method::POST, &post(ids[3])).await;
    assert_eq!(refused.status(), 403);
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().starts_with("You have exceeded a secondary rate limit"), "{body}");
    // Reads are another endpoint, with points to spare.
    let list = send(&sim, reqwest::Method::GET, &format!("/repos/octo/repo/hooks/{hook}/deliveries")).await;
    assert_eq!(list.status(), 200);
    assert_eq!(world.secondary_refusals(), 1);
    // The refused request did nothing, and is recorded as answered 403.
    world.settle().await;
    assert_eq!(world.deliveries(hook).iter().filter(|d| d.redelivery).count(), 3);
    let statuses: Vec<u16> = world.requests().iter().filter(|r| r.method == "POST").map(|r| r.status).collect();
    assert_eq!(statuses, [202, 202, 202, 403]);
}

#[tokio::test]
async fn points_per_endpoint_and_a_compressed_minute() {
    let (sim, world, hook, _) = setup(1).await;
    // 4 points a (one-second) minute: four list requests, then a refusal until it has passed.
    world.set_secondary_limits(SecondaryLimits { points_per_minute: 4, ..SecondaryLimits::github() }.compressed(60));
    let list = format!("/repos/octo/repo/hooks/{hook}/deliveries");
    for _ in 0..4 {
        assert_eq!(send(&sim, reqwest::Method::GET, &list).await.status(), 200);
    }
    let refused = send(&sim, reqwest::Method::GET, &list).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.headers()["retry-after"], "1", "whole seconds, rounded up");
    world.clear_secondary_limits();
    for _ in 0..10 {
        assert_eq!(send(&sim, reqwest::Method::GET, &list).await.status(), 200);
    }
    assert_eq!(world.secondary_refusals(), 0, "cleared with the limits");
}

#[tokio::test]
async fn each_credential_has_its_own_secondary_limits() {
    let (sim, world, hook, _) = setup(1).await;
    const OTHER: &str = "ghp_secondary_limits_other_user";
    world.add_token(OTHER);
    world.set_secondary_limits(SecondaryLimits { points_per_minute: 2, ..SecondaryLimits::github() });
    let list = format!("/repos/octo/repo/hooks/{hook}/deliveries");
    for _ in 0..2 {
        assert_eq!(send(&sim, reqwest::Method::GET, &list).await.status(), 200);
    }
    assert_eq!(send(&sim, reqwest::Method::GET, &list).await.status(), 403, "the first user is over its points");
    let other = reqwest::Client::new()
        .get(format!("{}{list}", sim.base_url()))
        .header("authorization", format!("token {OTHER}"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200, "another user's points are untouched");
    assert_eq!(world.secondary_refusals(), 1);
}
