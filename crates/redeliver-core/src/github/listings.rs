//! The listings discovery reads (the I/O half; which hooks to keep is [`crate::discover`]):
//! an organization's repositories, an installation's, and a repository's or organization's
//! hooks, each followed through `Link: rel="next"` within the client's page limits.
//!
//! - <https://docs.github.com/rest/repos/repos#list-organization-repositories>
//! - <https://docs.github.com/rest/apps/installations#list-repositories-accessible-to-the-app-installation>
//! - <https://docs.github.com/rest/orgs/orgs#list-organizations>
//! - <https://docs.github.com/rest/repos/webhooks#list-repository-webhooks>
//! - <https://docs.github.com/rest/orgs/webhooks#list-organization-webhooks>

use super::client::{Call, GitHubClient};
use super::error::ApiError;
use super::link::next_link;
use super::paging::PageGuard;
use super::step::RequestKind;
use super::target::escape_segment;
use crate::discover::{ListedHook, ListedRepo};
use reqwest::Method;
use reqwest::header;
use serde_json::Value;

impl GitHubClient {
    /// The repositories of organization `org` (`GET /orgs/{org}/repos`), archived ones included.
    pub async fn org_repos(&mut self, org: &str) -> Result<Vec<ListedRepo>, ApiError> {
        let path = format!("/orgs/{}/repos", escape_segment(org));
        let items = self.get_all(&path, "org_repos", None).await?;
        Ok(items.iter().filter_map(repo).collect())
    }

    /// Every organization of the server (`GET /organizations`, paged by `since` through
    /// `Link`): their logins. On GHES a site administrator's token sees them all.
    pub async fn organizations(&mut self) -> Result<Vec<String>, ApiError> {
        let items = self.get_all("/organizations", "organizations", None).await?;
        Ok(items.iter().filter_map(|v| Some(v.get("login")?.as_str()?.to_owned())).collect())
    }

    /// The repositories an installation token reaches (`GET /installation/repositories`).
    pub async fn installation_repos(&mut self) -> Result<Vec<ListedRepo>, ApiError> {
        let items = self.get_all("/installation/repositories", "installation_repos", Some("repositories")).await?;
        Ok(items.iter().filter_map(repo).collect())
    }

    /// The hooks of repository `owner/repo`, or of organization `owner` when `repo` is `None`.
    /// `None` when the repository (or organization) is gone or out of reach (404): deleted
    /// between the repositories' listing and this one, which is no error.
    pub async fn hooks(&mut self, owner: &str, repo: Option<&str>) -> Result<Option<Vec<ListedHook>>, ApiError> {
        match self.hooks_if(owner, repo, None).await? {
            HookListing::Listed { hooks, .. } => Ok(Some(hooks)),
            HookListing::Unchanged | HookListing::Gone => Ok(None),
        }
    }

    /// Like [`GitHubClient::hooks`], asking with `If-None-Match: etag` (the `ETag` of the last
    /// listing): a refresh of a thousand repositories whose hooks did not change costs no
    /// primary rate limit. Only a one-page listing is asked this way (a `next` page would have
    /// to be compared too).
    pub async fn hooks_if(
        &mut self,
        owner: &str,
        repo: Option<&str>,
        etag: Option<&str>,
    ) -> Result<HookListing, ApiError> {
        let path = match repo {
            Some(repo) => format!("/repos/{}/{}/hooks", escape_segment(owner), escape_segment(repo)),
            None => format!("/orgs/{}/hooks", escape_segment(owner)),
        };
        match self.get_all_if(&path, "hooks", None, etag).await {
            Ok(Some((items, etag))) => Ok(HookListing::Listed { hooks: items.iter().filter_map(hook).collect(), etag }),
            Ok(None) => Ok(HookListing::Unchanged),
            Err(ApiError::NotFound { .. }) => Ok(HookListing::Gone),
            Err(e) => Err(e),
        }
    }

