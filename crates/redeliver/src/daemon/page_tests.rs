//! The status page: a realistic status shared with the HTTP tests, the rendering rules, and the
//! page as real headless Chromium renders it (DOM and screenshot).

use super::render;
use crate::daemon::http::serve;
use crate::daemon::status::{
    GivenUpEvent, PendingEvent, RecentRedelivery, RecentReplay, SharedStatus, Status, TargetStatus,
};
use crate::report::{OutageEnd, ReceiverReport};
use chrono::{DateTime, Duration, Utc};
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// Three targets a 3 a.m. reader could meet: one healthy with work in flight, one whose last
/// poll failed, one stale whose error text holds markup.
pub(crate) fn sample(now: DateTime<Utc>) -> Status {
    let ago = |secs: i64| now - Duration::seconds(secs);
    let mut healthy = TargetStatus {
        name: "acme-prod".into(),
        description: "app hook of App 123".into(),
        api_url: "https://api.github.com".into(),
        polls: 187,
        last_poll_started_at: Some(ago(21)),
        last_success_at: Some(ago(20)),
        deliveries_read: 12_345,
        failed_events_seen: 42,
        api_requests: [("list_deliveries 200", 187), ("redeliver 202", 9), ("redeliver 422", 1), ("redeliver 502", 1)]
            .into_iter()
            .map(|(k, n)| (k.to_owned(), n))
            .collect(),
        rate_limit_remaining: Some(4321),
        rate_limit_limit: Some(5000),
        clock_skew_seconds: Some(-600),
        rate_limit_reset: Some(now + Duration::minutes(23)),
        pending: vec![
            PendingEvent {
                guid: "0b9c2e40-8f11-11f0-9a3e-3c2f1d7a5e01".into(),
                event: "pull_request".into(),
                action: Some("opened".into()),
                attempts: 3,
                last_status_code: 502,
                first_attempt_at: ago(3_600),
                next_due_at: Some(now + Duration::minutes(9)),
            },
            PendingEvent {
                guid: "7d41aa10-8f14-11f0-8c5b-1e0f6b2d9c77".into(),
                event: "push".into(),
                action: None,
                attempts: 1,
                last_status_code: 0,
                first_attempt_at: ago(95),
                next_due_at: None,
            },
        ],
        ..TargetStatus::default()
    };
    let answers = [
        ("accepted", None),
        ("refused", Some("422 Validation Failed: the delivery is too old")),
        ("ambiguous", Some("502 Bad Gateway from api.github.com")),
    ];
    for (i, (answer, detail)) in answers.into_iter().enumerate() {
        healthy.push_redelivery(RecentRedelivery {
            at: ago(600 - 120 * i as i64),
            guid: format!("c3f0e6a2-8f0{i}-11f0-81d4-5a7b9e3c1f20"),
            event: "issues".into(),
            delivery_id: 9_876_543_210 + i as u64,
            answer: answer.into(),
            detail: detail.map(Into::into),
        });
    }
    healthy.push_redelivery(RecentRedelivery {
        at: ago(30),
        guid: "e8a1b2c3-8f15-11f0-9f00-0a1b2c3d4e5f".into(),
        event: "check_run".into(),
        delivery_id: 9_876_543_299,
        answer: "accepted".into(),
        detail: None,
    });
    // Direct delivery: three posts delivered, one unreachable, four events still owed.
    for (i, (answer, status)) in
        [("delivered", Some(200)), ("unreachable", None), ("delivered", Some(202)), ("delivered", Some(200))]
            .into_iter()
            .enumerate()
    {
        healthy.push_replay(RecentReplay {
            at: ago(900 - 60 * i as i64),
            guid: format!("d1e2f3a4-8f2{i}-11f0-8000-0a0b0c0d0e0f"),
            event: "push".into(),
            reason: "horizon".into(),
            answer: answer.into(),
            status,
            detail: status.is_none().then(|| "no answer in 10000 ms: timed out".into()),
        });
    }
    healthy.replays_owed = 4;
    healthy.push_given_up(GivenUpEvent {
        at: ago(1_800),
        guid: "5f2e9d00-8e70-11f0-8a11-6c0e4b7f2a90".into(),
        event: "workflow_run".into(),
        attempts: 8,
        reason: "cap".into(),
    });

    let mut failing = TargetStatus {
        name: "octo/repo#42".into(),
        description: "repository hook octo/repo#42".into(),
        api_url: "https://api.github.com".into(),
        polls: 186,
        last_poll_started_at: Some(ago(15)),
        last_success_at: Some(ago(75)),
        last_error: Some(
            "GET /repos/octo/repo/hooks/42/deliveries: 503 Service Unavailable (request 1A2B:3C4D)".into(),
        ),
        deliveries_read: 880,
        failed_events_seen: 3,
        api_requests: [("list_deliveries 200", 185), ("list_deliveries 503", 1)]
            .into_iter()
            .map(|(k, n)| (k.to_owned(), n))
            .collect(),
        rate_limit_remaining: Some(4987),
        rate_limit_limit: Some(5000),
        rate_limit_reset: Some(now + Duration::minutes(41)),
        ..TargetStatus::default()
    };
    failing.push_given_up(GivenUpEvent {
        at: ago(7_200),
        guid: "a0b1c2d3-8e01-11f0-9b7c-2f4e6a8c0e12".into(),
        event: "release".into(),
        attempts: 5,
        reason: "horizon".into(),
    });
    // Its receiver: one outage over yesterday, and down again for the last 90 minutes.
    let receiver = |state, since, waiting, canaries, started, ended: Vec<OutageEnd>| ReceiverReport {
        state,
        since,
        events_waiting: waiting,
        canaries,
        canaries_sent: canaries.min(1),
        outage_started: started,
        outages_ended: ended,
    };
    failing.push_receiver(&receiver("down", Some(ago(90_000)), 12, 4, Some(ago(90_000)), Vec::new()));
    let over = OutageEnd { since: ago(90_000), ended: ago(79_200), seconds: 10_800, recovered: 212, given_up: 0 };
    failing.push_receiver(&receiver("up", None, 0, 0, None, vec![over]));
    failing.push_receiver(&receiver("down", Some(ago(5_400)), 37, 9, Some(ago(5_400)), Vec::new()));

    let stale = TargetStatus {
        name: "ghes-lab".into(),
        description: "app hook of App 7 on GHES".into(),
        api_url: "https://ghe.example.com/api/v3".into(),
        polls: 40,
        last_poll_started_at: Some(ago(700)),
        last_success_at: Some(ago(1_500)),
        last_error: Some("502 Bad Gateway: <html><script>alert(\"x\")</script></html>".into()),
        deliveries_read: 96,
        api_requests: [("list_deliveries 200", 39), ("list_deliveries 502", 1)]
            .into_iter()
            .map(|(k, n)| (k.to_owned(), n))
            .collect(),
        ..TargetStatus::default()
    };

    Status {
        started_at: Some(ago(3 * 3_600 + 7 * 60)),
        interval_seconds: 60,
        version: "0.1.0".into(),
        targets: vec![healthy, failing, stale],
        notifications_dropped: 0,
        page: 0,
        per_page: 0,
        fleet: None,
    }
}

