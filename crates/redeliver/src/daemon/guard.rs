//! The status port's defences, so that it cannot starve the daemon: at most
//! [`MAX_CONNECTIONS`] at once (the rest wait in the kernel's backlog, holding none of our file
//! descriptors), each closed after [`IDLE_TIMEOUT`] without a byte from the client and after
//! [`TOTAL_TIMEOUT`] in all, and no new one while the process is within [`FD_RESERVE`] of its
//! file limit (the polls need descriptors for the state file and GitHub).

use axum::serve::Listener;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// Status connections served at once; a page, a scrape and a health check need a few.
pub const MAX_CONNECTIONS: usize = 64;
/// A client that sends nothing for this long (headers included) is dropped.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// No connection lives longer, however busy.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(30);
/// Descriptors kept for the work itself: no status connection is taken within this of the limit.
pub const FD_RESERVE: u64 = 128;

/// Raises the soft limit on open files to the hard one (a safe call; refused silently where
/// the system will not), so that the reserve is as large as the system allows.
pub fn raise_file_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
        && let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard)
    {
        tracing::debug!("could not raise the open-file limit from {soft}: {e}");
    }
}

/// Whether fewer than [`FD_RESERVE`] descriptors are left (Linux; elsewhere, never).
fn near_file_limit() -> bool {
    let Ok((soft, _)) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE) else {
        return false;
    };
    match std::fs::read_dir("/proc/self/fd") {
        Ok(open) => within_reserve(open.count() as u64, soft),
        Err(_) => false,
    }
}

/// Whether `open` descriptors under a limit of `limit` leave less than [`FD_RESERVE`].
fn within_reserve(open: u64, limit: u64) -> bool {
    open.saturating_add(FD_RESERVE) >= limit
}

/// How long a connection may stay silent, and live.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub idle: Duration,
    pub total: Duration,
}

impl Timeouts {
    pub const DEFAULT: Timeouts = Timeouts { idle: IDLE_TIMEOUT, total: TOTAL_TIMEOUT };
}

/// A [`TcpListener`] that hands out at most `limit` [`Guarded`] connections at once.
pub struct GuardedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
    timeouts: Timeouts,
}

impl GuardedListener {
    pub fn new(inner: TcpListener, limit: usize, timeouts: Timeouts) -> Self {
        Self { inner, permits: Arc::new(Semaphore::new(limit.max(1))), timeouts }
    }
}

impl Listener for GuardedListener {
    type Io = Guarded;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Guarded, SocketAddr) {
        loop {
            // The semaphore is never closed; were it, no connection would be taken again.
            let Ok(permit) = self.permits.clone().acquire_owned().await else {
                std::future::pending::<()>().await;
                continue;
            };
            if near_file_limit() {
                // Left in the backlog: the polls come first.
                tracing::warn!("close to the open-file limit: status connections wait");
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            }
            match self.inner.accept().await {
                Ok((stream, addr)) => return (Guarded::new(stream, permit, self.timeouts), addr),
                Err(e) => {
                    // EMFILE and friends: wait instead of spinning.
                    tracing::debug!("status port: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// One status connection, with its permit and its two deadlines.
pub struct Guarded {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
    idle_timeout: Duration,
    idle: Pin<Box<Sleep>>,
    end: Pin<Box<Sleep>>,
}

impl Guarded {
    fn new(stream: TcpStream, permit: OwnedSemaphorePermit, timeouts: Timeouts) -> Self {
        let now = Instant::now();
        Guarded {
            stream,
            _permit: permit,
            idle_timeout: timeouts.idle,
            idle: Box::pin(tokio::time::sleep_until(now + timeouts.idle)),
            end: Box::pin(tokio::time::sleep_until(now + timeouts.total)),
        }
    }

    fn expired(&mut self, cx: &mut Context<'_>, reading: bool) -> bool {
        self.end.as_mut().poll(cx).is_ready() || (reading && self.idle.as_mut().poll(cx).is_ready())
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "status connection timed out")
}

impl AsyncRead for Guarded {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.expired(cx, true) {
            return Poll::Ready(Err(timed_out()));
        }
        let before = buf.filled().len();
        let read = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let next = Instant::now() + self.idle_timeout;
            self.idle.as_mut().reset(next);
        }
        read
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        if self.expired(cx, false) {
            return Poll::Ready(Err(timed_out()));
        }
        Pin::new(&mut self.stream).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt as _;

    const SHORT: Timeouts = Timeouts { idle: Duration::from_millis(200), total: Duration::from_secs(60) };

    #[tokio::test]
    async fn a_silent_client_is_dropped_after_the_idle_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut guarded = GuardedListener::new(listener, 2, SHORT);
        let _client = TcpStream::connect(addr).await.unwrap();
        let (mut conn, _) = guarded.accept().await;
        let mut buf = [0u8; 8];
        let err = tokio::time::timeout(Duration::from_secs(20), conn.read(&mut buf)).await.unwrap().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[test]
    fn the_reserve_is_kept_for_the_work() {
        assert!(!within_reserve(20, 1024));
        assert!(!within_reserve(1024 - FD_RESERVE - 1, 1024));
        assert!(within_reserve(1024 - FD_RESERVE, 1024));
        assert!(within_reserve(5000, 256), "already past the limit");
        assert!(!within_reserve(20, u64::MAX), "an unlimited limit");
    }

    #[tokio::test]
    async fn no_more_than_the_limit_are_served_at_once() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut guarded = GuardedListener::new(listener, 2, Timeouts::DEFAULT);
        let clients: Vec<_> = [(); 3].iter().map(|_| std::net::TcpStream::connect(addr).unwrap()).collect();
        let first = guarded.accept().await;
        let second = guarded.accept().await;
        let third = tokio::time::timeout(Duration::from_millis(300), guarded.accept()).await;
        assert!(third.is_err(), "a third connection waits while two are open");
        drop(first);
        let third = tokio::time::timeout(Duration::from_secs(20), guarded.accept()).await;
        assert!(third.is_ok(), "a closed connection makes room");
        drop((second, clients));
    }
}
