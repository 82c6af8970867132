//! `X-Hub-Signature-256`: the HMAC-SHA256 of the exact body bytes, keyed by the hook's secret.
//!
//! See <https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries>.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The header value GitHub sends: `sha256=` followed by the lowercase hex digest.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = mac(secret);
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `header` is a valid `X-Hub-Signature-256` for `body`, compared in constant time
/// (GitHub: "Never use a plain `==` operator").
pub fn verify(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(digest) = header.strip_prefix("sha256=").and_then(|h| hex::decode(h).ok()) else {
        return false;
    };
    let mut mac = mac(secret);
    mac.update(body);
    mac.verify_slice(&digest).is_ok()
}

fn mac(secret: &str) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example from GitHub's "Validating webhook deliveries" page.
    #[test]
    fn matches_githubs_documented_example() {
        let sig = sign("It's a Secret to Everybody", b"Hello, World!");
        assert_eq!(sig, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
        assert!(verify("It's a Secret to Everybody", b"Hello, World!", &sig));
        assert!(!verify("wrong", b"Hello, World!", &sig));
        assert!(!verify("It's a Secret to Everybody", b"Hello, World!", "sha1=00"));
    }
}
