//! The listings discovery reads: an organization's repositories, a repository's or an
//! organization's hooks, an installation's repositories and every organization. Repositories and
//! hooks are paged by number (`per_page`, `page`, with `Link` `next`/`last`), organizations by
//! `since` (the last id seen), as GitHub pages them:
//!
//! - <https://docs.github.com/rest/repos/repos#list-organization-repositories>
//! - <https://docs.github.com/rest/repos/webhooks#list-repository-webhooks>
//! - <https://docs.github.com/rest/orgs/webhooks#list-organization-webhooks>
//! - <https://docs.github.com/rest/apps/installations#list-repositories-accessible-to-the-app-installation>
//! - <https://docs.github.com/rest/orgs/orgs#list-organizations>

use super::Ctx;
use super::auth::{Principal, check_account};
use super::error::{ApiError, json_response};
use super::json::timestamp;
use super::routes::Route;
use crate::world::{Hook, Repo};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use url::form_urlencoded;

const DEFAULT_PER_PAGE: usize = 30;

pub(crate) fn handle(ctx: &Ctx<'_>, route: &Route, principal: &Principal) -> Response {
    let result = match route {
        Route::OrgRepos { org } => org_repos(ctx, org, principal),
        Route::Hooks { owner, repo } => hooks(ctx, owner, repo.as_deref(), principal),
        Route::InstallationRepos => installation_repos(ctx, principal),
        Route::Organizations => organizations(ctx),
        _ => Err(ApiError::not_found(ctx.docs)),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `per_page` (default 30, clamped to the world's maximum) and `page` (from 1).
fn paging(ctx: &Ctx<'_>) -> (usize, usize) {
    let max = ctx.world.lock().per_page_max;
    let (mut per_page, mut page) = (DEFAULT_PER_PAGE.min(max), 1);
    for (key, value) in form_urlencoded::parse(ctx.query.as_bytes()) {
        match key.as_ref() {
            "per_page" => {
                if let Ok(n @ 1..) = value.parse::<usize>() {
                    per_page = n.min(max);
                }
            }
            "page" => {
                if let Ok(n @ 1..) = value.parse::<usize>() {
                    page = n;
                }
            }
            _ => {}
        }
    }
    (per_page, page)
}

/// The same request with `page` replaced.
fn page_url(ctx: &Ctx<'_>, page: usize) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(ctx.query.as_bytes()) {
        if key != "page" {
            serializer.append_pair(&key, &value);
        }
    }
    serializer.append_pair("page", &page.to_string());
    format!("{}{}?{}", ctx.root, ctx.path, serializer.finish())
}

/// One numbered page of `items` as a JSON answer, with `Link` to the next and last pages.
fn paged(ctx: &Ctx<'_>, items: Vec<Value>, wrap: impl FnOnce(Vec<Value>, usize) -> Value) -> Response {
    let (per_page, page) = paging(ctx);
    let total = items.len();
    let last = total.div_ceil(per_page).max(1);
    let shown: Vec<Value> = items.into_iter().skip((page - 1).saturating_mul(per_page)).take(per_page).collect();
    let mut response = json_response(StatusCode::OK, &wrap(shown, total));
    if page < last {
        let link = format!("<{}>; rel=\"next\", <{}>; rel=\"last\"", page_url(ctx, page + 1), page_url(ctx, last));
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    response
}

fn org_repos(ctx: &Ctx<'_>, org: &str, principal: &Principal) -> Result<Response, ApiError> {
    let state = ctx.world.lock();
    check_account(&state, principal, org)?;
    if !state.org_ids.contains_key(&org.to_lowercase()) {
        return Err(ApiError::not_found(ctx.docs));
    }
    let items = state.repos_of(org).into_iter().map(|r| repo_json(ctx, r)).collect();
    drop(state);
    Ok(paged(ctx, items, |shown, _| Value::Array(shown)))
}

fn hooks(ctx: &Ctx<'_>, owner: &str, repo: Option<&str>, principal: &Principal) -> Result<Response, ApiError> {
    let state = ctx.world.lock();
    check_account(&state, principal, owner)?;
    let exists = match repo {
        Some(repo) => state.repo(owner, repo).is_some(),
        None => state.org_ids.contains_key(&owner.to_lowercase()),
    };
    if !exists {
        return Err(ApiError::not_found(ctx.docs));
    }
    let items = state.hooks_of(owner, repo).into_iter().map(|h| hook_json(ctx, h)).collect();
    drop(state);
    Ok(paged(ctx, items, |shown, _| Value::Array(shown)))
}

fn installation_repos(ctx: &Ctx<'_>, principal: &Principal) -> Result<Response, ApiError> {
    let Principal::Installation(id) = principal else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "You must authenticate with an installation access token in order to list repositories for an installation.",
            ctx.docs,
        ));
    };
    let state = ctx.world.lock();
    let account = state.installations.get(id).map(|i| i.account.clone()).unwrap_or_default();
    let items = state.repos_of(&account).into_iter().map(|r| repo_json(ctx, r)).collect();
    drop(state);
    Ok(paged(
        ctx,
        items,
        |shown, total| json!({ "total_count": total, "repository_selection": "all", "repositories": shown }),
    ))
}

