//! What the simulator remembers about each API request, for assertions. Never the credential.

use chrono::{DateTime, Utc};
use std::fmt;

/// How a request authenticated, as judged by the endpoint it reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthKind {
    /// A JWT that verified against an app's public key.
    Jwt,
    /// An accepted personal or installation token.
    Token,
    /// No `Authorization` header.
    None,
    /// A credential was sent but not accepted (bad JWT, unknown token, wrong scheme).
    Invalid,
}

impl AuthKind {
    /// `"jwt"`, `"token"`, `"none"` or `"invalid"`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::Jwt => "jwt",
            AuthKind::Token => "token",
            AuthKind::None => "none",
            AuthKind::Invalid => "invalid",
        }
    }
}

impl fmt::Display for AuthKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets tests write `assert_eq!(r.auth, "jwt")`.
impl PartialEq<&str> for AuthKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for AuthKind {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

/// One API request as the simulator answered it.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path without the `/api/v3` prefix, e.g. `/app/hook/deliveries`.
    pub path: String,
    /// The raw query string without `?`; empty when there was none.
    pub query: String,
    /// The HTTP status answered.
    pub status: u16,
    /// How the request authenticated.
    pub auth: AuthKind,
    /// When the request arrived.
    pub at: DateTime<Utc>,
    /// Whether it came in under `/api/v3` (the GHES-style base URL).
    pub ghes: bool,
    /// The `x-github-request-id` answered.
    pub request_id: String,
    /// The injected fault that answered (or slowed/corrupted) it, if any, e.g. `"Status(502)"`.
    pub fault: Option<String>,
}
