//! The scan's memory follows the failures, not the traffic: on generated histories and windows,
//! the events it tracks never outnumber those with a failed attempt or a successful redelivery
//! in the window. And reading a page without copying (`parse_page`) sees exactly what
//! deserializing each item as a `Delivery` sees.

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use redeliver_core::model::{Delivery, parse_page};
use redeliver_core::plan::{Scan, Window};
use serde_json::{Value, json};
use std::collections::HashSet;

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
}

/// Events: the original's time (seconds after base) and code, then each redelivery's delay after
/// the previous attempt (0 = the same second) and code.
type Events = Vec<(i64, i64, Vec<(i64, i64)>)>;

fn events() -> impl Strategy<Value = Events> {
    let code = || prop_oneof![4 => Just(200), 1 => Just(204), 1 => Just(0), 1 => Just(302), 1 => Just(404), 1 => Just(500), 1 => Just(502)];
    prop::collection::vec((0i64..20_000, code(), prop::collection::vec((0i64..3_000, code()), 0..4)), 0..120)
}

/// The attempts, newest first as GitHub lists them, with ids growing with time.
fn deliveries(events: &Events) -> Vec<Delivery> {
    let mut list = Vec::new();
    for (e, (first, code, redeliveries)) in events.iter().enumerate() {
        let mut at = *first;
        for (n, (gap, code)) in std::iter::once((0, *code)).chain(redeliveries.iter().copied()).enumerate() {
            at += gap;
            list.push((at, e, n, code));
        }
    }
    list.sort();
    let mut list: Vec<Delivery> = list
        .into_iter()
        .enumerate()
        .map(|(i, (secs, event, n, code))| Delivery {
            id: 1_000 + i as u64,
            guid: format!("guid-{event}"),
            delivered_at: base() + Duration::seconds(secs),
            redelivery: n > 0,
            status: if (200..300).contains(&code) { "OK".into() } else { format!("Invalid HTTP Response: {code}") },
            status_code: code,
            event: "push".into(),
            action: None,
            installation_id: None,
            repository_id: None,
            throttled_at: None,
        })
        .collect();
    list.reverse();
    list
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn tracked_events_are_bounded_by_failures_and_successful_redeliveries(
        events in events(),
        start in -100i64..32_000,
    ) {
        let list = deliveries(&events);
        let window = Window { start: base() + Duration::seconds(start), until: None };
        let mut scan = Scan::new(window);
        let mut peak = 0;
        for d in &list {
            scan.observe(d);
            peak = peak.max(scan.tracked());
        }
        let in_window: Vec<&Delivery> = list.iter().filter(|d| d.delivered_at >= window.start).collect();
        let bound: HashSet<&str> = in_window
            .iter()
            .filter(|d| !d.succeeded() || d.redelivery)
            .map(|d| d.guid.as_str())
            .collect();
        prop_assert!(peak <= bound.len(), "tracked {peak}, bound {}", bound.len());
        prop_assert_eq!(scan.deliveries_in_window, in_window.len() as u64);
        // Nothing tracked is lost: the failed events are exactly those in the window with no
        // success anywhere read (every attempt here is read; an older success still wins).
        let succeeded: HashSet<&str> = list.iter().filter(|d| d.succeeded()).map(|d| d.guid.as_str()).collect();
        let expected: HashSet<&str> =
            in_window.iter().map(|d| d.guid.as_str()).filter(|g| !succeeded.contains(g)).collect();
        let failed: HashSet<&str> = scan.failed().map(|h| h.guid.as_str()).collect();
        prop_assert_eq!(failed, expected);
    }

    #[test]
    fn borrowed_and_owned_reads_agree(items in prop::collection::vec(item(), 0..30)) {
        let body = serde_json::to_vec(&Value::Array(items.clone())).unwrap();
        let mut borrowed = Vec::new();
        let found = parse_page(&body, |d| borrowed.push(d.into_owned())).unwrap();
        let owned: Vec<Delivery> =
            items.into_iter().filter_map(|v| serde_json::from_value::<Delivery>(v).ok()).collect();
        prop_assert_eq!(found.items - found.skipped, owned.len());
        prop_assert_eq!(borrowed, owned);
    }
}

/// A list item whose fields are each missing, null, well typed or mistyped.
fn item() -> impl Strategy<Value = Value> {
    fn field(good: Value, bad: Value) -> impl Strategy<Value = Option<Value>> {
        prop_oneof![1 => Just(None), 1 => Just(Some(Value::Null)), 4 => Just(Some(good)), 1 => Just(Some(bad))]
    }
    (
        field(json!(42), json!("42")),
        field(json!("g-\u{e9}\\\"1"), json!(7)),
        field(json!("2024-05-01T12:00:00Z"), json!("yesterday")),
        field(json!(true), json!("yes")),
        field(json!("OK"), json!({"text": "OK"})),
        field(json!(502), json!(502.5)),
        field(json!("push"), json!(["push"])),
        field(json!("opened"), json!(1)),
        field(json!(-3), json!(9_223_372_036_854_775_808u64)),
        field(json!("2024-05-01T12:00:01+02:00"), json!(false)),
        prop::bool::ANY,
    )
        .prop_map(|(id, guid, at, redelivery, status, code, event, action, installation, throttled, extra)| {
            let mut map = serde_json::Map::new();
            for (key, value) in [
                ("id", id),
                ("guid", guid),
                ("delivered_at", at),
                ("redelivery", redelivery),
                ("status", status),
                ("status_code", code),
                ("event", event),
                ("action", action),
                ("installation_id", installation),
                ("throttled_at", throttled),
            ] {
                if let Some(value) = value {
                    map.insert(key.into(), value);
                }
            }
            if extra {
                map.insert("duration".into(), json!(0.27));
                map.insert("url".into(), json!({"nested": [1, 2, {"deep": null}]}));
            }
            Value::Object(map)
        })
}

#[test]
fn items_that_are_not_objects_are_skipped_and_a_non_array_fails() {
    let body = br#"[1, "x", null, [], {"id": 1, "guid": "g", "delivered_at": "2024-05-01T12:00:00Z"}, true]"#;
    let mut seen = Vec::new();
    let found = parse_page(body, |d| seen.push(d.guid.into_owned())).unwrap();
    assert_eq!((found.items, found.skipped, found.first_skipped), (6, 5, Some(0)));
    assert_eq!(seen, ["g"]);
    assert!(parse_page(br#"{"message": "Not Found"}"#, |_| {}).is_err());
    assert!(parse_page(b"[{\"id\": 1", |_| {}).is_err());
    assert!(parse_page(b"[] []", |_| {}).is_err());
}

#[test]
fn unescaped_text_is_borrowed_from_the_body() {
    let body = br#"[{"id": 1, "guid": "plain", "delivered_at": "2024-05-01T12:00:00Z", "status": "caf\u00e9"}]"#;
    parse_page(body, |d| {
        assert!(matches!(d.guid, std::borrow::Cow::Borrowed("plain")));
        assert!(matches!(d.status, std::borrow::Cow::Owned(ref s) if s == "café"));
    })
    .unwrap();
}