    /// Every item of a listing, page by page (`per_page=100`), each page within the guard that
    /// bounds delivery listings (no page twice, a page cap, a deadline).
    async fn get_all(
        &mut self,
        path: &str,
        endpoint: &'static str,
        items_key: Option<&str>,
    ) -> Result<Vec<Value>, ApiError> {
        Ok(self.get_all_if(path, endpoint, items_key, None).await?.map(|(items, _)| items).unwrap_or_default())
    }

    /// [`Self::get_all`] with the first page asked with `If-None-Match`: `None` when it is
    /// unchanged (304); else the items and, for a one-page listing, its `ETag`.
    async fn get_all_if(
        &mut self,
        path: &str,
        endpoint: &'static str,
        items_key: Option<&str>,
        if_none_match: Option<&str>,
    ) -> Result<Option<(Vec<Value>, Option<String>)>, ApiError> {
        let mut first_etag: Option<String>;
        let mut first = true;
        let mut guard = PageGuard::start(self.config().paging, tokio::time::Instant::now());
        let mut url = self.endpoint(path, Some("per_page=100"));
        let mut out = Vec::new();
        loop {
            guard.follow(&url, tokio::time::Instant::now())?;
            let call = Call {
                method: Method::GET,
                url: url.clone(),
                endpoint,
                body: None,
                kind: RequestKind::Read,
                if_none_match: if first { if_none_match.map(str::to_owned) } else { None },
            };
            let answer = self.call(&call).await?;
            if answer.status == 304 && call.if_none_match.is_some() {
                self.stats.not_modified += 1;
                return Ok(None);
            }
            if first {
                first_etag = answer.headers.get(header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
                first = false;
            } else {
                first_etag = None;
            }
            if !answer.is_success() {
                return Err(self.error_for(&answer, true));
            }
            guard.read(&url);
            let body: Value = serde_json::from_slice(&answer.body).map_err(|e| ApiError::Malformed {
                detail: format!("{path} did not answer JSON ({e})"),
                request_id: answer.request_id.clone(),
            })?;
            let page = match items_key {
                Some(key) => body.get(key).cloned().unwrap_or(Value::Null),
                None => body,
            };
            let Value::Array(items) = page else {
                return Err(ApiError::Malformed {
                    detail: format!("{path} did not answer a JSON array"),
                    request_id: answer.request_id.clone(),
                });
            };
            out.extend(items);
            let links = answer.headers.get_all(header::LINK).iter().filter_map(|v| v.to_str().ok());
            let next = next_link(links, &answer.url)
                .map_err(|detail| ApiError::Malformed { detail, request_id: answer.request_id.clone() })?;
            match next {
                Some(next) if next.origin() == self.config().base_url.origin() => url = next,
                Some(next) => {
                    return Err(ApiError::Malformed {
                        detail: format!(
                            "{path}'s next page is on {}, not on the API base URL; the credentials are not sent there",
                            next.origin().ascii_serialization()
                        ),
                        request_id: answer.request_id.clone(),
                    });
                }
                None => return Ok(Some((out, first_etag))),
            }
        }
    }
}

/// A hooks listing asked conditionally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookListing {
    /// Unchanged since the listing that carried the `ETag` (a 304: no primary rate limit spent).
    Unchanged,
    /// The hooks, with the `ETag` to ask with next time (a one-page listing only).
    Listed { hooks: Vec<ListedHook>, etag: Option<String> },
    /// The repository or organization is gone (404).
    Gone,
}

/// A repository item (`minimal-repository`): its owner's login, its name, whether archived.
fn repo(v: &Value) -> Option<ListedRepo> {
    Some(ListedRepo {
        owner: v.pointer("/owner/login")?.as_str()?.to_owned(),
        name: v.get("name")?.as_str()?.to_owned(),
        archived: v.get("archived").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// A hook item (`hook`): id, receiver URL, events, whether active.
fn hook(v: &Value) -> Option<ListedHook> {
    Some(ListedHook {
        id: v.get("id")?.as_u64()?,
        url: v.pointer("/config/url").and_then(Value::as_str).unwrap_or_default().to_owned(),
        events: v
            .get("events")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default(),
        active: v.get("active").and_then(Value::as_bool).unwrap_or(true),
    })
}
