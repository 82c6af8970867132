//! The only printer: data (the human summary, `--json`, the demo's story) on stdout, notes and
//! errors on stderr, logs through `tracing` on stderr. Nothing else in the binary writes to
//! either stream (the `print_stdout`/`print_stderr` lints hold everyone else to it).
//!
//! A reader that closes stdout early (`redeliver demo | head -2`) is not an error: the write
//! fails with `BrokenPipe`, which becomes [`Failure::closed`], and the command ends with status 0.

pub mod clean;
mod text;

pub use text::{history, summary};

use crate::exit::{Exit, Failure};
use std::io::{ErrorKind, IsTerminal, Write};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// Quiet by default (warnings), `-v` info, `-vv` debug; `RUST_LOG` overrides.
pub fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| LogLine(std::io::stderr()))
        .with_ansi(std::io::stderr().is_terminal())
        .with_timer(Seconds)
        .with_target(false)
        .try_init();
}

/// Log times to the second, in UTC, as every other time redeliver prints.
struct Seconds;

impl tracing_subscriber::fmt::time::FormatTime for Seconds {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        write!(w, "{}", chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"))
    }
}

/// A log event on stderr: one line, whatever its fields hold. A server's words with a newline
/// would otherwise start a line of their own (an Actions runner reads `::error ::…` from
/// stderr too); `tracing-subscriber` already escapes ANSI sequences in them.
struct LogLine<W: Write>(W);

impl<W: Write> Write for LogLine<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let (body, end) = match buf.strip_suffix(b"\n") {
            Some(body) => (body, &b"\n"[..]),
            None => (buf, &b""[..]),
        };
        if body.iter().any(|b| matches!(b, b'\n' | b'\r')) {
            let mut line = Vec::with_capacity(buf.len() + 8);
            for &b in body {
                match b {
                    b'\n' => line.extend_from_slice(b"\\n"),
                    b'\r' => line.extend_from_slice(b"\\r"),
                    b => line.push(b),
                }
            }
            line.extend_from_slice(end);
            self.0.write_all(&line)?;
        } else {
            self.0.write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Writes `text` to stdout as it is (it carries its own line ends).
pub fn data(text: &str) -> Result<(), Failure> {
    write_data(&mut std::io::stdout().lock(), text)
}

/// Writes one line to stdout.
pub fn line(text: &str) -> Result<(), Failure> {
    data(&format!("{text}\n"))
}

/// `--json`: `value`, pretty-printed, on stdout.
pub fn json<T: serde::Serialize>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::internal(anyhow::Error::new(e).context("cannot format JSON")))?;
    line(&text)
}

/// NDJSON: each value as one line of compact JSON on stdout.
pub fn ndjson<T: serde::Serialize>(values: &[T]) -> Result<(), Failure> {
    let mut text = String::new();
    for value in values {
        let one = serde_json::to_string(value)
            .map_err(|e| Failure::internal(anyhow::Error::new(e).context("cannot format JSON")))?;
        text.push_str(&one);
        text.push('\n');
    }
    data(&text)
}

/// `line` to stdout, or to stderr when stdout carries `--json` (so that the JSON stays parseable).
pub fn line_beside_json(json: bool, text: &str) -> Result<(), Failure> {
    if json {
        note(text);
        Ok(())
    } else {
        line(text)
    }
}

/// A line for the person watching (progress, where things are), on stderr; control characters
/// (from a server's words) escaped.
pub fn note(text: &str) {
    // A closed stderr leaves no one to tell; the command carries on.
    let _ = writeln!(std::io::stderr().lock(), "{}", clean::lines(text));
}

/// Presents the failure a command ended with, if any, and maps the result to the exit code.
pub fn finish(result: Result<Exit, Failure>) -> ExitCode {
    match result {
        Ok(exit) => exit.into(),
        Err(f) => {
            failure(&f);
            f.code().into()
        }
    }
}

/// The error presenter: `error: …`, each cause on its own line, and `hint: …` when one is known.
/// Nothing at all for a closed stdout.
pub fn failure(failure: &Failure) {
    if failure.is_closed() {
        return;
    }
    let causes = failure.causes();
    // Our own sentences may span lines; a cause may quote a server, so it keeps to one.
    let mut text = format!("error: {}\n", clean::lines(&causes[0]));
    for cause in &causes[1..] {
        text += &format!("  caused by: {}\n", clean::field(cause));
    }
    if let Some(hint) = failure.hint.as_deref() {
        text += &format!("hint: {}\n", clean::lines(hint));
    }
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// One target of several failed (`run` with a config file): its name, the error and its causes
/// on one line, and the hint; the other targets go on.
pub fn target_failure(name: &str, failure: &Failure) {
    let error = failure.one_line();
    let mut text = format!("error: target \"{}\": {}\n", clean::field(name), clean::field(&error));
    if let Some(hint) = failure.hint.as_deref() {
        text += &format!("hint: {}\n", clean::lines(hint));
    }
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Writes and flushes, so that a closed pipe is found here and not when stdout is dropped.
fn write_data(out: &mut impl Write, text: &str) -> Result<(), Failure> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Err(Failure::closed()),
        Err(e) => Err(Failure::internal(anyhow::Error::new(e).context("cannot write to stdout"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pipe whose reader has gone, as `head` leaves it.
    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(ErrorKind::BrokenPipe.into())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_ends_the_command_with_success_and_says_nothing() {
        let failure = write_data(&mut Closed, "more\n").unwrap_err();
        assert!(failure.is_closed());
        assert_eq!(failure.code(), Exit::Success);
        let mut open = Vec::new();
        write_data(&mut open, "line\n").unwrap();
        assert_eq!(open, b"line\n");
    }

    #[test]
    fn a_log_event_stays_on_one_line() {
        let mut out = LogLine(Vec::new());
        out.write_all(b"WARN poll failed: x\n::error ::pwned\r\n").unwrap();
        out.write_all(b"INFO plain\n").unwrap();
        assert_eq!(String::from_utf8(out.0).unwrap(), "WARN poll failed: x\\n::error ::pwned\\r\nINFO plain\n");
    }

    #[test]
    fn another_write_error_is_internal() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::from(ErrorKind::StorageFull))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let failure = write_data(&mut Full, "x").unwrap_err();
        assert_eq!((failure.code(), failure.is_closed()), (Exit::Internal, false));
    }
}