/// Every organization by id, after `since`; the `next` link carries the last id shown.
fn organizations(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let (per_page, _) = paging(ctx);
    let since = form_urlencoded::parse(ctx.query.as_bytes())
        .find(|(k, _)| k == "since")
        .and_then(|(_, v)| v.parse::<i64>().ok())
        .unwrap_or(0);
    let state = ctx.world.lock();
    let mut orgs: Vec<(i64, String)> =
        state.org_ids.iter().filter(|(_, id)| **id > since).map(|(login, id)| (*id, login.clone())).collect();
    drop(state);
    orgs.sort();
    let more = orgs.len() > per_page;
    orgs.truncate(per_page);
    let items: Vec<Value> = orgs
        .iter()
        .map(|(id, login)| {
            json!({
                "login": login, "id": id, "node_id": format!("O_kgDO{id:08}"),
                "url": format!("{}/orgs/{login}", ctx.root),
                "repos_url": format!("{}/orgs/{login}/repos", ctx.root),
                "hooks_url": format!("{}/orgs/{login}/hooks", ctx.root),
                "description": null,
            })
        })
        .collect();
    let mut response = json_response(StatusCode::OK, &Value::Array(items));
    if more && let Some((last, _)) = orgs.last() {
        let link = format!("<{}{}?per_page={per_page}&since={last}>; rel=\"next\"", ctx.root, ctx.path);
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

/// The fields of GitHub's `minimal-repository` a client reads, and a few more.
fn repo_json(ctx: &Ctx<'_>, r: &Repo) -> Value {
    let full = format!("{}/{}", r.owner, r.name);
    json!({
        "id": r.id,
        "node_id": format!("R_kgDO{:08}", r.id),
        "name": r.name,
        "full_name": full,
        "owner": { "login": r.owner, "type": "Organization" },
        "private": true,
        "archived": r.archived,
        "disabled": false,
        "fork": false,
        "html_url": format!("https://github.com/{full}"),
        "url": format!("{}/repos/{full}", ctx.root),
        "hooks_url": format!("{}/repos/{full}/hooks", ctx.root),
    })
}

/// GitHub's `hook` schema (the secret is never shown).
fn hook_json(ctx: &Ctx<'_>, h: &Hook) -> Value {
    let (kind, base) = match &h.target {
        crate::world::HookTarget::Repo { owner, repo, .. } => {
            ("Repository", format!("{}/repos/{owner}/{repo}", ctx.root))
        }
        crate::world::HookTarget::Org { org, .. } => ("Organization", format!("{}/orgs/{org}", ctx.root)),
        crate::world::HookTarget::App { .. } => ("App", format!("{}/app", ctx.root)),
    };
    let url = format!("{base}/hooks/{}", h.id);
    json!({
        "type": kind,
        "id": h.id,
        "name": "web",
        "active": true,
        "events": h.events,
        "config": { "content_type": "json", "insecure_ssl": "0", "url": h.url },
        "updated_at": timestamp(h.created_at),
        "created_at": timestamp(h.created_at),
        "url": url,
        "test_url": format!("{url}/test"),
        "ping_url": format!("{url}/pings"),
        "deliveries_url": format!("{url}/deliveries"),
        "last_response": { "code": null, "status": "unused", "message": null },
    })
}
