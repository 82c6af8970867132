//! Shared set-up for the scenarios: an app with a receiver, JWTs, and an HTTP client.

use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use redeliver_sim::{HookId, Receiver, Sim, World, keys};
use serde_json::{Value, json};
use std::sync::OnceLock;

pub const APP_ID: u64 = 4242;
pub const CLIENT_ID: &str = "Iv23liSimTestApp";
pub const SECRET: &str = "It's a Secret to Everybody";
pub const TOKEN: &str = "ghp_simTestToken0000000000000000000000";

pub fn now() -> i64 {
    Utc::now().timestamp()
}

/// A JWT with `claims`, signed RS256 with `key_pem`.
pub fn sign(key_pem: &str, claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(key_pem.as_bytes()).expect("test key");
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key).expect("signing")
}

/// A JWT the way GitHub recommends: issued 60 s ago, expiring in 9 minutes. Made once per run,
/// because RSA signing is slow in debug builds and the suite finishes well within 9 minutes.
pub fn app_jwt() -> String {
    static JWT: OnceLock<String> = OnceLock::new();
    JWT.get_or_init(|| {
        sign(keys::TEST_APP_KEY_PKCS1, &json!({ "iat": now() - 60, "exp": now() + 540, "iss": APP_ID.to_string() }))
    })
    .clone()
}

/// A client that never uses a proxy from the environment.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("http client")
}

/// A simulator with one app (signing secret [`SECRET`]) whose hook points at a receiver.
pub struct AppWorld {
    pub sim: Sim,
    pub world: World,
    pub receiver: Receiver,
    pub hook: HookId,
    pub jwt: String,
    pub http: reqwest::Client,
}

impl AppWorld {
    pub async fn start() -> AppWorld {
        let sim = Sim::start().await.expect("sim");
        let receiver = Receiver::start(Some(SECRET)).await.expect("receiver");
        let world = sim.world();
        let hook = world.add_app(APP_ID, CLIENT_ID, keys::TEST_APP_PUBLIC_KEY, &receiver.url(), Some(SECRET));
        AppWorld { sim, world, receiver, hook, jwt: app_jwt(), http: http() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    /// GET `path` with the app's JWT.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.get_url(&self.url(path)).await
    }

    pub async fn get_url(&self, url: &str) -> reqwest::Response {
        self.http.get(url).bearer_auth(&self.jwt).send().await.expect("request")
    }

    /// POST `path` with the app's JWT and no body.
    pub async fn post(&self, path: &str) -> reqwest::Response {
        self.http.post(self.url(path)).bearer_auth(&self.jwt).send().await.expect("request")
    }
}

/// The `Link` header's `rel="next"` URL, if any.
pub fn next_link(response: &reqwest::Response) -> Option<String> {
    let link = response.headers().get("link")?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, rel) = part.split_once(';')?;
        rel.contains("rel=\"next\"").then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

pub fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}
