//! The one error type of the GitHub client. Callers branch on the variant (a 404 on a GET is not a
//! refused POST, a rate limit is not a missing permission); users read the `Display` sentence and
//! [`ApiError::hint`]. Nothing here ever holds a token, a JWT or key text.

use super::auth::is_clock_skew_message;
use chrono::{DateTime, Utc};

/// What went wrong talking to GitHub. Variants built from an HTTP answer carry GitHub's `message`
/// and, when GitHub sent one, the `x-github-request-id` to quote to GitHub Support.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// 401: GitHub did not accept the JWT or token.
    #[error("GitHub rejected the credentials (401): {message}{}", rid(request_id))]
    Unauthorized { message: String, request_id: Option<String> },

    /// 403 that is not a rate limit: the credentials lack a permission.
    #[error("GitHub refused access (403): {message}{}", rid(request_id))]
    Forbidden { message: String, request_id: Option<String> },

    /// 404 on a read: the hook, repository or variable does not exist, or these credentials cannot see it.
    #[error("GitHub found nothing there (404): {message}{}", rid(request_id))]
    NotFound { message: String, request_id: Option<String> },

    /// A request GitHub declined (400, 404, 409, 422 ...), typically a redelivery it will not make.
    #[error("GitHub declined the request ({status}): {message}{}", rid(request_id))]
    Refused { status: u16, message: String, request_id: Option<String> },

    /// A rate limit that would take longer than the configured maximum wait to clear.
    #[error("GitHub's rate limit is exhausted{}: {message}", until_text(until))]
    RateLimited { until: Option<DateTime<Utc>>, message: String },

    /// A server error that persisted through every retry.
    #[error("GitHub answered with a server error ({status}) after retries: {message}{}", rid(request_id))]
    Server { status: u16, message: String, request_id: Option<String> },

    /// A state-changing request whose outcome is unknown (server error, timeout or dropped
    /// connection after it was sent). It was not re-sent, because GitHub may have acted on it.
    #[error("it is unknown whether GitHub carried out the request: {detail}")]
    Ambiguous { detail: String },

    /// No HTTP answer at all after retries (connection refused, DNS, TLS, timeout).
    #[error("could not reach GitHub: {detail}")]
    Transport { detail: String },

    /// GitHub answered, but not with the JSON this endpoint should return.
    #[error("GitHub's answer was not what this endpoint returns: {detail}{}", rid(request_id))]
    Malformed { detail: String, request_id: Option<String> },

    /// A 3xx: something sent the request elsewhere. Redirects are never followed, so it was not
    /// carried out (a redelivery included). `location` is the target's origin and path, without
    /// its query (a login page's return address may carry anything).
    #[error(
        "{what} was answered {status} (a redirect{}), which the client does not follow{}",
        location.as_deref().map(|l| format!(" to {l}")).unwrap_or_default(),
        rid(request_id)
    )]
    Redirected { what: String, status: u16, location: Option<String>, request_id: Option<String> },

    /// A listing that would not end: a `next` link back to a page already read, more pages than
    /// one pass may read, or a pass past its deadline. Nothing of the pass is written.
    #[error("the delivery list did not end: {detail}")]
    Paging { detail: String },

    /// The client was set up wrongly (base URL, credentials for the wrong kind of hook ...).
    #[error("the GitHub client is misconfigured: {detail}")]
    Config { detail: String },

    /// Shutdown came while the client was waiting (or reading); nothing more was sent.
    #[error("stopped by shutdown before the request was sent")]
    Cancelled,
}

fn rid(request_id: &Option<String>) -> String {
    match request_id {
        Some(id) => format!(" (GitHub request id {id})"),
        None => String::new(),
    }
}

fn until_text(until: &Option<DateTime<Utc>>) -> String {
    match until {
        Some(at) => format!(" until {}", at.format("%Y-%m-%d %H:%M:%S UTC")),
        None => String::new(),
    }
}

