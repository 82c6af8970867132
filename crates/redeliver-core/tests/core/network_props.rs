//! Property tests of every parser that reads what a server sends: the delivery page, the `Link`
//! header, the rate-limit headers and the decision after an answer ([`next_step`]), and the
//! listing guard. None may panic on any input, and what they count must add up.
//!
//! The normal test run tries [`CASES`] inputs per property; `PROPTEST_CASES=100000` is the long
//! mode (its results are recorded in docs/security.md).

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use redeliver_core::github::{
    Attempts, PageGuard, PageLimits, RateHeaders, Reply, RequestKind, RetryPolicy, next_link, next_step,
    parse_link_header, rate_limit_wait,
};
use redeliver_core::parse::parse_page;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::time::Duration;
use url::Url;

/// Cases per property in the normal run, unless `PROPTEST_CASES` says otherwise.
const CASES: u32 = 256;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(CASES);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_filter("JSON has no NaN", |f| f.is_finite()).prop_map(serde_json::Value::from),
        ".{0,12}".prop_map(serde_json::Value::from),
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::Array),
            prop::collection::vec((field_name(), inner), 0..8)
                .prop_map(|pairs| serde_json::Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// The fields a delivery has, and others.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "id",
            "guid",
            "delivered_at",
            "redelivery",
            "status",
            "status_code",
            "event",
            "action",
            "installation_id",
            "repository_id",
            "throttled_at",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,8}",
    ]
}

/// Counts that add up: every item is either handed over or skipped.
fn check_page(body: &[u8]) -> Result<(), TestCaseError> {
    let mut handed = 0usize;
    if let Ok(items) = parse_page(body, |_| handed += 1) {
        prop_assert_eq!(handed + items.skipped, items.items);
        prop_assert_eq!(items.first_skipped.is_some(), items.skipped > 0);
        if let Some(first) = items.first_skipped {
            prop_assert!(first < items.items);
        }
    }
    Ok(())
}

fn base() -> Url {
    Url::parse("https://api.github.com/app/hook/deliveries?per_page=100").unwrap()
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z").unwrap().to_utc()
}

/// A header value a server could send: any visible text or digits, or the extremes of a number.
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,24}",
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        "[0-9]{15,40}",
        "(Mon|Wed), [0-9]{1,2} (Jan|Oct) [0-9]{1,6} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT",
    ]
}

fn kind() -> impl Strategy<Value = RequestKind> {
    prop::sample::select(vec![RequestKind::Read, RequestKind::RepeatableWrite, RequestKind::NonRepeatable])
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_as_a_page_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        check_page(&body)?;
    }

    #[test]
    fn any_json_as_a_page_never_panics_and_counts_every_item(value in json_value(), poison in any::<Option<prop::sample::Index>>()) {
        let mut body = serde_json::to_vec(&value).unwrap();
        check_page(&body)?;
        if let serde_json::Value::Array(items) = &value {
            let mut handed = 0;
            let read = parse_page(&body, |_| handed += 1).unwrap();
            prop_assert_eq!(read.items, items.len());
        }
        // The same text with one byte that is not UTF-8 inside a string: still no panic, and an
        // array still counts every item.
        if let Some(at) = poison {
            let quotes: Vec<usize> = body.iter().enumerate().filter(|(_, b)| **b == b'"').map(|(i, _)| i).collect();
            if !quotes.is_empty() {
                let i = quotes[at.index(quotes.len())];
                body.insert(i + 1, 0xff);
                check_page(&body)?;
            }
        }
    }

    #[test]
    fn any_link_header_never_panics(values in prop::collection::vec("[ -~]{0,80}", 0..4)) {
        for value in &values {
            let links = parse_link_header(value);
            prop_assert!(links.len() <= value.len());
        }
        let _ = next_link(values.iter().map(String::as_str), &base());
    }

    #[test]
    fn link_headers_of_urls_find_their_next(cursor in "[A-Za-z0-9_=-]{1,20}", rel in "(next|NEXT|prev next|next last)") {
        let header = format!(r#"<https://api.github.com/app/hook/deliveries?cursor={cursor}>; rel="{rel}""#);
        let next = next_link([header.as_str()], &base()).unwrap().unwrap();
        let expected = format!("cursor={cursor}");
        prop_assert_eq!(next.query(), Some(expected.as_str()));
    }

    #[test]
    fn any_rate_limit_headers_and_status_never_panic(
        status in 100u16..1000,
        headers in prop::collection::vec((prop::sample::select(vec![
            "retry-after", "x-ratelimit-remaining", "x-ratelimit-limit", "x-ratelimit-reset",
            "x-ratelimit-used", "x-ratelimit-resource", "date",
        ]), header_value()), 0..6),
        message in prop_oneof![Just(String::new()), Just("You have exceeded a secondary rate limit".to_string()),
            Just("'Expiration time' claim ('exp') is too far in the future".to_string()), ".{0,40}"],
        kind in kind(),
        retries in 0u32..10,
        waits in 0u32..10,
        clock_fixed in any::<bool>(),
        jitter in 0.0f64..=1.0,
        max_wait in any::<u64>(),
        now_secs in -8_000_000_000_000i64..8_000_000_000_000,
    ) {
        let mut map = HeaderMap::new();
        for (name, value) in &headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                map.append(HeaderName::from_static(name), value);
            }
        }
        let now = DateTime::from_timestamp(now_secs, 0).unwrap_or_else(now);
        let rate = RateHeaders::from_headers(&map, &message);
        let _ = rate.reset_at();
        let _ = rate_limit_wait(status, &rate, waits, now);
        let policy = RetryPolicy {
            max_retries: 4,
            retry_base: Duration::from_secs(1),
            retry_cap: Duration::from_secs(30),
            max_rate_limit_wait: Duration::from_secs(max_wait),
            max_rate_limit_waits: 8,
            fix_clock_skew: true,
        };
        let reply = Reply::Http { status, headers: &map, message: &message };
        let _ = reply.pace_signal(now);
        let tried = Attempts { retries, rate_limit_waits: waits, clock_fixed };
        let step = next_step(kind, &reply, tried, &policy, now, jitter);
        // A redirect is never followed, and nothing but a 2xx or a final answer is `Done` for a
        // redelivery that may have been made.
        if (300..400).contains(&status) && status != 304 {
            prop_assert!(matches!(step, redeliver_core::github::Step::Fail(_)), "{status}: {step:?}");
        }
    }

    #[test]
    fn the_listing_guard_ends_every_listing(cursors in prop::collection::vec(0u16..64, 1..300), max_pages in 1u32..100) {
        let start = tokio::time::Instant::now();
        let page = |c: u16| Url::parse(&format!("https://api.github.com/x?cursor={c}")).unwrap();
        let mut guard = PageGuard::start(PageLimits { max_pages, deadline: Duration::from_secs(60) }, start);
        let mut followed = std::collections::HashSet::new();
        for c in cursors {
            match guard.follow(&page(c), start) {
                Ok(()) => {
                    guard.read(&page(c));
                    prop_assert!(followed.insert(c), "cursor {c} followed twice");
                }
                Err(_) => break,
            }
        }
        prop_assert!(followed.len() <= max_pages as usize);
    }
}
