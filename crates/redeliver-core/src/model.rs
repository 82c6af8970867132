//! The webhook delivery record as GitHub's list endpoint returns it, holding only the fields we use.
//!
//! Schema: <https://docs.github.com/rest/apps/webhooks#list-deliveries-for-an-app-webhook>.
//! Every field GitHub documents as required is still read tolerantly: `null` or missing values
//! take a neutral default, because a tool that crashes on one odd record loses every other event.

use chrono::{DateTime, Utc};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;
use std::fmt;

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
        (200..300).contains(&self.status_code) || self.status == "OK"
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
        (200..300).contains(&self.status_code) || self.status == "OK"
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

/// What [`parse_page`] found besides the deliveries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageItems {
    /// Items in the array, deliveries or not.
    pub items: usize,
    /// Items that were not deliveries (a missing or mistyped field), skipped where
    /// [`Delivery`]'s own parsing would reject them.
    pub skipped: usize,
    /// The index of the first skipped item, for the warning.
    pub first_skipped: Option<usize>,
}

/// Parses one page of the delivery list (a JSON array) in a single pass over `body`, handing each
/// delivery to `each` as a [`DeliveryRef`] borrowing from `body`. An item that is not a delivery
/// (same rules as deserializing a [`Delivery`]: `id`, `guid` and `delivered_at` required, `null`
/// read as the default, a mistyped field rejects the item) is counted and skipped, so one odd
/// record cannot hide the rest of the page. Fails only when the body is not a JSON array.
pub fn parse_page<'a>(body: &'a [u8], each: impl FnMut(DeliveryRef<'a>)) -> Result<PageItems, serde_json::Error> {
    let seed = PageSeed { each, items: PageItems::default() };
    // Checking the whole body as UTF-8 at once is faster than string by string.
    match std::str::from_utf8(body) {
        Ok(text) => {
            let mut de = serde_json::Deserializer::from_str(text);
            let items = seed.deserialize(&mut de)?;
            de.end()?;
            Ok(items)
        }
        Err(_) => {
            let mut de = serde_json::Deserializer::from_slice(body);
            let items = seed.deserialize(&mut de)?;
            de.end()?;
            Ok(items)
        }
    }
}

struct PageSeed<F> {
    each: F,
    items: PageItems,
}

impl<'de, F: FnMut(DeliveryRef<'de>)> DeserializeSeed<'de> for PageSeed<F> {
    type Value = PageItems;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<PageItems, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(DeliveryRef<'de>)> Visitor<'de> for PageSeed<F> {
    type Value = PageItems;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array of deliveries")
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<PageItems, A::Error> {
        while let Some(item) = seq.next_element::<Item<'de>>()? {
            match item.0 {
                Some(delivery) => (self.each)(delivery),
                None => {
                    self.items.first_skipped.get_or_insert(self.items.items);
                    self.items.skipped += 1;
                }
            }
            self.items.items += 1;
        }
        Ok(self.items)
    }
}

/// One array item: a delivery, or `None` for anything else. Every value is read leniently (as a
/// [`Scalar`]) so that a bad item is skipped without aborting the page.
struct Item<'a>(Option<DeliveryRef<'a>>);

impl<'de> Deserialize<'de> for Item<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ItemVisitor)
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Field {
    Id,
    Guid,
    DeliveredAt,
    Redelivery,
    Status,
    StatusCode,
    Event,
    Action,
    InstallationId,
    RepositoryId,
    ThrottledAt,
    #[serde(other)]
    Other,
}

struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = Item<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a delivery")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item<'de>, A::Error> {
        let (mut id, mut guid, mut delivered_at) = (None, None, None);
        let mut d = DeliveryRef {
            id: 0,
            guid: Cow::Borrowed(""),
            delivered_at: DateTime::UNIX_EPOCH,
            redelivery: false,
            status: Cow::Borrowed(""),
            status_code: 0,
            event: Cow::Borrowed(""),
            action: None,
            installation_id: None,
            repository_id: None,
            throttled_at: None,
        };
        let mut ok = true;
        // `Some(v)`: the value, `None`: wrong type; `null` maps to the field's default.
        while let Some(field) = map.next_key::<Field>()? {
            if matches!(field, Field::Other) {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let value = map.next_value::<Scalar<'de>>()?;
            let read = match field {
                Field::Id => value.u64().map(|v| id = v),
                Field::Guid => value.text().map(|v| guid = v),
                Field::DeliveredAt => value.time().map(|v| delivered_at = v),
                Field::Redelivery => value.boolean().map(|v| d.redelivery = v.unwrap_or_default()),
                Field::Status => value.text().map(|v| d.status = v.unwrap_or_default()),
                Field::StatusCode => value.i64().map(|v| d.status_code = v.unwrap_or_default()),
                Field::Event => value.text().map(|v| d.event = v.unwrap_or_default()),
                Field::Action => value.text().map(|v| d.action = v),
                Field::InstallationId => value.i64().map(|v| d.installation_id = v),
                Field::RepositoryId => value.i64().map(|v| d.repository_id = v),
                Field::ThrottledAt => value.time().map(|v| d.throttled_at = v),
                Field::Other => Some(()),
            };
            ok &= read.is_some();
        }
        match (ok, id, guid, delivered_at) {
            (true, Some(id), Some(guid), Some(at)) => {
                d.id = id;
                d.guid = guid;
                d.delivered_at = at;
                Ok(Item(Some(d)))
            }
            _ => Ok(Item(None)),
        }
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Item<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Item(None))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Item<'de>, E> {
        Ok(Item(None))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Item<'de>, E> {
        Ok(Item(None))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Item<'de>, E> {
        Ok(Item(None))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Item<'de>, E> {
        Ok(Item(None))
    }
    fn visit_str<E>(self, _: &str) -> Result<Item<'de>, E> {
        Ok(Item(None))
    }
    fn visit_unit<E>(self) -> Result<Item<'de>, E> {
        Ok(Item(None))
    }
}

/// Any JSON value, keeping only what a delivery field can be: text (borrowed when unescaped),
/// numbers, booleans and `null`. Objects and arrays are skipped without allocating.
enum Scalar<'a> {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    Text(Cow<'a, str>),
    Other,
}

impl<'a> Scalar<'a> {
    fn u64(self) -> Option<Option<u64>> {
        match self {
            Scalar::Null => Some(None),
            Scalar::U64(v) => Some(Some(v)),
            _ => None,
        }
    }
    fn i64(self) -> Option<Option<i64>> {
        match self {
            Scalar::Null => Some(None),
            Scalar::I64(v) => Some(Some(v)),
            Scalar::U64(v) => i64::try_from(v).ok().map(Some),
            _ => None,
        }
    }
    fn boolean(self) -> Option<Option<bool>> {
        match self {
            Scalar::Null => Some(None),
            Scalar::Bool(v) => Some(Some(v)),
            _ => None,
        }
    }
    fn text(self) -> Option<Option<Cow<'a, str>>> {
        match self {
            Scalar::Null => Some(None),
            Scalar::Text(v) => Some(Some(v)),
            _ => None,
        }
    }
    fn time(self) -> Option<Option<DateTime<Utc>>> {
        match self {
            Scalar::Null => Some(None),
            Scalar::Text(v) => {
                utc_seconds(&v).or_else(|| DateTime::parse_from_rfc3339(&v).ok().map(|t| t.to_utc())).map(Some)
            }
            _ => None,
        }
    }
}

/// The form GitHub writes, `2019-06-03T00:57:16Z`, read without the general RFC 3339 parser;
/// `None` for anything else (which the general parser then reads).
fn utc_seconds(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| {
        b[range].iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let date = chrono::NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    Some(date.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)?.and_utc())
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::U64(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Scalar<'de>, E> {
        Ok(if v >= 0 { Scalar::U64(v as u64) } else { Scalar::I64(v) })
    }
    fn visit_f64<E>(self, _: f64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Other)
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Text(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Text(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Text(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
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
    fn githubs_timestamps_read_like_rfc_3339() {
        for text in ["2019-06-03T00:57:16Z", "2024-02-29T23:59:59Z", "1999-12-31T00:00:00Z"] {
            assert_eq!(utc_seconds(text), Some(DateTime::parse_from_rfc3339(text).unwrap().to_utc()), "{text}");
        }
        // Anything else is left to the general parser (or rejected by it).
        for text in
            ["2019-06-03T00:57:16+02:00", "2019-06-03T00:57:16.5Z", "2023-02-29T00:00:00Z", "2019-06-03 00:57:16Z"]
        {
            assert_eq!(utc_seconds(text), None, "{text}");
        }
        assert_eq!(utc_seconds("2019-06-03T24:00:00Z"), None);
        assert_eq!(utc_seconds("20x9-06-03T00:00:00Z"), None);
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
