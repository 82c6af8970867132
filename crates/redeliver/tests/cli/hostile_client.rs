//! What a broken proxy or a hostile server sends, played by a scripted raw HTTP server against
//! the real binary: `Link` loops, absurd rate-limit headers, redirects on a read and on a
//! redelivery, a body of 1.5 GB and a record that is not UTF-8. Each ends in bounded requests,
//! time and memory, with an exit status and a message that name the problem, and no panic.

use crate::harness::{APP_ID, App, Output};
use chrono::{Duration, Utc};
use redeliver_sim::raw::{RawReply, RawRequest, RawServer};

/// The list of the repository hook every case reads.
const LIST: &str = "/repos/octo/infra/hooks/1/deliveries";

/// A page of delivery records (each a JSON object as bytes), as one JSON array.
fn page(records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"[".to_vec();
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(r);
    }
    out.push(b']');
    out
}

/// One delivery record `minutes` ago with the given status text (raw bytes, for bad UTF-8).
fn record(id: u64, guid: &str, minutes: i64, code: u16, status: &[u8]) -> Vec<u8> {
    let at = (Utc::now() - Duration::minutes(minutes)).format("%Y-%m-%dT%H:%M:%SZ");
    let mut out = format!(
        r#"{{"id":{id},"guid":"{guid}","delivered_at":"{at}","redelivery":false,"duration":0.1,"status_code":{code},"event":"push","action":null,"installation_id":null,"repository_id":1,"status":""#
    )
    .into_bytes();
    out.extend_from_slice(status);
    out.extend_from_slice(b"\"}");
    out
}

/// A 200 page with extra header lines.
fn json(headers: &[String], body: Vec<u8>) -> RawReply {
    let mut all = vec!["Content-Type: application/json; charset=utf-8".to_string()];
    all.extend(headers.iter().cloned());
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    RawReply::new(200, &refs, body)
}

/// `redeliver run` for the repository hook on `server`, unpaced, with a token.
async fn run_against(app: &App, server: &RawServer, extra: &[&str]) -> Output {
    let mut args = vec!["run", "--repo", "octo/infra", "--hook-id", "1", "--pace", "0s", "--api-url"];
    let url = server.url();
    args.push(&url);
    args.extend_from_slice(extra);
    app.command(args).env("TOKEN", "ghp_hostile_test_token").await
}

/// No panic, the given status, the message, and neither the token nor a JWT anywhere.
#[track_caller]
fn assert_failed(out: &Output, code: i32, says: &str) {
    out.assert_code(code);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert!(out.stderr.contains(says), "stderr does not say {says:?}:\n{}", out.stderr);
    assert!(!format!("{}{}", out.stdout, out.stderr).contains("ghp_hostile_test_token"));
    out.assert_no_secrets();
}

fn lists(server: &RawServer) -> Vec<RawRequest> {
    server.requests().into_iter().filter(|r| r.method == "GET" && r.target.starts_with(LIST)).collect()
}

#[tokio::test]
async fn a_next_link_back_to_the_same_page_ends_the_pass_after_one_request() {
    let app = App::start().await;
    let server = RawServer::start(move |req, i| {
        let next = format!("Link: <http://{}{}>; rel=\"next\"", req.header("host").unwrap_or(""), req.target);
        // New deliveries on every page, as in the report that grew to 1.9 GB.
        json(&[next], page(&[record(i as u64 + 1, &format!("g-{i}"), 1, 200, b"OK")]))
    })
    .await
    .unwrap();
    let out = run_against(&app, &server, &[]).await;
    assert_failed(&out, 3, "loops");
    assert_eq!(server.requests().len(), 1, "the looping page is not requested again");
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
    assert!(!app.state_path().exists(), "nothing is written");
}

#[tokio::test]
async fn a_cycle_of_cursors_ends_when_it_comes_back() {
    let app = App::start().await;
    let server = RawServer::start(move |req, i| {
        let host = req.header("host").unwrap_or("").to_string();
        // The first page, then cursors a → b → a.
        let cursor = if req.target.contains("cursor=a") { "b" } else { "a" };
        let next = format!("Link: <http://{host}{LIST}?per_page=100&cursor={cursor}>; rel=\"next\"");
        json(&[next], page(&[record(i as u64 + 1, &format!("g-{i}"), 1, 200, b"OK")]))
    })
    .await
    .unwrap();
    let out = run_against(&app, &server, &[]).await;
    assert_failed(&out, 3, "loops");
    assert_eq!(lists(&server).len(), 3);
}

