//! A target's GitHub client: made from its [`Auth`], with an installation token minted from the
//! App's key and renewed before GitHub expires it.

use crate::config::{Auth, Target};
use crate::exit::Failure;
use chrono::{DateTime, Utc};
use redeliver_core::github::{ApiError, ClientConfig, Credentials, GitHubClient};
use redeliver_core::model::DeliveryRef;
use redeliver_core::plan::Scan;
use redeliver_core::secret::Secret;
use std::time::{Duration, Instant};

/// GitHub's installation tokens live one hour; renew well before.
const TOKEN_RENEW_AFTER: Duration = Duration::from_secs(50 * 60);

/// A client for `t`'s API with `t`'s pacing, waits and retries. The user agent is the client's
/// own default (`redeliver/VERSION`).
pub fn client(t: &Target, credentials: Credentials) -> Result<GitHubClient, Failure> {
    let mut config = ClientConfig::new(t.api_url.clone());
    config.pace = t.pace;
    config.max_rate_limit_wait = t.max_wait;
    config.retry_base = t.retry_base;
    config.ca = t.ca.clone();
    config.paging = t.paging;
    Ok(GitHubClient::new(config, credentials)?)
}

/// How a target signs in to GitHub, from its [`Auth`]: the one place an `Auth` becomes
/// [`Credentials`].
pub enum SignIn {
    /// As the App (a JWT) or with a token, directly.
    Direct(Credentials),
    /// With an installation token that the App (these credentials) mints for the hook's owner.
    Installation(Credentials),
}

pub fn sign_in(auth: &Auth) -> SignIn {
    let app = |app_id: &String, key: &redeliver_core::github::AppKey| Credentials::App {
        app_id: app_id.clone(),
        key: key.clone(),
    };
    match auth {
        Auth::App { app_id, key } => SignIn::Direct(app(app_id, key)),
        Auth::Token(token) => SignIn::Direct(Credentials::Token(token.clone())),
        Auth::Installation { app_id, key } => SignIn::Installation(app(app_id, key)),
    }
}

/// Installation tokens shared by the clients of one session (issue 14): the hooks an
/// organization's discovery finds all sign in as the same App on the same account, so they
/// use one token (minted by the first, renewed by the first to find it old) instead of one
/// each. Keyed by API, App and installation account; the token covers every repository the
/// installation reaches. Cheap to clone: the clones share the tokens.
#[derive(Clone, Default)]
pub struct Tokens(std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, (Secret, Instant)>>>);

impl Tokens {
    /// The token for `key` minted after `after` (any, when `None`) and not yet old.
    fn fresh(&self, key: &str, after: Option<Instant>) -> Option<(Secret, Instant)> {
        let tokens = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (token, at) = tokens.get(key)?;
        let newer = after.is_none_or(|a| *at > a);
        (newer && at.elapsed() < TOKEN_RENEW_AFTER).then(|| (token.clone(), *at))
    }

    fn keep(&self, key: String, token: Secret, at: Instant) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key, (token, at));
    }
}

/// Which shared installation token a target uses: its API, App and the hook's account.
fn token_key(t: &Target) -> Option<String> {
    let Auth::Installation { app_id, .. } = &t.auth else { return None };
    let account = match &t.hook {
        redeliver_core::github::HookTarget::Repo { owner, .. } => owner,
        redeliver_core::github::HookTarget::Org { org, .. } => org,
        redeliver_core::github::HookTarget::App => return None,
    };
    Some(format!("{} {app_id} {}", t.api_url, account.to_lowercase()))
}

/// A hook's client, with what it takes to renew an installation token.
pub struct HookClient {
    pub client: GitHubClient,
    /// For an installation token: the App client that mints it, and when it was minted.
    minter: Option<(GitHubClient, Instant)>,
    /// The session's shared installation tokens.
    tokens: Tokens,
    /// The `ETag` of the first page the last saved pass listed: the next pass asks with
    /// `If-None-Match`, and a 304 means no attempt was made since. It stands for "the state has
    /// seen everything up to that page", so it is kept in the state beside what it stands for
    /// (written after the pass saved) and a restart resumes from it.
    etag: Option<String>,
    /// The `ETag` of this pass's first page, kept once the pass has saved ([`HookClient::saved`]).
    fresh_etag: Option<String>,
}

impl HookClient {
    /// The client for `t`, minting an installation token when its auth asks for one; every
    /// wait of its clients ends with `cancel`.
    pub async fn connect(t: &Target, cancel: &tokio_util::sync::CancellationToken) -> Result<Self, Failure> {
        Self::connect_sharing(t, cancel, &Tokens::default()).await
    }