#[test]
fn page_shows_each_target_and_its_tables() {
    let now = Utc::now();
    let html = render(&sample(now), now);
    assert!(html.contains("<meta http-equiv=\"refresh\" content=\"30\">"));
    assert!(html.contains("3 targets: 1 stale, 1 failing, 1 healthy"), "{html}");
    for needle in [
        "<span class=\"badge healthy\">healthy</span> acme-prod",
        "<span class=\"badge failing\">failing</span> octo/repo#42",
        "<span class=\"badge stale\">stale</span> ghes-lab",
        "0b9c2e40-8f11-11f0-9a3e-3c2f1d7a5e01",
        "<strong>due now</strong>",
        "pull_request<span class=\"action\">.opened</span>",
        "5f2e9d00-8e70-11f0-8a11-6c0e4b7f2a90",
        "attempt cap reached",
        "too old for GitHub to redeliver",
        "4,321 / 5,000",
        "no rate-limit headers seen yet",
        "12,345",
        "<dt>Clock skew</dt><dd>-600 s</dd>",
        "<h3>Direct deliveries <span class=\"count\">4</span></h3>",
        "3 delivered, 0 refused, 1 unreachable. Still owed: 4.",
        "<strong>Last failure</strong>",
        "no answer in 10000 ms: timed out",
        "d1e2f3a4-8f23-11f0-8000-0a0b0c0d0e0f",
    ] {
        assert!(html.contains(needle), "missing {needle:?}");
    }
    assert!(!html.contains("<script"), "markup from the status must be escaped");
    assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
}

