//! Could a pass list only `status=failure` to save requests? GitHub documents the filter as
//! `status_code` 400-599, and the simulator implements it so. This shows what such a mode would
//! get wrong against the full listing: it misses failures with no HTTP answer (status code 0:
//! connection refused, timeouts) and redirects (3xx, which `status=success` claims), and it
//! cannot tell a failure that a later redelivery fixed from one still failing, because the fix
//! is not in the filtered list. See "The status=failure filter" in docs/design.md.

use chrono::{Duration as TimeDelta, Utc};
use redeliver_core::github::{AppKey, ClientConfig, Credentials, GitHubClient, HookTarget};
use redeliver_core::plan::{Scan, Window};
use redeliver_sim::{NewAttempt, Sim, keys};
use std::collections::BTreeSet;
use std::time::Duration;
use url::Url;

const APP_ID: u64 = 4646;

/// Scans every page of `query` (`None`: the unfiltered list); returns the events listed and,
/// of those, the ones the scan finds failed.
async fn scan(client: &mut GitHubClient, base: &str, query: Option<&str>) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut listed = BTreeSet::new();
    let mut scan = Scan::new(Window { start: Utc::now() - TimeDelta::hours(24), until: None });
    let mut next = query.map(|q| Url::parse(&format!("{base}/app/hook/deliveries?per_page=100&{q}")).unwrap());
    // `None` asks for the first unfiltered page; a filtered first page is fetched as a `next` URL.
    let mut first = true;
    loop {
        let target = if first && query.is_none() { None } else { next.as_ref() };
        let page = client
            .list_deliveries_each(&HookTarget::App, target, |d| {
                listed.insert(d.guid.to_string());
                scan.observe_ref(&d);
            })
            .await
            .unwrap();
        first = false;
        match page.next {
            Some(url) if !scan.reached_start => next = Some(url),
            _ => break,
        }
    }
    (listed, scan.failed().map(|h| h.guid.clone()).collect())
}

#[tokio::test]
async fn a_failure_only_listing_misses_failures_and_redelivers_fixed_events() {
    let sim = Sim::start().await.unwrap();
    let world = sim.world();
    let hook = world.add_app(APP_ID, "Iv23filter", keys::TEST_APP_PUBLIC_KEY, "http://127.0.0.1:9/", None);
    let at = Utc::now() - TimeDelta::hours(2);
    let record = |attempt: NewAttempt| world.record_attempt(hook, attempt).guid;
    let refused = record(NewAttempt::new("push", 0, at).status("failed to connect to host"));
    let timed_out = record(NewAttempt::new("push", 0, at).status("timed out"));
    let redirected = record(NewAttempt::new("push", 302, at));
    let still_failing = record(NewAttempt::new("push", 500, at));
    let fixed = record(NewAttempt::new("push", 502, at));
    record(NewAttempt::new("push", 200, at + TimeDelta::minutes(5)).guid(&fixed).redelivery(true));
    record(NewAttempt::new("push", 200, at));

    let mut config = ClientConfig::new(Url::parse(&sim.base_url()).unwrap());
    config.pace = Duration::ZERO.into();
    let key = AppKey::from_pem(keys::TEST_APP_KEY_PKCS1).unwrap();
    let mut client = GitHubClient::new(config, Credentials::App { app_id: APP_ID.to_string(), key }).unwrap();
    let base = sim.base_url();

    let (_, truth) = scan(&mut client, &base, None).await;
    assert_eq!(truth, BTreeSet::from([refused.clone(), timed_out.clone(), redirected.clone(), still_failing.clone()]));

    let (listed, failure_only) = scan(&mut client, &base, Some("status=failure")).await;
    assert_eq!(listed, BTreeSet::from([still_failing.clone(), fixed.clone()]));
    // Missed: no HTTP answer at all, and a redirect. Never redelivered by such a mode.
    for missed in [&refused, &timed_out, &redirected] {
        assert!(!failure_only.contains(missed), "{missed} is not in status=failure");
    }
    // Redelivered again although a redelivery already got through: its success is not listed.
    assert!(failure_only.contains(&fixed), "the fixed event looks failed in status=failure");

    // Listing `status=success` as well does not help: the status-0 attempts are in neither list,
    // and the redirect is filed under success although no receiver accepted it.
    let (successes, _) = scan(&mut client, &base, Some("status=success")).await;
    assert!(successes.contains(&redirected), "status=success lists the 302");
    assert!(!listed.contains(&refused) && !successes.contains(&refused), "status 0 is in neither list");
    assert!(!listed.contains(&timed_out) && !successes.contains(&timed_out), "status 0 is in neither list");
    let queries = world.requests().iter().filter(|r| r.query.contains("status=")).count();
    assert!(queries >= 2, "the filtered pages came from the simulator");
}
