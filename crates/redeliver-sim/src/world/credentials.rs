//! Credentials the token endpoints accept: tokens added by tests, and installation tokens minted
//! through the API, which expire after an hour and only reach their installation's account.

use super::{State, World};
use crate::ids;
use chrono::{DateTime, Duration, Utc};

/// Installation tokens live one hour on GitHub.
const INSTALLATION_TOKEN_LIFETIME: Duration = Duration::hours(1);

/// What an accepted token may do.
#[derive(Clone, Debug)]
pub(crate) struct TokenGrant {
    pub expires_at: Option<DateTime<Utc>>,
    /// `Some` for an installation token: it reaches only that installation's account.
    pub installation: Option<i64>,
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

    /// A new installation token for `installation`, with its expiry.
    pub(crate) fn mint_token(&mut self, installation: i64, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
        let token = ids::installation_token();
        let expires_at = now + INSTALLATION_TOKEN_LIFETIME;
        self.tokens
            .insert(token.clone(), TokenGrant { expires_at: Some(expires_at), installation: Some(installation) });
        (token, expires_at)
    }
}

impl World {
    /// Accepts `token` (a personal access token, say) on repository and organization endpoints
    /// and the Actions-variables endpoints, for any account, until the world is dropped.
    pub fn add_token(&self, token: &str) {
        self.lock().tokens.insert(token.to_string(), TokenGrant { expires_at: None, installation: None });
    }

    /// Installs app `app_id` on `account` (a user or organization, with all its repositories);
    /// returns the installation id. Its tokens are minted with
    /// `POST /app/installations/{id}/access_tokens`.
    pub fn add_installation(&self, app_id: u64, account: &str) -> i64 {
        let mut state = self.lock();
        let account_id = state.account_id(false, account.to_lowercase());
        let id = state.next_account_id;
        state.next_account_id += 1;
        state
            .installations
            .insert(id, Installation { id, app_id, account: account.to_string(), account_id, created_at: Utc::now() });
        id
    }
}