#[test]
fn the_page_shows_each_receivers_health_and_outage_timeline() {
    let now = Utc::now();
    let html = render(&sample(now), now);
    for needle in [
        "<strong>Down</strong> since",
        "37 events waiting, nothing lost; 9 canaries sent. 2 outages since the daemon started.",
        "<td>ongoing</td><td>1h 30m</td>",
        "<td>3h 0m</td><td class=\"num\">212</td><td class=\"num\">0</td>",
    ] {
        assert!(html.contains(needle), "missing {needle:?}");
    }
    let failing = &sample(now).targets[1];
    assert_eq!((failing.outages_total, failing.outage_seconds_total, failing.canaries_total), (2, 10_800, 2));
}

#[test]
fn every_string_from_the_status_is_escaped() {
    let now = Utc::now();
    let evil = "<img src=x onerror='alert(1)'>&";
    let target = TargetStatus {
        name: evil.into(),
        description: evil.into(),
        api_url: evil.into(),
        last_error: Some(evil.into()),
        api_requests: [(format!("{evil} 200"), 1)].into_iter().collect(),
        pending: vec![PendingEvent {
            guid: evil.into(),
            event: evil.into(),
            action: Some(evil.into()),
            attempts: 1,
            last_status_code: 500,
            first_attempt_at: now,
            next_due_at: None,
        }],
        recent_redeliveries: [RecentRedelivery {
            at: now,
            guid: evil.into(),
            event: evil.into(),
            delivery_id: 1,
            answer: evil.into(),
            detail: Some(evil.into()),
        }]
        .into(),
        given_up: [GivenUpEvent { at: now, guid: evil.into(), event: evil.into(), attempts: 2, reason: evil.into() }]
            .into(),
        ..TargetStatus::default()
    };
    let status = Status { version: evil.into(), targets: vec![target.clone(), target], ..Status::default() };
    let html = render(&status, now);
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("'alert"), "{html}");
    assert!(html.contains("&lt;img src=x onerror=&#39;alert(1)&#39;&gt;&amp;"));
}

#[test]
fn an_empty_daemon_says_so() {
    let now = Utc::now();
    let html = render(&Status::default(), now);
    assert!(html.contains("no targets configured"));
    let one =
        Status { targets: vec![TargetStatus { name: "app".into(), ..TargetStatus::default() }], ..Status::default() };
    let html = render(&one, now);
    assert!(html.contains("1 target: 1 starting"), "{html}");
    assert!(html.contains("Waiting for the first poll to finish."));
    assert!(html.contains("Nothing pending."));
}

