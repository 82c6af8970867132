//! The status page at `GET /`: server-rendered HTML with inline CSS and no script, written to be
//! read by someone woken at 3 a.m. Every string from the status is escaped: GUIDs, event names
//! and error texts come from the network and may hold markup.

mod receiver;

use super::health::{Health, assess};
use super::status::{GivenUpEvent, PER_PAGE, RecentRedelivery, Status, TargetStatus};
use chrono::{DateTime, Duration, Utc};
use redeliver_core::text::{excerpt, one_line};
use std::collections::VecDeque;
use std::fmt::{self, Write as _};

/// How often the browser reloads the page, in seconds.
const REFRESH_SECONDS: u32 = 30;

/// The whole page for `status` as seen at `now`.
pub fn render(status: &Status, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail; the `fmt::Result`s only carry `?` through the helpers.
    let _ = write_page(&mut out, status, now);
    out
}

fn write_page(out: &mut String, status: &Status, now: DateTime<Utc>) -> fmt::Result {
    let health: Vec<Health> = status.targets.iter().map(|t| assess(status, t, now)).collect();
    let worst = health.iter().copied().max_by_key(|h| severity(*h)).unwrap_or(Health::Healthy);
    let summary = summary(&health);
    writeln!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">\n\
         <title>redeliver: {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>",
        Esc(&summary)
    )?;
    write!(out, "<header>\n<h1>redeliver watch</h1>\n<p class=\"meta\">")?;
    if !status.version.is_empty() {
        write!(out, "version {} · ", Esc(&status.version))?;
    }
    write!(out, "polls every {}", span_secs(status.interval_seconds))?;
    if let Some(started) = status.started_at {
        write!(out, " · started {} ({})", relative(now, started), utc(started))?;
    }
    writeln!(out, " · page rendered {}, reloads every {REFRESH_SECONDS}s</p>", utc(now))?;
    writeln!(out, "<p class=\"overall {}\">{}</p>", worst.label(), Esc(&summary))?;
    // Discovered hooks (issue 14): one line per organization; a hook is listed below only
    // while it needs attention, so a thousand quiet hooks do not bury the rest.
    for org in status.fleet.iter().flat_map(|f| &f.orgs) {
        writeln!(out, "<p class=\"meta fleet\">{}</p>", Esc(&org.line(now)))?;
    }
    let shown =
        |t: &TargetStatus, h: Health| t.max_interval_seconds.is_none() || h != Health::Healthy || pending_total(t) > 0;
    if status.targets.iter().zip(&health).filter(|(t, h)| shown(t, **h)).count() > 1 {
        write_overview(out, status, &health, now)?;
    }
    out.push_str("</header>\n");
    for (i, (t, h)) in status.targets.iter().zip(&health).enumerate() {
        if shown(t, *h) {
            write_target(out, i, t, *h, status.page.max(1), now)?;
        }
    }
    out.push_str(
        "<footer>Machine-readable: <a href=\"/healthz\">/healthz</a> · <a href=\"/metrics\">/metrics</a> · \
         <a href=\"/status.json\">/status.json</a></footer>\n</main>\n</body>\n</html>\n",
    );
    Ok(())
}

/// One row per target, so that the one in trouble shows above the fold however long the page.
fn write_overview(out: &mut String, status: &Status, health: &[Health], now: DateTime<Utc>) -> fmt::Result {
    out.push_str(
        "<table class=\"overview\"><thead><tr><th>Target</th><th>State</th><th>Last successful poll</th>\
         <th class=\"num\">Pending</th><th class=\"num\">Given up</th><th>API budget</th><th>Last error</th></tr>\
         </thead><tbody>\n",
    );
    for (i, (t, h)) in status.targets.iter().zip(health).enumerate() {
        if t.max_interval_seconds.is_some() && *h == Health::Healthy && pending_total(t) == 0 {
            continue;
        }
        let last = t.last_success_at.map_or_else(|| "never".to_owned(), |at| relative(now, at));
        let error = t.last_error.as_deref().map_or_else(String::new, |e| shorten(e, 90));
        write!(out, "<tr><td><a href=\"#target-{i}\">{}</a></td>", Esc(&t.name))?;
        write!(out, "<td><span class=\"badge {0}\">{0}</span></td><td>{last}</td>", h.label())?;
        write!(out, "<td class=\"num\">{}</td><td class=\"num\">{}</td>", pending_total(t), t.given_up_total)?;
        writeln!(out, "<td>{}</td><td class=\"err\">{}</td></tr>", budget(t, now).0, Esc(&error))?;
    }
    out.push_str("</tbody></table>\n");
    Ok(())
}

