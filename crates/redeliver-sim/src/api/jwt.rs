//! App JWT verification with GitHub's rules and its exact 401 messages.
//!
//! RS256 only; `iss` is the app id (string or number) or the client id; `iat` must be an integer
//! not in the future; `exp` must be in the future and at most 10 minutes ahead. See
//! <https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app>.

use super::error::ApiError;
use crate::world::{App, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, Validation};
use serde_json::Value;

pub(crate) const UNDECODABLE: &str = "A JSON web token could not be decoded";
const IAT_INVALID: &str =
    "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";
const EXP_INVALID: &str = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
const EXP_TOO_FAR: &str = "'Expiration time' claim ('exp') is too far in the future";

/// GitHub: "The time must be no more than 10 minutes into the future."
const MAX_LIFETIME_SECS: i64 = 600;

/// Verified JWTs remembered per app before the memory is cleared.
const MAX_VERIFIED: usize = 1024;

/// The app id of a valid JWT, or GitHub's refusal.
pub(crate) fn verify(state: &State, jwt: &str, now: DateTime<Utc>) -> Result<u64, ApiError> {
    let undecodable = || ApiError::unauthorized(UNDECODABLE);
    let header = jsonwebtoken::decode_header(jwt).map_err(|_| undecodable())?;
    if header.alg != Algorithm::RS256 {
        return Err(undecodable());
    }
    let claims = jsonwebtoken::dangerous::insecure_decode::<Value>(jwt).map_err(|_| undecodable())?.claims;
    // `iss` picks the key, so the app must be found before the signature can be checked.
    let app = claims
        .get("iss")
        .and_then(|iss| issuer(state, iss))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "Integration not found", super::error::REST_DOCS))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    // The same bytes verify the same way: a JWT seen before skips the RSA check, not the
    // time checks below.
    let mut verified = app.verified.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !verified.contains(jwt) {
        jsonwebtoken::decode::<Value>(jwt, &app.key, &validation).map_err(|_| undecodable())?;
        if verified.len() >= MAX_VERIFIED {
            verified.clear();
        }
        verified.insert(jwt.to_owned());
    }
    drop(verified);

    let now = now.timestamp();
    match claims.get("iat").and_then(Value::as_i64) {
        Some(iat) if iat <= now => {}
        _ => return Err(ApiError::unauthorized(IAT_INVALID)),
    }
    match claims.get("exp").and_then(Value::as_f64) {
        Some(exp) if exp <= now as f64 => return Err(ApiError::unauthorized(EXP_INVALID)),
        Some(exp) if exp > (now + MAX_LIFETIME_SECS) as f64 => {
            return Err(ApiError::unauthorized(EXP_TOO_FAR));
        }
        Some(_) => {}
        None => return Err(ApiError::unauthorized(EXP_INVALID)),
    }
    Ok(app.app_id)
}

/// The app an `iss` claim names: its numeric id (as a number or a string) or its client id.
fn issuer<'a>(state: &'a State, iss: &Value) -> Option<&'a App> {
    match iss {
        Value::Number(n) => state.app(n.as_u64()?),
        Value::String(s) => {
            s.parse::<u64>().ok().and_then(|id| state.app(id)).or_else(|| state.apps.iter().find(|a| a.client_id == *s))
        }
        _ => None,
    }
}
