//! A reader that goes away early: `redeliver demo | head -2` ends quietly with status 0, as a
//! shell user expects (writing to a closed pipe is not an error of the tool's).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn the_demo_piped_into_a_reader_that_stops_after_two_lines_exits_0() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_redeliver"))
        .arg("demo")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
    for _ in 0..2 {
        let line = lines.next().expect("a line").expect("readable");
        assert!(!line.is_empty());
    }
    // What `head -2` does next: close its end of the pipe.
    drop(lines);
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be waited on") {
            break status;
        }
        assert!(Instant::now() < deadline, "the demo did not end after its reader went away");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr is piped"), &mut stderr).ok();
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