/// At most `max` characters, on one line.
fn shorten(s: &str, max: usize) -> String {
    excerpt(&one_line(s), max)
}

/// Worst first in the headline: a stale target is what `/healthz` pages about.
fn severity(h: Health) -> u8 {
    match h {
        Health::Healthy => 0,
        Health::Starting => 1,
        Health::Failing => 2,
        Health::Stale => 3,
    }
}

fn summary(health: &[Health]) -> String {
    if health.is_empty() {
        return "no targets configured".to_owned();
    }
    let mut parts = Vec::new();
    for h in [Health::Stale, Health::Failing, Health::Starting, Health::Healthy] {
        let n = health.iter().filter(|x| **x == h).count();
        if n > 0 {
            parts.push(format!("{n} {}", h.label()));
        }
    }
    let noun = if health.len() == 1 { "target" } else { "targets" };
    format!("{} {noun}: {}", health.len(), parts.join(", "))
}

fn write_target(
    out: &mut String,
    i: usize,
    t: &TargetStatus,
    h: Health,
    page: usize,
    now: DateTime<Utc>,
) -> fmt::Result {
    let label = h.label();
    writeln!(out, "<section class=\"target {label}\" id=\"target-{i}\">")?;
    writeln!(out, "<h2><span class=\"badge {label}\">{label}</span> {}</h2>", Esc(&t.name))?;
    writeln!(out, "<p class=\"desc\">{} · <code>{}</code></p>", Esc(&t.description), Esc(&t.api_url))?;
    write!(out, "<p class=\"lead\">{}", headline(t, h, now))?;
    match t.last_poll_started_at {
        Some(at) => write!(out, " Last poll started {} ({}).", relative(now, at), utc(at))?,
        None => out.push_str(" No poll started yet."),
    }
    writeln!(out, " {} polls so far.</p>", thousands(t.polls))?;
    if let Some(error) = &t.last_error {
        writeln!(out, "<div class=\"error\"><strong>Last poll failed:</strong><pre>{}</pre></div>", Esc(error))?;
    }
    write_figures(out, t, now)?;
    receiver::write_receiver(out, t, now)?;
    write_pending(out, t, page, now)?;
    write_redeliveries(out, &t.recent_redeliveries, now)?;
    write_given_up(out, &t.given_up, now)?;
    super::page_replays::write_replays(out, t, now)?;
    write_api(out, t)?;
    out.push_str("</section>\n");
    Ok(())
}

/// One sentence a tired reader can act on.
fn headline(t: &TargetStatus, h: Health, now: DateTime<Utc>) -> String {
    let last = match t.last_success_at {
        Some(at) => format!("{} ({})", relative(now, at), utc(at)),
        None => "never".to_owned(),
    };
    match h {
        Health::Healthy => format!("Polling normally: last successful poll {last}."),
        Health::Starting => "Waiting for the first poll to finish.".to_owned(),
        Health::Failing => format!("The last poll failed; last successful poll {last}."),
        Health::Stale => format!("No recent successful poll (/healthz fails): last success {last}."),
    }
}

fn write_figures(out: &mut String, t: &TargetStatus, now: DateTime<Utc>) -> fmt::Result {
    let answer = |a: &str| t.redeliveries.get(a).copied().unwrap_or(0);
    out.push_str("<dl class=\"figures\">");
    let mut figure = |name: &str, value: String, note: String| {
        write!(out, "<div><dt>{name}</dt><dd>{value}</dd><dd class=\"note\">{note}</dd></div>")
    };
    figure("Pending", thousands(pending_total(t) as u64), "events owed a redelivery".to_owned())?;
    figure(
        "Redelivered",
        thousands(answer("accepted")),
        format!("accepted · {} refused · {} ambiguous", thousands(answer("refused")), thousands(answer("ambiguous"))),
    )?;
    figure("Given up", thousands(t.given_up_total), "since start".to_owned())?;
    figure(
        "Failed events seen",
        thousands(t.failed_events_seen),
        format!("of {} attempts read", thousands(t.deliveries_read)),
    )?;
    let (budget, note) = budget(t, now);
    figure("API budget", budget, note)?;
    let skew = t.clock_skew_seconds.map_or("unknown".to_owned(), |s| format!("{s:+} s"));
    figure("Clock skew", skew, "GitHub's clock minus this machine's".to_owned())?;
    out.push_str("</dl>\n");
    Ok(())
}

