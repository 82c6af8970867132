//! The GitHub client against the simulator: paging, retries, rate limits, ambiguity of failed
//! POSTs, authentication errors, the Actions variable and the GHES base URL, as scenarios.
//!
//! Delays are configured small (10 ms backoff, no pacing unless under test); the only real waits
//! are the one-second `Retry-After` and rate-limit resets the simulator hands out.

use chrono::{Duration as TimeDelta, Utc};
use redeliver_core::github::{
    ActionsVariable, ApiError, AppKey, ClientConfig, Credentials, GitHubClient, HookTarget, VariableName, format_millis,
};
use redeliver_core::secret::Secret;
use redeliver_sim::{Fault, FaultRule, HookId, NewAttempt, Receiver, Sim, World, keys};
use std::time::{Duration, Instant};
use url::Url;

const APP_ID: u64 = 42;
const CLIENT_ID: &str = "Iv23liTestClient";
const TOKEN: &str = "ghp_integration_test_token";

fn config(base: &str) -> ClientConfig {
    let mut config = ClientConfig::new(Url::parse(base).unwrap());
    config.pace = Duration::ZERO.into();
    config.retry_base = Duration::from_millis(10);
    config.timeout = Duration::from_secs(5);
    config
}

fn app_credentials(app_id: &str, pem: &str) -> Credentials {
    Credentials::App { app_id: app_id.into(), key: AppKey::from_pem(pem).unwrap() }
}

fn app_client(base: &str) -> GitHubClient {
    GitHubClient::new(config(base), app_credentials(&APP_ID.to_string(), keys::TEST_APP_KEY_PKCS1)).unwrap()
}

fn token_client(base: &str) -> GitHubClient {
    GitHubClient::new(config(base), Credentials::Token(Secret::new(TOKEN))).unwrap()
}

/// A simulator with the test App (hook pointed at `receiver_url`) and a token.
async fn sim_with_app(receiver_url: &str) -> (Sim, World, HookId) {
    let sim = Sim::start().await.unwrap();
    let world = sim.world();
    let hook = world.add_app(APP_ID, CLIENT_ID, keys::TEST_APP_PUBLIC_KEY, receiver_url, None);
    world.add_token(TOKEN);
    (sim, world, hook)
}

/// `n` failed first attempts, one a second apart, the newest a minute ago.
fn record_failures(world: &World, hook: HookId, n: usize) -> Vec<u64> {
    let newest = Utc::now() - TimeDelta::minutes(1);
    (0..n)
        .map(|i| {
            let at = newest - TimeDelta::seconds((n - i) as i64);
            world.record_attempt(hook, NewAttempt::new("issues", 503, at).action("opened")).id
        })
        .collect()
}

fn requests_to(world: &World, method: &str, path_start: &str) -> Vec<redeliver_sim::RecordedRequest> {
    world.requests().into_iter().filter(|r| r.method == method && r.path.starts_with(path_start)).collect()
}

#[tokio::test]
async fn pages_follow_link_next_until_the_last_page() {
    let (sim, world, hook) = sim_with_app("http://127.0.0.1:9/").await;
    let ids = record_failures(&world, hook, 250);
    let mut client = app_client(&sim.base_url());

    let mut pages = Vec::new();
    let mut next: Option<Url> = None;
    loop {
        let page = client.list_deliveries(&HookTarget::App, next.as_ref()).await.unwrap();
        pages.push(page.deliveries.len());
        let Some(url) = page.next.clone() else {
            assert_eq!(page.deliveries.last().unwrap().id, ids[0], "the oldest comes last");
            break;
        };
        next = Some(url);
    }

    assert_eq!(pages, vec![100, 100, 50]);
    let gets = requests_to(&world, "GET", "/app/hook/deliveries");
    assert_eq!(gets.len(), 3);
    assert!(gets.iter().all(|r| r.auth == "jwt" && r.status == 200));
    assert_eq!(gets[0].query, "per_page=100");
    assert!(gets[1].query.contains("per_page=100") && gets[1].query.contains("cursor=v1_"), "{}", gets[1].query);
    assert_eq!(client.stats().count_status("GET", "list_deliveries", 200), 3);
    let rate = client.stats().rate_limit.clone().unwrap();
    assert_eq!(rate.limit, Some(5000));
    assert!(rate.remaining.unwrap() < 5000);
}

