//! The webhook delivery record as GitHub's list endpoint returns it, holding only the fields we use.
//!
//! Schema: <https://docs.github.com/rest/apps/webhooks#list-deliveries-for-an-app-webhook>.
//! Every field GitHub documents as required is still read tolerantly: `null` or missing values
//! take a neutral default, because a tool that crashes on one odd record loses every other event.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;

pub use crate::parse::{PageItems, parse_page};

/// One attempt to deliver one event to one hook. Redeliveries are new attempts with the same `guid`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Unique id of this attempt (int64 in GitHub's schema).
    pub id: u64,
    /// The event's id, shared by every attempt and sent as `X-GitHub-Delivery`.
    pub guid: String,
    /// When the attempt was made.
    pub delivered_at: DateTime<Utc>,
    /// Whether this attempt was itself a redelivery.
    #[serde(default, deserialize_with = "null_default")]
    pub redelivery: bool,
    /// GitHub's description of the answer, e.g. `OK`, `failed to connect`, `Invalid HTTP Response: 503`.
    #[serde(default, deserialize_with = "null_default")]
    pub status: String,
    /// The receiver's HTTP status; 0 (or absent) when no HTTP answer came at all.
    #[serde(default, deserialize_with = "null_default")]
    pub status_code: i64,
    /// The event name, e.g. `pull_request`.
    #[serde(default, deserialize_with = "null_default")]
    pub event: String,
    /// The event's action, e.g. `opened`; absent for events without actions.
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub installation_id: Option<i64>,
    #[serde(default)]
    pub repository_id: Option<i64>,
    /// Newer field; absent on older servers.
    #[serde(default)]
    pub throttled_at: Option<DateTime<Utc>>,
}

impl Delivery {
    /// Whether the receiver accepted this attempt: any 2xx status code, or GitHub's `OK` text
    /// (what the docs script tests; kept so the two never disagree on an event).
    pub fn succeeded(&self) -> bool {
        accepted(self.status_code, &self.status)
    }

    /// `event` or `event.action`, the form filters match against.
    pub fn kind(&self) -> String {
        event_kind(&self.event, self.action.as_deref())
    }
}

/// `event` or `event.action` (an empty action counts as none): how filters, reports and people
/// name a kind of event.
pub fn event_kind(event: &str, action: Option<&str>) -> String {
    match action {
        Some(action) if !action.is_empty() => format!("{event}.{action}"),
        _ => event.to_owned(),
    }
}

impl Delivery {
    /// This record as a [`DeliveryRef`] borrowing its text (no allocation).
    pub fn borrowed(&self) -> DeliveryRef<'_> {
        DeliveryRef {
            id: self.id,
            guid: Cow::Borrowed(&self.guid),
            delivered_at: self.delivered_at,
            redelivery: self.redelivery,
            status: Cow::Borrowed(&self.status),
            status_code: self.status_code,
            event: Cow::Borrowed(&self.event),
            action: self.action.as_deref().map(Cow::Borrowed),
            installation_id: self.installation_id,
            repository_id: self.repository_id,
            throttled_at: self.throttled_at,
        }
    }
}

/// A [`Delivery`] whose text borrows from the response body it was parsed from, so that reading
/// a page allocates nothing per record (text is copied only where GitHub escaped it). The scan
/// copies what it keeps, and only for the events it tracks.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRef<'a> {
    pub id: u64,
    pub guid: Cow<'a, str>,
    pub delivered_at: DateTime<Utc>,
    pub redelivery: bool,
    pub status: Cow<'a, str>,
    pub status_code: i64,
    pub event: Cow<'a, str>,
    pub action: Option<Cow<'a, str>>,
    pub installation_id: Option<i64>,
    pub repository_id: Option<i64>,
    pub throttled_at: Option<DateTime<Utc>>,
}

impl DeliveryRef<'_> {
    /// Same rule as [`Delivery::succeeded`].
    pub fn succeeded(&self) -> bool {
        accepted(self.status_code, &self.status)
    }

    /// An owned copy.
    pub fn into_owned(self) -> Delivery {
        Delivery {
            id: self.id,
            guid: self.guid.into_owned(),
            delivered_at: self.delivered_at,
            redelivery: self.redelivery,
            status: self.status.into_owned(),
            status_code: self.status_code,
            event: self.event.into_owned(),
            action: self.action.map(Cow::into_owned),
            installation_id: self.installation_id,
            repository_id: self.repository_id,
            throttled_at: self.throttled_at,
        }
    }
}

/// The one rule for "the receiver accepted it", for owned and borrowed records alike.
fn accepted(status_code: i64, status: &str) -> bool {
    (200..300).contains(&status_code) || status == "OK"
}

fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example_with_nulls_and_missing_fields() {
        let page = r#"[
          {"id": 9223372036854775807, "guid": "0b989ba4-242f-11e5-81e1-c7b6966d2516",
           "delivered_at": "2019-06-03T00:57:16Z", "redelivery": false, "duration": 0.27,
           "status": "OK", "status_code": 200, "event": "issues", "action": "opened",
           "installation_id": 123, "repository_id": 456, "throttled_at": "2019-06-03T00:57:16Z"},
          {"id": 2, "guid": "g2", "delivered_at": "2019-06-04T00:57:16Z", "redelivery": null,
           "status": null, "status_code": null, "event": "push", "action": null,
           "installation_id": null, "repository_id": null}
        ]"#;
        let deliveries: Vec<Delivery> = serde_json::from_str(page).unwrap();
        assert_eq!(deliveries[0].id, 9_223_372_036_854_775_807);
        assert!(deliveries[0].succeeded());
        assert_eq!(deliveries[0].kind(), "issues.opened");
        assert_eq!(deliveries[1].status_code, 0);
        assert!(!deliveries[1].succeeded());
        assert_eq!(deliveries[1].kind(), "push");
        assert_eq!(deliveries[1].throttled_at, None);
    }

    #[test]
    fn any_2xx_or_ok_text_is_success() {
        let mut d: Delivery = serde_json::from_str(
            r#"{"id":1,"guid":"g","delivered_at":"2024-01-01T00:00:00Z","status":"Accepted","status_code":202,"event":"push"}"#,
        )
        .unwrap();
        assert!(d.succeeded());
        d.status_code = 0;
        d.status = "OK".into();
        assert!(d.succeeded());
        d.status = "failed to connect".into();
        assert!(!d.succeeded());
        d.status_code = 302;
        assert!(!d.succeeded(), "a redirect is not an accepted delivery");
    }
}
