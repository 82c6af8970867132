//! `--notify-command`: one shell command per notification, run so that it cannot leak, hang or
//! corrupt what redeliver prints. The child gets:
//! - a clean environment: the `REDELIVER_*` details and a fixed `PATH`, never the process's
//!   own (which holds `PRIVATE_KEY`, `TOKEN` and the config's `*_env` variables);
//! - stdout joined to redeliver's stderr, so that `run --json` stays JSON on stdout;
//! - its own process group, killed as a whole when the timeout expires, so that a grandchild
//!   cannot outlive it holding a pipe;
//! - the JSON on stdin, written under the same timeout; a command that exits without reading
//!   it (a closed pipe) has not failed.

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::io::ErrorKind;
use std::os::fd::AsFd as _;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::AsyncWriteExt as _;

/// The only `PATH` a notify command sees: the system's directories, none the user could have
/// prepended.
pub const SAFE_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// How one run of the command ended, when it did not exit.
#[derive(Debug)]
pub enum Trouble {
    /// It could not be started, or its stdin could not be written.
    Io(std::io::Error),
    /// It ran past the timeout; its whole process group was killed.
    TimedOut(Duration),
}

impl std::fmt::Display for Trouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trouble::Io(e) => write!(f, "could not run it: {e}"),
            Trouble::TimedOut(t) => write!(f, "it ran longer than {}s and was stopped", t.as_secs()),
        }
    }
}

/// Runs `sh -c command` with only `env` (plus [`SAFE_PATH`]), `stdin` on its standard input,
/// and waits at most `timeout` for the write and the exit together.
pub async fn run(
    command: &str,
    env: &[(&'static str, String)],
    stdin: &[u8],
    timeout: Duration,
) -> Result<ExitStatus, Trouble> {
    let stdout = std::io::stderr().as_fd().try_clone_to_owned().map_or_else(|_| Stdio::null(), Stdio::from);
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .env_clear()
        .env("PATH", SAFE_PATH)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::piped())
        .stdout(stdout)
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(Trouble::Io)?;
    let pipe = child.stdin.take();
    let finished = tokio::time::timeout(timeout, async {
        if let Some(mut pipe) = pipe {
            match pipe.write_all(stdin).await {
                // It exited, or closed stdin, without reading everything: its choice.
                Err(e) if e.kind() != ErrorKind::BrokenPipe => return Err(e),
                _ => {}
            }
            // Closing it tells a reader the JSON is complete.
            drop(pipe);
        }
        child.wait().await
    })
    .await;
    match finished {
        Ok(status) => status.map_err(Trouble::Io),
        Err(_) => {
            // The group id is the child's pid (`process_group(0)`): every process it started
            // that did not leave the group goes with it.
            if let Some(pid) = child.id().and_then(|id| i32::try_from(id).ok()) {
                let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            }
            let _ = child.kill().await;
            Err(Trouble::TimedOut(timeout))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Vec<(&'static str, String)> {
        vec![("REDELIVER_GUID", "g-1".into())]
    }

    #[tokio::test]
    async fn the_command_sees_only_its_details_and_a_safe_path() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("env.txt");
        let status = run(&format!("env > '{}'", out.display()), &env(), b"{}", Duration::from_secs(20)).await.unwrap();
        assert!(status.success());
        let seen = std::fs::read_to_string(&out).unwrap();
        let names: Vec<&str> = seen.lines().filter_map(|l| l.split_once('=').map(|(k, _)| k)).collect();
        assert!(
            names.iter().all(|n| n.starts_with("REDELIVER_") || ["PATH", "PWD", "SHLVL", "_"].contains(n)),
            "{seen}"
        );
        assert!(seen.contains("REDELIVER_GUID=g-1") && seen.contains(&format!("PATH={SAFE_PATH}")), "{seen}");
    }

    #[tokio::test]
    async fn a_command_that_never_reads_a_large_payload_is_not_a_failure() {
        // Far more than a pipe buffer: the write would block forever if it were not bounded.
        let payload = vec![b'x'; 4 << 20];
        let status = run("exit 0", &env(), &payload, Duration::from_secs(20)).await.unwrap();
        assert!(status.success());
        // One that neither reads nor exits is stopped by the timeout, write included.
        let stuck = run("sleep 30", &env(), &payload, Duration::from_millis(500)).await;
        assert!(matches!(stuck, Err(Trouble::TimedOut(_))), "{stuck:?}");
    }

    #[tokio::test]
    async fn the_timeout_kills_the_grandchildren_too() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let command = format!("sleep 60 & echo $! > '{}'; wait", pid_file.display());
        let result = run(&command, &env(), b"{}", Duration::from_secs(2)).await;
        assert!(matches!(result, Err(Trouble::TimedOut(_))), "{result:?}");
        let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
        // Killed, so gone once reaped by init; a bounded wait for that, checked with signal 0.
        let gone = (0..100).any(|_| {
            let alive = nix::sys::signal::kill(Pid::from_raw(pid), None).is_ok() && !is_zombie(pid);
            if alive {
                std::thread::sleep(Duration::from_millis(50));
            }
            !alive
        });
        assert!(gone, "the grandchild {pid} outlived the timeout");
    }

    /// A killed process not yet reaped by its parent still answers signal 0.
    fn is_zombie(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')))
            .unwrap_or(true)
    }
}
