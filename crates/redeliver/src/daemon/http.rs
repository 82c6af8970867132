//! The daemon's HTTP side: `/healthz`, `/metrics` (Prometheus), `/status.json` and the status
//! page, all rendered from a snapshot of [`SharedStatus`]. Nothing here writes to the status, and
//! the decisions (health, the exposition text) are pure functions of the snapshot and `now`.

use super::page;
use super::status::{SharedStatus, Status, TargetStatus};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use std::fmt::{self, Write as _};
use std::future::Future;
use tokio::net::TcpListener;

/// Prometheus text exposition format 0.0.4.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

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

/// How one target is doing: the `/healthz` rule plus the outcome of its last poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// No poll has succeeded yet, none failed, and the daemon has not had [`allowance`] yet.
    Starting,
    /// A poll succeeded within the allowance, and the last poll succeeded.
    Healthy,
    /// The last poll failed, but the target is still within the allowance.
    Failing,
    /// No successful poll within the allowance: `/healthz` answers 503.
    Stale,
}

impl Health {
    /// What `/healthz` and `redeliver_up` say: only a stale target is down.
    pub fn is_up(self) -> bool {
        self != Health::Stale
    }

    pub fn label(self) -> &'static str {
        match self {
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Failing => "failing",
            Health::Stale => "stale",
        }
    }
}

/// How long a target may go without a successful poll: three intervals, so that one slow or
/// failed poll (a GitHub hiccup, a rate-limit wait) does not wake anyone up.
pub fn allowance(status: &Status) -> Duration {
    // A zero interval would make every target stale between two polls; treat it as one second.
    let secs = status.interval_seconds.max(1).saturating_mul(3);
    i64::try_from(secs).ok().and_then(Duration::try_seconds).unwrap_or(Duration::MAX)
}

/// The health of `target` at `now`.
pub fn assess(status: &Status, target: &TargetStatus, now: DateTime<Utc>) -> Health {
    let allowance = allowance(status);
    let fresh = target.last_success_at.is_some_and(|t| now.signed_duration_since(t) <= allowance);
    // Until the daemon has run for one allowance, no target has had the chance to be late. An
    // unset start means the polling loop has not begun at all.
    let starting = status.started_at.is_none_or(|s| now.signed_duration_since(s) < allowance);
    match (fresh, starting, target.last_error.is_some()) {
        (false, false, _) => Health::Stale,
        (_, _, true) => Health::Failing,
        (true, _, false) => Health::Healthy,
        (false, true, false) => Health::Starting,
    }
}

/// The `/healthz` decision: `Ok` when no target is stale, else one line per stale target saying
/// when it last succeeded and its last error.
pub fn check(status: &Status, now: DateTime<Utc>) -> Result<(), String> {
    let mut report = String::new();
    for target in status.targets.iter().filter(|t| !assess(status, t, now).is_up()) {
        let _ = writeln!(report, "{}", StaleLine { target, now, allowance: allowance(status) });
    }
    if report.is_empty() { Ok(()) } else { Err(report) }
}

struct StaleLine<'a> {
    target: &'a TargetStatus,
    now: DateTime<Utc>,
    allowance: Duration,
}

impl fmt::Display for StaleLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.target;
        write!(f, "stale: target {:?}: no successful poll within {}s; ", t.name, self.allowance.num_seconds())?;
        match t.last_success_at {
            Some(at) => {
                let ago = self.now.signed_duration_since(at).num_seconds();
                write!(f, "last success {} ({ago}s ago)", at.to_rfc3339_opts(SecondsFormat::Secs, true))?;
            }
            None => f.write_str("never succeeded")?,
        }
        // The error text comes from the network; keep it on this target's line.
        let error = t.last_error.as_deref().map_or_else(|| "none".to_owned(), one_line);
        write!(f, "; last error: {error}")
    }
}

fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// The Prometheus exposition of `status`: one series per target (`target="name"`).
pub fn exposition(status: &Status, now: DateTime<Utc>) -> String {
    let mut x = Exposition::default();
    let targets = &status.targets;
    let counter = |x: &mut Exposition, name: &str, help: &str, value: fn(&TargetStatus) -> u64| {
        x.family(name, "counter", help);
        for t in targets {
            x.sample(name, &[("target", &t.name)], value(t));
        }
    };
    counter(&mut x, "redeliver_polls_total", "Polls of the delivery log since the daemon started.", |t| t.polls);
    counter(&mut x, "redeliver_deliveries_read_total", "Delivery attempts read from GitHub.", |t| t.deliveries_read);
    counter(&mut x, "redeliver_failed_events_seen_total", "Failed events (GUIDs) seen.", |t| t.failed_events_seen);

    x.family("redeliver_redeliveries_total", "counter", "Redeliveries requested, by GitHub's answer.");
    for t in targets {
        // The three known answers always have a series, so that rate() works from the first one.
        let known = ANSWERS.iter().filter(|a| !t.redeliveries.contains_key(**a)).map(|a| (*a, 0));
        let seen = t.redeliveries.iter().map(|(a, n)| (a.as_str(), *n));
        let mut all: Vec<_> = known.chain(seen).collect();
        all.sort();
        for (answer, n) in all {
            x.sample("redeliver_redeliveries_total", &[("target", &t.name), ("answer", answer)], n);
        }
    }

    counter(&mut x, "redeliver_given_up_total", "Events given up (attempt cap or horizon).", |t| t.given_up_total);

    x.family("redeliver_pending_events", "gauge", "Events still owed a redelivery, as of the last poll.");
    for t in targets {
        x.sample("redeliver_pending_events", &[("target", &t.name)], t.pending.len());
    }

    x.family("redeliver_api_requests_total", "counter", "GitHub API requests, by endpoint and HTTP status.");
    for t in targets {
        for (key, n) in &t.api_requests {
            // Keys are "endpoint status"; a key without a status keeps an empty one.
            let (endpoint, code) = key.rsplit_once(' ').unwrap_or((key, ""));
            let labels = [("target", t.name.as_str()), ("endpoint", endpoint), ("status", code)];
            x.sample("redeliver_api_requests_total", &labels, n);
        }
    }

    x.family("redeliver_rate_limit_remaining", "gauge", "GitHub API requests left in the window.");
    for t in targets {
        if let Some(left) = t.rate_limit_remaining {
            x.sample("redeliver_rate_limit_remaining", &[("target", &t.name)], left);
        }
    }

    x.family("redeliver_last_success_timestamp_seconds", "gauge", "When the last successful poll finished.");
    for t in targets {
        // A target that never succeeded has no series; `redeliver_up` covers it.
        if let Some(at) = t.last_success_at {
            let secs = at.timestamp_millis() as f64 / 1000.0;
            x.sample("redeliver_last_success_timestamp_seconds", &[("target", &t.name)], secs);
        }
    }

    x.family("redeliver_up", "gauge", "1 if the target polled successfully recently (the /healthz rule).");
    for t in targets {
        x.sample("redeliver_up", &[("target", &t.name)], u8::from(assess(status, t, now).is_up()));
    }
    x.out
}

/// GitHub's answers to a redelivery request, as the polling loop names them.
const ANSWERS: [&str; 3] = ["accepted", "ambiguous", "refused"];

#[derive(Default)]
struct Exposition {
    out: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl fmt::Display) {
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", label_value(v))).collect();
        let _ = writeln!(self.out, "{name}{{{}}} {value}", labels.join(","));
    }
}