/// "remaining / limit" and when it resets.
fn budget(t: &TargetStatus, now: DateTime<Utc>) -> (String, String) {
    let value = match (t.rate_limit_remaining, t.rate_limit_limit) {
        (Some(left), Some(limit)) => format!("{} / {}", thousands(left), thousands(limit)),
        (Some(left), None) => thousands(left),
        (None, _) => "unknown".to_owned(),
    };
    let note = match t.rate_limit_reset {
        Some(at) => format!("resets {} ({})", relative(now, at), utc(at)),
        None => "no rate-limit headers seen yet".to_owned(),
    };
    (value, note)
}

/// All the events `t` owes, of which `t.pending` may be one page ([`super::status::page_of`]).
fn pending_total(t: &TargetStatus) -> usize {
    t.pending_total.max(t.pending.len())
}

fn write_pending(out: &mut String, t: &TargetStatus, page: usize, now: DateTime<Utc>) -> fmt::Result {
    let (pending, total) = (&t.pending, pending_total(t));
    writeln!(out, "<h3>Pending events <span class=\"count\">{total}</span></h3>")?;
    if total > pending.len() || page > 1 {
        let first = (page - 1).saturating_mul(PER_PAGE);
        write!(out, "<p class=\"meta\">Showing {}–{} of {total}.", (first + 1).min(total), first + pending.len())?;
        if page > 1 {
            write!(out, " <a href=\"?page={}\">Previous {PER_PAGE}</a>", page - 1)?;
        }
        if first + pending.len() < total {
            write!(out, " <a href=\"?page={}\">Next {PER_PAGE}</a>", page + 1)?;
        }
        out.push_str("</p>\n");
    }
    if pending.is_empty() {
        if total == 0 {
            out.push_str("<p class=\"empty\">Nothing pending.</p>\n");
        }
        return Ok(());
    }
    out.push_str(
        "<table><thead><tr><th>GUID</th><th>Event</th><th class=\"num\">Attempts</th><th class=\"num\">Last status</th>\
         <th>First attempt</th><th>Next redelivery</th></tr></thead><tbody>\n",
    );
    for p in pending {
        write!(out, "<tr><td><code>{}</code></td><td>{}</td>", Esc(&p.guid), event(&p.event, p.action.as_deref()))?;
        write!(out, "<td class=\"num\">{}</td><td class=\"num\">{}</td>", p.attempts, status_code(p.last_status_code))?;
        write!(out, "<td>{}</td>", when(now, p.first_attempt_at))?;
        match p.next_due_at {
            Some(at) if at > now => writeln!(out, "<td>{}</td></tr>", when(now, at))?,
            _ => out.push_str("<td><strong>due now</strong></td></tr>\n"),
        }
    }
    out.push_str("</tbody></table>\n");
    Ok(())
}

fn write_redeliveries(out: &mut String, recent: &VecDeque<RecentRedelivery>, now: DateTime<Utc>) -> fmt::Result {
    writeln!(out, "<h3>Recent redeliveries <span class=\"count\">{}</span></h3>", recent.len())?;
    if recent.is_empty() {
        out.push_str("<p class=\"empty\">No redelivery requested since the daemon started.</p>\n");
        return Ok(());
    }
    out.push_str(
        "<table><thead><tr><th>When</th><th>GUID</th><th>Event</th><th class=\"num\">Delivery id</th>\
         <th>GitHub's answer</th><th>Detail</th></tr></thead><tbody>\n",
    );
    for r in recent {
        let class = match r.answer.as_str() {
            "accepted" => "healthy",
            "refused" => "stale",
            _ => "failing",
        };
        write!(out, "<tr><td>{}</td><td><code>{}</code></td>", when(now, r.at), Esc(&r.guid))?;
        write!(out, "<td>{}</td><td class=\"num\">{}</td>", Esc(&r.event), r.delivery_id)?;
        write!(out, "<td><span class=\"badge {class}\">{}</span></td>", Esc(&r.answer))?;
        writeln!(out, "<td>{}</td></tr>", Esc(r.detail.as_deref().unwrap_or("")))?;
    }
    out.push_str("</tbody></table>\n");
    Ok(())
}

