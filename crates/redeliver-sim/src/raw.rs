//! [`RawServer`]: a programmable HTTP/1.1 server that answers with exactly the bytes a test
//! scripts, for playing what a broken proxy or a hostile server sends (redirects, `Link` loops,
//! absurd headers, endless bodies, answers that never come). The [`Sim`](crate::Sim) is GitHub;
//! this is everything GitHub is not. It binds `127.0.0.1:0`, records each request, and stops on
//! drop.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// The longest request head the server reads.
const MAX_HEAD: usize = 64 * 1024;
/// The longest request body the server reads (the tool sends small JSON bodies).
const MAX_BODY: usize = 1024 * 1024;

/// One request as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRequest {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum RawReply {
    /// Writes these bytes (a whole response: status line, headers, body) and closes.
    Bytes(Vec<u8>),
    /// Writes `head` (status line and headers, ending in a blank line), then `chunk` `repeat`
    /// times, then closes: a body of any size without holding it in memory.
    Stream { head: Vec<u8>, chunk: Vec<u8>, repeat: u64 },
    /// Reads the request and never answers, holding the connection until the client gives up.
    Hang,
}

impl RawReply {
    /// A response with `status`, extra header lines (`Name: value`) and a body; adds
    /// `Content-Length` and `Connection: close`.
    pub fn new(status: u16, headers: &[&str], body: impl AsRef<[u8]>) -> Self {
        let body = body.as_ref();
        let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
        for h in headers {
            out.push_str(h);
            out.push_str("\r\n");
        }
        out.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(body);
        RawReply::Bytes(bytes)
    }

    /// A JSON response with status 200 and the given extra header lines.
    pub fn json(headers: &[&str], body: &str) -> Self {
        let mut all = vec!["Content-Type: application/json; charset=utf-8"];
        all.extend_from_slice(headers);
        RawReply::new(200, &all, body)
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

type Script = dyn Fn(&RawRequest, usize) -> RawReply + Send + Sync;

/// A running raw server. Dropping it stops accepting connections.
pub struct RawServer {
    addr: std::net::SocketAddr,
    requests: Arc<Mutex<Vec<RawRequest>>>,
    stop: Option<oneshot::Sender<()>>,
}

impl RawServer {
    /// Starts a server that answers each request with `script(request, index)`, where `index`
    /// counts requests from 0.
    pub async fn start(
        script: impl Fn(&RawRequest, usize) -> RawReply + Send + Sync + 'static,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let requests: Arc<Mutex<Vec<RawRequest>>> = Arc::default();
        let script: Arc<Script> = Arc::new(script);
        let (stop, mut stopped) = oneshot::channel::<()>();
        let seen = requests.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let (script, seen) = (script.clone(), seen.clone());
                        tokio::spawn(async move {
                            let _ = serve(stream, script, seen).await;
                        });
                    }
                }
            }
        });
        Ok(Self { addr, requests, stop: Some(stop) })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<RawRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn serve(mut stream: TcpStream, script: Arc<Script>, seen: Arc<Mutex<Vec<RawRequest>>>) -> std::io::Result<()> {
    let Some(request) = read_request(&mut stream).await? else { return Ok(()) };
    let index = {
        let mut all = seen.lock().map_err(|_| std::io::Error::other("poisoned"))?;
        all.push(request.clone());
        all.len() - 1
    };
    match script(&request, index) {
        RawReply::Bytes(bytes) => stream.write_all(&bytes).await?,
        RawReply::Stream { head, chunk, repeat } => {
            stream.write_all(&head).await?;
            for _ in 0..repeat {
                stream.write_all(&chunk).await?;
            }
        }
        RawReply::Hang => {
            // Bounded, so a test that forgets the client never leaves a task behind for long.
            tokio::time::sleep(Duration::from_secs(600)).await;
        }
    }
    stream.shutdown().await
}

async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<RawRequest>> {
    let mut buf = Vec::with_capacity(4096);
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Ok(None);
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_string();
    let target = first.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_BODY);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let mut chunk = vec![0u8; (length - body.len()).min(64 * 1024)];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Some(RawRequest { method, target, headers, body }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_with_the_scripted_bytes_and_records_requests() {
        let server = RawServer::start(|req, i| {
            if i == 0 {
                RawReply::new(302, &["Location: /login"], "")
            } else {
                RawReply::json(&[], &format!("{{\"path\":\"{}\"}}", req.target))
            }
        })
        .await
        .unwrap();
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let first = client.post(format!("{}/x", server.url())).body("hi").send().await.unwrap();
        assert_eq!(first.status(), 302);
        assert_eq!(first.headers()["location"], "/login");
        let second = client.get(format!("{}/y?z=1", server.url())).send().await.unwrap();
        assert_eq!(second.text().await.unwrap(), "{\"path\":\"/y?z=1\"}");
        let seen = server.requests();
        assert_eq!(seen.len(), 2);
        assert_eq!((seen[0].method.as_str(), seen[0].body.as_slice()), ("POST", b"hi".as_slice()));
        assert!(seen[1].header("User-Agent").is_none());
    }

    #[tokio::test]
    async fn streams_a_large_body_without_holding_it() {
        let server = RawServer::start(|_, _| RawReply::Stream {
            head: b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n".to_vec(),
            chunk: vec![b' '; 64 * 1024],
            repeat: 32,
        })
        .await
        .unwrap();
        let body = reqwest::get(server.url()).await.unwrap().bytes().await.unwrap();
        assert_eq!(body.len(), 32 * 64 * 1024);
    }
}
