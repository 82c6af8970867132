//! Discovered hooks shared through the database, against the test server: only the holder of a
//! source's lease writes its listing, every replica reads it back whole, and a replica that
//! lost the lease cannot overwrite the new holder's listing. Expiry is forced on the database.

use super::discovery::Listing;
use super::{At as _, PgLedger, testing};
use crate::github::HookTarget;
use std::time::Duration;

const TTL: Duration = Duration::from_secs(30);
const SOURCE: &str = "discovery:acme-ci@http://127.0.0.1";

fn listing(ids: &[u64]) -> Listing {
    let mut hooks: Vec<HookTarget> = ids
        .iter()
        .map(|&id| HookTarget::Repo { owner: "acme".into(), repo: format!("svc-{id}"), hook_id: id })
        .collect();
    hooks.push(HookTarget::Org { org: "acme".into(), hook_id: 9 });
    Listing { hooks, repos_listed: 300, repos_kept: ids.len() as u64, points: 42 }
}

#[test]
fn only_the_source_s_holder_writes_its_listing_and_every_replica_reads_it() {
    let at = testing::fresh();
    let (a, b) = (PgLedger::open(&at).unwrap(), PgLedger::open(&at).unwrap());
    let sources = vec![SOURCE.to_string()];
    assert!(a.discoveries(&sources).unwrap().is_empty(), "nothing listed yet");
    assert_eq!(a.claim("a", &sources, TTL).unwrap().held.len(), 1);
    assert!(b.claim("b", &sources, TTL).unwrap().held.is_empty(), "one lister at a time");
    assert_eq!(b.publish_discovery("b", SOURCE, &listing(&[1])).unwrap(), None, "b does not hold it: not written");
    assert_eq!(a.publish_discovery("a", SOURCE, &listing(&[1, 2])).unwrap(), Some(1));
    let seen = b.discoveries(&sources).unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].listing, listing(&[1, 2]), "read back whole, organization hooks included");
    assert_eq!((seen[0].lister.as_str(), seen[0].generation), ("a", 1));
    assert!((0.0..30.0).contains(&seen[0].age_seconds), "{}", seen[0].age_seconds);
    assert_eq!(a.publish_discovery("a", SOURCE, &listing(&[3])).unwrap(), Some(2), "a new generation each time");
    assert_eq!(b.discoveries(&sources).unwrap()[0].listing.hooks.len(), 2);
}

#[test]
fn a_lister_that_lost_the_source_s_lease_cannot_overwrite_the_new_one() {
    let at = testing::fresh();
    let (a, b) = (PgLedger::open(&at).unwrap(), PgLedger::open(&at).unwrap());
    let sources = vec![SOURCE.to_string()];
    a.claim("a", &sources, TTL).unwrap();
    // a stops renewing (frozen); b takes the source over and lists it.
    a.run(|c, s| c.execute("UPDATE leases SET expires_at = now() - interval '1 second' WHERE owner = 'a'", &[]).at(s))
        .unwrap();
    assert_eq!(b.claim("b", &sources, TTL).unwrap().held.len(), 1);
    assert_eq!(b.publish_discovery("b", SOURCE, &listing(&[7])).unwrap(), Some(1));
    assert_eq!(a.publish_discovery("a", SOURCE, &listing(&[1])).unwrap(), None, "a's stale listing is refused");
    let seen = a.discoveries(&sources).unwrap();
    assert_eq!((seen[0].lister.as_str(), seen[0].listing.clone()), ("b", listing(&[7])));
}