fn write_given_up(out: &mut String, given_up: &VecDeque<GivenUpEvent>, now: DateTime<Utc>) -> fmt::Result {
    writeln!(out, "<h3>Given up <span class=\"count\">{}</span></h3>", given_up.len())?;
    if given_up.is_empty() {
        out.push_str("<p class=\"empty\">No event given up since the daemon started.</p>\n");
        return Ok(());
    }
    out.push_str(
        "<table><thead><tr><th>When</th><th>GUID</th><th>Event</th><th class=\"num\">Attempts</th>\
         <th>Why</th></tr></thead><tbody>\n",
    );
    for g in given_up {
        let why = match g.reason.as_str() {
            "cap" => "attempt cap reached",
            "horizon" => "too old for GitHub to redeliver",
            "outage" => "too old for GitHub to redeliver; the receiver was down",
            other => other,
        };
        write!(out, "<tr><td>{}</td><td><code>{}</code></td>", when(now, g.at), Esc(&g.guid))?;
        writeln!(out, "<td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>", Esc(&g.event), g.attempts, Esc(why))?;
    }
    out.push_str("</tbody></table>\n");
    Ok(())
}

fn write_api(out: &mut String, t: &TargetStatus) -> fmt::Result {
    let total: u64 = t.api_requests.values().sum();
    writeln!(out, "<h3>API requests <span class=\"count\">{}</span></h3>", thousands(total))?;
    if t.api_requests.is_empty() {
        out.push_str("<p class=\"empty\">No request sent yet.</p>\n");
        return Ok(());
    }
    out.push_str("<table class=\"narrow\"><thead><tr><th>Endpoint</th><th>HTTP status</th><th class=\"num\">Requests</th></tr></thead><tbody>\n");
    for (key, n) in &t.api_requests {
        let (endpoint, code) = key.rsplit_once(' ').unwrap_or((key, ""));
        write!(out, "<tr><td><code>{}</code></td><td>{}</td>", Esc(endpoint), Esc(code))?;
        writeln!(out, "<td class=\"num\">{}</td></tr>", thousands(*n))?;
    }
    out.push_str("</tbody></table>\n");
    Ok(())
}

fn event(event: &str, action: Option<&str>) -> String {
    match action {
        Some(a) => format!("{}<span class=\"action\">.{}</span>", Esc(event), Esc(a)),
        None => Esc(event).to_string(),
    }
}

/// GitHub records 0 when it got no HTTP answer at all (timeout, refused connection).
fn status_code(code: i64) -> String {
    if code == 0 { "no answer".to_owned() } else { code.to_string() }
}

/// A table cell's time: relative first (what a reader wants), absolute UTC under it.
pub(super) fn when(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    format!(
        "<time datetime=\"{}\">{}</time><small>{}</small>",
        at.format("%Y-%m-%dT%H:%M:%SZ"),
        relative(now, at),
        utc(at)
    )
}