#[tokio::test]
async fn a_hook_without_deliveries_is_one_empty_page() {
    let (sim, _world, _hook) = sim_with_app("http://127.0.0.1:9/").await;
    let mut client = app_client(&sim.base_url());
    let page = client.list_deliveries(&HookTarget::App, None).await.unwrap();
    assert!(page.deliveries.is_empty());
    assert_eq!(page.next, None);
}

#[tokio::test]
async fn the_client_id_and_a_pkcs8_key_work_as_well() {
    let (sim, world, hook) = sim_with_app("http://127.0.0.1:9/").await;
    record_failures(&world, hook, 2);
    let credentials = app_credentials(CLIENT_ID, keys::TEST_APP_KEY_PKCS8);
    let mut client = GitHubClient::new(config(&sim.base_url()), credentials).unwrap();
    assert_eq!(client.list_deliveries(&HookTarget::App, None).await.unwrap().deliveries.len(), 2);
}

#[tokio::test]
async fn a_502_on_a_page_is_retried() {
    let (sim, world, hook) = sim_with_app("http://127.0.0.1:9/").await;
    record_failures(&world, hook, 3);
    world.inject(FaultRule::new("/app/hook/deliveries", Fault::Status(502)).method("GET").times(2));
    let mut client = app_client(&sim.base_url());

    let page = client.list_deliveries(&HookTarget::App, None).await.unwrap();

    assert_eq!(page.deliveries.len(), 3);
    let statuses: Vec<u16> = requests_to(&world, "GET", "/app/hook").iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![502, 502, 200]);
    assert_eq!(client.stats().retries, 2);
    assert_eq!(client.stats().count_status("GET", "list_deliveries", 502), 2);
}

#[tokio::test]
async fn a_read_that_keeps_failing_is_a_server_error_with_githubs_message() {
    let (sim, world, _hook) = sim_with_app("http://127.0.0.1:9/").await;
    world.inject(FaultRule::new("/app/hook/deliveries", Fault::Status(503)).times(100));
    let mut cfg = config(&sim.base_url());
    cfg.max_retries = 2;
    let credentials = app_credentials(&APP_ID.to_string(), keys::TEST_APP_KEY_PKCS1);
    let mut client = GitHubClient::new(cfg, credentials).unwrap();

    let err = client.list_deliveries(&HookTarget::App, None).await.unwrap_err();

    match &err {
        ApiError::Server { status: 503, message, request_id: Some(_) } => assert_eq!(message, "Service Unavailable"),
        other => panic!("{other:?}"),
    }
    assert_eq!(requests_to(&world, "GET", "/app/hook").len(), 3, "one try and two retries");
    assert!(err.hint().is_some());
}

#[tokio::test]
async fn a_5xx_on_redeliver_is_ambiguous_and_never_resent() {
    let (sim, world, hook) = sim_with_app("http://127.0.0.1:9/").await;
    let ids = record_failures(&world, hook, 1);
    world.inject(FaultRule::new("/app/hook/deliveries", Fault::Status(502)).method("POST"));
    let mut client = app_client(&sim.base_url());

    let err = client.redeliver(&HookTarget::App, ids[0]).await.unwrap_err();

    let ApiError::Ambiguous { detail } = &err else { panic!("{err:?}") };
    assert!(detail.contains("502") && detail.contains("not re-sent"), "{detail}");
    assert_eq!(requests_to(&world, "POST", "/app/hook").len(), 1);
    assert_eq!(client.stats().retries, 0);
}

