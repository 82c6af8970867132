//! Command-line flags, and the matrix of runs they select.

use anyhow::{Context, bail};
use clap::Parser;

/// Measures redeliver against the simulator: list requests against the minimum, client CPU and
/// peak memory, throughput, and how fast a backlog drains under GitHub's secondary limits.
#[derive(Debug, Parser)]
#[command(name = "redeliver-bench")]
pub struct Args {
    /// A small matrix for a quick look: 10k deliveries at 0.1% and 5% failures, a 300-event drain.
    #[arg(long)]
    pub quick: bool,
    /// Deliveries in the last 24 h, comma-separated (10k, 100k, 1m ...). [default: 10k,100k,1m]
    #[arg(long, value_delimiter = ',')]
    pub sizes: Vec<String>,
    /// Failure rates in percent, comma-separated. [default: 0.1,1,5]
    #[arg(long, value_delimiter = ',')]
    pub failure_rates: Vec<f64>,
    /// What to run, comma-separated: `list` (a dry run: requests, CPU, memory), `post` (a real
    /// pass: one POST per due event), `drain` (a backlog under secondary limits), `outage` (a
    /// receiver down 6, 30 and 60 h, with and without outage awareness). [default: all]
    #[arg(long, value_delimiter = ',')]
    pub modes: Vec<String>,
    /// Failed events in the drain's backlog. [default: 2000; 300 with --quick]
    #[arg(long)]
    pub drain_events: Option<usize>,
    /// How many times faster than real time the drain runs (the simulator's minute lasts
    /// 60 s / N and every pace is divided by N).
    #[arg(long, default_value_t = 20)]
    pub compress: u32,
    /// Seed for the generated histories (GUIDs stay random).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// The runs to make.
#[derive(Debug, Clone)]
pub struct Plan {
    pub sizes: Vec<usize>,
    pub failure_rates: Vec<f64>,
    pub list: bool,
    pub post: bool,
    pub drain: bool,
    pub outage: bool,
    pub drain_events: usize,
    pub compress: u32,
    pub seed: u64,
}

impl Args {
    pub fn plan(&self) -> anyhow::Result<Plan> {
        let sizes = match (&self.sizes[..], self.quick) {
            ([], true) => vec![10_000],
            ([], false) => vec![10_000, 100_000, 1_000_000],
            (given, _) => given.iter().map(|s| parse_size(s)).collect::<anyhow::Result<_>>()?,
        };
        let failure_rates = match (&self.failure_rates[..], self.quick) {
            ([], true) => vec![0.1, 5.0],
            ([], false) => vec![0.1, 1.0, 5.0],
            (given, _) => given.to_vec(),
        };
        if failure_rates.iter().any(|r| !(0.0..=100.0).contains(r)) {
            bail!("--failure-rates are percentages between 0 and 100");
        }
        let modes: Vec<&str> = if self.modes.is_empty() {
            vec!["list", "post", "drain", "outage"]
        } else {
            self.modes.iter().map(String::as_str).collect()
        };
        for m in &modes {
            if !["list", "post", "drain", "outage"].contains(m) {
                bail!("unknown mode '{m}': use list, post, drain or outage");
            }
        }
        Ok(Plan {
            sizes,
            failure_rates,
            list: modes.contains(&"list"),
            post: modes.contains(&"post"),
            drain: modes.contains(&"drain"),
            outage: modes.contains(&"outage"),
            drain_events: self.drain_events.unwrap_or(if self.quick { 300 } else { 2000 }),
            compress: self.compress.max(1),
            seed: self.seed,
        })
    }
}

/// `10k`, `1m`, `250000`.
fn parse_size(text: &str) -> anyhow::Result<usize> {
    let t = text.trim().to_ascii_lowercase();
    let (digits, unit) = match t.strip_suffix('k') {
        Some(d) => (d, 1_000),
        None => match t.strip_suffix('m') {
            Some(d) => (d, 1_000_000),
            None => (t.as_str(), 1),
        },
    };
    let n: usize = digits.parse().with_context(|| format!("'{text}' is not a size such as 10k, 100k or 1m"))?;
    Ok(n * unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10k").unwrap(), 10_000);
        assert_eq!(parse_size("1M").unwrap(), 1_000_000);
        assert_eq!(parse_size("250").unwrap(), 250);
        assert!(parse_size("lots").is_err());
    }
}