#[tokio::test]
async fn new_cursors_for_ever_stop_at_the_page_cap() {
    let app = App::start().await;
    let server = RawServer::start(move |req, i| {
        let host = req.header("host").unwrap_or("").to_string();
        let next = format!("Link: <http://{host}{LIST}?per_page=100&cursor=c{i}>; rel=\"next\"");
        json(&[next], page(&[record(i as u64 + 1, &format!("g-{i}"), 1, 200, b"OK")]))
    })
    .await
    .unwrap();
    let out = run_against(&app, &server, &["--max-pages", "40"]).await;
    assert_failed(&out, 3, "40 pages were read");
    assert_eq!(lists(&server).len(), 40);
}

#[tokio::test]
async fn a_listing_past_its_deadline_ends_even_while_a_page_hangs() {
    let app = App::start().await;
    let server = RawServer::start(move |req, i| {
        if i == 0 {
            let host = req.header("host").unwrap_or("").to_string();
            let next = format!("Link: <http://{host}{LIST}?per_page=100&cursor=x>; rel=\"next\"");
            json(&[next], page(&[record(1, "g-1", 1, 200, b"OK")]))
        } else {
            RawReply::Hang
        }
    })
    .await
    .unwrap();
    let out = run_against(&app, &server, &["--list-deadline", "1s"]).await;
    assert_failed(&out, 3, "deadline of 1 s");
    assert_eq!(lists(&server).len(), 2);
}

#[tokio::test]
async fn rate_limit_headers_beyond_the_end_of_time_fail_the_pass_without_a_panic() {
    let cases: [&[&str]; 2] = [
        &["Retry-After: 99999999999999"],
        &["X-RateLimit-Remaining: 0", "X-RateLimit-Limit: 5000", "X-RateLimit-Reset: 8210266876799"],
    ];
    for headers in cases {
        let app = App::start().await;
        let status = if headers.len() == 1 { 429 } else { 403 };
        let owned: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        let server = RawServer::start(move |_, _| {
            let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
            RawReply::new(status, &refs, r#"{"message":"API rate limit exceeded for user ID 1."}"#)
        })
        .await
        .unwrap();
        let out = run_against(&app, &server, &[]).await;
        assert_failed(&out, 3, "rate limit");
        assert_eq!(server.requests().len(), 1, "{headers:?}: too long to wait, so not re-sent");
    }
}

#[tokio::test]
async fn a_redirect_on_the_list_is_refused_and_not_followed() {
    let app = App::start().await;
    let server = RawServer::start(|req, _| {
        if req.target.starts_with(LIST) {
            RawReply::new(302, &["Location: /login?return_to=%2Fsecret"], "")
        } else {
            json(&[], page(&[record(1, "from-elsewhere", 10, 502, b"failed")]))
        }
    })
    .await
    .unwrap();
    let out = run_against(&app, &server, &[]).await;
    assert_failed(&out, 3, "302");
    assert!(out.stderr.contains("/api/v3"), "the hint names the REST API root:\n{}", out.stderr);
    assert!(!out.stderr.contains("return_to"), "the Location's query is not echoed:\n{}", out.stderr);
    let seen = server.requests();
    assert_eq!(seen.len(), 1, "nothing was sent to the Location: {seen:?}");
}

#[tokio::test]
async fn a_redirected_redelivery_is_not_recorded_as_accepted() {
    let app = App::start().await;
    let server = RawServer::start(|req, _| match req.method.as_str() {
        "POST" => RawReply::new(302, &["Location: /login"], ""),
        _ if req.target.starts_with("/login") => RawReply::new(200, &["Content-Type: text/html"], "<html>login</html>"),
        _ => json(&[], page(&[record(7, "failed-one", 10, 502, b"failed")])),
    })
    .await
    .unwrap();
    let out = run_against(&app, &server, &["--json"]).await;
    out.assert_code(1);
    let report = out.report();
    let event = report.event("failed-one");
    assert_eq!(event.outcome, crate::harness::report::Outcome::Refused, "{event:?}");
    assert!(event.detail.as_deref().unwrap_or("").contains("302"), "{event:?}");
    let seen = server.requests();
    assert_eq!(seen.iter().filter(|r| r.method == "POST").count(), 1);
    assert!(seen.iter().all(|r| !r.target.starts_with("/login")), "the redirect was followed: {seen:?}");
    let history = app.command(["history", "--json"]).await;
    history.assert_code(0);
    let records = history.history();
    assert_eq!(records.len(), 1);
    assert_ne!(records[0].answer, crate::harness::report::Answer::Accepted);
}

/// A hostile target and a good one in one `run --config`: the good one's report carries the
/// process's peak memory, which includes the hostile target's pass.
fn two_targets(app: &App, hostile: &str) -> std::path::PathBuf {
    let config = app.dir.path().join("hostile.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[defaults]
pace = "0s"

[[target]]
name = "hostile"
kind = "repo"
repo = "octo/infra"
hook_id = 1
api_url = "{hostile}"
token_env = "INFRA_TOKEN"

[[target]]
name = "good"
api_url = "{good}"
app_id = "{APP_ID}"
private_key_file = "{key}"
"#,
            good = app.sim.base_url(),
            key = app.key_path().display(),
        ),
    )
    .unwrap();
    config
}

