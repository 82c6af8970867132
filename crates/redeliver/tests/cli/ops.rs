//! Operating `redeliver` against what servers and operators throw at it: network strings that
//! try to become Actions commands or terminal escapes, a notify command that would leak or hang,
//! a shutdown during a long wait or a request that never ends, and a flood of idle connections
//! on the status port.

use crate::harness::{App, wait_until};
use chrono::{Duration, Utc};
use redeliver_sim::raw::{RawReply, RawServer};
use redeliver_sim::{Fault, FaultRule, NewAttempt};
use std::time::Duration as StdDuration;

fn secs(secs: u64) -> StdDuration {
    StdDuration::from_secs(secs)
}

const HOSTILE: &str = "x\n::error ::pwned\u{1b}[31m";

/// An event at its attempt cap whose every attempt carries `status` (and a hostile event name).
fn poison(app: &App, status: &str) -> String {
    let at = Utc::now() - Duration::hours(2);
    let guid = app.record(NewAttempt::new("push", 502, at).status(status)).guid;
    for i in 1..3 {
        app.record(NewAttempt::new("push", 502, at + Duration::minutes(i)).guid(&guid).status(status).redelivery(true));
    }
    guid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_status_cannot_start_an_annotation_or_colour_the_terminal() {
    let app = App::start().await;
    let guid = poison(&app, HOSTILE);
    let summary = app.dir.path().join("summary.md");
    let out = app
        .run()
        .args(["--max-attempts", "3", "-v"])
        .envs(&[("GITHUB_ACTIONS", "true"), ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())])
        .await;
    out.assert_code(1);
    let md = std::fs::read_to_string(&summary).unwrap();
    for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr), ("summary", &md)] {
        assert!(!text.contains('\u{1b}'), "an ESC byte in {name}:\n{text}");
        assert!(!text.lines().any(|l| l.trim_start().starts_with("::error")), "an injected command in {name}:\n{text}");
    }
    // The one annotation is ours, and the status is still shown, escaped, in the summary.
    let commands: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(commands.len(), 1, "{}", out.stdout);
    assert!(commands[0].starts_with("::warning title=Webhook event given up::") && commands[0].contains(&guid));
    assert!(out.stdout.contains("x\\n::error ::pwned\\u{1b}[31m"), "{}", out.stdout);
    // Every row of the job summary's tables has its cells, no more.
    for row in md.lines().filter(|l| l.starts_with('|')) {
        let pipes = row.char_indices().filter(|&(i, c)| c == '|' && !row[..i].ends_with('\\')).count();
        assert!(pipes == 6 || pipes == 8, "{row}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notify_command_gets_a_clean_environment_and_run_json_stays_json() {
    let app = App::start().await;
    let guid = poison(&app, "Bad Gateway");
    let (env_file, stdin_file) = (app.dir.path().join("env.txt"), app.dir.path().join("stdin.json"));
    let config = app.dir.path().join("redeliver.toml");
    std::fs::write(
        &config,
        format!(
            "notify_command = \"env > '{env}'; echo this-goes-to-stderr; cat > '{stdin}'\"\n\
             [defaults]\nmax_attempts = 3\n\
             [[target]]\nname = \"app\"\napi_url = \"{api}\"\napp_id = \"{id}\"\nprivate_key_env = \"PRIVATE_KEY\"\n",
            env = env_file.display(),
            stdin = stdin_file.display(),
            api = app.sim.base_url(),
            id = crate::harness::APP_ID,
        ),
    )
    .unwrap();
    let key = redeliver_sim::keys::TEST_APP_KEY_PKCS1;
    let out = app
        .command(["run", "--json", "--config", config.to_str().unwrap()])
        .envs(&[("PRIVATE_KEY", key), ("TOKEN", "ghp_not_for_the_command"), ("SOME_SECRET", "s3cr3t")])
        .await;
    out.assert_code(1);
    let runs = out.runs();
    assert!(runs.report("app").event(&guid).reason.is_some());
    assert!(out.stderr.contains("this-goes-to-stderr"), "{}", out.stderr);
    let env = std::fs::read_to_string(&env_file).unwrap();
    for line in env.lines() {
        let name = line.split_once('=').map_or(line, |(n, _)| n);
        assert!(
            name.starts_with("REDELIVER_") || ["PATH", "PWD", "SHLVL", "_"].contains(&name),
            "the command saw {name}:\n{env}"
        );
    }
    assert!(!env.contains("ghp_not_for_the_command") && !env.contains("s3cr3t") && !env.contains("MIIE"), "{env}");
    assert!(env.contains(&format!("REDELIVER_GUID={guid}")), "{env}");
    let payload: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&stdin_file).unwrap()).unwrap();
    assert_eq!(payload["guid"], guid.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_long_retry_after_ends_the_wait_and_exits_zero() {
    let app = App::start().await;
    app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(5)));
    // Two minutes of Retry-After on every listing: longer than this test may take.
    app.world().inject(FaultRule::new("/app/hook/deliveries", Fault::TooManyRequests { retry_after: Some(120) }));
    let mut daemon = app.watch().args(["--interval", "1h", "--listen", "off", "-v"]).spawn();
    daemon.wait_for("rate limited by GitHub; waiting", 30).await;
    daemon.signal("TERM");
    // Bounded: well under the Retry-After, so only a cancelled wait can meet it.
    assert_eq!(daemon.exit_code(30).await, 0, "{}", daemon.seen.join("\n"));
    assert_eq!(app.count_requests("GET", "/app/hook/deliveries"), 1, "nothing sent after the signal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_the_server_never_answers_exits_without_waiting_out_the_request() {
    let app = App::start().await;
    let hang = RawServer::start(|_, _| RawReply::Hang).await.unwrap();
    let mut daemon = app
        .command(["watch", "--interval", "1h", "--listen", "off", "--api-url", &hang.url(), "--app-id", "31337"])
        .args(["--private-key-file", app.key_path().to_str().unwrap()])
        .spawn();
    daemon.wait_for("watching 1 target", 30).await;
    wait_until(secs(30), "the request reached the server", || !hang.requests().is_empty()).await;
    daemon.signal("TERM");
    // The client's timeout is 30 s; a read in flight is abandoned on shutdown, so this is met
    // with room to spare, and a daemon that waited the timeout out would still pass at 35 s.
    assert_eq!(daemon.exit_code(35).await, 0, "{}", daemon.seen.join("\n"));
    assert_eq!(hang.requests().len(), 1);
}

