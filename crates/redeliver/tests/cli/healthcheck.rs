//! `redeliver healthcheck`, the container image's HEALTHCHECK: 0 for a `watch` whose /healthz
//! answers 2xx, 1 for anything else (Docker's two meanings), a refused connection included.

use crate::harness::App;
use redeliver_sim::raw::{RawReply, RawServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_watch_is_healthy() {
    let app = App::start().await;
    let mut daemon = app.watch().args(["--pace", "0s", "--listen", "127.0.0.1:0"]).spawn();
    let url = daemon.status_url().await;
    let probe = app.command(["healthcheck", &format!("{url}/healthz")]).await;
    probe.assert_code(0);
    assert!(probe.stdout.starts_with("healthy: "), "{}", probe.stdout);
    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(20).await, 0);
}

#[tokio::test]
async fn a_503_or_no_listener_is_unhealthy_with_status_1() {
    let app = App::start().await;
    let behind =
        RawServer::start(|_, _| RawReply::new(503, &[], "target app: no successful poll for 3m")).await.unwrap();
    let probe = app.command(["healthcheck", &format!("{}/healthz", behind.url())]).await;
    probe.assert_code(1);
    assert!(probe.stderr.contains("503") && probe.stderr.contains("no successful poll"), "{}", probe.stderr);

    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let probe = app.command(["healthcheck", "--timeout", "2s", &format!("http://127.0.0.1:{port}/healthz")]).await;
    probe.assert_code(1);
    assert!(probe.stderr.contains("cannot reach"), "{}", probe.stderr);
}

#[tokio::test]
async fn only_an_http_url_is_probed() {
    let app = App::start().await;
    let probe = app.command(["healthcheck", "file:///etc/passwd"]).await;
    probe.assert_code(2);
}
