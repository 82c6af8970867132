//! Identifiers shaped like GitHub's: 64-bit delivery ids that grow with time, uuid-like GUIDs,
//! request ids and installation tokens.

use chrono::{DateTime, Utc};

/// Every delivery id is at least this large, so a client that squeezes ids into `i32` (or `u32`)
/// fails loudly instead of working by luck.
const DELIVERY_ID_FLOOR: u64 = 1 << 34;

/// 2020-01-01T00:00:00Z in milliseconds; ids count from here.
const ID_EPOCH_MS: i64 = 1_577_836_800_000;

/// Room for this many deliveries in the same millisecond before ids spill into the next one.
const IDS_PER_MS: u64 = 64;

const HEX: &[u8; 16] = b"0123456789abcdef";

fn random_hex(len: usize) -> String {
    (0..len).map(|_| char::from(HEX[fastrand::usize(..HEX.len())])).collect()
}

/// A delivery GUID in GitHub's shape: lowercase hex, 8-4-4-4-12.
pub(crate) fn guid() -> String {
    format!("{}-{}-{}-{}-{}", random_hex(8), random_hex(4), random_hex(4), random_hex(4), random_hex(12))
}

/// The preferred id for a delivery made at `at`.
///
/// GitHub's ids come from a sequence and so grow with time. The simulator also records histories
/// out of order (`record_attempt` in the past), so it derives ids from the delivery time instead;
/// the caller bumps the id until it is unused.
pub(crate) fn delivery_id_for(at: DateTime<Utc>) -> u64 {
    let ms = u64::try_from(at.timestamp_millis() - ID_EPOCH_MS).unwrap_or(0);
    DELIVERY_ID_FLOOR + ms.saturating_mul(IDS_PER_MS)
}

/// A value for `x-github-request-id`, e.g. `C0DE:1A2B:3C4D5E:6F7081:65A1B2C3`.
pub(crate) fn request_id() -> String {
    format!(
        "{:04X}:{:04X}:{:06X}:{:06X}:{:08X}",
        fastrand::u32(..0x1_0000),
        fastrand::u32(..0x1_0000),
        fastrand::u32(..0x100_0000),
        fastrand::u32(..0x100_0000),
        fastrand::u32(..)
    )
}

/// An installation access token in GitHub's `ghs_` format.
pub(crate) fn installation_token() -> String {
    let body: String = (0..36).map(|_| fastrand::alphanumeric()).collect();
    format!("ghs_{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_look_like_githubs() {
        let g = guid();
        let parts: Vec<_> = g.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert!(g.chars().all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }

    #[test]
    fn delivery_ids_are_large_and_grow_with_time() {
        let now = Utc::now();
        let earlier = now - chrono::Duration::milliseconds(1);
        assert!(delivery_id_for(earlier) > (1 << 33));
        assert!(delivery_id_for(earlier) < delivery_id_for(now));
    }
}
