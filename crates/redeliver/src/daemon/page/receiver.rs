//! The status page's receiver section (issue 11): the hook's health as of the last poll and its
//! outage timeline, newest first.

use super::{Esc, utc, when};
use crate::daemon::status::TargetStatus;
use crate::report::human_duration;
use chrono::{DateTime, Utc};
use std::fmt::{self, Write as _};

pub(super) fn write_receiver(out: &mut String, t: &TargetStatus, now: DateTime<Utc>) -> fmt::Result {
    let Some(r) = &t.receiver else { return Ok(()) };
    out.push_str("<h3>Receiver</h3>\n<p class=\"receiver\">");
    match (r.state, r.since) {
        ("down", Some(since)) => write!(
            out,
            "<strong>Down</strong> since {} ({}): {} events waiting, nothing lost; {} canaries sent.",
            utc(since),
            when(now, since),
            r.events_waiting,
            r.canaries
        )?,
        ("draining", Some(since)) => write!(
            out,
            "<strong>Back up</strong> after an outage since {}: {} events of its backlog still owed.",
            utc(since),
            r.events_waiting
        )?,
        _ => out.push_str("Up."),
    }
    writeln!(out, " {} outages since the daemon started.</p>", t.outages_total)?;
    if t.outages.is_empty() && r.state != "down" {
        return Ok(());
    }
    out.push_str(
        "<table><thead><tr><th>Outage from</th><th>To</th><th>Lasted</th><th class=\"num\">Recovered</th>\
         <th class=\"num\">Given up</th></tr></thead><tbody>\n",
    );
    if let (Some(since), "down") = (r.since, r.state) {
        let lasted = human_duration((now - since).num_seconds());
        writeln!(
            out,
            "<tr><td>{}</td><td>ongoing</td><td>{}</td><td class=\"num\">…</td><td class=\"num\">…</td></tr>",
            utc(since),
            Esc(&lasted)
        )?;
    }
    for o in &t.outages {
        write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td>",
            utc(o.since),
            utc(o.ended),
            Esc(&human_duration(o.seconds))
        )?;
        writeln!(out, "<td class=\"num\">{}</td><td class=\"num\">{}</td></tr>", o.recovered, o.given_up)?;
    }
    out.push_str("</tbody></table>\n");
    Ok(())
}
