//! The budget is counted per credential, not per discovery target: targets that sign in with
//! the same token share one budget (their refreshes and redeliveries add up against it) and
//! one view of its `x-ratelimit-*`; another token has its own.

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
