//! The status page's replicas section (PostgreSQL state, issue 13): which replica owns which
//! target, how old each lease is, the take-overs, and whether the database answers.

use super::page::Esc;
use super::status::Replicas;
use std::fmt::{self, Write as _};

pub(super) fn write_replicas(out: &mut String, fleet: &Replicas) -> fmt::Result {
    write!(
        out,
        "<section class=\"replicas\"><h2>Replicas</h2><p class=\"meta\">this replica: <code>{}</code> · state ",
        Esc(&fleet.replica)
    )?;
    writeln!(out, "<code>{}</code></p>", Esc(&fleet.database))?;
    if let Some(error) = &fleet.database_error {
        writeln!(
            out,
            "<div class=\"error\"><strong>The database cannot be reached:</strong><pre>{}</pre></div>",
            Esc(error)
        )?;
    }
    out.push_str(
        "<table><thead><tr><th>Target</th><th>Owner</th><th class=\"num\">Epoch</th><th class=\"num\">Lease age</th>\
         <th class=\"num\">Expires in</th><th class=\"num\">Failovers</th></tr></thead><tbody>\n",
    );
    for l in &fleet.leases {
        let owner = match (&l.owner, l.mine) {
            (Some(o), true) => format!("{} (this replica)", Esc(o)),
            (Some(o), false) => Esc(o).to_string(),
            (None, _) => "nobody".to_owned(),
        };
        write!(out, "<tr><td>{}</td><td>{owner}</td><td class=\"num\">{}</td>", Esc(&l.target), l.epoch)?;
        writeln!(
            out,
            "<td class=\"num\">{:.0}s</td><td class=\"num\">{:.0}s</td><td class=\"num\">{}</td></tr>",
            l.age_seconds.max(0.0),
            l.expires_in_seconds,
            l.failovers
        )?;
    }
    out.push_str("</tbody></table></section>\n");
    Ok(())
}
