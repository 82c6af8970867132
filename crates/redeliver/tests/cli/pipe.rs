//! A reader that goes away early: `redeliver demo | head -2`, `redeliver history | head`,
//! `redeliver export | head` end quietly with status 0, as a shell user expects (writing to a
//! closed pipe is not an error of the tool's).

use crate::harness::App;
use chrono::{Duration as Ago, Utc};
use redeliver_sim::NewAttempt;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `cmd`, reads two lines of its stdout, closes the pipe (what `head -2` does) and returns
/// its exit status and stderr.
fn read_two_lines_and_close(mut cmd: Command) -> (Option<i32>, String) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
    for _ in 0..2 {
        let line = lines.next().expect("a line").expect("readable");
        assert!(!line.is_empty());
    }
    drop(lines);
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be waited on") {
            break status;
        }
        assert!(Instant::now() < deadline, "the command did not end after its reader went away");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr is piped"), &mut stderr).ok();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (status.code(), stderr)
}

#[test]
fn the_demo_piped_into_a_reader_that_stops_after_two_lines_exits_0() {
    let mut demo = Command::new(env!("CARGO_BIN_EXE_redeliver"));
    demo.arg("demo");
    let (code, stderr) = read_two_lines_and_close(demo);
    assert_eq!(code, Some(0), "stderr: {stderr}");
}

/// More than a pipe's buffer (64 KiB on Linux) of history and of export, so that the writer is
/// still writing when the reader goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_and_export_piped_into_a_reader_that_stops_exit_0() {
    let app = App::start().await;
    let at = Utc::now() - Ago::hours(2);
    // 500: the receiver refuses each one; 502s from 700 events would be an outage, held.
    for i in 0..700 {
        app.record(NewAttempt::new("push", 500, at + Ago::seconds(i)));
    }
    app.run().await.assert_code(0);

    let state = app.state_path().display().to_string();
    for args in [vec!["history", "--limit", "100000", "--state", &state], vec!["export", "--state", &state]] {
        let full = Command::new(env!("CARGO_BIN_EXE_redeliver")).args(&args).output().expect("runs");
        assert_eq!(full.status.code(), Some(0), "{args:?}");
        assert!(full.stdout.len() > 64 * 1024, "{args:?} printed only {} bytes", full.stdout.len());

        let mut cmd = Command::new(env!("CARGO_BIN_EXE_redeliver"));
        cmd.args(&args);
        let (code, stderr) = read_two_lines_and_close(cmd);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?} said something about the closed pipe: {stderr}");
    }
}
