//! The HTTP API: one handler that strips the GHES `/api/v3` prefix, authenticates, applies
//! injected faults and the primary rate limit, dispatches to an endpoint, adds GitHub's headers
//! and records the request.

mod auth;
mod deliveries;
mod error;
mod faults;
mod installations;
mod json;
mod jwt;
mod pagination;
mod routes;
mod secondary;
mod variables;

use crate::fault::Fault;
use crate::ids;
use crate::rate_limit::RateSnapshot;
use crate::recording::RecordedRequest;
use crate::world::World;
use auth::{Authn, Principal};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use error::{ApiError, REST_DOCS};
use routes::Route;
use std::sync::Arc;

/// The GHES base path; the same API is served with and without it.
const GHES_PREFIX: &str = "/api/v3";
/// Request bodies here are tiny JSON objects; anything larger is cut off.
const MAX_BODY: usize = 1 << 20;
const PRIMARY_DOCS: &str =
    "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-primary-rate-limits";

/// What the handler shares: the world and the origin (`http://127.0.0.1:PORT`) for absolute links.
pub(crate) struct Api {
    pub world: World,
    pub origin: String,
    /// Requests being answered now, for the secondary limit on concurrency.
    pub in_flight: std::sync::atomic::AtomicUsize,
}

/// Counts a request as in flight until dropped.
struct InFlight<'a>(&'a std::sync::atomic::AtomicUsize, usize);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a std::sync::atomic::AtomicUsize) -> InFlight<'a> {
        let now = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        InFlight(counter, now)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

pub(crate) fn router(api: Arc<Api>) -> Router {
    Router::new().fallback(handle).with_state(api)
}

/// One request as the endpoints see it.
pub(crate) struct Ctx<'a> {
    pub world: &'a World,
    /// The API root the request used: the origin, plus `/api/v3` when it came that way.
    pub root: String,
    /// The path without the `/api/v3` prefix.
    pub path: &'a str,
    pub query: &'a str,
    pub body: &'a [u8],
    pub now: DateTime<Utc>,
    /// The endpoint's documentation, for error bodies.
    pub docs: &'static str,
}

async fn handle(State(api): State<Arc<Api>>, request: Request) -> Response {
    let arrived = Utc::now();
    let in_flight = InFlight::enter(&api.in_flight);
    let (parts, body) = request.into_parts();
    let raw_path = parts.uri.path();
    let (ghes, path) = match raw_path.strip_prefix(GHES_PREFIX) {
        Some("") => (true, "/".to_string()),
        Some(rest) if rest.starts_with('/') => (true, rest.to_string()),
        _ => (false, raw_path.to_string()),
    };
    let query = parts.uri.query().unwrap_or("").to_string();
    let body = axum::body::to_bytes(body, MAX_BODY).await.unwrap_or_default();
    let route = routes::parse(&parts.method, &path);
    let authn = auth::authenticate(
        &api.world.lock(),
        route.as_ref().map(Route::auth_class),
        parts.headers.get(header::AUTHORIZATION),
        arrived,
    );
    let auth_kind = authn.kind;
    let request_id = ids::request_id();
    let fault = api.world.take_fault(parts.method.as_str(), &path);
    let root = if ghes { format!("{}{GHES_PREFIX}", api.origin) } else { api.origin.clone() };
    let normal = Normal {
        world: &api.world,
        root,
        path: &path,
        query: &query,
        body: &body,
        route: route.as_ref(),
        authn,
        in_flight: in_flight.1,
        request_id: &request_id,
    };
    let mut response = match &fault {
        None => normal.answer(),
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(*delay).await;
            normal.answer()
        }
        Some(Fault::MalformedJson) => faults::truncate(normal.answer()).await,
        Some(other) => faults::answer(other, &request_id).unwrap_or_else(|| normal.answer()),
    };
    decorate(response.headers_mut(), &request_id, api.world.rate_snapshot(Utc::now()));
    api.world.record_request(RecordedRequest {
        method: parts.method.to_string(),
        path,
        query,
        status: response.status().as_u16(),
        auth: auth_kind,
        at: arrived,
        ghes,
        request_id,
        fault: fault.map(|f| format!("{f:?}")),
    });
    response
}

/// Normal handling of a request, once faults have had their say.
struct Normal<'a> {
    world: &'a World,
    root: String,
    path: &'a str,
    query: &'a str,
    body: &'a [u8],
    route: Option<&'a Route>,
    authn: Authn,
    /// Requests in flight when this one arrived, itself included.
    in_flight: usize,
    request_id: &'a str,
}

impl Normal<'_> {
    fn answer(self) -> Response {
        let Some(route) = self.route else {
            return ApiError::not_found(REST_DOCS).into_response();
        };
        let principal = match self.authn.result {
            Ok(principal) => principal,
            Err(error) => return error.into_response(),
        };
        let now = Utc::now();
        if !self.world.take_rate(now) {
            let message = auth::rate_limited_message(&principal);
            return ApiError::new(StatusCode::FORBIDDEN, &message, PRIMARY_DOCS).into_response();
        }
        if let Err(wait) = self.world.admit_secondary(secondary::cost(route), self.in_flight) {
            return secondary::refusal(wait, self.request_id);
        }
        let ctx = Ctx {
            world: self.world,
            root: self.root,
            path: self.path,
            query: self.query,
            body: self.body,
            now,
            docs: route.documentation_url(),
        };
        dispatch(&ctx, route, &principal)
    }
}

fn dispatch(ctx: &Ctx<'_>, route: &Route, principal: &Principal) -> Response {
    match route {
        Route::Deliveries(scope, op) => deliveries::handle(ctx, scope, *op, principal),
        Route::GetVariable { .. }
        | Route::CreateVariable { .. }
        | Route::UpdateVariable { .. }
        | Route::DeleteVariable { .. } => variables::handle(ctx, route, principal),
        Route::RepoInstallation { .. } | Route::OrgInstallation { .. } | Route::CreateInstallationToken { .. } => {
            installations::handle(ctx, route, principal)
        }
    }
}

/// Headers GitHub puts on every answer.
fn decorate(headers: &mut HeaderMap, request_id: &str, rate: RateSnapshot) {
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set("x-github-request-id", request_id.to_string());
    set("x-ratelimit-limit", rate.limit.to_string());
    set("x-ratelimit-remaining", rate.remaining.to_string());
    set("x-ratelimit-used", rate.used.to_string());
    set("x-ratelimit-reset", rate.reset.to_string());
    set("x-ratelimit-resource", "core".to_string());
    set("x-github-api-version-selected", "2022-11-28".to_string());
    set("x-github-media-type", "github.v3; format=json".to_string());
}