    /// Like [`HookClient::connect`], with an installation token from `tokens` when one for the
    /// same App and account is there and fresh (minted and kept there otherwise).
    pub async fn connect_sharing(
        t: &Target,
        cancel: &tokio_util::sync::CancellationToken,
        tokens: &Tokens,
    ) -> Result<Self, Failure> {
        let cancellable = |mut c: GitHubClient| {
            c.set_cancel(cancel.clone());
            c
        };
        let tokens = tokens.clone();
        Ok(match sign_in(&t.auth) {
            SignIn::Direct(credentials) => HookClient {
                client: cancellable(client(t, credentials)?),
                minter: None,
                tokens,
                etag: None,
                fresh_etag: None,
            },
            SignIn::Installation(app) => {
                let mut app = cancellable(client(t, app)?);
                let shared = token_key(t).and_then(|k| tokens.fresh(&k, None));
                let (token, at) = match shared {
                    Some(found) => found,
                    None => {
                        let token = app.installation_token(&t.hook).await?;
                        let at = Instant::now();
                        if let Some(k) = token_key(t) {
                            tokens.keep(k, token.clone(), at);
                        }
                        (token, at)
                    }
                };
                HookClient {
                    client: cancellable(client(t, Credentials::Token(token))?),
                    minter: Some((app, at)),
                    tokens,
                    etag: None,
                    fresh_etag: None,
                }
            }
        })
    }

    /// Renews an installation token that is getting old.
    pub async fn refresh(&mut self, t: &Target) -> Result<(), Failure> {
        if self.minter.as_ref().is_some_and(|(_, at)| at.elapsed() > TOKEN_RENEW_AFTER) {
            self.renew(t).await?;
        }
        Ok(())
    }

    async fn renew(&mut self, t: &Target) -> Result<(), Failure> {
        if let Some((app, at)) = self.minter.as_mut() {
            // Another client of the session may have renewed the shared token already.
            let key = token_key(t);
            if let Some((token, minted)) = key.as_deref().and_then(|k| self.tokens.fresh(k, Some(*at))) {
                self.client.set_token(token);
                *at = minted;
                return Ok(());
            }
            let token = app.installation_token(&t.hook).await?;
            // In place: the counts of this pass and the listing's guard go on.
            self.client.set_token(token.clone());
            *at = Instant::now();
            if let Some(k) = key {
                self.tokens.keep(k, token, *at);
            }
            tracing::info!(target = %t.name, "renewed the installation token");
        }
        Ok(())
    }

    /// One page, fed attempt by attempt into the scan without copying; an installation token
    /// that GitHub no longer accepts is renewed once. A page with items none of which is a
    /// delivery cannot be read: the pass fails rather than skip what it holds (issue 8, case 5).
    pub async fn page(&mut self, t: &Target, next: Option<&url::Url>, scan: &mut Scan) -> Result<Page, Failure> {
        let skipped_before = self.client.stats().skipped_items;
        let mut oldest = None;
        let mut each = |d: DeliveryRef<'_>| {
            oldest = Some(oldest.map_or(d.delivered_at, |o: DateTime<Utc>| o.min(d.delivered_at)));
            scan.observe_ref(&d);
        };
        // Only the first page is asked conditionally: every new attempt of the hook lands on it.
        // Not with the Actions variable, whose passes list pending events again each time.
        let etag = if next.is_none() && t.variable.is_none() { self.etag.clone() } else { None };
        let listed = match self.client.list_deliveries_if(&t.hook, next, etag.as_deref(), &mut each).await {
            Err(ApiError::Unauthorized { .. }) if self.minter.is_some() => {
                self.renew(t).await?;
                self.client.list_deliveries_if(&t.hook, next, etag.as_deref(), &mut each).await?
            }
            other => other?,
        };
        if next.is_none() {
            self.fresh_etag = listed.etag.clone();
        }
        let skipped = self.client.stats().skipped_items - skipped_before;
        if listed.deliveries == 0 && skipped > 0 {
            return Err(ApiError::Malformed {
                detail: format!(
                    "a page of the {}'s deliveries held {skipped} items and none was a delivery \
                     (missing or mistyped id, guid or delivered_at); nothing was written, so the \
                     next pass reads it again",
                    t.hook
                ),
                request_id: None,
            }
            .into());
        }
        Ok(Page { next: listed.next, oldest, not_modified: listed.not_modified })
    }

    /// The `ETag` this pass's first page came with, to keep in the state once it saved.
    pub fn fresh_etag(&self) -> Option<&str> {
        self.fresh_etag.as_deref()
    }

    /// A new client starts from the `ETag` the state kept for its target (schema 6): the state
    /// has seen everything up to that page, so a restart asks conditionally at once.
    pub fn resume(&mut self, etag: Option<String>) {
        self.etag = etag;
    }

    /// The pass saved what it listed: its first page's `ETag` may stand for it from now on.
    pub fn saved(&mut self) {
        self.etag = self.fresh_etag.take();
    }

    /// The pass did not save (a dry run): the next one must list in full again.
    pub fn unsaved(&mut self) {
        self.fresh_etag = None;
    }
}

/// What the listing loop needs of one page.
pub struct Page {
    /// The `Link: rel="next"` URL, `None` on the last page.
    pub next: Option<url::Url>,
    /// The oldest `delivered_at` on the page (`None` when it held none).
    pub oldest: Option<DateTime<Utc>>,
    /// Answered 304 to `If-None-Match`: nothing new since the last saved pass.
    pub not_modified: bool,
}
