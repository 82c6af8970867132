//! The faults a client must survive without losing or repeating a redelivery (issue 8): an empty
//! page that still has a `next`, the same delivery listed twice, GitHub's clock ahead of or
//! behind the client's, and a redelivery refused with 422.

use crate::support::{AppWorld, TOKEN, header, next_link};
use chrono::{DateTime, Duration, Utc};
use redeliver_sim::{Fault, FaultRule, NewAttempt};
use serde_json::{Value, json};

/// `n` failed attempts a minute apart; their ids newest first.
fn history(app: &AppWorld, n: i64) -> Vec<u64> {
    let start = Utc::now() - Duration::hours(1);
    let mut ids: Vec<u64> = (0..n)
        .map(|i| app.world.record_attempt(app.hook, NewAttempt::new("push", 500, start + Duration::minutes(i))).id)
        .collect();
    ids.reverse();
    ids
}

async fn page(app: &AppWorld, url: &str) -> (Vec<u64>, Option<String>) {
    let response = app.get_url(url).await;
    assert_eq!(response.status(), 200);
    let next = next_link(&response);
    let items: Vec<Value> = response.json().await.unwrap();
    (items.iter().map(|d| d["id"].as_u64().unwrap()).collect(), next)
}

#[tokio::test]
async fn an_empty_page_with_next_leads_on_to_the_real_pages() {
    let app = AppWorld::start().await;
    let ids = history(&app, 3);
    app.world.inject(FaultRule::new("/app/hook/deliveries", Fault::EmptyPageWithNext).method("GET").times(2));
    let first = app.url("/app/hook/deliveries?per_page=2");
    let (empty, next) = page(&app, &first).await;
    assert!(empty.is_empty());
    let next = next.expect("an empty page that still has a next page");
    assert!(next.starts_with(&format!("{first}&page_token=")), "the same items under a cursor of its own: {next}");
    let (empty, next) = page(&app, &next).await;
    assert!(empty.is_empty());
    let (items, next) = page(&app, &next.unwrap()).await;
    assert_eq!(items, ids[..2]);
    let (rest, next) = page(&app, &next.unwrap()).await;
    assert_eq!((rest.as_slice(), next), (&ids[2..], None));
}

#[tokio::test]
async fn repeated_items_list_the_same_delivery_id_on_two_pages() {
    let app = AppWorld::start().await;
    let ids = history(&app, 5);
    app.world.inject(FaultRule::new("/app/hook/deliveries", Fault::RepeatItems { overlap: 1 }).method("GET"));
    let (first, next) = page(&app, &app.url("/app/hook/deliveries?per_page=2")).await;
    assert_eq!(first, ids[..2]);
    let (second, next) = page(&app, &next.unwrap()).await;
    assert_eq!(second, ids[1..3], "the last item of the first page comes again");
    let (third, next) = page(&app, &next.unwrap()).await;
    assert_eq!(third, ids[3..5], "the fault applied once");
    assert_eq!(next, None);
}

fn date_header(response: &reqwest::Response) -> DateTime<Utc> {
    let date = header(response, "date").expect("a Date header");
    DateTime::parse_from_rfc2822(&date).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn a_clock_ahead_dates_answers_and_new_deliveries_in_githubs_time() {
    let app = AppWorld::start().await;
    app.world.set_clock_skew(Duration::minutes(10));
    // A JWT made by the client's clock has expired by GitHub's, but a token has no clock.
    let expired = app.get("/app/hook/deliveries").await;
    assert_eq!(expired.status(), 401);
    let body: Value = expired.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().starts_with("'Expiration time' claim ('exp') must be"), "{body}");
    app.world.add_token(TOKEN);
    let response =
        app.http.get(app.url("/repos/octo/site/actions/variables/X")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let ahead = date_header(&response) - Utc::now();
    assert!((ahead - Duration::minutes(10)).num_seconds().abs() <= 2, "{ahead}");
    let delivered = app.world.deliver(app.hook, "push", None, json!({})).await;
    let ahead = delivered.delivered_at - Utc::now();
    assert!((ahead - Duration::minutes(10)).num_seconds().abs() <= 2, "{ahead}");
    assert!((app.world.now() - Utc::now() - Duration::minutes(10)).num_seconds().abs() <= 1);
}

#[tokio::test]
async fn a_clock_behind_refuses_a_jwt_issued_in_its_future() {
    let app = AppWorld::start().await;
    app.world.set_clock_skew(-Duration::minutes(10));
    let response = app.get("/app/hook/deliveries").await;
    assert_eq!(response.status(), 401);
    let behind = Utc::now() - date_header(&response);
    assert!((behind - Duration::minutes(10)).num_seconds().abs() <= 2, "{behind}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["message"],
        "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
    );
}

#[tokio::test]
async fn a_refused_redelivery_is_a_422_that_leaves_no_trace() {
    let app = AppWorld::start().await;
    let first = app.world.record_attempt(app.hook, NewAttempt::new("push", 500, Utc::now() - Duration::hours(1)));
    app.world.inject(FaultRule::new("/app/hook/deliveries", Fault::RedeliveryRefused).method("POST"));
    let path = format!("/app/hook/deliveries/{}/attempts", first.id);
    let refused = app.post(&path).await;
    assert_eq!(refused.status(), 422);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["message"], "Validation failed, or the endpoint has been spammed.");
    assert_eq!(
        body["documentation_url"],
        "https://docs.github.com/rest/apps/webhooks#redeliver-a-delivery-for-an-app-webhook"
    );
    app.world.settle().await;
    assert_eq!(app.world.attempts_for(&first.guid).len(), 1, "nothing was attempted");
    assert!(app.receiver.received().is_empty());
    assert_eq!(app.post(&path).await.status(), 202, "the fault applied once");
    app.world.settle().await;
}
