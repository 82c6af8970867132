//! A world ready to be tried by hand (`redeliver sim`): an App installed on an organization, a
//! repository hook and an organization hook, a user token, and a realistic history on each hook.

use crate::history_gen::{self, HistoryPlan, HookKind};
use crate::keys;
use crate::world::{HookId, World};
use chrono::{DateTime, Duration, Utc};

/// The seeded App's id and client id.
pub const APP_ID: u64 = 1_234_567;
pub const CLIENT_ID: &str = "Iv23liSimulatedApp01";
/// The organization the App is installed on, which owns the hooked repository.
pub const ORG: &str = "octo-org";
pub const REPO: &str = "website";

/// Every credential and hook of a seeded world.
#[derive(Clone, Debug)]
pub struct Seeded {
    pub app_id: u64,
    pub client_id: String,
    pub app_hook: HookId,
    pub installation_id: i64,
    pub org: String,
    pub repo_owner: String,
    pub repo: String,
    pub repo_hook: HookId,
    pub org_hook: HookId,
    /// A personal access token accepted on the repository and organization endpoints.
    pub user_token: String,
    /// GUIDs of the events with no successful attempt, on all three hooks.
    pub failed: Vec<String>,
}

/// A fresh `ghp_` token, so that no two seeded simulators share one.
fn user_token() -> String {
    let body: String = (0..36).map(|_| fastrand::alphanumeric()).collect();
    format!("ghp_{body}")
}

/// Seeds `world`: the App (whose JWTs verify with [`keys::TEST_APP_PUBLIC_KEY`]), its
/// installation on [`ORG`], a hook on [`ORG`]/[`REPO`] and one on [`ORG`], all delivering to
/// `receiver_url`, each with 3 hours of history holding `failed` failed events.
pub fn seed(world: &World, receiver_url: &str, failed: usize, now: DateTime<Utc>, seed: u64) -> Seeded {
    let app_hook = world.add_app(APP_ID, CLIENT_ID, keys::TEST_APP_PUBLIC_KEY, receiver_url, None);
    let installation_id = world.add_installation(APP_ID, ORG);
    let repo_hook = world.add_repo_hook(ORG, REPO, receiver_url, None);
    let org_hook = world.add_org_hook(ORG, receiver_url, None);
    let user_token = user_token();
    world.add_token(&user_token);
    let kinds = [
        (app_hook, HookKind::App { installation_id }),
        (repo_hook, HookKind::Repo { repository_id: world.repository_id(ORG, REPO) }),
        (org_hook, HookKind::Org),
    ];
    let mut all_failed = Vec::new();
    for (i, (hook, kind)) in kinds.into_iter().enumerate() {
        let plan = HistoryPlan {
            kind,
            events: (failed * 5).max(10),
            failed,
            span: Duration::hours(3),
            now,
            outage: None,
            seed: seed.wrapping_add(i as u64),
        };
        all_failed.extend(history_gen::generate(world, hook, &plan).failed);
    }
    Seeded {
        app_id: APP_ID,
        client_id: CLIENT_ID.to_string(),
        app_hook,
        installation_id,
        org: ORG.to_string(),
        repo_owner: ORG.to_string(),
        repo: REPO.to_string(),
        repo_hook,
        org_hook,
        user_token,
        failed: all_failed,
    }
}
