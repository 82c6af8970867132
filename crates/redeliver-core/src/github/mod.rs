//! The I/O shell that talks to GitHub's REST API: App JWTs and tokens ([`auth`]), the serial,
//! paced ([`pace`]), rate-limit-aware HTTP client ([`client`], set up by [`config`], counting in
//! [`stats`]), hook targets ([`target`]), `Link` paging ([`link`]) bounded by [`paging`], and the Actions configuration
//! variable the docs script keeps its memory in ([`variables`]).
//!
//! Every decision (what to do after an answer in [`step`], how long to wait in [`ratelimit`] and
//! [`retry`], when to renew a JWT, where the next page is) is a pure function of its inputs and
//! `now`, tested on its own; the async client only sleeps and sends.

pub mod auth;
pub mod client;
pub mod config;
pub mod deliveries;
pub mod error;
pub mod link;
pub mod listings;
pub mod pace;
pub mod paging;
pub mod ratelimit;
pub mod retry;
pub mod stats;
pub mod step;
pub mod target;
mod text;
pub mod variables;

pub use auth::{AppKey, Claims, Credentials, Issuer, KeyError, jwt_claims, jwt_needs_renewal};
pub use client::{DeliveryPage, GitHubClient, ListedPage, ResendCheck};
pub use config::{API_VERSION, CaBundle, ClientConfig, MAX_BODY};
pub use deliveries::{DeliveryRecord, HookConfig};
pub use error::ApiError;
pub use link::{LinkValue, next_link, parse_link_header};
pub use pace::{Pace, PaceSignal, Pacer};
pub use paging::{PageGuard, PageLimits};
pub use ratelimit::{RateHeaders, rate_limit_wait};
pub use retry::backoff;
pub use stats::{RateLimitSnapshot, RequestCount, RequestStats};
pub use step::{Attempts, Failure, Reply, RequestKind, RetryPolicy, Step, next_step};
pub use target::HookTarget;
pub use variables::{ActionsVariable, VariableName, VariableNameError, format_millis, parse_millis};
