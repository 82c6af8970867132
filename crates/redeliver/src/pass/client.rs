//! A target's GitHub client: made from its [`Auth`], with an installation token minted from the
//! App's key and renewed before GitHub expires it.

use crate::config::{Auth, Target};
use crate::exit::Failure;
use redeliver_core::github::{ApiError, ClientConfig, Credentials, GitHubClient, ListedPage};
use redeliver_core::plan::Scan;
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

/// A hook's client, with what it takes to renew an installation token.
pub struct HookClient {
    pub client: GitHubClient,
    /// For an installation token: the App client that mints it, and when it was minted.
    minter: Option<(GitHubClient, Instant)>,
}

impl HookClient {
    /// The client for `t`, minting an installation token when its auth asks for one.
    pub async fn connect(t: &Target) -> Result<Self, Failure> {
        Ok(match sign_in(&t.auth) {
            SignIn::Direct(credentials) => HookClient { client: client(t, credentials)?, minter: None },
            SignIn::Installation(app) => {
                let mut app = client(t, app)?;
                let token = app.installation_token(&t.hook).await?;
                HookClient { client: client(t, Credentials::Token(token))?, minter: Some((app, Instant::now())) }
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
            let token = app.installation_token(&t.hook).await?;
            // In place: the counts of this pass and the listing's guard go on.
            self.client.set_token(token);
            *at = Instant::now();
            tracing::info!(target = %t.name, "renewed the installation token");
        }
        Ok(())
    }

    /// One page, fed attempt by attempt into the scan without copying; an installation token
    /// that GitHub no longer accepts is renewed once.
    pub async fn page(&mut self, t: &Target, next: Option<&url::Url>, scan: &mut Scan) -> Result<ListedPage, Failure> {
        match self.client.list_deliveries_each(&t.hook, next, |d| scan.observe_ref(&d)).await {
            Err(ApiError::Unauthorized { .. }) if self.minter.is_some() => {
                self.renew(t).await?;
                Ok(self.client.list_deliveries_each(&t.hook, next, |d| scan.observe_ref(&d)).await?)
            }
            other => Ok(other?),
        }
    }
}
