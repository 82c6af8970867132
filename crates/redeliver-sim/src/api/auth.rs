//! Who is calling: reads `Authorization`, checks it against what the endpoint takes (an app JWT
//! or a token), and says how the request should be recorded.
//!
//! "In most cases, you can use `Authorization: Bearer` or `Authorization: token` to pass a token.
//! However, if you are passing a JSON web token (JWT), you must use `Authorization: Bearer`."

use super::error::ApiError;
use super::jwt;
use super::routes::AuthClass;
use crate::rate_limit::BudgetKey;
use crate::recording::AuthKind;
use crate::world::{Holder, State};
use axum::http::{HeaderValue, StatusCode};
use chrono::{DateTime, Utc};

const REQUIRES_AUTHENTICATION: &str = "Requires authentication";
const BAD_CREDENTIALS: &str = "Bad credentials";

/// An authenticated caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Principal {
    /// A GitHub App, by a verified JWT.
    App(u64),
    /// A user, by a personal access token.
    User(u64),
    /// An installation, by one of its tokens; it reaches only its own account.
    Installation(i64),
}

impl Principal {
    /// The primary (and secondary) budget its requests spend.
    pub(crate) fn budget(self) -> BudgetKey {
        match self {
            Principal::App(id) => BudgetKey::App(id),
            Principal::User(id) => BudgetKey::User(id),
            Principal::Installation(id) => BudgetKey::Installation(id),
        }
    }
}

/// The verdict on a request's credentials.
pub(crate) struct Authn {
    pub kind: AuthKind,
    pub result: Result<Principal, ApiError>,
}

enum Credential<'a> {
    Missing,
    Bearer(&'a str),
    Token(&'a str),
    Malformed,
}

fn credential(header: Option<&HeaderValue>) -> Credential<'_> {
    let Some(value) = header else {
        return Credential::Missing;
    };
    let Ok(value) = value.to_str() else {
        return Credential::Malformed;
    };
    let (scheme, secret) = value.trim().split_once(' ').unwrap_or((value, ""));
    let secret = secret.trim();
    match scheme {
        _ if secret.is_empty() => Credential::Malformed,
        s if s.eq_ignore_ascii_case("bearer") => Credential::Bearer(secret),
        s if s.eq_ignore_ascii_case("token") => Credential::Token(secret),
        _ => Credential::Malformed,
    }
}

fn looks_like_jwt(secret: &str) -> bool {
    secret.split('.').count() == 3
}

/// Judges the `Authorization` header for an endpoint taking `class` (`None`: unknown endpoint,
/// where the credential is only classified by its shape, for the record).
pub(crate) fn authenticate(
    state: &State,
    class: Option<AuthClass>,
    header: Option<&HeaderValue>,
    now: DateTime<Utc>,
) -> Authn {
    let credential = credential(header);
    if let Credential::Missing = credential {
        return Authn { kind: AuthKind::None, result: Err(ApiError::unauthorized(REQUIRES_AUTHENTICATION)) };
    }
    let result = match (class, credential) {
        (None, Credential::Bearer(s) | Credential::Token(s)) => {
            let kind = if looks_like_jwt(s) { AuthKind::Jwt } else { AuthKind::Token };
            return Authn { kind, result: Err(ApiError::unauthorized(BAD_CREDENTIALS)) };
        }
        // A token (or anything but a Bearer JWT) where a JWT is required: GitHub tries to read
        // it as a JWT and fails.
        (Some(AuthClass::Jwt), Credential::Bearer(jwt)) => jwt::verify(state, jwt, now).map(Principal::App),
        (Some(AuthClass::Jwt), _) => Err(ApiError::unauthorized(jwt::UNDECODABLE)),
        // A JWT where a token is required is just an unknown token.
        (Some(AuthClass::Token), Credential::Bearer(token) | Credential::Token(token)) => state
            .token_grant(token, now)
            .map(|grant| match grant.holder {
                Holder::User(user) => Principal::User(user),
                Holder::Installation(id) => Principal::Installation(id),
            })
            .ok_or_else(|| ApiError::unauthorized(BAD_CREDENTIALS)),
        (_, _) => Err(ApiError::unauthorized(BAD_CREDENTIALS)),
    };
    let kind = match &result {
        Ok(Principal::App(_)) => AuthKind::Jwt,
        Ok(Principal::User(_) | Principal::Installation(_)) => AuthKind::Token,
        Err(_) => AuthKind::Invalid,
    };
    Authn { kind, result }
}

/// Installation tokens reach only their installation's account; other tokens reach any.
pub(crate) fn check_account(state: &State, principal: &Principal, account: &str) -> Result<(), ApiError> {
    let Principal::Installation(id) = principal else {
        return Ok(());
    };
    let allowed = state.installations.get(id).is_some_and(|i| i.account.eq_ignore_ascii_case(account));
    if allowed {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::FORBIDDEN, "Resource not accessible by integration", super::error::REST_DOCS))
    }
}

/// The wording of a primary-rate-limit refusal names who ran out.
pub(crate) fn rate_limited_message(principal: &Principal) -> String {
    match principal {
        Principal::App(id) => format!("API rate limit exceeded for app ID {id}."),
        Principal::Installation(id) => format!("API rate limit exceeded for installation ID {id}."),
        Principal::User(id) => format!("API rate limit exceeded for user ID {id}."),
    }
}
