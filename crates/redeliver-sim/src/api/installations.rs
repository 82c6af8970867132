//! App installations: find the installation on a repository's or organization's account, and
//! mint installation access tokens (valid one hour) for it.
//!
//! See <https://docs.github.com/rest/apps/apps>.

use super::Ctx;
use super::auth::Principal;
use super::error::{ApiError, json_response};
use super::json::timestamp;
use super::routes::Route;
use crate::world::{Installation, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub(crate) fn handle(ctx: &Ctx<'_>, route: &Route, principal: &Principal) -> Response {
    let Principal::App(app_id) = principal else {
        return ApiError::not_found(ctx.docs).into_response();
    };
    let result = match route {
        Route::RepoInstallation { owner, .. } => find(ctx, *app_id, owner),
        Route::OrgInstallation { org } => find(ctx, *app_id, org),
        Route::CreateInstallationToken { installation } => mint(ctx, *app_id, *installation),
        _ => Err(ApiError::not_found(ctx.docs)),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

fn find(ctx: &Ctx<'_>, app_id: u64, account: &str) -> Result<Response, ApiError> {
    let state = ctx.world.lock();
    let installation = state.installation_on(app_id, account).ok_or_else(|| ApiError::not_found(ctx.docs))?;
    Ok(json_response(StatusCode::OK, &describe(ctx, &state, installation)))
}

fn mint(ctx: &Ctx<'_>, app_id: u64, installation: i64) -> Result<Response, ApiError> {
    let mut state = ctx.world.lock();
    let known = state.installations.get(&installation).is_some_and(|i| i.app_id == app_id);
    if !known {
        return Err(ApiError::not_found(ctx.docs));
    }
    let (token, expires_at) = state.mint_token(installation, ctx.now);
    Ok(json_response(
        StatusCode::CREATED,
        &json!({
            "token": token,
            "expires_at": timestamp(expires_at),
            "permissions": permissions(),
            "repository_selection": "all",
        }),
    ))
}

fn permissions() -> Value {
    json!({ "repository_hooks": "write", "organization_hooks": "write", "actions_variables": "write" })
}

/// The account as GitHub's `simple-user` schema has it (organizations use the same shape).
fn account(login: &str, id: i64) -> Value {
    let api = format!("https://api.github.com/users/{login}");
    json!({
        "login": login,
        "id": id,
        "node_id": format!("O_kgDO{id:08}"),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "gravatar_id": "",
        "url": api,
        "html_url": format!("https://github.com/{login}"),
        "followers_url": format!("{api}/followers"),
        "following_url": format!("{api}/following{{/other_user}}"),
        "gists_url": format!("{api}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/subscriptions"),
        "organizations_url": format!("{api}/orgs"),
        "repos_url": format!("{api}/repos"),
        "events_url": format!("{api}/events{{/privacy}}"),
        "received_events_url": format!("{api}/received_events"),
        "type": "Organization",
        "user_view_type": "public",
        "site_admin": false,
    })
}

/// An installation with every field GitHub's `installation` schema requires.
fn describe(ctx: &Ctx<'_>, state: &State, i: &Installation) -> Value {
    json!({
        "id": i.id,
        "account": account(&i.account, i.account_id),
        "client_id": state.apps.iter().find(|a| a.app_id == i.app_id).map(|a| a.client_id.clone()),
        "app_id": i.app_id,
        "app_slug": format!("app-{}", i.app_id),
        "target_id": i.account_id,
        "target_type": "Organization",
        "repository_selection": "all",
        "access_tokens_url": format!("{}/app/installations/{}/access_tokens", ctx.root, i.id),
        "repositories_url": format!("{}/installation/repositories", ctx.root),
        "html_url": format!("https://github.com/organizations/{}/settings/installations/{}", i.account, i.id),
        "permissions": permissions(),
        "events": ["push", "pull_request", "issues", "workflow_job"],
        "created_at": timestamp(i.created_at),
        "updated_at": timestamp(i.created_at),
        "single_file_name": null,
        "has_multiple_single_files": false,
        "single_file_paths": [],
        "suspended_by": null,
        "suspended_at": null,
    })
}