/// Label values escape backslash, double quote and line feed, per the 0.0.4 text format.
fn label_value(v: &str) -> String {
    v.replace('\\', r"\\").replace('"', "\\\"").replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::page::tests::sample;
    use std::collections::BTreeMap;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_760_000_000 + secs, 0).unwrap()
    }

    /// Started at 0, polling every 60 s: the allowance is 180 s.
    fn one(last_success: Option<i64>, error: Option<&str>) -> Status {
        let target = TargetStatus {
            name: "app".into(),
            last_success_at: last_success.map(at),
            last_error: error.map(Into::into),
            ..TargetStatus::default()
        };
        Status { started_at: Some(at(0)), interval_seconds: 60, targets: vec![target], ..Status::default() }
    }

    fn health(status: &Status, now: i64) -> Health {
        assess(status, &status.targets[0], at(now))
    }

    #[test]
    fn a_target_is_stale_after_three_intervals_without_a_successful_poll() {
        let s = one(Some(1_000), None);
        assert_eq!(health(&s, 1_100), Health::Healthy);
        assert_eq!(health(&s, 1_180), Health::Healthy, "exactly three intervals is still on time");
        assert_eq!(health(&s, 1_181), Health::Stale);
        assert_eq!(health(&one(Some(1_000), Some("502")), 1_100), Health::Failing);
        assert_eq!(health(&one(Some(1_000), Some("502")), 1_200), Health::Stale);
    }

    #[test]
    fn a_new_daemon_gets_three_intervals_for_its_first_poll() {
        assert_eq!(health(&one(None, None), 179), Health::Starting);
        assert_eq!(health(&one(None, Some("401 Bad credentials")), 179), Health::Failing);
        assert_eq!(health(&one(None, None), 180), Health::Stale);
        let not_started = Status { started_at: None, ..one(None, None) };
        assert_eq!(health(&not_started, 10_000), Health::Starting);
        let zero = Status { interval_seconds: 0, ..one(Some(0), None) };
        assert_eq!(allowance(&zero), Duration::seconds(3));
        let huge = Status { interval_seconds: u64::MAX, ..one(Some(0), None) };
        assert_eq!(health(&huge, 1_000_000), Health::Healthy);
    }

    #[test]
    fn healthz_names_each_stale_target_on_its_own_line() {
        let now = Utc::now();
        let report = check(&sample(now), now).unwrap_err();
        let lines: Vec<&str> = report.lines().collect();
        assert_eq!(lines.len(), 1, "{report}");
        assert!(lines[0].starts_with("stale: target \"ghes-lab\": no successful poll within 180s; last success "));
        assert!(lines[0].contains("(1500s ago); last error: 502 Bad Gateway: <html>"), "{report}");

        let mut s = one(None, Some("line one\nline two"));
        s.targets.push(TargetStatus { name: "fine".into(), last_success_at: Some(at(995)), ..TargetStatus::default() });
        assert_eq!(
            check(&s, at(1_000)).unwrap_err(),
            "stale: target \"app\": no successful poll within 180s; never succeeded; last error: line one line two\n"
        );
        s.targets.remove(0);
        assert_eq!(check(&s, at(1_000)), Ok(()));
        assert_eq!(check(&Status::default(), at(0)), Ok(()));
    }

    /// What a scraper reads: families (HELP, TYPE) and their samples.
    #[derive(Default, Debug)]
    struct Scrape {
        help: BTreeMap<String, String>,
        kind: BTreeMap<String, String>,
        samples: BTreeMap<(String, Vec<(String, String)>), f64>,
    }

    impl Scrape {
        fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
            let labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            self.samples.get(&(name.to_owned(), labels)).copied()
        }
    }

    /// A strict reader of the 0.0.4 text format, enough to prove ours is machine-readable: every
    /// sample follows its family's TYPE line, label values unescape, values are numbers.
    fn scrape(text: &str) -> Scrape {
        let mut scrape = Scrape::default();
        let mut family = String::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').unwrap();
                assert!(scrape.help.insert(name.into(), help.into()).is_none(), "two HELP lines for {name}");
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(["counter", "gauge"].contains(&kind), "{line}");
                assert!(scrape.help.contains_key(name), "TYPE before HELP: {line}");
                assert!(scrape.kind.insert(name.into(), kind.into()).is_none(), "two TYPE lines for {name}");
                family = name.into();
            } else {
                let (name, labels, value) = sample_line(line);
                assert_eq!(name, family, "sample outside its family: {line}");
                assert!(scrape.samples.insert((name, labels), value).is_none(), "duplicate series: {line}");
            }
        }
        scrape
    }

    fn sample_line(line: &str) -> (String, Vec<(String, String)>, f64) {
        let name_end = line.find(['{', ' ']).unwrap();
        let name = &line[..name_end];
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{line}");
        let mut chars = line[name_end..].chars().peekable();
        let mut labels = Vec::new();
        if chars.peek() == Some(&'{') {
            chars.next();
            while chars.peek() != Some(&'}') {
                let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
                assert_eq!(chars.next(), Some('"'), "{line}");
                let mut value = String::new();
                loop {
                    match chars.next().unwrap() {
                        '"' => break,
                        '\\' => value.push(match chars.next().unwrap() {
                            'n' => '\n',
                            c @ ('\\' | '"') => c,
                            c => panic!("bad escape \\{c} in {line}"),
                        }),
                        '\n' => panic!("raw line feed in {line}"),
                        c => value.push(c),
                    }
                }
                labels.push((key, value));
                if chars.peek() == Some(&',') {
                    chars.next();
                }
            }
            chars.next();
        }
        assert_eq!(chars.next(), Some(' '), "{line}");
        let value: String = chars.collect();
        (name.to_owned(), labels, value.parse().unwrap_or_else(|e| panic!("{line}: {e}")))
    }

    #[test]
    fn metrics_parse_back_to_the_status() {
        let now = Utc::now();
        let status = sample(now);
        let m = scrape(&exposition(&status, now));
        let acme = [("target", "acme-prod")];
        assert_eq!(m.get("redeliver_deliveries_read_total", &acme), Some(12_345.0));
        assert_eq!(m.get("redeliver_failed_events_seen_total", &acme), Some(42.0));
        assert_eq!(m.get("redeliver_polls_total", &acme), Some(187.0));
        assert_eq!(m.get("redeliver_given_up_total", &acme), Some(1.0));
        assert_eq!(m.get("redeliver_pending_events", &acme), Some(2.0));
        assert_eq!(m.get("redeliver_rate_limit_remaining", &acme), Some(4_321.0));
        assert_eq!(m.get("redeliver_up", &acme), Some(1.0));
        let answer = |t, a| m.get("redeliver_redeliveries_total", &[("target", t), ("answer", a)]);
        assert_eq!(answer("acme-prod", "accepted"), Some(2.0));
        assert_eq!(answer("acme-prod", "refused"), Some(1.0));
        assert_eq!(answer("acme-prod", "ambiguous"), Some(1.0));
        assert_eq!(answer("ghes-lab", "accepted"), Some(0.0), "known answers start at zero");
        let api =
            |e, s| m.get("redeliver_api_requests_total", &[("target", "acme-prod"), ("endpoint", e), ("status", s)]);
        assert_eq!(api("list_deliveries", "200"), Some(187.0));
        assert_eq!(api("redeliver", "422"), Some(1.0));
        let last = m.get("redeliver_last_success_timestamp_seconds", &acme).unwrap();
        let expected = status.targets[0].last_success_at.unwrap().timestamp_millis() as f64 / 1000.0;
        assert!((last - expected).abs() < 0.001, "{last} vs {expected}");

        assert_eq!(m.get("redeliver_up", &[("target", "octo/repo#42")]), Some(1.0), "failing is not yet stale");
        assert_eq!(m.get("redeliver_up", &[("target", "ghes-lab")]), Some(0.0));
        assert_eq!(m.get("redeliver_rate_limit_remaining", &[("target", "ghes-lab")]), None, "unknown is omitted");
        assert_eq!(m.kind["redeliver_up"], "gauge");
        assert_eq!(m.kind["redeliver_redeliveries_total"], "counter");
        assert_eq!(m.kind.len(), 10);
    }

    #[test]
    fn label_values_are_escaped() {
        let name = "we\"ird\\name\nand more";
        let mut s = one(None, None);
        s.targets[0].name = name.into();
        s.targets[0].api_requests.insert("no-status".into(), 2);
        let text = exposition(&s, at(0));
        assert!(text.contains(r#"target="we\"ird\\name\nand more""#), "{text}");
        let m = scrape(&text);
        assert_eq!(m.get("redeliver_polls_total", &[("target", name)]), Some(0.0));
        let api = [("target", name), ("endpoint", "no-status"), ("status", "")];
        assert_eq!(m.get("redeliver_api_requests_total", &api), Some(2.0));
        assert_eq!(m.get("redeliver_last_success_timestamp_seconds", &[("target", name)]), None);
    }

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