#[tokio::test]
async fn a_timed_out_redeliver_is_ambiguous_but_a_timed_out_read_is_retried() {
    let (sim, world, hook) = sim_with_app("http://127.0.0.1:9/").await;
    let ids = record_failures(&world, hook, 1);
    let mut cfg = config(&sim.base_url());
    cfg.timeout = Duration::from_millis(300);
    let credentials = app_credentials(&APP_ID.to_string(), keys::TEST_APP_KEY_PKCS1);
    let mut client = GitHubClient::new(cfg, credentials).unwrap();

    world.inject(FaultRule::new("/app/hook/deliveries", Fault::Slow(Duration::from_millis(1500))).method("GET"));
    let page = client.list_deliveries(&HookTarget::App, None).await.unwrap();
    assert_eq!(page.deliveries.len(), 1);
    assert_eq!(client.stats().count("GET", "list_deliveries"), 2, "the timed-out try and the retry");

    world.inject(FaultRule::new("/app/hook/deliveries", Fault::Slow(Duration::from_millis(1500))).method("POST"));
    let err = client.redeliver(&HookTarget::App, ids[0]).await.unwrap_err();
    let ApiError::Ambiguous { detail } = &err else { panic!("{err:?}") };
    assert!(detail.contains("no answer"), "{detail}");
    assert_eq!(client.stats().count("POST", "redeliver"), 1);
    assert!(!detail.contains("Bearer") && !detail.contains("eyJ"), "{detail}");
}

#[tokio::test]
async fn a_secondary_rate_limit_is_waited_out_and_the_redelivery_made_once() {
    let receiver = Receiver::start(None).await.unwrap();
    let (sim, world, hook) = sim_with_app(&receiver.url()).await;
    let attempt = world.record_attempt(hook, NewAttempt::new("push", 0, Utc::now() - TimeDelta::minutes(5)));
    world.inject(
        FaultRule::new("/app/hook/deliveries", Fault::SecondaryRateLimit { retry_after: Some(1) }).method("POST"),
    );
    let mut client = app_client(&sim.base_url());

    let started = Instant::now();
    client.redeliver(&HookTarget::App, attempt.id).await.unwrap();
    world.settle().await;

    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was honoured");
    let statuses: Vec<u16> = requests_to(&world, "POST", "/app/hook").iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![403, 202]);
    assert_eq!(receiver.successes_for(&attempt.guid), 1, "GitHub redelivered exactly once");
    assert!(client.stats().rate_limit_waited >= Duration::from_secs(1));
}

#[tokio::test]
async fn a_429_with_a_wait_beyond_the_maximum_gives_up_at_once() {
    let (sim, world, _hook) = sim_with_app("http://127.0.0.1:9/").await;
    world.inject(
        FaultRule::new("/app/hook/deliveries", Fault::TooManyRequests { retry_after: Some(3600) }).method("GET"),
    );
    let mut client = app_client(&sim.base_url());

    let started = Instant::now();
    let err = client.list_deliveries(&HookTarget::App, None).await.unwrap_err();

    assert!(started.elapsed() < Duration::from_secs(5));
    let ApiError::RateLimited { until: Some(until), message } = &err else { panic!("{err:?}") };
    assert!(*until > Utc::now() + TimeDelta::minutes(59), "{until}");
    assert!(message.contains("secondary rate limit"), "{message}");
    assert_eq!(requests_to(&world, "GET", "/app/hook").len(), 1);
}

#[tokio::test]
async fn an_exhausted_primary_limit_is_waited_out_until_reset() {
    let (sim, world, hook) = sim_with_app("http://127.0.0.1:9/").await;
    record_failures(&world, hook, 1);
    world.set_rate_limit(5000, 0, Duration::from_secs(2));
    let mut client = app_client(&sim.base_url());

    let page = client.list_deliveries(&HookTarget::App, None).await.unwrap();

    assert_eq!(page.deliveries.len(), 1);
    let statuses: Vec<u16> = requests_to(&world, "GET", "/app/hook").iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![403, 200]);
    assert!(client.stats().rate_limit_waited >= Duration::from_secs(1));
}

#[tokio::test]
async fn an_exhausted_primary_limit_with_a_distant_reset_fails_with_its_time() {
    let (sim, world, _hook) = sim_with_app("http://127.0.0.1:9/").await;
    world.set_rate_limit(5000, 0, Duration::from_secs(3600));
    let mut client = token_client(&sim.base_url());
    let target = HookTarget::Org { org: "octo-org".into(), hook_id: 1 };

    let err = client.list_deliveries(&target, None).await.unwrap_err();

    let ApiError::RateLimited { until: Some(until), message } = &err else { panic!("{err:?}") };
    assert!(message.contains("API rate limit exceeded"), "{message}");
    let expected = Utc::now() + TimeDelta::seconds(3601);
    assert!((*until - expected).num_seconds().abs() <= 3, "{until} vs {expected}");
    assert!(err.hint().unwrap().contains("run again after"));
}

