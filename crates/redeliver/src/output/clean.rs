//! Network strings made safe to show: a delivery's `status`, `event`, `action`, GUID and
//! GitHub's messages come from a server, so a newline in them must not start a line of our own
//! (an Actions runner reads `::error ::…` lines from stdout as commands) and an ANSI escape must
//! not reach a terminal. Each function fits one destination.

use std::borrow::Cow;
use std::fmt::Write as _;

/// One field of a human line: every control character (newlines, tabs, ESC, DEL, C1) written as
/// a visible escape (`\n`, `\u{1b}`), so the field stays on its line and colours nothing.
pub fn field(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out, "{}", c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A multi-line human text (an error and its causes): line ends kept, every other control
/// character escaped as in [`field`].
pub fn lines(text: &str) -> String {
    text.split('\n')
        .map(|line| field(line.strip_suffix('\r').unwrap_or(line)).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The message of a workflow command, escaped as GitHub's runner expects (`%` → `%25`, CR →
/// `%0D`, LF → `%0A`), other control characters escaped as in [`field`]:
/// <https://github.com/actions/toolkit/blob/main/packages/core/src/command.ts>. (Our commands'
/// properties, `title=…`, are fixed words: no network text goes there.)
pub fn workflow_data(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c if c.is_control() => {
                let _ = write!(out, "{}", c.escape_debug());
            }
            c => out.push(c),
        }
    }
    out
}

/// A cell of a Markdown table in the job summary: `|` escaped (it would start a new cell),
/// line ends as spaces (they would end the table), backticks escaped (they would open code),
/// `<` as `&lt;` (it would open HTML), other control characters dropped.
pub fn markdown_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '`' => out.push_str("\\`"),
            '<' => out.push_str("&lt;"),
            '\\' => out.push_str("\\\\"),
            '\r' | '\n' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "x\n::error ::pwned\u{1b}[31m";

    #[test]
    fn a_field_keeps_to_its_line_and_colours_nothing() {
        assert_eq!(field("502 Bad Gateway"), "502 Bad Gateway");
        let shown = field(HOSTILE);
        assert_eq!(shown, "x\\n::error ::pwned\\u{1b}[31m");
        assert!(!shown.contains('\n') && !shown.contains('\u{1b}'));
        assert_eq!(field("a\u{9b}b\u{7f}"), "a\\u{9b}b\\u{7f}");
    }

    #[test]
    fn lines_keep_their_ends_only() {
        assert_eq!(lines("error: a\r\n  caused by: b\u{1b}[0m"), "error: a\n  caused by: b\\u{1b}[0m");
    }

    #[test]
    fn workflow_commands_are_escaped_as_github_documents() {
        assert_eq!(workflow_data("100%\r\nnext"), "100%25%0D%0Anext");
        assert_eq!(workflow_data(HOSTILE), "x%0A::error ::pwned\\u{1b}[31m");
    }

    #[test]
    fn markdown_cells_cannot_leave_their_cell() {
        assert_eq!(markdown_cell("a|b\nc`d<script>\u{1b}"), "a\\|b c\\`d&lt;script>");
        assert_eq!(markdown_cell("pull_request.opened"), "pull_request.opened");
    }
}
