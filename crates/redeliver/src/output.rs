//! The only printer: the human summary and `--json` on stdout, logs on stderr.

use crate::pass::Report;
use chrono::SecondsFormat;
use redeliver_core::policy::Human;
use redeliver_core::state::RedeliveryRecord;
use std::fmt::Write as _;
use std::io::IsTerminal;
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
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

pub fn print_json<T: serde::Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: cannot format JSON: {e}"),
    }
}

/// The human summary of a pass.
pub fn summary(r: &Report) -> String {
    let c = &r.counts;
    let mut out = String::new();
    let dry = if r.dry_run { " (dry run: nothing sent, nothing written)" } else { "" };
    let named = if matches!(r.name.as_str(), "app" | "repo" | "org") { String::new() } else { format!("{}: ", r.name) };
    let _ = writeln!(out, "redeliver: {named}{} at {}{dry}", r.target, r.api_url);
    let until =
        r.window.until.map(|u| format!(" until {}", u.to_rfc3339_opts(SecondsFormat::Secs, true))).unwrap_or_default();
    let _ = writeln!(
        out,
        "  window: since {} ({}){until}; read {} deliveries on {} page(s), {} in the window",
        r.window.start.to_rfc3339_opts(SecondsFormat::Secs, true),
        r.window.source,
        c.deliveries_read,
        c.pages,
        c.deliveries_in_window
    );
    let _ = writeln!(out, "  events: {} succeeded, {} failed", c.succeeded_events, c.failed_events);
    let mut acted = vec![];
    for (n, label) in [
        (c.redelivered, "redelivered"),
        (c.would_redeliver, "would redeliver"),
        (c.waiting, "waiting for their next rung"),
        (c.deferred, "deferred to the next pass"),
        (c.given_up, "given up"),
        (c.refused, "refused by GitHub"),
        (c.ambiguous, "unconfirmed (GitHub did not answer clearly; the next pass checks)"),
        (c.filtered, "skipped by filters"),
    ] {
        if n > 0 {
            acted.push(format!("{n} {label}"));
        }
    }
    if !acted.is_empty() {
        let _ = writeln!(out, "  failed events: {}", acted.join(", "));
    }
    for e in r.events.iter().filter(|e| !matches!(e.outcome, "waiting" | "filtered" | "already_given_up")) {
        let kind = e.kind();
        let last = if e.last_status.is_empty() {
            e.last_status_code.to_string()
        } else {
            format!("{} {}", e.last_status_code, e.last_status)
        };
        let mut line = format!("  {:<16} {}  {kind}  attempts {}  last: {last}", e.outcome, e.guid, e.attempts);
        if let Some(reason) = e.reason {
            let _ = write!(line, "  ({})", reason.explain());
        }
        if let Some(d) = &e.detail {
            let _ = write!(line, "  ({d})");
        }
        let _ = writeln!(out, "{line}");
    }
    if let Some(next) = r.events.iter().filter_map(|e| e.due_at.filter(|_| e.outcome == "waiting")).min() {
        let wait = next - chrono::Utc::now();
        let _ = writeln!(
            out,
            "  next event due at {} (in {})",
            next.to_rfc3339_opts(SecondsFormat::Secs, true),
            Human(wait.max(chrono::Duration::zero()))
        );
    }
    let saved = match r.state.written {
        Some(t) => format!("saved {} to {}", t.to_rfc3339_opts(SecondsFormat::Secs, true), r.state.store),
        None => format!("{} left unchanged", r.state.store),
    };
    let budget = r.requests.rate_limit_remaining.map(|n| format!(", {n} left in the rate limit")).unwrap_or_default();
    let _ = writeln!(out, "  state: {saved}; {} API request(s){budget}", r.requests.total);
    out
}

pub fn history(records: &[RedeliveryRecord]) -> String {
    if records.is_empty() {
        return "no redeliveries recorded\n".into();
    }
    let mut out = String::new();
    for r in records {
        let detail = r.detail.as_deref().map(|d| format!("  {d}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "{}  {:<9} {}  {}  delivery {}  {}{detail}",
            r.at.to_rfc3339_opts(SecondsFormat::Secs, true),
            format!("{:?}", r.answer).to_lowercase(),
            r.guid,
            r.event,
            r.delivery_id,
            r.target
        );
    }
    out
}
