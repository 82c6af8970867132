//! Credentials the token endpoints accept: tokens added by tests, and installation tokens minted
//! through the API, which expire after an hour and only reach their installation's account.

use super::{State, World};
use crate::ids;
use crate::rate_limit::BudgetKey;
use chrono::{DateTime, Duration, Utc};

/// Installation tokens live one hour on GitHub.
const INSTALLATION_TOKEN_LIFETIME: Duration = Duration::hours(1);

/// Whose token it is, which decides what it reaches and whose budget it spends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Holder {
    /// A personal access token of this user: reaches any account.
    User(u64),
    /// An installation token: reaches only that installation's account.
    Installation(i64),
}

/// What an accepted token may do.
#[derive(Clone, Debug)]
pub(crate) struct TokenGrant {
    pub expires_at: Option<DateTime<Utc>>,
    pub holder: Holder,
}

/// A credential, to read or set its primary rate limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential<'a> {
    /// A GitHub App's JWTs.
    App(u64),
    /// Every token of an installation.
    Installation(i64),
    /// A token given to [`World::add_token`] (its user's budget) or minted for an installation.
    Token(&'a str),
}

/// An installation of an app on an account (a user or an organization) and all its repositories.
#[derive(Clone, Debug)]
pub(crate) struct Installation {
    pub id: i64,
    pub app_id: u64,
    pub account: String,
    pub account_id: i64,
    pub created_at: DateTime<Utc>,
}

impl State {
    /// The grant for `token` if it is known and has not expired.
    pub(crate) fn token_grant(&self, token: &str, now: DateTime<Utc>) -> Option<&TokenGrant> {
        self.tokens.get(token).filter(|g| g.expires_at.is_none_or(|at| now < at))
    }

    /// `app_id`'s installation on `account` (case-insensitive), if any.
    pub(crate) fn installation_on(&self, app_id: u64, account: &str) -> Option<&Installation> {
        self.installations.values().find(|i| i.app_id == app_id && i.account.eq_ignore_ascii_case(account))
    }

    /// The budget `credential` spends, if the world knows it.
    pub(crate) fn budget_key(&self, credential: Credential<'_>) -> Option<BudgetKey> {
        Some(match credential {
            Credential::App(id) => BudgetKey::App(id),
            Credential::Installation(id) => BudgetKey::Installation(id),
            Credential::Token(token) => match self.tokens.get(token)?.holder {
                Holder::User(user) => BudgetKey::User(user),
                Holder::Installation(id) => BudgetKey::Installation(id),
            },
        })
    }

    /// A new installation token for `installation`, with its expiry.
    pub(crate) fn mint_token(&mut self, installation: i64, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
        let token = ids::installation_token();
        let expires_at = now + INSTALLATION_TOKEN_LIFETIME;
        let grant = TokenGrant { expires_at: Some(expires_at), holder: Holder::Installation(installation) };
        self.tokens.insert(token.clone(), grant);
        (token, expires_at)
    }
}

impl World {
    /// Accepts `token` (a personal access token) on repository and organization endpoints and
    /// the Actions-variables endpoints, for any account, until the world is dropped. Each token
    /// belongs to a user of its own, with its own rate-limit budget; returns the user id.
    pub fn add_token(&self, token: &str) -> u64 {
        let mut state = self.lock();
        if let Some(Holder::User(user)) = state.tokens.get(token).map(|g| g.holder) {
            return user;
        }
        let user = state.next_user_id;
        state.next_user_id += 1;
        state.tokens.insert(token.to_string(), TokenGrant { expires_at: None, holder: Holder::User(user) });
        user
    }

    /// Installs app `app_id` on `account` (a user or organization, with all its repositories);
    /// returns the installation id. Its tokens are minted with
    /// `POST /app/installations/{id}/access_tokens`.
    pub fn add_installation(&self, app_id: u64, account: &str) -> i64 {
        let mut state = self.lock();
        let account_id = state.account_id(false, account.to_lowercase());
        let id = state.next_account_id;
        state.next_account_id += 1;
        let created_at = state.now();
        state
            .installations
            .insert(id, Installation { id, app_id, account: account.to_string(), account_id, created_at });
        id
    }
}
