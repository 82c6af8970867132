//! Webhooks and the apps that own one: where each hook delivers, with which secret, and which
//! resource it belongs to (which decides the `X-GitHub-Hook-Installation-Target-*` headers).

use super::{HookId, State, World};
use jsonwebtoken::DecodingKey;

/// A GitHub App as far as the simulator cares: how to verify its JWTs, and its one webhook.
pub(crate) struct App {
    pub app_id: u64,
    pub client_id: String,
    pub key: DecodingKey,
    pub hook: HookId,
    /// JWTs whose RS256 signature already verified against `key`: a client reuses one JWT for
    /// minutes, and checking an RSA signature per request would dominate a long listing.
    pub verified: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// Where a hook was created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HookTarget {
    App { app_id: u64 },
    Repo { owner: String, repo: String, repo_id: i64 },
    Org { org: String, org_id: i64 },
}

impl HookTarget {
    /// The `X-GitHub-Hook-Installation-Target-Type` and `-ID` header values.
    pub(crate) fn installation_target(&self) -> (&'static str, i64) {
        match self {
            HookTarget::App { app_id } => ("integration", i64::try_from(*app_id).unwrap_or(0)),
            HookTarget::Repo { repo_id, .. } => ("repository", *repo_id),
            HookTarget::Org { org_id, .. } => ("organization", *org_id),
        }
    }

    /// The repository id GitHub records for deliveries of a repository hook.
    pub(crate) fn repository_id(&self) -> Option<i64> {
        match self {
            HookTarget::Repo { repo_id, .. } => Some(*repo_id),
            _ => None,
        }
    }
}

/// A webhook: its target, receiver URL and optional secret.
#[derive(Clone, Debug)]
pub(crate) struct Hook {
    pub id: HookId,
    pub target: HookTarget,
    pub url: String,
    pub secret: Option<String>,
    /// The events it subscribes to (GitHub's default for a new repository hook is `push`).
    pub events: Vec<String>,
    /// When it was created (GitHub's clock), as its listing shows.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl State {
    fn add_hook(&mut self, target: HookTarget, url: &str, secret: Option<&str>) -> HookId {
        let id = self.next_hook_id;
        self.next_hook_id += 1;
        let events = vec!["push".to_string()];
        let created_at = self.now();
        let secret = secret.map(str::to_string);
        self.hooks.insert(id, Hook { id, target, url: url.to_string(), secret, events, created_at });
        id
    }

    /// A stable id for a repository (`repos`) or account name, handed out on first use.
    pub(crate) fn account_id(&mut self, repos: bool, key: String) -> i64 {
        let next = &mut self.next_account_id;
        let ids = if repos { &mut self.repo_ids } else { &mut self.org_ids };
        *ids.entry(key).or_insert_with(|| {
            let id = *next;
            *next += 1;
            id
        })
    }

    pub(crate) fn app(&self, app_id: u64) -> Option<&App> {
        self.apps.iter().find(|a| a.app_id == app_id)
    }
}

impl World {
    /// Registers a GitHub App whose JWTs verify with `public_key_pem` (SPKI or PKCS#1) and whose
    /// `iss` may be `app_id` or `client_id`; returns the id of the app's webhook. Registering the
    /// same `app_id` again replaces the app (and gives it a new hook).
    ///
    /// # Panics
    /// If `public_key_pem` is not an RSA public key.
    pub fn add_app(
        &self,
        app_id: u64,
        client_id: &str,
        public_key_pem: &str,
        receiver_url: &str,
        secret: Option<&str>,
    ) -> HookId {
        let key = DecodingKey::from_rsa_pem(public_key_pem.as_bytes())
            .expect("add_app: public_key_pem must be an RSA public key in PEM form");
        let mut state = self.lock();
        let hook = state.add_hook(HookTarget::App { app_id }, receiver_url, secret);
        state.apps.retain(|a| a.app_id != app_id);
        state.apps.push(App { app_id, client_id: client_id.to_string(), key, hook, verified: Default::default() });
        hook
    }

    /// Adds a webhook to repository `owner/repo`, reachable with any accepted token.
    pub fn add_repo_hook(&self, owner: &str, repo: &str, receiver_url: &str, secret: Option<&str>) -> HookId {
        let mut state = self.lock();
        let repo_id = state.ensure_repo(owner, repo);
        let target = HookTarget::Repo { owner: owner.to_string(), repo: repo.to_string(), repo_id };
        state.add_hook(target, receiver_url, secret)
    }

    /// Adds a webhook to organization `org`, reachable with any accepted token.
    pub fn add_org_hook(&self, org: &str, receiver_url: &str, secret: Option<&str>) -> HookId {
        let mut state = self.lock();
        let org_id = state.account_id(false, org.to_lowercase());
        let target = HookTarget::Org { org: org.to_string(), org_id };
        state.add_hook(target, receiver_url, secret)
    }

    /// Points a hook at another receiver; later deliveries and redeliveries go there.
    ///
    /// # Panics
    /// If `hook` does not exist.
    pub fn set_receiver_url(&self, hook: HookId, url: &str) {
        let mut state = self.lock();
        let hook = state.hooks.get_mut(&hook).expect("set_receiver_url: unknown hook");
        hook.url = url.to_string();
    }

    /// The repository id the simulator gave `owner/repo` (for payloads and assertions).
    pub fn repository_id(&self, owner: &str, repo: &str) -> i64 {
        self.lock().account_id(true, format!("{owner}/{repo}").to_lowercase())
    }
}