#[tokio::test]
async fn a_jwt_from_the_wrong_key_is_unauthorized_with_githubs_message() {
    let (sim, _world, _hook) = sim_with_app("http://127.0.0.1:9/").await;
    let credentials = app_credentials(&APP_ID.to_string(), keys::OTHER_KEY);
    let mut client = GitHubClient::new(config(&sim.base_url()), credentials).unwrap();

    let err = client.list_deliveries(&HookTarget::App, None).await.unwrap_err();

    let ApiError::Unauthorized { message, request_id } = &err else { panic!("{err:?}") };
    assert_eq!(message, "A JSON web token could not be decoded");
    assert!(request_id.is_some());
    assert!(err.to_string().contains("A JSON web token could not be decoded"));
    assert!(err.hint().unwrap().contains("APP_ID"));
}

#[tokio::test]
async fn a_bad_token_is_unauthorized_and_never_shown() {
    let (sim, world, _hook) = sim_with_app("http://127.0.0.1:9/").await;
    let hook_id = world.add_repo_hook("octo", "hello", "http://127.0.0.1:9/", None);
    let mut client =
        GitHubClient::new(config(&sim.base_url()), Credentials::Token(Secret::new("ghp_wrong_token"))).unwrap();
    let target = HookTarget::Repo { owner: "octo".into(), repo: "hello".into(), hook_id };

    let err = client.list_deliveries(&target, None).await.unwrap_err();

    assert!(matches!(&err, ApiError::Unauthorized { message, .. } if message == "Bad credentials"), "{err:?}");
    let shown = format!("{err} {err:?} {:?} {client:?}", err.hint());
    assert!(!shown.contains("ghp_wrong_token"), "{shown}");
}

#[tokio::test]
async fn repository_and_organization_hooks_with_a_token() {
    let (sim, world, _hook) = sim_with_app("http://127.0.0.1:9/").await;
    let repo_hook = world.add_repo_hook("octo", "hello", "http://127.0.0.1:9/", None);
    let org_hook = world.add_org_hook("octo-org", "http://127.0.0.1:9/", None);
    let repo_ids = record_failures(&world, repo_hook, 2);
    record_failures(&world, org_hook, 1);
    let mut client = token_client(&sim.base_url());
    let repo = HookTarget::Repo { owner: "octo".into(), repo: "hello".into(), hook_id: repo_hook };
    let org = HookTarget::Org { org: "octo-org".into(), hook_id: org_hook };

    assert_eq!(client.list_deliveries(&repo, None).await.unwrap().deliveries.len(), 2);
    assert_eq!(client.list_deliveries(&org, None).await.unwrap().deliveries.len(), 1);
    client.redeliver(&repo, repo_ids[1]).await.unwrap();
    world.settle().await;

    let posts = requests_to(&world, "POST", "/repos/octo/hello/hooks");
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].path, format!("/repos/octo/hello/hooks/{repo_hook}/deliveries/{}/attempts", repo_ids[1]));
    assert_eq!(posts[0].auth, "token");
}

#[tokio::test]
async fn an_unknown_hook_is_not_found_and_an_unknown_delivery_is_refused() {
    let (sim, world, _hook) = sim_with_app("http://127.0.0.1:9/").await;
    let hook_id = world.add_repo_hook("octo", "hello", "http://127.0.0.1:9/", None);
    let mut client = token_client(&sim.base_url());

    let wrong = HookTarget::Repo { owner: "octo".into(), repo: "hello".into(), hook_id: hook_id + 1000 };
    let err = client.list_deliveries(&wrong, None).await.unwrap_err();
    assert!(matches!(&err, ApiError::NotFound { message, request_id: Some(_) } if message == "Not Found"), "{err:?}");

    let right = HookTarget::Repo { owner: "octo".into(), repo: "hello".into(), hook_id };
    let err = client.redeliver(&right, 999_999_999_999).await.unwrap_err();
    assert!(matches!(&err, ApiError::Refused { status: 404, .. }), "{err:?}");
}