impl ApiError {
    /// What the user can do about it, when something useful can be said.
    pub fn hint(&self) -> Option<String> {
        match self {
            ApiError::Unauthorized { message, .. } => Some(unauthorized_hint(message)),
            ApiError::Forbidden { .. } => Some(
                "the credentials lack a permission: a fine-grained token needs write access to \
                 the repository or organization webhooks (and to repository variables on the \
                 repository that keeps the last-run time); a classic token needs `repo`, plus \
                 `admin:org_hook` for organization hooks; an organization hook also needs an \
                 organization owner"
                    .to_owned(),
            ),
            // What GitHub answers a JWT whose `iss` is no App: the id is wrong, not a hook.
            ApiError::NotFound { message, .. } if message.eq_ignore_ascii_case("Integration not found") => Some(
                "no GitHub App has this App id: copy the App ID (or client ID) from the App's settings page into \
                 APP_ID, --app-id or the config file's app_id"
                    .to_owned(),
            ),
            ApiError::NotFound { .. } => Some(
                "check the owner, repository, organization and hook id; GitHub also answers 404 \
                 when the credentials may not see the resource"
                    .to_owned(),
            ),
            ApiError::Refused { status, .. } => Some(match status {
                404 | 410 | 422 => "GitHub keeps deliveries for 3 days (7 on GitHub Enterprise \
                                    Server) and will not redeliver older ones; other deliveries \
                                    are unaffected"
                    .to_owned(),
                _ => "the request was not carried out; other deliveries are unaffected".to_owned(),
            }),
            ApiError::RateLimited { until, .. } => Some(match until {
                Some(at) => format!(
                    "run again after {} or allow a longer rate-limit wait; nothing is lost, the \
                     next run picks up where this one stopped",
                    at.format("%H:%M:%S UTC")
                ),
                None => "run again later; nothing is lost, the next run picks up where this one \
                         stopped"
                    .to_owned(),
            }),
            ApiError::Server { .. } => {
                Some("GitHub is having trouble; run again later (see https://www.githubstatus.com)".to_owned())
            }
            ApiError::Ambiguous { .. } => Some(
                "check the hook's Recent Deliveries page; the next run lists the deliveries again \
                 and sees whether a redelivery was made"
                    .to_owned(),
            ),
            ApiError::Transport { .. } => Some(
                "check the network, any proxy settings and the API base URL (https://api.github.com, \
                 or https://HOST/api/v3 for GitHub Enterprise Server)"
                    .to_owned(),
            ),
            ApiError::Malformed { .. } => Some(
                "check that the API base URL points at GitHub's REST API (https://api.github.com, \
                 or https://HOST/api/v3 for GitHub Enterprise Server) and not at a web page or proxy"
                    .to_owned(),
            ),
            ApiError::Redirected { .. } => Some(
                "the API base URL must be the REST API root (https://api.github.com, or \
                 https://HOST/api/v3 for GitHub Enterprise Server); a redirect usually comes from \
                 an SSO or login proxy in front of GitHub Enterprise Server, or a base URL without \
                 /api/v3"
                    .to_owned(),
            ),
            ApiError::Paging { .. } => Some(
                "a proxy or server in front of GitHub is probably sending a `Link: rel=\"next\"` \
                 that loops; nothing was written and the next pass lists again. A genuinely \
                 longer listing needs a larger page cap or deadline (see docs/security.md)"
                    .to_owned(),
            ),
            ApiError::Config { .. } | ApiError::Cancelled => None,
        }
    }

    /// GitHub's `x-github-request-id`, when the error came from an HTTP answer that had one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            ApiError::Unauthorized { request_id, .. }
            | ApiError::Forbidden { request_id, .. }
            | ApiError::NotFound { request_id, .. }
            | ApiError::Refused { request_id, .. }
            | ApiError::Server { request_id, .. }
            | ApiError::Redirected { request_id, .. }
            | ApiError::Malformed { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }
}

/// GitHub's 401 messages differ for JWTs and tokens; say what to check for the one we got.
fn unauthorized_hint(message: &str) -> String {
    let m = message.to_ascii_lowercase();
    if is_clock_skew_message(message) {
        "this machine's clock is off from GitHub's: synchronise it (NTP) and run again".to_owned()
    } else if m.contains("json web token") || m.contains("jwt") || m.contains("integration") {
        "check that the App id (APP_ID, --app-id or app_id) is this App's id (or client id) and \
         the private key is a current key of the same App; also check this machine's clock"
            .to_owned()
    } else if m.contains("bad credentials") {
        "the token is wrong, expired or revoked: create a new one and update TOKEN".to_owned()
    } else {
        "check the credentials: for an App, the App id and the private key must belong to the same App and \
         this machine's clock must be right; for a token, it must be current and not revoked"
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_message_and_request_id() {
        let e = ApiError::Forbidden {
            message: "Resource not accessible by personal access token".into(),
            request_id: Some("ABCD:1234".into()),
        };
        assert_eq!(
            e.to_string(),
            "GitHub refused access (403): Resource not accessible by personal access token (GitHub request id ABCD:1234)"
        );
        assert_eq!(e.request_id(), Some("ABCD:1234"));
    }

    #[test]
    fn unauthorized_hints_follow_the_message() {
        let jwt = ApiError::Unauthorized { message: "A JSON web token could not be decoded".into(), request_id: None };
        assert!(jwt.hint().unwrap().contains("APP_ID"));
        let clock = ApiError::Unauthorized {
            message: "'Expiration time' claim ('exp') is too far in the future".into(),
            request_id: None,
        };
        assert!(clock.hint().unwrap().contains("clock"));
        let token = ApiError::Unauthorized { message: "Bad credentials".into(), request_id: None };
        assert!(token.hint().unwrap().contains("TOKEN"));
    }

    #[test]
    fn a_404_for_an_unknown_app_blames_the_app_id_not_the_hook() {
        let app = ApiError::NotFound { message: "Integration not found".into(), request_id: None };
        assert!(app.hint().unwrap().starts_with("no GitHub App has this App id"), "{:?}", app.hint());
        let hook = ApiError::NotFound { message: "Not Found".into(), request_id: None };
        assert!(hook.hint().unwrap().contains("hook id"), "{:?}", hook.hint());
    }

    #[test]
    fn rate_limited_names_the_time() {
        let at = DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z").unwrap().to_utc();
        let e = ApiError::RateLimited { until: Some(at), message: "API rate limit exceeded".into() };
        assert_eq!(
            e.to_string(),
            "GitHub's rate limit is exhausted until 2024-05-01 12:00:00 UTC: API rate limit exceeded"
        );
    }
}
