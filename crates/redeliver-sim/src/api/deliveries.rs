//! The deliveries endpoints of app, repository and organization hooks: list (newest first, with
//! cursor pages), get one, and redeliver one (202 now, the attempt later); and the hook's
//! configuration (its URL; the simulator's hooks all post JSON; the secret is masked as GitHub does).

use super::Ctx;
use super::auth::{Principal, check_account};
use super::error::{ApiError, json_response};
use super::json;
use super::pagination::{ListQuery, bad_cursor, cursor_for, next_link};
use super::routes::{Op, Scope};
use crate::world::{HookId, HookTarget, State, StoredAttempt};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub(crate) fn handle(ctx: &Ctx<'_>, scope: &Scope, op: Op, principal: &Principal) -> Response {
    let result = match op {
        Op::List => list(ctx, scope, principal),
        Op::Get(id) => get(ctx, scope, principal, id),
        Op::Redeliver(id) => redeliver(ctx, scope, principal, id),
        Op::Config => config(ctx, scope, principal),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

/// The hook a request may see: the app's own hook, or the numbered hook if it really belongs to
/// the repository or organization in the path. Anything else is GitHub's 404.
fn hook_for(state: &State, scope: &Scope, principal: &Principal, docs: &str) -> Result<HookId, ApiError> {
    let not_found = || ApiError::not_found(docs);
    match (scope, principal) {
        (Scope::App, Principal::App(app_id)) => state.app(*app_id).map(|a| a.hook).ok_or_else(not_found),
        (Scope::App, _) => Err(not_found()),
        (Scope::Repo { owner, repo, hook }, _) => {
            check_account(state, principal, owner)?;
            let found = state.hooks.get(hook).is_some_and(|h| {
                matches!(&h.target, HookTarget::Repo { owner: o, repo: r, .. }
                    if o.eq_ignore_ascii_case(owner) && r.eq_ignore_ascii_case(repo))
            });
            found.then_some(*hook).ok_or_else(not_found)
        }
        (Scope::Org { org, hook }, _) => {
            check_account(state, principal, org)?;
            let found = state
                .hooks
                .get(hook)
                .is_some_and(|h| matches!(&h.target, HookTarget::Org { org: o, .. } if o.eq_ignore_ascii_case(org)));
            found.then_some(*hook).ok_or_else(not_found)
        }
    }
}

fn list(ctx: &Ctx<'_>, scope: &Scope, principal: &Principal) -> Result<Response, ApiError> {
    let state = ctx.world.lock();
    let hook = hook_for(&state, scope, principal, ctx.docs)?;
    let query = ListQuery::parse(ctx.query, state.per_page_max, ctx.docs)?;
    // A page starts at its cursor delivery, inclusive; deliveries newer than it are on earlier pages.
    let start = match query.cursor {
        None => None,
        Some(id) => Some(
            state
                .attempts
                .get(&id)
                .filter(|a| a.record.hook == hook)
                .map(|a| (a.record.delivered_at, a.record.id))
                .ok_or_else(|| bad_cursor(ctx.docs))?,
        ),
    };
    let horizon = ctx.now - state.retention(ctx.flavor);
    let mut matching = state.newest_first_from(hook, start, horizon).filter(|a| query.admits(&a.record));
    let page: Vec<&StoredAttempt> = matching.by_ref().take(query.per_page).collect();
    let mut next = matching.next().map(|a| a.record.id);
    if next.is_some() && ctx.overlap > 0 && page.len() > 1 {
        // The next page starts this many items back, so it repeats them.
        let back = ctx.overlap.min(page.len() - 1);
        next = Some(page[page.len() - back].record.id);
    }
    let page: Vec<Value> = page.iter().map(|a| json::item(&a.record)).collect();
    let mut response = json_response(StatusCode::OK, &Value::Array(page));
    if let Some(next) = next {
        let link = next_link(&ctx.root, ctx.path, ctx.query, &cursor_for(next));
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

fn get(ctx: &Ctx<'_>, scope: &Scope, principal: &Principal, id: u64) -> Result<Response, ApiError> {
    let state = ctx.world.lock();
    let hook = hook_for(&state, scope, principal, ctx.docs)?;
    // Past retention a delivery can no longer be viewed.
    let horizon = ctx.now - state.retention(ctx.flavor);
    state
        .attempts
        .get(&id)
        .filter(|a| a.record.hook == hook && a.record.delivered_at >= horizon)
        .map(|a| json_response(StatusCode::OK, &json::detail(a)))
        .ok_or_else(|| ApiError::not_found(ctx.docs))
}

fn config(ctx: &Ctx<'_>, scope: &Scope, principal: &Principal) -> Result<Response, ApiError> {
    let state = ctx.world.lock();
    let id = hook_for(&state, scope, principal, ctx.docs)?;
    let hook = state.hooks.get(&id).ok_or_else(|| ApiError::not_found(ctx.docs))?;
    let mut body = json!({ "url": hook.url, "content_type": "json", "insecure_ssl": "0" });
    if hook.secret.is_some() {
        body["secret"] = json!("********");
    }
    Ok(json_response(StatusCode::OK, &body))
}

fn redeliver(ctx: &Ctx<'_>, scope: &Scope, principal: &Principal, id: u64) -> Result<Response, ApiError> {
    {
        let state = ctx.world.lock();
        let hook = hook_for(&state, scope, principal, ctx.docs)?;
        let attempt =
            state.attempts.get(&id).filter(|a| a.record.hook == hook).ok_or_else(|| ApiError::not_found(ctx.docs))?;
        let retention = state.retention(ctx.flavor);
        if attempt.record.delivered_at < ctx.now - retention {
            let message = format!("Delivery is older than {} and can no longer be redelivered", describe(retention));
            return Err(ApiError::validation("HookDelivery", &message, ctx.docs));
        }
    }
    ctx.world.start_redelivery(id, ctx.flavor);
    Ok(json_response(StatusCode::ACCEPTED, &json!({})))
}

fn describe(retention: chrono::Duration) -> String {
    match retention.num_days() {
        days if days >= 1 && retention == chrono::Duration::days(days) => format!("{days} days"),
        _ => format!("{} seconds", retention.num_seconds()),
    }
}