#[tokio::test]
async fn redelivering_past_retention_is_refused_with_githubs_reason() {
    let (sim, world, hook) = sim_with_app("http://127.0.0.1:9/").await;
    let old = world.record_attempt(hook, NewAttempt::new("push", 500, Utc::now() - TimeDelta::days(4)));
    let mut client = app_client(&sim.base_url());

    let err = client.redeliver(&HookTarget::App, old.id).await.unwrap_err();

    let ApiError::Refused { status: 422, message, .. } = &err else { panic!("{err:?}") };
    assert!(message.contains("Validation Failed") && message.contains("older than"), "{message}");
    assert!(err.hint().unwrap().contains("3 days"));
}

#[tokio::test]
async fn a_cut_off_page_is_malformed_with_the_request_id() {
    let (sim, world, hook) = sim_with_app("http://127.0.0.1:9/").await;
    record_failures(&world, hook, 5);
    world.inject(FaultRule::new("/app/hook/deliveries", Fault::MalformedJson));
    let mut client = app_client(&sim.base_url());

    let err = client.list_deliveries(&HookTarget::App, None).await.unwrap_err();

    let ApiError::Malformed { detail, request_id: Some(_) } = &err else { panic!("{err:?}") };
    assert!(detail.contains("app hook"), "{detail}");
}

#[tokio::test]
async fn the_ghes_base_url_keeps_its_api_v3_prefix_across_pages() {
    let (sim, world, hook) = sim_with_app("http://127.0.0.1:9/").await;
    record_failures(&world, hook, 150);
    let mut client = app_client(&sim.ghes_base_url());

    let first = client.list_deliveries(&HookTarget::App, None).await.unwrap();
    let next = first.next.clone().unwrap();
    assert!(next.path().starts_with("/api/v3/app/hook/deliveries"), "{next}");
    let second = client.list_deliveries(&HookTarget::App, Some(&next)).await.unwrap();
    client.redeliver(&HookTarget::App, second.deliveries[0].id).await.unwrap();
    world.settle().await;

    assert_eq!((first.deliveries.len(), second.deliveries.len(), second.next), (100, 50, None));
    let requests = world.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.ghes), "{requests:?}");
}

#[tokio::test]
async fn redeliveries_are_paced() {
    let (sim, world, hook) = sim_with_app("http://127.0.0.1:9/").await;
    let ids = record_failures(&world, hook, 3);
    let mut cfg = config(&sim.base_url());
    cfg.pace = Duration::from_millis(300).into();
    let credentials = app_credentials(&APP_ID.to_string(), keys::TEST_APP_KEY_PKCS1);
    let mut client = GitHubClient::new(cfg, credentials).unwrap();

    for id in &ids {
        client.redeliver(&HookTarget::App, *id).await.unwrap();
    }
    world.settle().await;

    let posts = requests_to(&world, "POST", "/app/hook");
    assert_eq!(posts.len(), 3);
    for pair in posts.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= TimeDelta::milliseconds(290), "gap {gap}");
    }
}

#[tokio::test]
async fn an_unreachable_server_is_a_transport_error_even_for_a_post() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut cfg = config(&base);
    cfg.max_retries = 1;
    let mut client = GitHubClient::new(cfg, Credentials::Token(Secret::new(TOKEN))).unwrap();
    let target = HookTarget::Org { org: "octo-org".into(), hook_id: 1 };

    let err = client.redeliver(&target, 1).await.unwrap_err();

    // Nothing was sent, so the outcome is known: it did not happen.
    let ApiError::Transport { detail } = &err else { panic!("{err:?}") };
    assert!(detail.contains("127.0.0.1") && detail.contains("could not connect"), "{detail}");
    assert_eq!(client.stats().count("POST", "redeliver"), 2);
}

