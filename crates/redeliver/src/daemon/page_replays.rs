//! The status page's section on direct delivery (issue 12): how many events were posted
//! straight to the receiver and with what answer, how many are still owed, the last failure,
//! and the recent posts. Shown only for a target that has done or owes any.

use super::page::{Esc, when};
use super::status::TargetStatus;
use chrono::{DateTime, Utc};
use std::fmt::{self, Write as _};

pub fn write_replays(out: &mut String, t: &TargetStatus, now: DateTime<Utc>) -> fmt::Result {
    let posted: u64 = t.replays.values().sum();
    if posted == 0 && t.replays_owed == 0 && t.replays_uncertain == 0 {
        return Ok(());
    }
    let n = |answer: &str| t.replays.get(answer).copied().unwrap_or(0);
    writeln!(out, "<h3>Direct deliveries <span class=\"count\">{posted}</span></h3>")?;
    write!(
        out,
        "<p>Posted straight to the receiver since start: {} delivered, {} refused, {} unreachable. \
         Still owed: {}.",
        n("delivered"),
        n("refused"),
        n("unreachable"),
        t.replays_owed
    )?;
    if t.replays_uncertain > 0 {
        write!(
            out,
            " {} written down and never completed (the process was killed): not sent again.",
            t.replays_uncertain
        )?;
    }
    if let Some(at) = t.last_replay_at {
        write!(out, " Last post {}.", when(now, at))?;
    }
    out.push_str("</p>\n");
    if let Some(f) = &t.last_replay_failure {
        let status = f.status.map(|s| format!("HTTP {s}")).unwrap_or_else(|| f.answer.clone());
        let detail = f.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
        writeln!(
            out,
            "<div class=\"error\"><strong>Last failure</strong> {}: <code>{}</code> {}{}</div>",
            when(now, f.at),
            Esc(&f.guid),
            Esc(&status),
            Esc(&detail)
        )?;
    }
    out.push_str(
        "<table><thead><tr><th>When</th><th>GUID</th><th>Event</th><th>Why owed</th>\
         <th>Receiver's answer</th><th>Detail</th></tr></thead><tbody>\n",
    );
    for r in &t.recent_replays {
        let class = if r.answer == "delivered" { "healthy" } else { "failing" };
        let answer = r.status.map(|s| format!("{} ({s})", r.answer)).unwrap_or_else(|| r.answer.clone());
        write!(out, "<tr><td>{}</td><td><code>{}</code></td>", when(now, r.at), Esc(&r.guid))?;
        write!(out, "<td>{}</td><td>{}</td>", Esc(&r.event), Esc(&r.reason))?;
        write!(out, "<td><span class=\"badge {class}\">{}</span></td>", Esc(&answer))?;
        writeln!(out, "<td>{}</td></tr>", Esc(r.detail.as_deref().unwrap_or("")))?;
    }
    out.push_str("</tbody></table>\n");
    Ok(())
}
