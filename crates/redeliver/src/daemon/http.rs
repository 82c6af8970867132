//! The daemon's HTTP side: the routes `/healthz` ([`super::health`]), `/metrics`
//! ([`super::metrics`]), `/status.json` and the status page ([`super::page`]), all rendered from
//! a snapshot of [`SharedStatus`]. Nothing here writes to the status.
//!
//! Every answer carries headers that keep a browser from sniffing, framing or caching it, and
//! only a request whose `Host` names this daemon ([`AllowedHosts`]) is answered: a web page
//! whose DNS name was rebound to 127.0.0.1 cannot read `/status.json`. The connections
//! themselves are bounded by [`super::guard`]; the page and `/status.json` show the pending
//! events a page of [`PER_PAGE`] at a time (`?page=N`).

use super::guard::{GuardedListener, MAX_CONNECTIONS, Timeouts};
use super::health::check;
use super::metrics::{METRICS_CONTENT_TYPE, exposition};
use super::page;
use super::status::{SharedStatus, page_of};
use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// The page allows its own inline CSS and nothing else: no script, image, frame or form.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The `Host` values this daemon answers: its listen address, the loopback names with its
/// port, and the names the operator allowed (`--allow-host`, with or without the port).
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    hosts: Vec<String>,
}

impl AllowedHosts {
    pub fn new(listen: SocketAddr, names: &[String]) -> Self {
        let port = listen.port();
        let names: Vec<String> =
            names.iter().map(|n| n.trim().to_ascii_lowercase()).filter(|n| !n.is_empty()).collect();
        let mut hosts = vec![listen.to_string()];
        for name in ["localhost", "127.0.0.1", "[::1]"].iter().map(|n| n.to_string()).chain(names.iter().cloned()) {
            hosts.push(format!("{name}:{port}"));
            // A browser leaves out the scheme's default port.
            if port == 80 {
                hosts.push(name);
            }
        }
        // The operator's names also as given: bare, or with a proxy's port.
        hosts.extend(names);
        hosts.sort();
        hosts.dedup();
        Self { hosts }
    }

    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        self.hosts.contains(&host)
    }
}

/// Serves the routes of [`router`] on `listener` (at most [`MAX_CONNECTIONS`] at once, each
/// bounded in time) until `shutdown` completes, then lets the requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    status: SharedStatus,
    allowed: AllowedHosts,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = GuardedListener::new(listener, MAX_CONNECTIONS, Timeouts::DEFAULT);
    axum::serve(listener, router(status, allowed)).with_graceful_shutdown(shutdown).await
}

/// `GET /`, `/healthz`, `/metrics` and `/status.json`, read from `status`, for a `Host` in
/// `allowed`.
pub fn router(status: SharedStatus, allowed: AllowedHosts) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/status.json", get(status_json))
        .with_state(status)
        .layer(middleware::from_fn_with_state(Arc::new(allowed), guard_host))
        .layer(middleware::map_response(secure_headers))
}

/// 400 without a `Host`, 421 for one this daemon is not (DNS rebinding, or a proxy that must
/// pass the name on): nothing is rendered for either.
async fn guard_host(State(allowed): State<Arc<AllowedHosts>>, request: Request, next: Next) -> Response {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned);
    match host {
        None => respond(StatusCode::BAD_REQUEST, "text/plain; charset=utf-8", "a Host header is required\n".into()),
        Some(host) if !allowed.allows(&host) => respond(
            StatusCode::MISDIRECTED_REQUEST,
            "text/plain; charset=utf-8",
            "this host name is not served here; the operator can allow it with --allow-host\n".into(),
        ),
        Some(_) => next.run(request).await,
    }
}

/// On every answer, errors included.
async fn secure_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `?page=N` (from 1): which [`super::status::PER_PAGE`] pending events of each target to show.
#[derive(Debug, serde::Deserialize)]
struct PageQuery {
    page: Option<String>,
}

impl PageQuery {
    /// A page number that is not one shows the first page.
    fn number(&self) -> usize {
        self.page.as_deref().and_then(|p| p.parse().ok()).filter(|&n: &usize| n >= 1).unwrap_or(1)
    }
}