#[tokio::test]
async fn an_installation_token_reads_an_organization_hook_for_the_app() {
    let (sim, world, _hook) = sim_with_app("http://127.0.0.1:9/").await;
    world.add_installation(APP_ID, "octo-org");
    let org_hook = world.add_org_hook("octo-org", "http://127.0.0.1:9/", None);
    record_failures(&world, org_hook, 2);
    let target = HookTarget::Org { org: "octo-org".into(), hook_id: org_hook };
    let mut app = app_client(&sim.base_url());

    let token = app.installation_token(&target).await.unwrap();
    let mut client = GitHubClient::new(config(&sim.base_url()), Credentials::Token(token)).unwrap();

    assert_eq!(client.list_deliveries(&target, None).await.unwrap().deliveries.len(), 2);
    assert_eq!(app.stats().count("POST", "installation"), 1);
}

fn variable(sim: &Sim) -> ActionsVariable {
    let name: VariableName = "WEBHOOK_REDELIVERY_TIME".parse().unwrap();
    ActionsVariable::new(token_client(&sim.base_url()), "octo".into(), "workflows".into(), name)
}

#[tokio::test]
async fn the_variable_is_created_then_updated_in_milliseconds() {
    let (sim, world, _hook) = sim_with_app("http://127.0.0.1:9/").await;
    let mut var = variable(&sim);
    assert_eq!(var.describe(), "Actions variable WEBHOOK_REDELIVERY_TIME in octo/workflows");

    assert_eq!(var.read().await.unwrap(), None);
    let first = Utc::now() - TimeDelta::hours(1);
    var.write(first).await.unwrap();
    assert_eq!(world.variable("octo", "workflows", "WEBHOOK_REDELIVERY_TIME"), Some(format_millis(first)));

    let second = Utc::now();
    var.write(second).await.unwrap();
    assert_eq!(world.variable("octo", "workflows", "WEBHOOK_REDELIVERY_TIME"), Some(format_millis(second)));
    let read_back = var.read().await.unwrap().unwrap();
    assert_eq!(read_back.timestamp_millis(), second.timestamp_millis());

    let calls: Vec<(String, u16)> = world
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/actions/variables"))
        .map(|r| (r.method, r.status))
        .collect();
    let expected = [("GET", 404), ("POST", 201), ("PATCH", 204), ("GET", 200)];
    assert_eq!(calls, expected.map(|(m, s)| (m.to_owned(), s)).to_vec());
    assert_eq!(var.client().stats().count("PATCH", "variable"), 1);
}

#[tokio::test]
async fn a_variable_written_by_the_docs_script_is_read() {
    let (sim, world, _hook) = sim_with_app("http://127.0.0.1:9/").await;
    world.set_variable("octo", "workflows", "WEBHOOK_REDELIVERY_TIME", "1718000000123");
    let mut var = variable(&sim);

    let at = var.read().await.unwrap().unwrap();

    assert_eq!(at.timestamp_millis(), 1_718_000_000_123);
}

#[tokio::test]
async fn a_variable_created_meanwhile_is_updated_instead() {
    let (sim, world, _hook) = sim_with_app("http://127.0.0.1:9/").await;
    let mut var = variable(&sim);
    assert_eq!(var.read().await.unwrap(), None);
    world.set_variable("octo", "workflows", "WEBHOOK_REDELIVERY_TIME", "1");

    let at = Utc::now();
    var.write(at).await.unwrap();

    assert_eq!(world.variable("octo", "workflows", "WEBHOOK_REDELIVERY_TIME"), Some(format_millis(at)));
    let posts = requests_to(&world, "POST", "/repos/octo/workflows/actions/variables");
    assert_eq!(posts.iter().map(|r| r.status).collect::<Vec<_>>(), vec![409]);
}

#[tokio::test]
async fn a_variable_that_is_not_a_time_is_an_error_not_a_reset() {
    let (sim, world, _hook) = sim_with_app("http://127.0.0.1:9/").await;
    world.set_variable("octo", "workflows", "WEBHOOK_REDELIVERY_TIME", "yesterday");
    let mut var = variable(&sim);

    let err = var.read().await.unwrap_err();

    let ApiError::Malformed { detail, .. } = &err else { panic!("{err:?}") };
    assert!(detail.contains("WEBHOOK_REDELIVERY_TIME") && detail.contains("\"yesterday\""), "{detail}");
    assert_eq!(world.variable("octo", "workflows", "WEBHOOK_REDELIVERY_TIME").as_deref(), Some("yesterday"));
}
