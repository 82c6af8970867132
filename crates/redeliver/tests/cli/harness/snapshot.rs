//! What changes from one run to the next, taken out of output before it is compared to a
//! committed snapshot: times, ports, the temp dir, durations, request ids, this process's CPU and
//! memory, and delivery ids (which the simulator derives from the time).

use super::App;

/// Regex filters for insta, applied to the text after [`App::normalize`].
const FILTERS: [(&str, &str); 6] = [
    (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", "[time]"),
    (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
    // `Human` durations as the summary prints them, e.g. `(in 29m59s)`.
    (r"\(in (\d+[dhms])+\)", "(in [duration])"),
    (r"[0-9A-F]{4}:[0-9A-F]{4}:[0-9A-F]{6}:[0-9A-F]{6}:[0-9A-F]{8}", "[request-id]"),
    // Delivery ids the test did not name (the simulator derives them from the time).
    (r"\b\d{11,}\b", "[id]"),
    (r#""(peak_rss_kb|cpu_user_ms|cpu_system_ms)": \d+"#, r#""$1": "[n]""#),
];

/// Insta settings with [`FILTERS`]; snapshots live in `tests/cli/snapshots`.
pub fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    for (pattern, replacement) in FILTERS {
        settings.add_filter(pattern, replacement);
    }
    settings.set_prepend_module_to_snapshot(false);
    settings
}

impl App {
    /// `text` with the temp dir written as `[dir]` and each `(value, label)` pair's value (e.g. a
    /// delivery id) written as `[label]`.
    pub fn normalize(&self, text: &str, labels: &[(String, String)]) -> String {
        let mut text = text.replace(&self.dir.path().display().to_string(), "[dir]");
        for (value, label) in labels {
            text = text.replace(value, &format!("[{label}]"));
        }
        text
    }
}
