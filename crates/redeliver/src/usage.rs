//! This process's peak memory and CPU time, read from `/proc/self` (Linux only).

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Peak resident set size (`VmHWM`), in KiB.
    pub peak_rss_kb: u64,
    pub cpu_user_ms: u64,
    pub cpu_system_ms: u64,
}

impl Usage {
    pub fn of_this_process() -> Option<Self> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        parse(&status, &stat, clock_ticks())
    }
}

/// `sysconf(_SC_CLK_TCK)` is 100 on every Linux this runs on; reading it needs libc.
fn clock_ticks() -> u64 {
    100
}

fn parse(status: &str, stat: &str, ticks: u64) -> Option<Usage> {
    let peak_rss_kb = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.split_whitespace().next()?.parse().ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks_to_ms = |t: &str| t.parse::<u64>().ok().map(|t| t * 1000 / ticks);
    Some(Usage {
        peak_rss_kb,
        cpu_user_ms: ticks_to_ms(fields.get(11)?)?,
        cpu_system_ms: ticks_to_ms(fields.get(12)?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        let status = "Name:\tredeliver\nVmPeak:\t  9000 kB\nVmHWM:\t    4321 kB\n";
        let stat = "1234 (re deliver) S 1 2 3 4 5 6 7 8 9 10 250 30 0 0 20 0 1 0";
        assert_eq!(parse(status, stat, 100), Some(Usage { peak_rss_kb: 4321, cpu_user_ms: 2500, cpu_system_ms: 300 }));
        assert_eq!(parse("nothing", stat, 100), None);
        assert!(Usage::of_this_process().is_some_and(|u| u.peak_rss_kb > 0));
    }
}