fn utc(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// "3m 20s ago", "in 9m", "just now".
fn relative(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    let d = at.signed_duration_since(now);
    if d.num_seconds() == 0 {
        "just now".to_owned()
    } else if d < Duration::zero() {
        format!("{} ago", span(-d))
    } else {
        format!("in {}", span(d))
    }
}

/// The two largest units of a duration: precise enough to act on, short enough to read.
fn span(d: Duration) -> String {
    span_secs(d.num_seconds().unsigned_abs())
}

fn span_secs(secs: u64) -> String {
    const UNITS: [(&str, u64); 4] = [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)];
    let i = UNITS.iter().position(|(_, size)| secs >= *size).unwrap_or(UNITS.len() - 1);
    let (unit, size) = UNITS[i];
    let mut text = format!("{}{unit}", secs / size);
    // The next unit down only, and only when it says something: "1h 5m", "1h", never "1h 0m 30s".
    if let Some((next, next_size)) = UNITS.get(i + 1) {
        let n = secs % size / next_size;
        if n > 0 {
            text.push_str(&format!(" {n}{next}"));
        }
    }
    text
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// HTML-escapes a string from the status as it is written.
pub(super) struct Esc<'a>(pub(super) &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

const CSS: &str = r#"
:root {
  --bg: #f4f5f7; --card: #ffffff; --text: #1c2127; --muted: #5d6670; --line: #e2e5e9; --code-bg: #f1f3f5;
  --healthy: #1a7f37; --healthy-bg: #dcf5e3; --starting: #3b63a8; --starting-bg: #e2ebf8;
  --failing: #8a5a00; --failing-bg: #fdf0cf; --stale: #b3261e; --stale-bg: #fbe3e1;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #14171a; --card: #1d2126; --text: #e4e7ea; --muted: #9aa3ad; --line: #30363d; --code-bg: #262b31;
    --healthy: #5cc77a; --healthy-bg: #183524; --starting: #8fb3ee; --starting-bg: #1d2a40;
    --failing: #e3b341; --failing-bg: #3a2e12; --stale: #f2837a; --stale-bg: #40201d;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 28px 40px; }
h1 { font-size: 22px; margin: 0 0 2px; }
h2 { font-size: 20px; margin: 0; display: flex; align-items: center; gap: 12px; }
h3 { font-size: 15px; margin: 22px 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: .05em; }
.meta, .desc, .empty, footer { color: var(--muted); }
.meta { margin: 0 0 14px; font-size: 14px; }
.desc { margin: 4px 0 10px; font-size: 14px; }
.overall { font-size: 18px; font-weight: 600; padding: 10px 16px; border-radius: 8px; margin: 0 0 12px; }
.overall.healthy { background: var(--healthy-bg); color: var(--healthy); }
.overall.starting { background: var(--starting-bg); color: var(--starting); }
.overall.failing { background: var(--failing-bg); color: var(--failing); }
.overall.stale { background: var(--stale-bg); color: var(--stale); }
.overview { background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
.overview a { color: var(--text); font-weight: 600; }
.overview td { white-space: nowrap; }
.overview td.err { color: var(--stale); font-size: 13px; white-space: normal; }
.target { background: var(--card); border: 1px solid var(--line); border-left: 6px solid var(--line);
  border-radius: 8px; padding: 18px 24px 20px; margin: 20px 0; }
.target.healthy { border-left-color: var(--healthy); } .target.starting { border-left-color: var(--starting); }
.target.failing { border-left-color: var(--failing); } .target.stale { border-left-color: var(--stale); }
.lead { margin: 0 0 10px; font-size: 16px; }
.badge { display: inline-block; padding: 1px 10px; border-radius: 999px; font-size: 12px; font-weight: 700;
  letter-spacing: .06em; text-transform: uppercase; white-space: nowrap; }
.badge.healthy { background: var(--healthy-bg); color: var(--healthy); }
.badge.starting { background: var(--starting-bg); color: var(--starting); }
.badge.failing { background: var(--failing-bg); color: var(--failing); }
.badge.stale { background: var(--stale-bg); color: var(--stale); }
.error { background: var(--stale-bg); color: var(--stale); border-radius: 6px; padding: 8px 12px; margin: 10px 0; }
.error pre { margin: 4px 0 0; white-space: pre-wrap; word-break: break-word; font-size: 13px; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 10px; margin: 14px 0 0; }
.figures div { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.figures dt { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .05em; }
.figures dd { margin: 0; font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.figures dd.note { font-size: 12px; font-weight: 400; color: var(--muted); }
.count { display: inline-block; min-width: 22px; padding: 0 6px; border-radius: 10px; background: var(--code-bg);
  color: var(--text); text-align: center; font-size: 12px; letter-spacing: 0; }
table { width: 100%; border-collapse: collapse; font-size: 14px; }
table.narrow { width: auto; min-width: 420px; }
th { text-align: left; font-weight: 600; font-size: 13px; color: var(--muted); border-bottom: 2px solid var(--line);
  padding: 5px 10px; }
td { border-bottom: 1px solid var(--line); padding: 6px 10px; vertical-align: top; }
tbody tr:last-child td { border-bottom: none; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
td small { display: block; color: var(--muted); font-size: 12px; white-space: nowrap; }
th { white-space: nowrap; }
code, pre { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, monospace; font-size: 13px; }
td code { background: var(--code-bg); padding: 1px 5px; border-radius: 4px; white-space: nowrap; }
.action { color: var(--muted); }
.empty { margin: 4px 0; font-style: italic; }
footer { margin-top: 24px; font-size: 13px; }
footer a { color: inherit; }
"#;

#[cfg(test)]
#[path = "page_tests.rs"]
pub(super) mod tests;
