//! The budget is counted per credential, not per discovery target: targets that sign in with
//! the same token share one budget (their refreshes and redeliveries add up against it) and
//! one view of its `x-ratelimit-*`; another token has its own. With several replicas
//! (PostgreSQL state) each plans only the hooks it holds, on its part of that budget.

use super::*;
use crate::cli::WatchArgs;
use crate::config::{Env, resolve_watch};

fn fleet(tokens: [&str; 3]) -> Fleet {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.toml");
    let mut text = String::new();
    for (i, (org, var)) in [("acme", "A"), ("globex", "B"), ("initech", "C")].iter().enumerate() {
        text.push_str(&format!(
            "[[target]]\nname = \"t{i}\"\nkind = \"org-repo-hooks\"\norg = \"{org}\"\ntoken_env = \"{var}\"\n"
        ));
    }
    std::fs::write(&path, text).unwrap();
    let mut args = WatchArgs::default();
    args.target.config = Some(path);
    let env = Env::with(&[("A", tokens[0]), ("B", tokens[1]), ("C", tokens[2])], None);
    let settings = resolve_watch(&args, &env, Utc::now()).unwrap_or_else(|f| panic!("{:#}", f.error));
    Fleet::new(0, settings.run.discovery, settings.fleet, Duration::from_secs(60))
}

#[test]
fn targets_on_one_token_share_one_budget() {
    let mut f = fleet(["ghp_shared", "ghp_shared", "ghp_other"]);
    assert_eq!(f.credential, [0, 0, 1]);
    for s in &mut f.sources {
        s.refresh_points = 360; // every hour by default: 360 points an hour each
    }
    let budgets = f.budgets();
    assert_eq!(budgets.len(), 2);
    assert_eq!(budgets[0].reserved_per_hour, 720.0, "both targets' refreshes count against the shared token");
    assert_eq!(budgets[1].reserved_per_hour, 360.0);
    // What one target's answers say of the token, the other target on it knows too.
    (f.sources[1].remaining, f.sources[1].limit) = (Some(1234), Some(5000));
    f.share_rate(1);
    assert_eq!((f.sources[0].remaining, f.sources[2].remaining), (Some(1234), None));
    assert_eq!(f.holds(Utc::now()).len(), 2);
}

/// Three sources on one token, with `n` hooks polled a minute ago; this replica holds the keys
/// `mine` picks (all of them when `None`) among `replicas` live ones.
fn shared_fleet(n: usize, mine: Option<fn(usize) -> bool>, replicas: usize) -> Fleet {
    let mut f = fleet(["ghp_shared", "ghp_shared", "ghp_shared"]);
    let polled = Utc::now() - chrono::Duration::minutes(1);
    for k in 0..n {
        let mut m = Member::new(k % 3, format!("repo:acme/svc-{k}#{k}@https://api.github.com"));
        m.last_poll = Some(polled);
        f.members.push(m);
    }
    f.mine =
        mine.map(|pick| f.members.iter().enumerate().filter(|(k, _)| pick(*k)).map(|(_, m)| m.key.clone()).collect());
    f.replicas = replicas;
    f
}

#[test]
fn a_replica_schedules_only_the_hooks_it_holds() {
    let mut f = shared_fleet(10, Some(|k| k % 2 == 0), 2);
    let plan = f.plan(Utc::now());
    assert_eq!(plan.iter().map(|(m, _)| *m).collect::<Vec<_>>(), [0, 2, 4, 6, 8], "the held hooks, and only them");
    for (k, m) in f.members.iter().enumerate() {
        assert_eq!(m.next_poll.is_some(), k % 2 == 0, "hook {k}: nothing is scheduled for another replica's");
    }
    let alone = shared_fleet(10, None, 1).plan(Utc::now());
    assert_eq!(alone.len(), 10, "a file state's watch holds every hook");
}

#[test]
fn replicas_on_one_token_split_its_budget_and_hold_back_what_one_would() {
    let mut two = shared_fleet(30, Some(|k| k < 15), 2);
    let mut one = shared_fleet(30, None, 1);
    for f in [&mut one, &mut two] {
        for s in &mut f.sources {
            s.refresh_points = 360;
            (s.remaining, s.limit) = (Some(4000), Some(5000));
        }
    }
    // The gate reads the credential's remaining, which both spend: each holds back its own
    // reserve times the replicas, which is what one watch over every hook holds back.
    let now = Utc::now();
    let held = one.holds(now)[0];
    assert!(held > 0.0);
    assert_eq!(two.holds(now)[0], held);
    for f in [&mut one, &mut two] {
        f.sources[0].posts.push_back(now);
    }
    let (b1, b2) = (one.budgets()[0], two.budgets()[0]);
    assert_eq!(b2.limit_per_hour * 2.0, b1.limit_per_hour, "each of two replicas plans on half the limit");
    // The refreshes (one lister for the fleet) split too; a replica's own redeliveries do not.
    assert_eq!(b1.reserved_per_hour, 3.0 * 360.0 + 1.0);
    assert_eq!(b2.reserved_per_hour, 3.0 * 360.0 / 2.0 + 1.0);
}

#[test]
fn a_source_s_listing_lease_is_named_by_what_it_selects() {
    let key = |tokens| {
        let f = fleet(tokens);
        f.sources.iter().map(|s| s.key.clone()).collect::<Vec<_>>()
    };
    let (k1, k2) = (key(["ghp_a", "ghp_b", "ghp_c"]), key(["ghp_x", "ghp_y", "ghp_z"]));
    assert_eq!(k1, k2, "the same config names the same leases on every replica, whatever the secrets");
    assert!(k1[0].starts_with("discovery:t0@https://api.github.com#"), "{}", k1[0]);
    assert_eq!(k1.iter().collect::<std::collections::BTreeSet<_>>().len(), 3, "one lease per source");
}
