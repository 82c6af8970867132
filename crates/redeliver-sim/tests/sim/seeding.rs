//! The seeded world of `redeliver sim`: an App with an installation, a repository hook and an
//! organization hook, each reachable with its credential, each with a realistic history.

use crate::support::{http, next_link, sign};
use chrono::Utc;
use redeliver_sim::seed::{self, Seeded};
use redeliver_sim::{DeliveryRecord, Receiver, Sim, keys};
use serde_json::{Value, json};
use std::collections::BTreeSet;

async fn seeded() -> (Sim, Receiver, Seeded) {
    let sim = Sim::start().await.unwrap();
    let receiver = Receiver::start(None).await.unwrap();
    let seeded = seed::seed(&sim.world(), &receiver.url(), 20, Utc::now(), 7);
    (sim, receiver, seeded)
}

fn jwt() -> String {
    let now = Utc::now().timestamp();
    sign(keys::TEST_APP_KEY_PKCS1, &json!({ "iat": now - 60, "exp": now + 540, "iss": seed::CLIENT_ID }))
}

/// Every item of a list, following `next`.
async fn list_all(url: String, auth: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next = Some(url);
    for _ in 0..20 {
        let Some(url) = next.take() else { break };
        let response = http().get(url).header("authorization", auth).send().await.unwrap();
        assert_eq!(response.status(), 200);
        next = next_link(&response);
        items.extend(response.json::<Vec<Value>>().await.unwrap());
    }
    items
}

#[tokio::test]
async fn every_kind_of_target_is_reachable_with_its_credential() {
    let (sim, _receiver, s) = seeded().await;
    let base = sim.base_url();
    let bearer = format!("Bearer {}", jwt());
    let app = list_all(format!("{base}/app/hook/deliveries?per_page=100"), &bearer).await;
    assert!(!app.is_empty());

    let installation: Value = http()
        .get(format!("{base}/orgs/{}/installation", s.org))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(installation["id"], s.installation_id);
    assert_eq!(installation["account"]["login"], s.org.as_str());
    assert!(installation["repositories_url"].as_str().unwrap().ends_with("/installation/repositories"));
    assert_eq!(installation["suspended_by"], Value::Null);
    assert_eq!(installation["client_id"], seed::CLIENT_ID);
    let minted: Value = http()
        .post(format!("{base}/app/installations/{}/access_tokens", s.installation_id))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let installation_token = format!("token {}", minted["token"].as_str().unwrap());
    let user_token = format!("token {}", s.user_token);
    let repo_url = format!("{base}/repos/{}/{}/hooks/{}/deliveries?per_page=100", s.repo_owner, s.repo, s.repo_hook);
    let org_url = format!("{base}/orgs/{}/hooks/{}/deliveries?per_page=100", s.org, s.org_hook);
    for auth in [&installation_token, &user_token] {
        assert!(!list_all(repo_url.clone(), auth).await.is_empty());
        assert!(!list_all(org_url.clone(), auth).await.is_empty());
    }
    assert!(s.user_token.starts_with("ghp_") && s.user_token.len() == 40);
}

#[tokio::test]
async fn histories_have_the_mix_a_real_app_sees() {
    let (sim, _receiver, s) = seeded().await;
    let world = sim.world();
    let all: Vec<DeliveryRecord> =
        [s.app_hook, s.repo_hook, s.org_hook].iter().flat_map(|h| world.deliveries(*h)).collect();
    let events: BTreeSet<&str> = all.iter().map(|d| d.event.as_str()).collect();
    assert!(events.len() >= 8, "{events:?}");
    assert!(all.iter().any(|d| d.action.is_some()) && all.iter().any(|d| d.action.is_none()));
    let app = world.deliveries(s.app_hook);
    assert!(app.iter().all(|d| d.installation_id == Some(s.installation_id)));
    assert!(app.iter().any(|d| d.repository_id.is_some()));
    let repo_id = world.repository_id(&s.repo_owner, &s.repo);
    assert!(
        world.deliveries(s.repo_hook).iter().all(|d| d.repository_id == Some(repo_id) && d.installation_id.is_none())
    );
    let class = |d: &DeliveryRecord| match d.status_code {
        0 => d.status.clone(),
        c => format!("{}xx", c / 100),
    };
    let classes: BTreeSet<String> = all.iter().map(class).collect();
    for expected in ["2xx", "4xx", "5xx", "timed out", "failed to connect to network"] {
        assert!(classes.contains(expected), "{expected} missing from {classes:?}");
    }
    assert!(all.iter().any(|d| d.redelivery), "earlier manual redeliveries");
    assert!(all.iter().any(|d| d.throttled_at.is_some()), "occasional throttling");
    // Each failed event has no success at all; the others all have one.
    for guid in &s.failed {
        assert!(world.attempts_for(guid).iter().all(|a| !(200..300).contains(&a.status_code)), "{guid}");
    }
    assert_eq!(s.failed.len(), 60, "20 per hook");
}

#[tokio::test]
async fn a_recorded_attempt_shows_the_headers_sent_and_the_answer() {
    let (sim, _receiver, s) = seeded().await;
    let bearer = format!("Bearer {}", jwt());
    let first = &sim.world().deliveries(s.app_hook)[0];
    let detail: Value = http()
        .get(format!("{}/app/hook/deliveries/{}", sim.base_url(), first.id))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["request"]["headers"]["X-GitHub-Delivery"], first.guid.as_str());
    assert_eq!(detail["request"]["headers"]["X-GitHub-Hook-Installation-Target-Type"], "integration");
    if first.status_code == 0 {
        assert_eq!(detail["response"]["headers"], Value::Null);
    } else {
        assert!(detail["response"]["payload"].is_string());
    }
}
