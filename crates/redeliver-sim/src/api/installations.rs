//! App installations: find the installation on a repository's or organization's account, and
//! mint installation access tokens (valid one hour) for it.
//!
//! See <https://docs.github.com/rest/apps/apps>.

use super::Ctx;
use super::auth::Principal;
use super::error::{ApiError, json_response};
use super::json::timestamp;
use super::routes::Route;
use crate::world::Installation;
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
    Ok(json_response(StatusCode::OK, &describe(ctx, installation)))
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

fn describe(ctx: &Ctx<'_>, i: &Installation) -> Value {
    json!({
        "id": i.id,
        "account": { "login": i.account, "id": i.account_id, "type": "Organization" },
        "app_id": i.app_id,
        "app_slug": format!("app-{}", i.app_id),
        "target_id": i.account_id,
        "target_type": "Organization",
        "repository_selection": "all",
        "access_tokens_url": format!("{}/app/installations/{}/access_tokens", ctx.root, i.id),
        "html_url": format!("https://github.com/organizations/{}/settings/installations/{}", i.account, i.id),
        "permissions": permissions(),
        "events": [],
        "created_at": timestamp(i.created_at),
        "updated_at": timestamp(i.created_at),
        "single_file_name": null,
        "suspended_at": null,
    })
}
