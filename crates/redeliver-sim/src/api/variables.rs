//! Repository Actions variables: get (200/404), create (201/409), update (204/404), delete.
//!
//! See <https://docs.github.com/rest/actions/variables>.

use super::Ctx;
use super::auth::{Principal, check_account};
use super::error::{ApiError, json_response};
use super::json::timestamp;
use super::routes::Route;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub(crate) fn handle(ctx: &Ctx<'_>, route: &Route, principal: &Principal) -> Response {
    let result = match route {
        Route::GetVariable { owner, repo, name } => get(ctx, principal, owner, repo, name),
        Route::CreateVariable { owner, repo } => create(ctx, principal, owner, repo),
        Route::UpdateVariable { owner, repo, name } => update(ctx, principal, owner, repo, name),
        Route::DeleteVariable { owner, repo, name } => delete(ctx, principal, owner, repo, name),
        _ => Err(ApiError::not_found(ctx.docs)),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

fn get(ctx: &Ctx<'_>, principal: &Principal, owner: &str, repo: &str, name: &str) -> Result<Response, ApiError> {
    let state = ctx.world.lock();
    check_account(&state, principal, owner)?;
    let variable = state.variable(owner, repo, name).ok_or_else(|| ApiError::not_found(ctx.docs))?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "name": variable.name,
            "value": variable.value,
            "created_at": timestamp(variable.created_at),
            "updated_at": timestamp(variable.updated_at),
        }),
    ))
}

fn create(ctx: &Ctx<'_>, principal: &Principal, owner: &str, repo: &str) -> Result<Response, ApiError> {
    let body = body(ctx)?;
    let name = required(&body, "name", ctx.docs)?;
    let value = required(&body, "value", ctx.docs)?;
    check_name(name, ctx.docs)?;
    let mut state = ctx.world.lock();
    check_account(&state, principal, owner)?;
    if state.variable(owner, repo, name).is_some() {
        return Err(already_exists(ctx.docs));
    }
    state.put_variable(owner, repo, name, value, ctx.now);
    Ok(json_response(StatusCode::CREATED, &json!({})))
}

fn update(ctx: &Ctx<'_>, principal: &Principal, owner: &str, repo: &str, name: &str) -> Result<Response, ApiError> {
    let body = body(ctx)?;
    let mut state = ctx.world.lock();
    check_account(&state, principal, owner)?;
    let current = state.variable(owner, repo, name).cloned().ok_or_else(|| ApiError::not_found(ctx.docs))?;
    let value = body.get("value").and_then(Value::as_str).unwrap_or(&current.value);
    let new_name = body.get("name").and_then(Value::as_str).unwrap_or(name);
    if !new_name.eq_ignore_ascii_case(name) {
        // A rename: the new name must be valid and free.
        check_name(new_name, ctx.docs)?;
        if state.variable(owner, repo, new_name).is_some() {
            return Err(already_exists(ctx.docs));
        }
    }
    let value = value.to_string();
    state.update_variable(owner, repo, name, new_name, &value, ctx.now);
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn delete(ctx: &Ctx<'_>, principal: &Principal, owner: &str, repo: &str, name: &str) -> Result<Response, ApiError> {
    let mut state = ctx.world.lock();
    check_account(&state, principal, owner)?;
    state
        .remove_variable(owner, repo, name)
        .map(|_| StatusCode::NO_CONTENT.into_response())
        .ok_or_else(|| ApiError::not_found(ctx.docs))
}

fn body(ctx: &Ctx<'_>) -> Result<Value, ApiError> {
    serde_json::from_slice::<Value>(ctx.body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "Problems parsing JSON", ctx.docs))
}

fn required<'v>(body: &'v Value, field: &str, docs: &str) -> Result<&'v str, ApiError> {
    body.get(field).and_then(Value::as_str).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("Invalid request.\n\n\"{field}\" wasn't supplied."),
            docs,
        )
    })
}

/// "Any string that contains only alphanumeric characters and `_`, and does not start with
/// `GITHUB_` or a number."
fn check_name(name: &str, docs: &str) -> Result<(), ApiError> {
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && !name.to_ascii_uppercase().starts_with("GITHUB_");
    if valid {
        Ok(())
    } else {
        Err(ApiError::validation("Variable", &format!("{name:?} is not a valid variable name"), docs))
    }
}

fn already_exists(docs: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "Already exists - Variable already exists", docs)
}
