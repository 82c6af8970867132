//! An organization's discovered hooks, shared by the replicas (issues 13 and 14): one replica
//! at a time lists an organization, the one that holds the source's lease, and writes the hooks
//! it kept here; the others read them instead of listing the organization themselves, so the
//! fleet spends one listing per refresh, as a single `watch` does.
//!
//! The write is fenced like a redelivery's: it lands only while the writer's lease on the
//! source is live. A replica that lost it (paused, cut off) cannot overwrite a newer listing
//! with its older one.

use super::{At, PgError, PgLedger};
use crate::github::HookTarget;
use serde::{Deserialize, Serialize};

/// What one listing of a source kept, as its lister writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub hooks: Vec<HookTarget>,
    pub repos_listed: u64,
    pub repos_kept: u64,
    /// Rate-limited requests the listing spent: every replica reserves its share of them.
    pub points: u64,
}

/// A source's last listing as the database holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Shared {
    pub source: String,
    pub listing: Listing,
    /// The replica that listed it.
    pub lister: String,
    /// Grows by one at every write: a reader adopts a generation it has not seen yet.
    pub generation: i64,
    /// Seconds since it was listed, on the database's clock (so the next refresh is due at the
    /// same time for every replica, whatever their clocks say).
    pub age_seconds: f64,
}

/// One hook as stored: a JSON array of these (the App's own hook is never discovered).
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Stored {
    Repo { owner: String, repo: String, hook_id: u64 },
    Org { org: String, hook_id: u64 },
}

fn encode(hooks: &[HookTarget]) -> String {
    let rows: Vec<Stored> = hooks
        .iter()
        .filter_map(|h| match h {
            HookTarget::Repo { owner, repo, hook_id } => {
                Some(Stored::Repo { owner: owner.clone(), repo: repo.clone(), hook_id: *hook_id })
            }
            HookTarget::Org { org, hook_id } => Some(Stored::Org { org: org.clone(), hook_id: *hook_id }),
            HookTarget::App => None,
        })
        .collect();
    serde_json::to_string(&rows).unwrap_or_else(|_| "[]".into())
}

fn decode(text: &str) -> Result<Vec<HookTarget>, serde_json::Error> {
    let rows: Vec<Stored> = serde_json::from_str(text)?;
    Ok(rows
        .into_iter()
        .map(|r| match r {
            Stored::Repo { owner, repo, hook_id } => HookTarget::Repo { owner, repo, hook_id },
            Stored::Org { org, hook_id } => HookTarget::Org { org, hook_id },
        })
        .collect())
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl PgLedger {
    /// Writes `source`'s listing if `owner` still holds the source's lease (its key is
    /// `source`); returns the new generation, or `None` when the lease is no longer its own
    /// (nothing written: the holder's listing stands).
    pub fn publish_discovery(&self, owner: &str, source: &str, listing: &Listing) -> Result<Option<i64>, PgError> {
        let hooks = encode(&listing.hooks);
        let (listed, kept, points) = (count(listing.repos_listed), count(listing.repos_kept), count(listing.points));
        self.run(|c, s| {
            let row = c
                .query_opt(
                    "INSERT INTO discoveries (source, hooks, repos_listed, repos_kept, points, lister, generation, listed_at)
                     SELECT $1, $2, $3, $4, $5, $6, 1, now()
                     WHERE EXISTS (SELECT 1 FROM leases WHERE target = $1 AND owner = $6 AND expires_at > now())
                     ON CONFLICT (source) DO UPDATE SET hooks = excluded.hooks, repos_listed = excluded.repos_listed,
                         repos_kept = excluded.repos_kept, points = excluded.points, lister = excluded.lister,
                         generation = discoveries.generation + 1, listed_at = now()
                     RETURNING generation",
                    &[&source, &hooks, &listed, &kept, &points, &owner],
                )
                .at(s)?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    /// The last listing of each of `sources` that has one (of every source when empty).
    pub fn discoveries(&self, sources: &[String]) -> Result<Vec<Shared>, PgError> {
        let sources = sources.to_vec();
        self.run(|c, s| {
            let rows = c
                .query(
                    "SELECT source, hooks, repos_listed, repos_kept, points, lister, generation,
                            extract(epoch FROM now() - listed_at)::float8
                     FROM discoveries WHERE cardinality($1::text[]) = 0 OR source = ANY($1) ORDER BY source",
                    &[&sources],
                )
                .at(s)?;
            rows.iter()
                .map(|r| {
                    let source: String = r.get(0);
                    let text: String = r.get(1);
                    let hooks = decode(&text).map_err(|e| PgError::Sql {
                        at: s.to_string(),
                        detail: format!("the discovered hooks of {source} cannot be read: {e}"),
                        closed: false,
                    })?;
                    let n = |i: usize| u64::try_from(r.get::<_, i64>(i)).unwrap_or(0);
                    Ok(Shared {
                        listing: Listing { hooks, repos_listed: n(2), repos_kept: n(3), points: n(4) },
                        source,
                        lister: r.get(5),
                        generation: r.get(6),
                        age_seconds: r.get(7),
                    })
                })
                .collect()
        })
    }
}
