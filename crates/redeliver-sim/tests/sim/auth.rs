//! App JWTs: accepted by app id or client id, refused with GitHub's own messages; tokens and
//! JWTs are not interchangeable.

use crate::support::{APP_ID, AppWorld, CLIENT_ID, TOKEN, now, sign};
use redeliver_sim::keys;
use serde_json::{Value, json};

/// GETs the app's deliveries with `authorization` (or none); returns status and body.
async fn list_with(app: &AppWorld, authorization: Option<String>) -> (u16, Value) {
    let mut request = app.http.get(app.url("/app/hook/deliveries"));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn list_with_jwt(app: &AppWorld, key: &str, claims: Value) -> (u16, Value) {
    list_with(app, Some(format!("Bearer {}", sign(key, &claims)))).await
}

fn refusal(body: &Value) -> &str {
    assert_eq!(body["documentation_url"], "https://docs.github.com/rest");
    body["message"].as_str().unwrap()
}

#[tokio::test]
async fn a_jwt_may_name_the_app_by_id_as_string_or_number_or_by_client_id() {
    let app = AppWorld::start().await;
    let t = now();
    for iss in [json!(APP_ID.to_string()), json!(APP_ID), json!(CLIENT_ID)] {
        let claims = json!({ "iat": t - 60, "exp": t + 540, "iss": iss });
        let (status, _) = list_with_jwt(&app, keys::TEST_APP_KEY_PKCS1, claims).await;
        assert_eq!(status, 200, "iss {iss}");
    }
    // The PKCS#8 form of the same key signs the same JWTs.
    let claims = json!({ "iat": t - 60, "exp": t + 540, "iss": APP_ID });
    assert_eq!(list_with_jwt(&app, keys::TEST_APP_KEY_PKCS8, claims).await.0, 200);
}

#[tokio::test]
async fn bad_jwts_are_refused_with_githubs_messages() {
    let app = AppWorld::start().await;
    let t = now();
    let iss = APP_ID.to_string();
    let cases = [
        (
            json!({ "iat": t - 700, "exp": t - 100, "iss": iss }),
            "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
        ),
        (
            json!({ "iat": t - 60, "exp": t + 3600, "iss": iss }),
            "'Expiration time' claim ('exp') is too far in the future",
        ),
        (
            json!({ "iat": t + 120, "exp": t + 500, "iss": iss }),
            "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
        ),
        (
            json!({ "exp": t + 500, "iss": iss }),
            "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
        ),
    ];
    for (claims, message) in cases {
        let (status, body) = list_with_jwt(&app, keys::TEST_APP_KEY_PKCS1, claims.clone()).await;
        assert_eq!(status, 401, "{claims}");
        assert_eq!(refusal(&body), message);
    }
}

#[tokio::test]
async fn a_jwt_signed_with_another_key_or_not_a_jwt_at_all_cannot_be_decoded() {
    let app = AppWorld::start().await;
    let t = now();
    let claims = json!({ "iat": t - 60, "exp": t + 540, "iss": APP_ID });
    let (status, body) = list_with_jwt(&app, keys::OTHER_KEY, claims).await;
    assert_eq!((status, refusal(&body)), (401, "A JSON web token could not be decoded"));

    let (status, body) = list_with(&app, Some("Bearer not.a.jwt".into())).await;
    assert_eq!((status, refusal(&body)), (401, "A JSON web token could not be decoded"));

    // A JWT must come as Bearer; and a token is no JWT.
    let (status, body) = list_with(&app, Some(format!("token {}", app.jwt))).await;
    assert_eq!((status, refusal(&body)), (401, "A JSON web token could not be decoded"));
    app.world.add_token(TOKEN);
    let (status, body) = list_with(&app, Some(format!("Bearer {TOKEN}"))).await;
    assert_eq!((status, refusal(&body)), (401, "A JSON web token could not be decoded"));
}

#[tokio::test]
async fn missing_credentials_and_unknown_apps() {
    let app = AppWorld::start().await;
    let (status, body) = list_with(&app, None).await;
    assert_eq!((status, refusal(&body)), (401, "Requires authentication"));

    let t = now();
    let claims = json!({ "iat": t - 60, "exp": t + 540, "iss": "999" });
    let (status, body) = list_with_jwt(&app, keys::TEST_APP_KEY_PKCS1, claims).await;
    assert_eq!((status, body["message"].as_str()), (404, Some("Integration not found")));
}

#[tokio::test]
async fn a_jwt_is_not_a_token_for_repository_hooks() {
    let app = AppWorld::start().await;
    let hook = app.world.add_repo_hook("octo", "site", &app.receiver.url(), None);
    let response = app.get(&format!("/repos/octo/site/hooks/{hook}/deliveries")).await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(refusal(&body), "Bad credentials");
}
