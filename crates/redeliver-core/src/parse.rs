//! The zero-copy reader of one page of the delivery list: a single pass over the response body
//! that hands each delivery over as a [`DeliveryRef`] borrowing its text from the body, and skips
//! (and counts) items that are not deliveries instead of failing the page. Reading a page this way
//! allocates nothing per record; `tests/scan_memory.rs` checks that it agrees with serde's
//! reading of [`crate::model::Delivery`].

use crate::model::DeliveryRef;
use chrono::{DateTime, Utc};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::fmt;

/// What [`parse_page`] found besides the deliveries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageItems {
    /// Items in the array, deliveries or not.
    pub items: usize,
    /// Items that were not deliveries (a missing or mistyped field), skipped where
    /// [`Delivery`](crate::model::Delivery)'s own parsing would reject them.
    pub skipped: usize,
    /// The index of the first skipped item, for the warning.
    pub first_skipped: Option<usize>,
}

/// Parses one page of the delivery list (a JSON array) in a single pass over `body`, handing each
/// delivery to `each` as a [`DeliveryRef`] borrowing from `body`. An item that is not a delivery
/// (same rules as deserializing a [`Delivery`](crate::model::Delivery): `id`, `guid` and
/// `delivered_at` required, `null` read as the default, a mistyped field rejects the item) is
/// counted and skipped, so one odd record cannot hide the rest of the page. Fails only when the
/// body is not a JSON array.
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
        // Not UTF-8 somewhere: one record's bad bytes (a proxy's re-encoding, a broken server)
        // must not hide the rest of the page, so the items are read one by one and any that is
        // not UTF-8 is skipped and counted like any other record that is not a delivery.
        Err(_) => match split_array(body) {
            Some(spans) => parse_items(body, spans, seed.each),
            None => {
                // Not an array at all: serde says where and why.
                let mut de = serde_json::Deserializer::from_slice(body);
                let items = seed.deserialize(&mut de)?;
                de.end()?;
                Ok(items)
            }
        },
    }
}

/// Reads each item of an array whose spans [`split_array`] found; an item that is not UTF-8 is
/// skipped, one that is not JSON fails the page as it would have whole.
fn parse_items<'a>(
    body: &'a [u8],
    spans: Vec<std::ops::Range<usize>>,
    mut each: impl FnMut(DeliveryRef<'a>),
) -> Result<PageItems, serde_json::Error> {
    let mut items = PageItems::default();
    for span in spans {
        let delivery = match std::str::from_utf8(&body[span.clone()]) {
            Ok(text) => serde_json::from_str::<Item<'a>>(text)?.0,
            // Still JSON once its bad bytes are replaced: a record with bad text, skipped.
            Err(_) => serde_json::from_str::<IgnoredAny>(&String::from_utf8_lossy(&body[span])).map(|_| None)?,
        };
        match delivery {
            Some(delivery) => each(delivery),
            None => {
                items.first_skipped.get_or_insert(items.items);
                items.skipped += 1;
            }
        }
        items.items += 1;
    }
    Ok(items)
}

/// The byte ranges of the items of a top-level JSON array, found by structure alone (strings,
/// escapes, nesting) without reading any value; `None` when `body` is not one array.
fn split_array(body: &[u8]) -> Option<Vec<std::ops::Range<usize>>> {
    let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let mut i = body.iter().position(|&b| !is_space(b))?;
    if body[i] != b'[' {
        return None;
    }
    i += 1;
    let mut spans = Vec::new();
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut start = None;
    while i < body.len() {
        let b = body[i];
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'[' | b'{' => depth += 1,
                b']' | b'}' if depth > 0 => depth -= 1,
                b',' | b']' if depth == 0 => {
                    match start.take() {
                        Some(from) => {
                            let to = body[..i].iter().rposition(|&c| !is_space(c)).map_or(i, |p| p + 1);
                            spans.push(from..to);
                        }
                        // `[]`
                        None if b == b']' && spans.is_empty() => {}
                        // `[,1]`, `[1,,2]`, `[1,]`
                        None => return None,
                    }
                    if b == b']' {
                        return body[i + 1..].iter().all(|&c| is_space(c)).then_some(spans);
                    }
                }
                _ => {}
            }
            if start.is_none() && !is_space(b) && !(b == b',' || (b == b']' && depth == 0)) {
                start = Some(i);
            }
        }
        i += 1;
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u64, status: &[u8]) -> Vec<u8> {
        let mut out =
            format!(r#"{{"id":{id},"guid":"g-{id}","delivered_at":"2019-06-03T00:57:16Z","event":"push","status":""#)
                .into_bytes();
        out.extend_from_slice(status);
        out.extend_from_slice(br#"","status_code":502,"nested":{"a":[1,"],}"]}}"#);
        out
    }

    fn page(records: &[Vec<u8>]) -> Vec<u8> {
        let mut out = b" [\n".to_vec();
        for (i, r) in records.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b" ,\n ");
            }
            out.extend_from_slice(r);
        }
        out.extend_from_slice(b"\n] ");
        out
    }

    fn ids(body: &[u8]) -> Result<(Vec<u64>, PageItems), serde_json::Error> {
        let mut ids = Vec::new();
        let items = parse_page(body, |d| ids.push(d.id))?;
        Ok((ids, items))
    }

    #[test]
    fn one_record_that_is_not_utf8_is_skipped_and_the_rest_read() {
        let body = page(&[record(1, b"OK"), record(2, b"bad \xff\xfe bytes"), record(3, b"Invalid \xc3")]);
        let (read, items) = ids(&body).unwrap();
        assert_eq!(read, vec![1]);
        assert_eq!(items, PageItems { items: 3, skipped: 2, first_skipped: Some(1) });
        // The same records without the bad bytes are all read, in the same order.
        let clean = page(&[record(1, b"OK"), record(2, b"bad bytes"), record(3, b"Invalid")]);
        assert_eq!(ids(&clean).unwrap().0, vec![1, 2, 3]);
    }

    #[test]
    fn a_page_of_records_that_are_all_bad_reads_nothing_and_says_so() {
        let body = page(&[record(1, b"\xff"), record(2, b"\xff")]);
        let (read, items) = ids(&body).unwrap();
        assert!(read.is_empty());
        assert_eq!((items.items, items.skipped), (2, 2));
    }

    #[test]
    fn bytes_that_are_neither_utf8_nor_an_array_still_fail_the_page() {
        for body in
            [&b"\xff"[..], b"{\"a\":\"\xff\"}", b"[\"\xff\",]", b"[1,,\"\xff\"]", b"[\"\xff\"] x", b"[{\"id\":\xff}]"]
        {
            assert!(ids(body).is_err(), "{:?}", String::from_utf8_lossy(body));
        }
        assert_eq!(split_array(b" [ ] "), Some(vec![]));
        assert_eq!(split_array(br#"[1, "a,]" ,{"b":[2,3]}]"#), Some(vec![1..2, 4..9, 11..22]));
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
}
