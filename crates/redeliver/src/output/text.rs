//! The human texts: a pass's summary and the history of redeliveries. Pure: the printer
//! ([`super`]) writes them.

use super::clean::field;
use crate::report::{Outcome, Report};
use chrono::SecondsFormat;
use redeliver_core::policy::Human;
use redeliver_core::state::RedeliveryRecord;
use std::fmt::Write as _;

/// The human summary of a pass.
pub fn summary(r: &Report) -> String {
    let c = &r.counts;
    let mut out = String::new();
    let dry = if r.dry_run { " (dry run: nothing sent, nothing written)" } else { "" };
    let named =
        if matches!(r.name.as_str(), "app" | "repo" | "org") { String::new() } else { format!("{}: ", field(&r.name)) };
    let _ = writeln!(out, "redeliver: {named}{} at {}{dry}", r.description, r.api_url);
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
    if let Some(receiver) = &r.receiver {
        let _ = writeln!(out, "  {}", receiver.line());
    }
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
        (c.held, "held while the receiver is down"),
        (c.probed, "sent as the receiver's canary"),
    ] {
        if n > 0 {
            acted.push(format!("{n} {label}"));
        }
    }
    if !acted.is_empty() {
        let _ = writeln!(out, "  failed events: {}", acted.join(", "));
    }
    for e in r.events.iter().filter(|e| e.outcome.is_listed()) {
        // GUID, event, action, status and detail are the server's words: kept to their line.
        let kind = e.kind();
        let kind = field(&kind);
        let last = if e.last_status.is_empty() {
            e.last_status_code.to_string()
        } else {
            format!("{} {}", e.last_status_code, field(&e.last_status))
        };
        let mut line = format!("  {:<16} {}  {kind}  attempts {}  last: {last}", e.outcome, field(&e.guid), e.attempts);
        if let Some(reason) = e.reason {
            let _ = write!(line, "  ({})", reason.explain());
        }
        if let Some(d) = &e.detail {
            let _ = write!(line, "  ({})", field(d));
        }
        let _ = writeln!(out, "{line}");
    }
    if let Some(next) = r.events.iter().filter_map(|e| e.due_at.filter(|_| e.outcome == Outcome::Waiting)).min() {
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
    let carried = match (r.state.carried, r.state.dropped) {
        (Some(n), Some(d)) if d > 0 => {
            format!("; {n} event(s) carried for the next run, {d} left out to fit GitHub's limit on a variable")
        }
        (Some(n), _) => format!("; {n} event(s) carried for the next run"),
        _ => String::new(),
    };
    // The archive is kept in the SQLite state only (docs/archive.md).
    let archived = match (r.state.carried, r.counts.archived) {
        (Some(_), _) => "; no archive with the Actions variable store".to_string(),
        (None, 0) => String::new(),
        (None, n) => format!("; {n} failed event(s) archived"),
    };
    let budget = r.requests.rate_limit_remaining.map(|n| format!(", {n} left in the rate limit")).unwrap_or_default();
    let _ = writeln!(out, "  state: {saved}{carried}{archived}; {} API request(s){budget}", r.requests.total);
    out
}

/// `redeliver history`, one redelivery request a line.
pub fn history(records: &[RedeliveryRecord]) -> String {
    if records.is_empty() {
        return "no redeliveries recorded\n".into();
    }
    let mut out = String::new();
    for r in records {
        let detail = r.detail.as_deref().map(|d| format!("  {}", field(d))).unwrap_or_default();
        let _ = writeln!(
            out,
            "{}  {:<9} {}  {}  delivery {}  {}{detail}",
            r.at.to_rfc3339_opts(SecondsFormat::Secs, true),
            r.answer.as_str(),
            field(&r.guid),
            field(&r.event),
            r.delivery_id,
            field(&r.key)
        );
    }
    out
}