#[tokio::test]
async fn a_body_of_one_and_a_half_gigabytes_fails_at_the_cap_in_bounded_memory() {
    const BODY: u64 = 1536 * 1024 * 1024;
    const CHUNK: usize = 64 * 1024;
    for content_length in [false, true] {
        let app = App::start().await;
        let server = RawServer::start(move |_, _| {
            let length = if content_length { format!("Content-Length: {BODY}\r\n") } else { String::new() };
            RawReply::Stream {
                head: format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}Connection: close\r\n\r\n["
                )
                .into_bytes(),
                chunk: vec![b' '; CHUNK],
                repeat: BODY / CHUNK as u64,
            }
        })
        .await
        .unwrap();
        let config = two_targets(&app, &server.url());
        let out = app
            .command(["run", "--config", config.to_str().unwrap(), "--json"])
            .env("INFRA_TOKEN", "ghp_hostile_test_token")
            .await;
        out.assert_code(3);
        let runs = out.runs();
        let error = &runs.errors.iter().find(|e| e.target == "hostile").expect("the hostile target failed").error;
        assert!(error.contains("is larger than 8 MiB"), "{error}");
        let peak_kb = runs.report("good").process.as_ref().expect("Linux reports memory").peak_rss_kb;
        assert!(peak_kb < 128 * 1024, "content-length {content_length}: peak RSS {peak_kb} KiB");
    }
}

#[tokio::test]
async fn a_record_that_is_not_utf8_is_skipped_and_its_page_read() {
    let app = App::start().await;
    let server = RawServer::start(|_, _| {
        json(
            &[],
            page(&[
                record(3, "fine", 10, 502, b"failed"),
                record(2, "broken", 10, 502, b"bad \xff\xfe bytes"),
                record(1, "also-fine", 10, 502, b"failed"),
            ]),
        )
    })
    .await
    .unwrap();
    let out = run_against(&app, &server, &["--dry-run", "--json"]).await;
    out.assert_code(0);
    let report = out.report();
    assert_eq!(report.counts.pages, 1);
    assert_eq!(report.counts.deliveries_read, 2);
    let mut guids = report.guids();
    guids.sort();
    assert_eq!(guids, ["also-fine", "fine"]);
    assert!(out.stderr.contains("skipping listed items"), "{}", out.stderr);
}

#[tokio::test]
async fn a_ca_certificate_file_that_is_not_one_is_a_configuration_error_naming_it() {
    let app = App::start().await;
    let bad = app.dir.path().join("not-a-ca.pem");
    std::fs::write(&bad, "token = \"ghp_hostile_test_token\"\n").unwrap();
    let missing = app.dir.path().join("missing-ca.pem");
    for file in [&bad, &missing] {
        let out = app.run().args(["--ca-cert", file.to_str().unwrap()]).await;
        assert_failed(&out, 2, file.file_name().unwrap().to_str().unwrap());
        assert_eq!(app.world().requests().len(), 0, "checked before any request");
    }
}
