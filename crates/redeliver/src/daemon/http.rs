//! The daemon's HTTP side: the routes `/healthz` ([`super::health`]), `/metrics`
//! ([`super::metrics`]), `/status.json` and the status page ([`super::page`]), all rendered from
//! a snapshot of [`SharedStatus`]. Nothing here writes to the status.

use super::health::check;
use super::metrics::{METRICS_CONTENT_TYPE, exposition};
use super::page;
use super::status::SharedStatus;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use std::future::Future;
use tokio::net::TcpListener;

/// Serves the routes of [`router`] on `listener` until `shutdown` completes, then lets the
/// requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    status: SharedStatus,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(status)).with_graceful_shutdown(shutdown).await
}

/// `GET /`, `/healthz`, `/metrics` and `/status.json`, read from `status`.
pub fn router(status: SharedStatus) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/status.json", get(status_json))
        .with_state(status)
}

async fn index(State(status): State<SharedStatus>) -> Response {
    let body = page::render(&status.snapshot(), Utc::now());
    respond(StatusCode::OK, "text/html; charset=utf-8", body)
}

async fn healthz(State(status): State<SharedStatus>) -> Response {
    match check(&status.snapshot(), Utc::now()) {
        Ok(()) => respond(StatusCode::OK, "text/plain; charset=utf-8", "ok\n".to_owned()),
        Err(stale) => respond(StatusCode::SERVICE_UNAVAILABLE, "text/plain; charset=utf-8", stale),
    }
}

async fn metrics(State(status): State<SharedStatus>) -> Response {
    respond(StatusCode::OK, METRICS_CONTENT_TYPE, exposition(&status.snapshot(), Utc::now()))
}

async fn status_json(State(status): State<SharedStatus>) -> Response {
    match serde_json::to_string_pretty(&status.snapshot()) {
        Ok(body) => respond(StatusCode::OK, "application/json", body),
        Err(e) => respond(StatusCode::INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8", format!("{e}\n")),
    }
}

/// Every answer is a snapshot of a moving status, so no cache may keep it.
fn respond(code: StatusCode, content_type: &'static str, body: String) -> Response {
    (code, [(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-store")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::metrics::tests::scrape;
    use crate::daemon::page::tests::sample;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    struct Answer {
        code: u16,
        headers: String,
        body: String,
    }

    /// A one-request HTTP/1.1 client: enough to see what a scraper or a browser gets.
    async fn get(addr: std::net::SocketAddr, path: &str) -> Answer {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).await.unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let code = head[9..12].parse().unwrap();
        Answer { code, headers: head.to_ascii_lowercase(), body: body.to_owned() }
    }

    #[tokio::test]
    async fn routes_answer_and_the_server_stops_on_shutdown() {
        let now = Utc::now();
        let status = SharedStatus::new(sample(now));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, status.clone(), async {
            let _ = stopped.await;
        }));

        let health = get(addr, "/healthz").await;
        assert_eq!(health.code, 503);
        assert!(health.body.starts_with("stale: target \"ghes-lab\""), "{}", health.body);
        status.update(|s| s.targets.retain(|t| t.name != "ghes-lab"));
        let health = get(addr, "/healthz").await;
        assert_eq!((health.code, health.body.as_str()), (200, "ok\n"));

        let metrics = get(addr, "/metrics").await;
        assert_eq!(metrics.code, 200);
        assert!(metrics.headers.contains("content-type: text/plain; version=0.0.4"), "{}", metrics.headers);
        assert_eq!(scrape(&metrics.body).get("redeliver_up", &[("target", "acme-prod")]), Some(1.0));

        let json = get(addr, "/status.json").await;
        assert!(json.headers.contains("content-type: application/json"));
        let json: serde_json::Value = serde_json::from_str(&json.body).unwrap();
        assert_eq!(json["interval_seconds"], 60);
        assert_eq!(json["targets"][0]["pending"][0]["guid"], "0b9c2e40-8f11-11f0-9a3e-3c2f1d7a5e01");

        let page = get(addr, "/").await;
        assert_eq!(page.code, 200);
        assert!(page.headers.contains("content-type: text/html; charset=utf-8"));
        assert!(page.headers.contains("cache-control: no-store"));
        assert!(page.body.contains("2 targets: 1 failing, 1 healthy"));

        assert_eq!(get(addr, "/nope").await.code, 404);
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    }
}
