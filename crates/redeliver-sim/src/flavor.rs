//! Which GitHub the simulator plays: github.com or GitHub Enterprise Server, which differ in how
//! long deliveries are kept and how long a receiver may take to answer.
//!
//! Retention: "You can redeliver webhook deliveries that occurred in the past 3 days" on
//! github.com, 7 on GHES (GitHub Docs, `data/variables/webhooks.yml`: `retention`). Timeout:
//! "Respond within 10 seconds" on github.com, 30 on GHES
//! (<https://docs.github.com/webhooks/using-webhooks/best-practices-for-using-webhooks>).

use std::time::Duration;

/// github.com or GitHub Enterprise Server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `https://api.github.com`: 3-day retention, 10 s receiver timeout.
    GitHubCom,
    /// `https://HOST/api/v3`: 7-day retention, 30 s receiver timeout, and the
    /// `X-GitHub-Enterprise-*` headers on webhook POSTs.
    Ghes,
}

/// The GHES version a simulated Enterprise Server reports in `X-GitHub-Enterprise-Version`.
pub(crate) const GHES_VERSION: &str = "3.17.0";

impl Flavor {
    /// How long deliveries are listed and may be redelivered.
    pub fn retention(self) -> chrono::Duration {
        match self {
            Flavor::GitHubCom => chrono::Duration::days(3),
            Flavor::Ghes => chrono::Duration::days(7),
        }
    }

    /// How long a receiver may take before the attempt is recorded as `timed out`.
    pub fn receiver_timeout(self) -> Duration {
        match self {
            Flavor::GitHubCom => Duration::from_secs(10),
            Flavor::Ghes => Duration::from_secs(30),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ghes_keeps_deliveries_longer_and_waits_longer_for_receivers() {
        assert_eq!(Flavor::GitHubCom.retention(), chrono::Duration::days(3));
        assert_eq!(Flavor::Ghes.retention(), chrono::Duration::days(7));
        assert_eq!(Flavor::GitHubCom.receiver_timeout(), Duration::from_secs(10));
        assert_eq!(Flavor::Ghes.receiver_timeout(), Duration::from_secs(30));
    }
}
