//! Repositories and their lifecycle: what `GET /orgs/{org}/repos`, `GET /installation/repositories`
//! and the hook listings show, changed by tests while a client runs (a repository or hook added,
//! archived or deleted) so that discovery can be tested against a moving organization.

use super::{HookId, HookTarget, State, World};

/// A repository of an organization (or user) account.
#[derive(Clone, Debug)]
pub(crate) struct Repo {
    pub id: i64,
    pub owner: String,
    pub name: String,
    pub archived: bool,
}

impl State {
    /// The id of `owner/name`, creating the repository the first time it is named.
    pub(crate) fn ensure_repo(&mut self, owner: &str, name: &str) -> i64 {
        let key = format!("{owner}/{name}").to_lowercase();
        let id = self.account_id(true, key.clone());
        // Its organization gets an id too, for `GET /organizations`.
        self.account_id(false, owner.to_lowercase());
        self.repos.entry(key).or_insert_with(|| Repo {
            id,
            owner: owner.to_string(),
            name: name.to_string(),
            archived: false,
        });
        id
    }

    /// The repositories of `owner` (case-insensitive), in id order as GitHub lists them.
    pub(crate) fn repos_of(&self, owner: &str) -> Vec<&Repo> {
        let mut repos: Vec<&Repo> = self.repos.values().filter(|r| r.owner.eq_ignore_ascii_case(owner)).collect();
        repos.sort_by_key(|r| r.id);
        repos
    }

    /// Whether `owner/name` exists.
    pub(crate) fn repo(&self, owner: &str, name: &str) -> Option<&Repo> {
        self.repos.get(&format!("{owner}/{name}").to_lowercase())
    }

    /// The hooks of one repository, or of one organization, in id order.
    pub(crate) fn hooks_of(&self, owner: &str, repo: Option<&str>) -> Vec<&super::Hook> {
        self.hooks
            .values()
            .filter(|h| match (&h.target, repo) {
                (HookTarget::Repo { owner: o, repo: r, .. }, Some(repo)) => {
                    o.eq_ignore_ascii_case(owner) && r.eq_ignore_ascii_case(repo)
                }
                (HookTarget::Org { org, .. }, None) => org.eq_ignore_ascii_case(owner),
                _ => false,
            })
            .collect()
    }
}

impl World {
    /// Creates repository `owner/name` (no hooks); returns its id. Naming it again is harmless.
    pub fn add_repo(&self, owner: &str, name: &str) -> i64 {
        self.lock().ensure_repo(owner, name)
    }

    /// Marks a repository archived (or not), as the listings show it.
    ///
    /// # Panics
    /// If the repository does not exist.
    pub fn set_repo_archived(&self, owner: &str, name: &str, archived: bool) {
        let mut state = self.lock();
        let key = format!("{owner}/{name}").to_lowercase();
        state.repos.get_mut(&key).expect("set_repo_archived: unknown repository").archived = archived;
    }

    /// Deletes a repository and its hooks: their listings answer 404 from now on. The attempts
    /// already recorded stay in the world (a client may be reading them right now).
    pub fn delete_repo(&self, owner: &str, name: &str) {
        let mut state = self.lock();
        state.repos.remove(&format!("{owner}/{name}").to_lowercase());
        state.hooks.retain(|_, h| {
            !matches!(&h.target, HookTarget::Repo { owner: o, repo: r, .. }
                if o.eq_ignore_ascii_case(owner) && r.eq_ignore_ascii_case(name))
        });
    }

    /// Deletes a repository or organization hook: its deliveries answer 404 from now on.
    pub fn delete_hook(&self, hook: HookId) {
        self.lock().hooks.remove(&hook);
    }

    /// Sets the events a hook subscribes to (as `GET …/hooks` shows them).
    ///
    /// # Panics
    /// If `hook` does not exist.
    pub fn set_hook_events(&self, hook: HookId, events: &[&str]) {
        let mut state = self.lock();
        let hook = state.hooks.get_mut(&hook).expect("set_hook_events: unknown hook");
        hook.events = events.iter().map(|e| (*e).to_string()).collect();
    }
}
