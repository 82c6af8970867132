//! The HTTP API: one handler that strips the GHES `/api/v3` prefix, authenticates, applies
//! injected faults and the primary rate limit, dispatches to an endpoint, adds GitHub's headers
//! and records the request.

mod auth;
mod conditional;
mod deliveries;
mod error;
mod faults;
mod installations;
mod json;
mod jwt;
mod listings;
mod pagination;
mod routes;
mod secondary;
mod variables;
mod version;

use crate::fault::Fault;
use crate::flavor::Flavor;
use crate::ids;
use crate::rate_limit::{BudgetKey, RateSnapshot};
use crate::recording::RecordedRequest;
use crate::world::World;
use auth::{Authn, Principal};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use error::{ApiError, REST_DOCS};
use routes::Route;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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
    /// Requests being answered now per credential, for the secondary limit on concurrency.
    pub in_flight: Mutex<HashMap<BudgetKey, usize>>,
}

/// Counts a request as in flight for its credential until dropped.
struct InFlight<'a> {
    counts: &'a Mutex<HashMap<BudgetKey, usize>>,
    key: BudgetKey,
    /// Requests of this credential in flight when this one arrived, itself included.
    now: usize,
}

fn lock_counts(counts: &Mutex<HashMap<BudgetKey, usize>>) -> std::sync::MutexGuard<'_, HashMap<BudgetKey, usize>> {
    counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<'a> InFlight<'a> {
    fn enter(counts: &'a Mutex<HashMap<BudgetKey, usize>>, key: BudgetKey) -> InFlight<'a> {
        let mut map = lock_counts(counts);
        let n = map.entry(key).or_default();
        *n += 1;
        InFlight { counts, key, now: *n }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut map = lock_counts(self.counts);
        if let Some(n) = map.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.key);
            }
        }
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
    /// GitHub's clock (the world's, skew included).
    pub now: DateTime<Utc>,
    /// github.com or GHES, as this request sees it.
    pub flavor: Flavor,
    /// The endpoint's documentation, for error bodies.
    pub docs: &'static str,
    /// How many items a list's `next` page repeats (the `RepeatItems` fault), usually 0.
    pub overlap: usize,
}

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn handle(State(api): State<Arc<Api>>, request: Request) -> Response {
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
    let (arrived, flavor, authn) = {
        let state = api.world.lock();
        let arrived = state.now();
        let class = route.as_ref().map(Route::auth_class);
        let authn = auth::authenticate(&state, class, parts.headers.get(header::AUTHORIZATION), arrived);
        (arrived, state.flavor_for(ghes), authn)
    };
    let auth_kind = authn.kind;
    let budget = authn.result.as_ref().map_or(BudgetKey::Anonymous, |p| p.budget());
    let in_flight = InFlight::enter(&api.in_flight, budget);
    let request_id = ids::request_id();
    let fault = api.world.take_fault(parts.method.as_str(), &path);
    let root = if ghes { format!("{}{GHES_PREFIX}", api.origin) } else { api.origin.clone() };
    let version = version::select(header_text(&parts.headers, "x-github-api-version"));
    let selected = *version.as_ref().unwrap_or(&version::DEFAULT);
    let docs = route.as_ref().map_or(REST_DOCS, Route::documentation_url);
    let normal = Normal {
        world: &api.world,
        root: root.clone(),
        path: &path,
        query: &query,
        body: &body,
        route: route.as_ref(),
        authn,
        budget,
        version: version.map(|_| ()),
        flavor,
        in_flight: in_flight.now,
        request_id: &request_id,
        overlap: 0,
    };
    let mut response = match &fault {
        None => normal.answer(),
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(*delay).await;
            normal.answer()
        }
        Some(Fault::MalformedJson) => faults::truncate(normal.answer()).await,
        Some(Fault::RepeatItems { overlap }) => Normal { overlap: *overlap, ..normal }.answer(),
        Some(Fault::EmptyPageWithNext) => faults::empty_page(&root, &path, &query),
        Some(other) => faults::answer(other, &request_id, docs).unwrap_or_else(|| normal.answer()),
    };
    drop(in_flight);
    let conditional = parts.method == Method::GET
        && response.status() == StatusCode::OK
        && budget != BudgetKey::Anonymous
        && !matches!(fault, Some(Fault::MalformedJson));
    if conditional {
        let (answer, not_modified) = conditional::apply(response, header_text(&parts.headers, "if-none-match")).await;
        response = answer;
        if not_modified {
            api.world.refund_rate(budget);
        }
    }
    let now = api.world.now();
    decorate(response.headers_mut(), &request_id, api.world.rate_snapshot(budget), selected, now);
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
    /// The budget the request spends.
    budget: BudgetKey,
    /// `Err` when the request asked for an API version GitHub does not serve.
    version: Result<(), ApiError>,
    flavor: Flavor,
    /// Requests of this credential in flight when this one arrived, itself included.
    in_flight: usize,
    request_id: &'a str,
    overlap: usize,
}

impl Normal<'_> {
    fn answer(self) -> Response {
        if let Err(error) = self.version {
            return error.into_response();
        }
        let Some(route) = self.route else {
            self.world.take_rate(self.budget);
            return ApiError::not_found(REST_DOCS).into_response();
        };
        let principal = match self.authn.result {
            Ok(principal) => principal,
            Err(error) => {
                // Refused credentials still spend the unauthenticated budget, which never refuses
                // here: the 401 says more than a 403 would.
                self.world.take_rate(BudgetKey::Anonymous);
                return error.into_response();
            }
        };
        if !self.world.take_rate(self.budget) {
            let message = auth::rate_limited_message(&principal);
            return ApiError::new(StatusCode::FORBIDDEN, &message, PRIMARY_DOCS).into_response();
        }
        if let Err(wait) = self.world.admit_secondary(self.budget, secondary::cost(route), self.in_flight) {
            return secondary::refusal(wait, self.request_id);
        }
        let ctx = Ctx {
            world: self.world,
            root: self.root,
            path: self.path,
            query: self.query,
            body: self.body,
            now: self.world.now(),
            flavor: self.flavor,
            docs: route.documentation_url(),
            overlap: self.overlap,
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
        Route::OrgRepos { .. } | Route::Hooks { .. } | Route::InstallationRepos | Route::Organizations => {
            listings::handle(ctx, route, principal)
        }
    }
}

/// Headers GitHub puts on every answer: the request id, the rate limit of the credential the
/// request spent (`core` for every endpoint served here), the API version used, and `Date` on
/// GitHub's clock.
fn decorate(headers: &mut HeaderMap, request_id: &str, rate: RateSnapshot, version: &str, now: DateTime<Utc>) {
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
    set("x-github-api-version-selected", version.to_string());
    set("x-github-media-type", "github.v3; format=json".to_string());
    // hyper adds `Date` from this machine's clock only when the answer has none.
    set("date", now.format("%a, %d %b %Y %H:%M:%S GMT").to_string());
}