/// Raises this test process's own open-file limit so that it can hold the connections.
fn raise_own_file_limit() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    if soft < hard {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
    getrlimit(Resource::RLIMIT_NOFILE).unwrap().0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twelve_hundred_idle_status_connections_do_not_starve_the_polls() {
    let app = App::start().await;
    let first = app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(5))).guid;
    // The daemon runs with a 256-descriptor limit: idle connections it accepted would take them all.
    let flags = ["--interval", "300ms", "--ladder", "0s", "--pace", "0s", "--listen", "127.0.0.1:0"];
    let mut daemon = app.watch().args(flags).file_limit(256).spawn();
    let url = daemon.status_url().await;
    let addr: std::net::SocketAddr = url.trim_start_matches("http://").parse().unwrap();
    wait_until(secs(30), "the first event redelivered", || app.receiver.successes_for(&first) > 0).await;

    let wanted = 1_200u64.min(raise_own_file_limit().saturating_sub(200));
    let mut connecting = tokio::task::JoinSet::new();
    for _ in 0..wanted {
        // Past the backlog a connection is not even completed: each attempt is bounded.
        connecting.spawn(tokio::time::timeout(secs(3), tokio::net::TcpStream::connect(addr)));
    }
    let mut idle = Vec::new();
    while let Some(done) = connecting.join_next().await {
        if let Ok(Ok(Ok(stream))) = done {
            idle.push(stream);
        }
    }
    // The daemon takes 64; the kernel's backlog (`somaxconn`) holds some more, and the rest are
    // never completed: far past what the daemon would have to hold without its cap.
    assert!(idle.len() > 64, "only {} of {wanted} connections were opened", idle.len());

    // The next poll still opens its state, reads GitHub and redelivers.
    let second = app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(1))).guid;
    wait_until(secs(30), "a redelivery while the status port is flooded", || app.receiver.successes_for(&second) > 0)
        .await;
    drop(idle);
    // Once they are gone, the page answers again.
    let page = tokio::time::timeout(secs(30), reqwest::get(format!("{url}/healthz"))).await.unwrap().unwrap();
    assert_eq!(page.status(), 200);
    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(20).await, 0);
    let _ = daemon.wait_for("stopped", 10).await;
    assert!(!daemon.seen.iter().any(|l| l.contains("poll failed")), "{}", daemon.seen.join("\n"));
}

/// One GET with this `Host` header; the status code.
async fn status_with_host(addr: std::net::SocketAddr, host: &str) -> u16 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET /status.json HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(secs(20), stream.read_to_string(&mut answer)).await.unwrap().unwrap();
    answer.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_port_answers_its_own_names_and_those_allowed_only() {
    let app = App::start().await;
    let flags = ["--interval", "1h", "--listen", "127.0.0.1:0", "--allow-host", "status.example.com"];
    let mut daemon = app.watch().args(flags).spawn();
    let url = daemon.status_url().await;
    let addr: std::net::SocketAddr = url.trim_start_matches("http://").parse().unwrap();
    let port = addr.port();
    assert_eq!(status_with_host(addr, &format!("localhost:{port}")).await, 200);
    assert_eq!(status_with_host(addr, "status.example.com").await, 200);
    assert_eq!(status_with_host(addr, &format!("rebound.example:{port}")).await, 421);
    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(20).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_url_with_credentials_is_refused_at_start_without_echoing_them() {
    let app = App::start().await;
    let with_user = app.sim.base_url().replace("http://", "http://x-access-token:ghp_SECRET@");
    let out = app.command(["watch", "--listen", "off", "--api-url", &with_user, "--app-id", "31337"]).await;
    out.assert_code(2);
    assert!(out.stderr.contains("user name or password") && !out.stderr.contains("SECRET"), "{}", out.stderr);
    let out = app.command(["run", "--api-url", &with_user, "--app-id", "SECRET-ish"]).await;
    out.assert_code(2);
    assert!(!out.stderr.contains("SECRET"), "{}", out.stderr);
}
