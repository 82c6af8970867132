//! [`Receiver`]: a webhook endpoint on `127.0.0.1:0` to point hooks at, whose behaviour (up,
//! failing, down, slow, flaky) tests switch at will, and which remembers what it received.

use crate::signature;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// How the receiver treats the next requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiverMode {
    /// Answer 200.
    Up,
    /// Answer with this status (e.g. 500 or 503).
    Status(u16),
    /// Accept connections and close them without answering, like a crashed server behind a
    /// load balancer; the simulator records such attempts with status code 0.
    Down,
    /// Wait this long, then answer 200.
    Slow(Duration),
    /// Answer 503 to about `percent` % of requests, 200 to the rest.
    FailRate { percent: u8 },
}

/// One webhook request the receiver got.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceivedEvent {
    /// `X-GitHub-Delivery`.
    pub guid: String,
    /// `X-GitHub-Event`.
    pub event: String,
    /// `X-GitHub-Hook-ID`.
    pub hook_id: Option<u64>,
    /// `X-GitHub-Hook-Installation-Target-Type`.
    pub target_type: Option<String>,
    /// `X-GitHub-Hook-Installation-Target-ID`.
    pub target_id: Option<String>,
    /// Whether `X-Hub-Signature-256` matched the body; `None` when the receiver has no secret.
    pub signature_valid: Option<bool>,
    pub user_agent: String,
    pub content_type: String,
    /// The body, parsed as JSON (`Null` if it was not JSON).
    pub payload: Value,
    /// The body as it came, byte for byte (a replay must send GitHub's bytes again).
    pub body: Vec<u8>,
    /// The status answered; 0 while the answer is still pending (e.g. in `Slow` mode).
    pub status: u16,
    pub at: DateTime<Utc>,
}

struct Shared {
    secret: Option<String>,
    /// Answer 401 to a request whose signature does not match, as a real receiver does.
    strict: std::sync::atomic::AtomicBool,
    mode: Mutex<ReceiverMode>,
    received: Mutex<Vec<ReceivedEvent>>,
}

impl Shared {
    fn mode(&self) -> ReceiverMode {
        *lock(&self.mode)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A running webhook receiver; dropping it stops it.
pub struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
}

impl Receiver {
    /// Starts a receiver that checks signatures with `secret` (if any), in mode [`ReceiverMode::Up`].
    pub async fn start(secret: Option<&str>) -> anyhow::Result<Receiver> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            secret: secret.map(str::to_string),
            strict: std::sync::atomic::AtomicBool::new(false),
            mode: Mutex::new(ReceiverMode::Up),
            received: Mutex::new(Vec::new()),
        });
        let app = Router::new().fallback(receive).with_state(shared.clone());
        let listener = DownAwareListener { inner: listener, shared: shared.clone() };
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                tracing::warn!(%error, "receiver stopped with an error");
            }
        });
        Ok(Receiver { addr, shared, stop: Some(stop) })
    }

    /// Where to point a hook: `http://127.0.0.1:PORT/webhook`.
    pub fn url(&self) -> String {
        format!("http://{}/webhook", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// From now on, refuse (401) a request whose `X-Hub-Signature-256` does not match, as a
    /// receiver checking signatures does; by default the check is only recorded.
    pub fn refuse_bad_signatures(&self) {
        self.shared.strict.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Changes how the following requests are treated.
    pub fn set_mode(&self, mode: ReceiverMode) {
        *lock(&self.shared.mode) = mode;
    }

    /// Every request received so far, in arrival order.
    pub fn received(&self) -> Vec<ReceivedEvent> {
        lock(&self.shared.received).clone()
    }

    /// How many times the event `guid` was received and answered with a 2xx.
    pub fn successes_for(&self, guid: &str) -> usize {
        lock(&self.shared.received).iter().filter(|e| e.guid == guid && (200..300).contains(&e.status)).count()
    }

    /// Forgets what was received.
    pub fn clear(&self) {
        lock(&self.shared.received).clear();
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Accepts connections, but in `Down` mode closes them at once without reading a byte.
struct DownAwareListener {
    inner: TcpListener,
    shared: Arc<Shared>,
}

impl axum::serve::Listener for DownAwareListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            let (stream, addr) = axum::serve::Listener::accept(&mut self.inner).await;
            if self.shared.mode() != ReceiverMode::Down {
                return (stream, addr);
            }
            drop(stream);
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let signature_valid = shared
        .secret
        .as_deref()
        .map(|secret| text("x-hub-signature-256").is_some_and(|sig| signature::verify(secret, &body, &sig)));
    let event = ReceivedEvent {
        guid: text("x-github-delivery").unwrap_or_default(),
        event: text("x-github-event").unwrap_or_default(),
        hook_id: text("x-github-hook-id").and_then(|id| id.parse().ok()),
        target_type: text("x-github-hook-installation-target-type"),
        target_id: text("x-github-hook-installation-target-id"),
        signature_valid,
        user_agent: text("user-agent").unwrap_or_default(),
        content_type: text("content-type").unwrap_or_default(),
        payload: serde_json::from_slice(&body).unwrap_or(Value::Null),
        body: body.to_vec(),
        status: 0,
        at: Utc::now(),
    };
    // Recorded on arrival, so a request whose answer never gets out still shows up.
    let (guid, at) = (event.guid.clone(), event.at);
    lock(&shared.received).push(event);
    let refused = signature_valid == Some(false) && shared.strict.load(std::sync::atomic::Ordering::SeqCst);
    let status = match shared.mode() {
        _ if refused => 401,
        ReceiverMode::Up => 200,
        ReceiverMode::Status(code) => code,
        // Only a connection accepted before the switch gets here; it cannot be dropped now.
        ReceiverMode::Down => 503,
        ReceiverMode::Slow(delay) => {
            tokio::time::sleep(delay).await;
            200
        }
        ReceiverMode::FailRate { percent } => {
            if fastrand::u8(..100) < percent {
                503
            } else {
                200
            }
        }
    };
    // Found again by content, not position: `clear` may have run meanwhile.
    if let Some(entry) = lock(&shared.received).iter_mut().rev().find(|e| e.status == 0 && e.guid == guid && e.at == at)
    {
        entry.status = status;
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = if status.is_success() { "ok" } else { "error" };
    (status, body).into_response()
}
