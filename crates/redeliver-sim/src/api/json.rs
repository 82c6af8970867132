//! Deliveries as GitHub's JSON: "Simple webhook delivery" for lists, "Webhook delivery" for one.

use crate::world::{DeliveryRecord, StoredAttempt};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

/// `2021-05-12T20:33:44Z`, as GitHub writes timestamps.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A list item.
pub(crate) fn item(r: &DeliveryRecord) -> Value {
    json!({
        "id": r.id,
        "guid": r.guid,
        "delivered_at": timestamp(r.delivered_at),
        "redelivery": r.redelivery,
        "duration": r.duration,
        "status": r.status,
        "status_code": r.status_code,
        "event": r.event,
        "action": r.action,
        "installation_id": r.installation_id,
        "repository_id": r.repository_id,
        "throttled_at": r.throttled_at.map(timestamp),
    })
}

/// The single-delivery view: the item plus URL, request and response.
pub(crate) fn detail(a: &StoredAttempt) -> Value {
    let mut value = item(&a.record);
    value["url"] = json!(a.url);
    value["request"] = json!({
        "headers": headers(&a.request_headers),
        "payload": a.payload,
    });
    value["response"] = json!({
        "headers": headers(&a.response_headers),
        "payload": a.response_body,
    });
    value
}

fn headers(list: &[(String, String)]) -> Value {
    if list.is_empty() {
        return Value::Null;
    }
    let map: Map<String, Value> = list.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    Value::Object(map)
}