async fn index(State(status): State<SharedStatus>, Query(query): Query<PageQuery>) -> Response {
    let number = query.number();
    let body = page::render(&page_of(status.snapshot(), number), Utc::now());
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

async fn status_json(State(status): State<SharedStatus>, Query(query): Query<PageQuery>) -> Response {
    let number = query.number();
    match serde_json::to_string_pretty(&page_of(status.snapshot(), number)) {
        Ok(body) => respond(StatusCode::OK, "application/json", body),
        Err(e) => respond(StatusCode::INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8", format!("{e}\n")),
    }
}

/// Every answer is a snapshot of a moving status, so no cache may keep it ([`secure_headers`]).
fn respond(code: StatusCode, content_type: &'static str, body: String) -> Response {
    (code, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::metrics::tests::scrape;
    use crate::daemon::page::tests::sample;
    use crate::daemon::status::PendingEvent;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    struct Answer {
        code: u16,
        headers: String,
        body: String,
    }

    /// A one-request HTTP/1.1 client: enough to see what a scraper or a browser gets.
    async fn get(addr: std::net::SocketAddr, path: &str) -> Answer {
        get_as(addr, path, Some(&addr.to_string())).await
    }

    /// The same with this `Host` header (or none).
    async fn get_as(addr: std::net::SocketAddr, path: &str, host: Option<&str>) -> Answer {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let host = host.map(|h| format!("Host: {h}\r\n")).unwrap_or_default();
        let request = format!("GET {path} HTTP/1.1\r\n{host}Connection: close\r\n\r\n");
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
        let server = tokio::spawn(serve(listener, status.clone(), AllowedHosts::new(addr, &[]), async {
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

    /// A server on a free loopback port for `status`, allowing `names` too.
    async fn start(
        status: SharedStatus,
        names: &[String],
    ) -> (std::net::SocketAddr, tokio_util::sync::CancellationToken) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = tokio_util::sync::CancellationToken::new();
        tokio::spawn(serve(listener, status, AllowedHosts::new(addr, names), stop.clone().cancelled_owned()));
        (addr, stop)
    }

    #[tokio::test]
    async fn every_answer_forbids_sniffing_framing_and_caching() {
        let (addr, stop) = start(SharedStatus::new(sample(Utc::now())), &[]).await;
        for path in ["/", "/healthz", "/metrics", "/status.json", "/nope"] {
            let a = get(addr, path).await;
            assert!(a.headers.contains("x-content-type-options: nosniff"), "{path}: {}", a.headers);
            assert!(a.headers.contains("cache-control: no-store"), "{path}: {}", a.headers);
            let csp = format!("content-security-policy: {}", CONTENT_SECURITY_POLICY.to_ascii_lowercase());
            assert!(a.headers.contains(&csp), "{path}: {}", a.headers);
            assert!(a.headers.contains("frame-ancestors 'none'"));
        }
        stop.cancel();
    }

    #[tokio::test]
    async fn only_this_daemons_names_are_answered() {
        let status = SharedStatus::new(sample(Utc::now()));
        let (addr, stop) = start(status, &["Status.Example.ORG".into()]).await;
        let port = addr.port();
        for host in
            [format!("localhost:{port}"), format!("127.0.0.1:{port}"), format!("[::1]:{port}"), addr.to_string()]
        {
            assert_eq!(get_as(addr, "/status.json", Some(&host)).await.code, 200, "{host}");
        }
        for host in ["status.example.org".to_string(), format!("status.example.org:{port}")] {
            assert_eq!(get_as(addr, "/status.json", Some(&host)).await.code, 200, "{host}");
        }
        // A rebound name, another port, and none at all: nothing rendered.
        for host in [format!("attacker.example:{port}"), "attacker.example".into(), format!("localhost:{}", port ^ 1)] {
            let a = get_as(addr, "/status.json", Some(&host)).await;
            assert_eq!(a.code, 421, "{host}");
            assert!(!a.body.contains("acme-prod"), "{}", a.body);
        }
        assert_eq!(get_as(addr, "/", None).await.code, 400);
        stop.cancel();
    }

    #[tokio::test]
    async fn the_page_and_the_json_show_pending_events_a_page_at_a_time() {
        let now = Utc::now();
        let mut s = sample(now);
        let one = s.targets[0].pending[0].clone();
        s.targets[0].pending = (0..250).map(|i| PendingEvent { guid: format!("guid-{i:04}"), ..one.clone() }).collect();
        let (addr, stop) = start(SharedStatus::new(s), &[]).await;

        let json: serde_json::Value = serde_json::from_str(&get(addr, "/status.json").await.body).unwrap();
        let acme = &json["targets"][0];
        assert_eq!((acme["pending_total"].as_u64(), acme["pending"].as_array().unwrap().len()), (Some(250), 100));
        assert_eq!((json["page"].as_u64(), json["per_page"].as_u64()), (Some(1), Some(100)));
        let last: serde_json::Value = serde_json::from_str(&get(addr, "/status.json?page=3").await.body).unwrap();
        let pending = last["targets"][0]["pending"].as_array().unwrap();
        assert_eq!((pending.len(), pending[0]["guid"].as_str()), (50, Some("guid-0200")));
        let past: serde_json::Value = serde_json::from_str(&get(addr, "/status.json?page=99").await.body).unwrap();
        assert_eq!(past["targets"][0]["pending"].as_array().unwrap().len(), 0);
        assert_eq!(past["targets"][0]["pending_total"], 250);

        let page = get(addr, "/?page=2").await.body;
        assert!(page.contains("Showing 101–200 of 250."), "{page}");
        assert!(page.contains("href=\"?page=1\"") && page.contains("href=\"?page=3\""));
        assert!(page.contains("guid-0100") && !page.contains("guid-0099") && !page.contains("guid-0200"));
        let junk = get(addr, "/?page=-4").await;
        assert_eq!(junk.code, 200);
        assert!(junk.body.contains("Showing 1–100 of 250."));
        stop.cancel();
    }
}