#[test]
fn times_read_as_two_units_and_numbers_get_separators() {
    let now = Utc::now();
    assert_eq!(super::span(Duration::seconds(0)), "0s");
    assert_eq!(super::span(Duration::seconds(45)), "45s");
    assert_eq!(super::span(Duration::seconds(200)), "3m 20s");
    assert_eq!(super::span(Duration::seconds(3_630)), "1h");
    assert_eq!(super::span(Duration::seconds(3_900)), "1h 5m");
    assert_eq!(super::span(Duration::seconds(90_061)), "1d 1h");
    assert_eq!(super::relative(now, now - Duration::seconds(200)), "3m 20s ago");
    assert_eq!(super::relative(now, now + Duration::minutes(9)), "in 9m");
    assert_eq!(super::relative(now, now), "just now");
    assert_eq!(super::shorten("a\nbé", 2), "a …");
    assert_eq!(super::shorten("short", 90), "short");
    assert_eq!(super::thousands(0), "0");
    assert_eq!(super::thousands(999), "999");
    assert_eq!(super::thousands(1_000), "1,000");
    assert_eq!(super::thousands(9_876_543_210), "9,876,543,210");
}

const CHROMIUM: &str = "/usr/bin/chromium";

/// Headless, and nothing but 127.0.0.1: every background service off, every other host unresolvable.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
];

/// The page in a real browser: what it shows once parsed (so nothing the status holds can inject
/// markup), and a screenshot. `UPDATE_SCREENSHOT=1` also writes it to `docs/status-page.png`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renders_the_status_page() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run .ci/install-test-deps (as root) to install headless Chromium for this test"
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let url = format!("http://{addr}/");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let allowed = crate::daemon::http::AllowedHosts::new(addr, &[]);
    let server = tokio::spawn(serve(listener, SharedStatus::new(sample(Utc::now())), allowed, async {
        let _ = stopped.await;
    }));
    let dir = tempfile::tempdir().unwrap();
    let shot = dir.path().join("status-page.png");

    let dom_args = vec!["--dump-dom".to_owned(), url.clone()];
    let shot_args = vec![format!("--screenshot={}", shot.display()), "--window-size=1280,1400".into(), url];
    let (dom, shot_run) =
        tokio::join!(chromium(dir.path().join("dom"), dom_args), chromium(dir.path().join("shot"), shot_args));
    let _ = stop.send(());
    server.await.unwrap().unwrap();

    let dom = String::from_utf8_lossy(&dom.stdout);
    for needle in [
        "acme-prod",
        "octo/repo#42",
        "ghes-lab",
        "0b9c2e40-8f11-11f0-9a3e-3c2f1d7a5e01",
        "5f2e9d00-8e70-11f0-8a11-6c0e4b7f2a90",
        ">accepted<",
        ">refused<",
        ">ambiguous<",
        "4,321 / 5,000",
        "3 targets: 1 stale, 1 failing, 1 healthy",
    ] {
        assert!(dom.contains(needle), "the rendered DOM lacks {needle:?}:\n{dom}");
    }
    assert!(!dom.contains("<script"), "the error text became markup:\n{dom}");

    let png = std::fs::read(&shot).unwrap_or_else(|e| {
        panic!("no screenshot ({e}); chromium said:\n{}", String::from_utf8_lossy(&shot_run.stderr))
    });
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 10_000, "a {}-byte screenshot is blank", png.len());
    if std::env::var_os("UPDATE_SCREENSHOT").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/status-page.png");
        std::fs::write(docs, &png).unwrap();
    }
}

/// Runs Chromium with a fresh profile, killing it if it has not finished within a minute.
/// Everything it writes stays in `profile` (a temp dir): `--user-data-dir` alone still leaves
/// `~/.config/chromium/Crash Reports` and NSS's `~/.pki` behind, so its home is the profile too.
async fn chromium(profile: PathBuf, args: Vec<String>) -> std::process::Output {
    let mut cmd = tokio::process::Command::new(CHROMIUM);
    cmd.args(FLAGS).arg(format!("--user-data-dir={}", profile.display())).args(args);
    cmd.env("HOME", &profile)
        .env("XDG_CONFIG_HOME", profile.join("config"))
        .env("XDG_CACHE_HOME", profile.join("cache"))
        .env("XDG_DATA_HOME", profile.join("data"));
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    match tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => panic!("cannot run {CHROMIUM}: {e}"),
        Err(_) => panic!("{CHROMIUM} did not finish within 60 s"),
    }
}
