//! A `redeliver` process left running in the background (`watch`, or a `run` to be killed), and
//! the lines it writes to stderr.

use std::time::Duration;

pub struct Daemon {
    pub child: tokio::process::Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    pub seen: Vec<String>,
}

impl Daemon {
    /// Takes over a child started with piped stderr; a task forwards its lines.
    pub(super) fn new(mut child: tokio::process::Child) -> Daemon {
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            use tokio::io::AsyncBufReadExt as _;
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Daemon { child, lines: rx, seen: Vec::new() }
    }

    /// Waits (at most `secs`) for a stderr line containing `needle`, and returns it.
    pub async fn wait_for(&mut self, needle: &str, secs: u64) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                _ => panic!("no stderr line with {needle:?} within {secs} s; saw:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Waits (at most `secs`) until `n` stderr lines contain `needle`.
    pub async fn wait_for_count(&mut self, needle: &str, n: usize, secs: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        while self.seen.iter().filter(|l| l.contains(needle)).count() < n {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) => self.seen.push(line),
                _ => panic!(
                    "fewer than {n} stderr lines with {needle:?} within {secs} s; saw:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// The status page's base URL, from the daemon's start-up line.
    pub async fn status_url(&mut self) -> String {
        let line = self.wait_for("status page at ", 30).await;
        line.split("status page at ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .trim_end_matches('/')
            .to_string()
    }

    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("still running").to_string();
        let ok = std::process::Command::new("kill").args([&format!("-{signal}"), &pid]).status().unwrap().success();
        assert!(ok, "kill -{signal} {pid}");
    }

    /// Waits (at most `secs`) for the process to exit; its exit code.
    pub async fn exit_code(&mut self, secs: u64) -> i32 {
        let status = tokio::time::timeout(Duration::from_secs(secs), self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("exited within {secs} s"))
            .unwrap();
        status.code().unwrap_or(-1)
    }
}
