//! When GitHub refuses an App JWT because of its times, the client re-signs it once on GitHub's
//! clock (from the answer's `Date` header) and sends again. The simulator shares this machine's
//! clock, so a tiny scripted HTTP server plays a GitHub whose clock is ten minutes behind.

use chrono::{TimeDelta, Utc};
use redeliver_core::github::{ApiError, AppKey, ClientConfig, Credentials, GitHubClient, HookTarget};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

const KEY: &str = include_str!("../../../redeliver-sim/keys/test-app-key.pem");
const TOO_FAR: &str = "'Expiration time' claim ('exp') is too far in the future";

/// Answers each request (one per connection) with the next of `answers`, a 401 carrying `date`
/// or a 200 empty list, and records the `Authorization` headers it got.
async fn scripted_github(answers: Vec<u16>, date: String) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        for status in answers {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
            }
            let text = String::from_utf8_lossy(&request).to_string();
            let auth = text
                .lines()
                .find_map(|l| l.strip_prefix("authorization: ").or_else(|| l.strip_prefix("Authorization: ")))
                .unwrap_or("")
                .to_owned();
            record.lock().unwrap().push(auth);
            let body = if status == 401 {
                format!(r#"{{"message":"{TOO_FAR}","documentation_url":"https://docs.github.com/rest"}}"#)
            } else {
                "[]".to_owned()
            };
            let reason = if status == 401 { "Unauthorized" } else { "OK" };
            let response = format!(
                "HTTP/1.1 {status} {reason}\r\ndate: {date}\r\ncontent-type: application/json\r\n\
                 x-github-request-id: SKEW:1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(response.as_bytes()).await.unwrap();
            let _ = socket.shutdown().await;
        }
    });
    (base, seen)
}

fn iat_of(authorization: &str) -> i64 {
    let jwt = authorization.strip_prefix("Bearer ").expect("a Bearer JWT");
    let claims = jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(jwt).unwrap().claims;
    claims["iat"].as_i64().unwrap()
}

fn client(base: &str) -> GitHubClient {
    let mut config = ClientConfig::new(Url::parse(base).unwrap());
    config.retry_base = Duration::from_millis(10);
    let key = AppKey::from_pem(KEY).unwrap();
    GitHubClient::new(config, Credentials::App { app_id: "42".into(), key }).unwrap()
}

#[tokio::test]
async fn a_jwt_refused_for_clock_skew_is_resigned_on_githubs_time_once() {
    let github_now = Utc::now() - TimeDelta::minutes(10);
    let date = github_now.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let (base, seen) = scripted_github(vec![401, 200], date).await;
    let mut client = client(&base);

    let page = client.list_deliveries(&HookTarget::App, None).await.unwrap();

    assert!(page.deliveries.is_empty());
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let (first, second) = (iat_of(&seen[0]), iat_of(&seen[1]));
    let shift = first - second;
    assert!((595..=605).contains(&shift), "re-signed {shift} s earlier, expected about 600");
}

#[tokio::test]
async fn a_second_clock_skew_refusal_is_reported_not_retried_forever() {
    let date = (Utc::now() - TimeDelta::minutes(10)).format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let (base, seen) = scripted_github(vec![401, 401], date).await;
    let mut client = client(&base);

    let err = client.list_deliveries(&HookTarget::App, None).await.unwrap_err();

    let ApiError::Unauthorized { message, request_id } = &err else { panic!("{err:?}") };
    assert_eq!(message, TOO_FAR);
    assert_eq!(request_id.as_deref(), Some("SKEW:1"));
    assert!(err.hint().unwrap().contains("clock"));
    assert_eq!(seen.lock().unwrap().len(), 2);
}
