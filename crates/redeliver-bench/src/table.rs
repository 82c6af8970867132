//! What the benchmark prints: the machine, then Markdown tables (pasted into docs/benchmarks.md).

use crate::child::ClientRun;
use crate::history::Generated;

/// The client's cost in one run, from its report and the simulator's request log.
#[derive(Debug, Clone)]
pub struct Measured {
    pub list_requests: u64,
    pub posts: u64,
    pub pages_reported: u64,
    pub deliveries_read: u64,
    pub cpu_ms: u64,
    pub peak_rss_kb: u64,
    pub wall_seconds: f64,
    pub exit_code: i32,
}

impl Measured {
    pub fn from_run(run: &ClientRun, list_requests: u64, posts: u64) -> Measured {
        Measured {
            list_requests,
            posts,
            pages_reported: run.number("counts.pages"),
            deliveries_read: run.number("counts.deliveries_read"),
            cpu_ms: run.number("process.cpu_user_ms") + run.number("process.cpu_system_ms"),
            peak_rss_kb: run.number("process.peak_rss_kb"),
            wall_seconds: run.wall.as_secs_f64(),
            exit_code: run.exit_code,
        }
    }
}

/// One history: what was generated, and the two runs over it.
#[derive(Debug, Clone)]
pub struct ListRow {
    pub size: usize,
    pub rate: f64,
    pub generated: Generated,
    pub dry: Option<Measured>,
    pub real: Option<Measured>,
}

impl ListRow {
    pub fn new(size: usize, rate: f64, generated: &Generated) -> ListRow {
        ListRow { size, rate, generated: generated.clone(), dry: None, real: None }
    }
}

pub fn machine() {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_owned()))
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    println!("machine: {cores} cores ({model}), {:.1} GiB memory", mem_kb as f64 / 1024.0 / 1024.0);
    println!();
}

pub fn list_header() {
    println!("## Listing: one pass over N deliveries of the last 24 h (plus N/10 older ones)");
    println!();
    println!(
        "| deliveries in window | failed events | run | list requests (minimum) | POSTs (minimum) | client CPU ms | client peak RSS MiB | deliveries/s | wall s | world build s |"
    );
    println!("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
}

pub fn list_row(row: &ListRow) {
    let g = &row.generated;
    for (name, m, min_posts) in [("dry run", &row.dry, 0), ("redeliver", &row.real, g.due)] {
        let Some(m) = m else { continue };
        println!(
            "| {} | {} ({}%) | {name} | {} ({}) | {} ({}) | {} | {:.1} | {:.0} | {:.2} | {:.1} |",
            g.in_window,
            g.failed,
            row.rate,
            m.list_requests,
            g.min_list_requests,
            m.posts,
            min_posts,
            m.cpu_ms,
            m.peak_rss_kb as f64 / 1024.0,
            m.deliveries_read as f64 / m.wall_seconds.max(1e-9),
            m.wall_seconds,
            g.build_seconds,
        );
    }
}

pub fn list_notes(rows: &[ListRow]) {
    println!();
    let off: Vec<String> = rows
        .iter()
        .flat_map(|r| {
            [("dry run", &r.dry, 0), ("redeliver", &r.real, r.generated.due)].into_iter().filter_map(
                move |(name, m, min)| {
                    let m = m.as_ref()?;
                    (m.list_requests != r.generated.min_list_requests || m.posts != min as u64).then(|| {
                        format!(
                            "{} deliveries at {}% ({name}): {} list requests and {} POSTs, minimum {} and {}",
                            r.size, r.rate, m.list_requests, m.posts, r.generated.min_list_requests, min
                        )
                    })
                },
            )
        })
        .collect();
    for r in rows {
        for m in [&r.dry, &r.real].into_iter().flatten() {
            if m.pages_reported != m.list_requests {
                println!(
                    "- {} deliveries: the client reported {} pages, the simulator answered {} list requests",
                    r.size, m.pages_reported, m.list_requests
                );
            }
            if m.exit_code != 0 {
                println!("- {} deliveries at {}%: redeliver exited {}", r.size, r.rate, m.exit_code);
            }
        }
    }
    if let Some(r) = rows.first() {
        println!(
            "Each history also holds {} older deliveries per {} in the window (25 h to 71 h old), which a pass must not read beyond the first page of.",
            r.generated.tail, r.generated.in_window
        );
    }
    if off.is_empty() {
        println!("Every run made exactly the minimum number of list requests and POSTs.");
    } else {
        println!("Runs above the minimum:");
        for line in off {
            println!("- {line}");
        }
    }
    println!();
}

pub fn drain_header(events: usize, compress: u32) {
    println!("## Drain: {events} due events, GitHub's secondary limits, time compressed {compress}x");
    println!();
    println!(
        "| limits | pace | redelivered | refused (403) | redeliveries/min (GitHub time) | drain time (GitHub time) | wall s |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
}

#[derive(Debug, Clone)]
pub struct DrainRow {
    pub limits: &'static str,
    pub pace: String,
    pub redelivered: u64,
    pub refused: u64,
    pub wall_seconds: f64,
    pub compress: u32,
}

pub fn drain_row(r: &DrainRow) {
    let github_seconds = r.wall_seconds * f64::from(r.compress);
    println!(
        "| {} | {} | {} | {} | {:.1} | {} | {:.1} |",
        r.limits,
        r.pace,
        r.redelivered,
        r.refused,
        r.redelivered as f64 / (github_seconds / 60.0).max(1e-9),
        human(github_seconds),
        r.wall_seconds,
    );
}

fn human(seconds: f64) -> String {
    let s = seconds.round() as u64;
    if s >= 60 { format!("{}m{:02}s", s / 60, s % 60) } else { format!("{s}s") }
}
