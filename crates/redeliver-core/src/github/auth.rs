//! Credentials: a GitHub App's private key, from which short-lived JWTs are signed, or a token.
//!
//! JWT rules (<https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app>):
//! RS256; `iat` 60 s in the past against clock drift; `exp` at most 10 minutes ahead; `iss` the
//! App's numeric id or its client id. Key text never reaches a `Debug`, `Display` or error string.

use crate::secret::Secret;
use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use std::fmt;

/// How far back `iat` is set, as GitHub recommends against clock drift.
pub const JWT_BACKDATE: TimeDelta = TimeDelta::seconds(60);
/// How long a JWT lives; GitHub refuses more than 10 minutes.
pub const JWT_LIFETIME: TimeDelta = TimeDelta::seconds(9 * 60);
/// A cached JWT is replaced when less than this much of its life remains, so that it cannot expire
/// between signing a request and GitHub checking it.
pub const JWT_RENEW_BEFORE: TimeDelta = TimeDelta::seconds(60);

/// A GitHub App's RSA private key, ready to sign JWTs. `Debug` is redacted; there is no `Display`.
#[derive(Clone)]
pub struct AppKey {
    key: EncodingKey,
}

/// Why a private key could not be used. Messages say what was wrong and how to fix it, and never
/// contain any of the key text. `Display` speaks of "the key"; [`KeyError::about`] names where
/// the key came from instead (`PRIVATE_KEY`, the file it was read from, a config file's key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    Empty,
    NotPem { looks_like_path: bool },
    Truncated { label: String },
    PublicKey,
    Encrypted,
    Unsupported { label: String },
    NotRsa { kind: &'static str },
    Invalid,
}

impl KeyError {
    /// The message with `source` as its subject: `PRIVATE_KEY is empty: …`,
    /// `the private key file app.pem (--private-key-file) holds a public key …`.
    pub fn about(&self, source: &str) -> String {
        format!("{source} {}", self.predicate())
    }

    /// What is wrong, after the key's name.
    fn predicate(&self) -> String {
        const WHOLE: &str = "give the whole .pem file GitHub gave you";
        match self {
            KeyError::Empty => format!(
                "is empty: {WHOLE}, from '-----BEGIN RSA PRIVATE KEY-----' to '-----END RSA PRIVATE KEY-----'"
            ),
            KeyError::NotPem { looks_like_path } => format!(
                "does not hold a PEM private key (expected '-----BEGIN RSA PRIVATE KEY-----'): {WHOLE}{}",
                if *looks_like_path {
                    " (it looks like a file path: give the file's contents, or its path in PRIVATE_KEY_PATH)"
                } else {
                    ""
                }
            ),
            KeyError::Truncated { label } => format!(
                "starts a PEM block but never ends it (expected '-----END {label}-----'): the key was cut off; {WHOLE}"
            ),
            KeyError::PublicKey => "holds a public key, not the private key: use the .pem file downloaded from the \
                                    App's settings page ('Generate a private key')"
                .to_owned(),
            KeyError::Encrypted => "is encrypted with a passphrase, and GitHub's App keys are not: use the .pem \
                                    file as GitHub gave it, or decrypt it first (openssl pkey -in key.pem -out plain.pem)"
                .to_owned(),
            KeyError::Unsupported { label } => format!(
                "holds a '{label}' block, not an RSA private key: GitHub App keys begin with \
                 '-----BEGIN RSA PRIVATE KEY-----' (PKCS#1) or '-----BEGIN PRIVATE KEY-----' (PKCS#8)"
            ),
            KeyError::NotRsa { kind } => format!(
                "is {kind} private key, but GitHub Apps sign their JWTs with RSA keys (RS256): use the .pem file \
                 generated on the App's settings page ('Generate a private key'), which begins with \
                 '-----BEGIN RSA PRIVATE KEY-----'"
            ),
            KeyError::Invalid => {
                format!("looks like PEM but is not a usable RSA private key (corrupted or cut off?): {WHOLE} again")
            }
        }
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the key {}", self.predicate())
    }
}

impl std::error::Error for KeyError {}

impl AppKey {
    /// Parses PEM text: PKCS#1 (`BEGIN RSA PRIVATE KEY`, what GitHub hands out) or PKCS#8
    /// (`BEGIN PRIVATE KEY`). Forgives what pasting into environment variables and secret stores
    /// does to it: surrounding whitespace and quotes, literal `\n` for newlines, CRLF, and newlines
    /// flattened to spaces. The key is proven usable by signing once.
    pub fn from_pem(text: &str) -> Result<AppKey, KeyError> {
        let pem = normalize_pem(text)?;
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| not_rsa(&pem).unwrap_or(KeyError::Invalid))?;
        let key = AppKey { key };
        // `from_rsa_pem` checks only the PEM/ASN.1 wrapping; signing proves the RSA key itself.
        key.sign(&Claims { iat: 0, exp: 1, iss: Issuer::AppId(0) }).map_err(|_| KeyError::Invalid)?;
        Ok(key)
    }

    /// Signs `claims` as an RS256 JWT.
    pub fn sign(&self, claims: &Claims) -> Result<Secret, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &self.key).map(Secret::new)
    }
}

impl fmt::Debug for AppKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppKey([redacted])")
    }
}

/// Rebuilds a canonical PEM block from pasted text, or says what is wrong without quoting it.
fn normalize_pem(text: &str) -> Result<String, KeyError> {
    let mut s = text.trim();
    // Quotes around the whole value, possibly nested ('"..."'), as shells and YAML leave them.
    while s.len() >= 2 && ((s.starts_with('"') && s.ends_with('"')) || (s.starts_with('\'') && s.ends_with('\''))) {
        s = s[1..s.len() - 1].trim();
    }
    if s.is_empty() {
        return Err(KeyError::Empty);
    }
    let unescaped = s.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\r\n", "\n");
    let s = unescaped.as_str();

    let Some(begin) = s.find("-----BEGIN ") else {
        let looks_like_path = !s.contains(char::is_whitespace)
            && (s.starts_with('/') || s.starts_with("./") || s.starts_with('~') || s.ends_with(".pem"));
        return Err(KeyError::NotPem { looks_like_path });
    };
    let after_begin = &s[begin + "-----BEGIN ".len()..];
    let Some(label_end) = after_begin.find("-----") else {
        return Err(KeyError::NotPem { looks_like_path: false });
    };
    let label = after_begin[..label_end].trim().to_owned();
    // The label is the PEM type word (e.g. `RSA PRIVATE KEY`); keep it only if it is that shape,
    // so that an error can name it without ever echoing key material.
    if label.is_empty() || label.len() > 40 || !label.chars().all(|c| c.is_ascii_uppercase() || c == ' ' || c == '#') {
        return Err(KeyError::NotPem { looks_like_path: false });
    }
    match label.as_str() {
        "RSA PRIVATE KEY" | "PRIVATE KEY" => {}
        "ENCRYPTED PRIVATE KEY" => return Err(KeyError::Encrypted),
        "EC PRIVATE KEY" => return Err(KeyError::NotRsa { kind: EC }),
        "DSA PRIVATE KEY" => return Err(KeyError::NotRsa { kind: DSA }),
        "PUBLIC KEY" | "RSA PUBLIC KEY" => return Err(KeyError::PublicKey),
        _ => return Err(KeyError::Unsupported { label }),
    }
    let body_and_rest = &after_begin[label_end + "-----".len()..];
    let end_marker = format!("-----END {label}-----");
    let Some(end) = body_and_rest.find(&end_marker) else {
        return Err(KeyError::Truncated { label });
    };
    let body = &body_and_rest[..end];
    if body.contains("ENCRYPTED") {
        return Err(KeyError::Encrypted);
    }
    let base64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    if base64.is_empty() || !base64.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')) {
        return Err(KeyError::Invalid);
    }
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in base64.as_bytes().chunks(64) {
        // Only ASCII base64 characters remain, so every chunk is valid UTF-8.
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str(&end_marker);
    pem.push('\n');
    Ok(pem)
}

const EC: &str = "an EC (ECDSA)";
const DSA: &str = "a DSA";

/// The kind of a PKCS#8 key that is not RSA, read from its algorithm identifier, so that an
/// Ed25519 or EC key is named instead of called corrupt. `None` for RSA or anything unreadable.
fn not_rsa(pem: &str) -> Option<KeyError> {
    let base64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64_decode(&base64)?;
    // DER-encoded OBJECT IDENTIFIERs of the algorithms (RFC 8410, RFC 5480, RFC 3279).
    const RSA: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    const KINDS: [(&[u8], &str); 4] = [
        (&[0x06, 0x03, 0x2b, 0x65, 0x70], "an Ed25519"),
        (&[0x06, 0x03, 0x2b, 0x65, 0x71], "an Ed448"),
        (&[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01], EC),
        (&[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01], DSA),
    ];
    // The identifier comes first in a PKCS#8 key; look only there, not in the key's numbers.
    let head = &der[..der.len().min(32)];
    let has = |oid: &[u8]| head.windows(oid.len()).any(|w| w == oid);
    if has(RSA) {
        return None;
    }
    KINDS.iter().find(|(oid, _)| has(oid)).map(|&(_, kind)| KeyError::NotRsa { kind })
}

/// Standard base64 (padding ignored), `None` on any other character.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|&c| c != b'=') {
        acc = (acc << 6) | u32::from(value(c)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// What authenticates a client.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// A GitHub App: `app_id` is the numeric App id or the client id (`Iv1.…`, `Iv23…`).
    App { app_id: String, key: AppKey },
    /// A personal access token or installation token.
    Token(Secret),
}

impl Credentials {
    /// "GitHub App 123" or "token", for messages.
    pub fn describe(&self) -> String {
        match self {
            Credentials::App { app_id, .. } => format!("GitHub App {app_id}"),
            Credentials::Token(_) => "token".to_owned(),
        }
    }
}

/// The JWT's `iss`: GitHub takes the numeric App id as a number and a client id as a string
/// ("application IDs are ints, while client IDs are strings").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Issuer {
    AppId(u64),
    ClientId(String),
}

/// The claims of an App JWT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claims {
    /// Issued at, epoch seconds.
    pub iat: i64,
    /// Expires at, epoch seconds.
    pub exp: i64,
    pub iss: Issuer,
}

impl Claims {
    /// `exp` as a time.
    pub fn expires_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.exp, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

/// The claims for a JWT made at `now`: `iat = now - 60 s`, `exp = now + 9 min`, `iss = app_id`
/// (a number when it is all digits, else the client id string).
pub fn jwt_claims(app_id: &str, now: DateTime<Utc>) -> Claims {
    let app_id = app_id.trim();
    let iss = match app_id.parse::<u64>() {
        Ok(id) if app_id.bytes().all(|b| b.is_ascii_digit()) => Issuer::AppId(id),
        _ => Issuer::ClientId(app_id.to_owned()),
    };
    // In seconds, saturating: `now` may carry a clock skew learnt from a server's `Date`.
    let now = now.timestamp();
    Claims {
        iat: now.saturating_sub(JWT_BACKDATE.num_seconds()),
        exp: now.saturating_add(JWT_LIFETIME.num_seconds()),
        iss,
    }
}

/// Whether a JWT expiring at `expires_at` must be replaced before use at `now`.
pub fn jwt_needs_renewal(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    expires_at - now < JWT_RENEW_BEFORE
}

/// GitHub's 401 messages that mean "your clock and mine disagree" (observed, not documented:
/// `'Expiration time' claim ('exp') is too far in the future`, `'Issued at' claim ('iat') must be an
/// Integer representing the time that the assertion was issued`).
pub fn is_clock_skew_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("'exp'") || m.contains("'iat'") || m.contains("expiration time") || m.contains("issued at")
}

/// When a 401 blames the JWT's times and the answer carried a `Date` header, how far GitHub's clock
/// is ahead of ours (negative when behind): the correction to apply to `now` when re-signing.
pub fn clock_skew(message: &str, server_date: Option<&str>, now: DateTime<Utc>) -> Option<TimeDelta> {
    if !is_clock_skew_message(message) {
        return None;
    }
    let server = DateTime::parse_from_rfc2822(server_date?.trim()).ok()?.to_utc();
    Some(server - now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    const PKCS1: &str = include_str!("../../../redeliver-sim/keys/test-app-key.pem");
    const PKCS8: &str = include_str!("../../../redeliver-sim/keys/test-app-key.pkcs8.pem");
    const PUBLIC: &str = include_str!("../../../redeliver-sim/keys/test-app-key.pub.pem");
    /// Throwaway keys made for these tests (`openssl genpkey -algorithm ed25519`, and `EC` on P-256).
    const ED25519: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEII97dpxHZaNdC+RCcMek9cuTgGgFlP8FTdlWkIcTy2Zm
-----END PRIVATE KEY-----
";
    const EC_P256: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg839f1o4uIZ/08s5r
9WkfyeghK7Lp7fSc/f6ksliqbeahRANCAAStrsEaBu3ioBZYUgltl+iP3aTZ4VOs
MVrMU76jZRHE1CX9QZiU3ADzCvk8qcHiNOLWJb3rf4OJw4t21ttX/ISW
-----END PRIVATE KEY-----
";

    #[test]
    fn keys_that_are_not_rsa_are_named() {
        let err = AppKey::from_pem(ED25519).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("Ed25519") && text.contains("GitHub Apps sign their JWTs with RSA keys"), "{text}");
        assert!(!text.contains("corrupted"), "{text}");
        assert!(AppKey::from_pem(EC_P256).unwrap_err().to_string().contains("an EC (ECDSA) private key"));
        assert_eq!(base64_decode("TWFu"), Some(b"Man".to_vec()));
        assert_eq!(base64_decode("TWE="), Some(b"Ma".to_vec()));
        assert_eq!(base64_decode("T!"), None);
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    /// Signs with `key` and verifies with the test public key.
    fn round_trip(key: &AppKey) -> serde_json::Value {
        let now = Utc::now();
        let jwt = key.sign(&jwt_claims("12345", now)).unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let decoding = DecodingKey::from_rsa_pem(PUBLIC.as_bytes()).unwrap();
        jsonwebtoken::decode::<serde_json::Value>(jwt.expose(), &decoding, &validation).unwrap().claims
    }

    #[test]
    fn claims_follow_githubs_rules() {
        let now = at("2024-05-01T12:00:00Z");
        let c = jwt_claims("12345", now);
        assert_eq!(c.iat, now.timestamp() - 60);
        assert_eq!(c.exp, now.timestamp() + 540);
        assert_eq!(c.iss, Issuer::AppId(12345));
        assert_eq!(c.expires_at(), at("2024-05-01T12:09:00Z"));
        assert!(c.exp - now.timestamp() <= 600, "GitHub allows at most 10 minutes");
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json, serde_json::json!({"iat": now.timestamp() - 60, "exp": now.timestamp() + 540, "iss": 12345}));
    }

    #[test]
    fn claims_at_the_ends_of_time_do_not_overflow() {
        let last = jwt_claims("1", DateTime::<Utc>::MAX_UTC);
        assert_eq!(last.exp, DateTime::<Utc>::MAX_UTC.timestamp() + 540);
        assert_eq!(last.expires_at(), DateTime::<Utc>::MAX_UTC, "past the end reads as the end");
        let first = jwt_claims("1", DateTime::<Utc>::MIN_UTC);
        assert_eq!(first.iat, DateTime::<Utc>::MIN_UTC.timestamp() - 60);
        assert!(jwt_needs_renewal(first.expires_at(), DateTime::<Utc>::MAX_UTC));
    }

    #[test]
    fn a_client_id_stays_a_string() {
        let now = at("2024-05-01T12:00:00Z");
        for id in ["Iv1.abc123def456", "Iv23liAbCdEf", "+12", " 12 "] {
            let c = jwt_claims(id, now);
            let json = serde_json::to_value(&c).unwrap();
            if id.trim() == "12" {
                assert_eq!(json["iss"], serde_json::json!(12));
            } else {
                assert_eq!(json["iss"], serde_json::json!(id), "{id}");
            }
        }
    }

    #[test]
    fn renewal_happens_in_the_last_minute() {
        let exp = at("2024-05-01T12:09:00Z");
        assert!(!jwt_needs_renewal(exp, at("2024-05-01T12:00:00Z")));
        assert!(!jwt_needs_renewal(exp, at("2024-05-01T12:07:59Z")));
        assert!(jwt_needs_renewal(exp, at("2024-05-01T12:08:01Z")));
        assert!(jwt_needs_renewal(exp, at("2024-05-01T12:09:00Z")));
        assert!(jwt_needs_renewal(exp, at("2024-05-01T13:00:00Z")));
    }

    #[test]
    fn clock_skew_from_the_date_header() {
        let now = at("2024-05-01T12:00:00Z");
        let msg = "'Expiration time' claim ('exp') is too far in the future";
        assert_eq!(clock_skew(msg, Some("Wed, 01 May 2024 11:55:00 GMT"), now), Some(TimeDelta::seconds(-300)));
        let iat = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";
        assert_eq!(clock_skew(iat, Some("Wed, 01 May 2024 12:02:00 GMT"), now), Some(TimeDelta::seconds(120)));
        assert_eq!(clock_skew(msg, None, now), None);
        assert_eq!(clock_skew(msg, Some("yesterday"), now), None);
        assert_eq!(
            clock_skew("A JSON web token could not be decoded", Some("Wed, 01 May 2024 11:55:00 GMT"), now),
            None
        );
    }

    #[test]
    fn pkcs1_key_signs_verifiable_jwts() {
        let key = AppKey::from_pem(PKCS1).unwrap();
        let claims = round_trip(&key);
        assert_eq!(claims["iss"], 12345);
    }

    #[test]
    fn pkcs8_key_works() {
        round_trip(&AppKey::from_pem(PKCS8).unwrap());
    }

    #[test]
    fn pasted_forms_are_forgiven() {
        let escaped = PKCS1.trim().replace('\n', "\\n");
        round_trip(&AppKey::from_pem(&escaped).unwrap());
        round_trip(&AppKey::from_pem(&format!("  \"{escaped}\"\n")).unwrap());
        round_trip(&AppKey::from_pem(&format!("'{}'", PKCS8.replace('\n', "\r\n"))).unwrap());
        let flattened = PKCS1.trim().replace('\n', " ");
        round_trip(&AppKey::from_pem(&flattened).unwrap());
    }

    /// Every error message, checked against every line of the key that produced it.
    fn assert_leaks_nothing(err: &KeyError, key_text: &str) {
        let shown = format!("{err} {err:?}");
        for line in key_text.lines().map(str::trim).filter(|l| l.len() >= 8 && !l.starts_with("-----")) {
            for window in line.as_bytes().windows(8) {
                let window = std::str::from_utf8(window).unwrap();
                assert!(!shown.contains(window), "error {shown:?} leaks key text {window:?}");
            }
        }
    }

    #[test]
    fn garbage_is_refused_without_echoing_it() {
        type Expect = fn(&KeyError) -> bool;
        let cases: Vec<(String, Expect)> = vec![
            ("".into(), |e| matches!(e, KeyError::Empty)),
            ("  '' ".into(), |e| matches!(e, KeyError::Empty)),
            ("MIIEowIBAAKCAQEA0d/n2GT0Vj7Na9ANl78slbVveFcH2U88nI0O9Je8jyoqzltZ".into(), |e| {
                matches!(e, KeyError::NotPem { looks_like_path: false })
            }),
            ("/home/me/app.2024-05-01.private-key.pem".into(), |e| {
                matches!(e, KeyError::NotPem { looks_like_path: true })
            }),
            (PUBLIC.into(), |e| matches!(e, KeyError::PublicKey)),
            (PKCS1[..PKCS1.len() / 2].into(), |e| matches!(e, KeyError::Truncated { .. })),
            (PKCS1.replace("RSA PRIVATE KEY", "EC PRIVATE KEY"), |e| matches!(e, KeyError::NotRsa { kind: EC })),
            (
                PKCS1.replace("RSA PRIVATE KEY", "OPENSSH PRIVATE KEY"),
                |e| matches!(e, KeyError::Unsupported { label } if label == "OPENSSH PRIVATE KEY"),
            ),
            (ED25519.into(), |e| matches!(e, KeyError::NotRsa { kind: "an Ed25519" })),
            (EC_P256.into(), |e| matches!(e, KeyError::NotRsa { kind: EC })),
            (PKCS1.replace("RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY"), |e| matches!(e, KeyError::Encrypted)),
            (PKCS1.replacen("\n", "\nProc-Type: 4,ENCRYPTED\n", 1), |e| matches!(e, KeyError::Encrypted)),
            (corrupt(PKCS1), |e| matches!(e, KeyError::Invalid)),
            (PKCS1.replace('Q', "!"), |e| matches!(e, KeyError::Invalid)),
        ];
        for (text, expected) in cases {
            let err = AppKey::from_pem(&text).unwrap_err();
            assert!(expected(&err), "unexpected {err:?}");
            assert!(err.to_string().starts_with("the key "), "{err}");
            let about = err.about("the private key file /k/app.pem (--private-key-file)");
            assert!(about.starts_with("the private key file /k/app.pem (--private-key-file) "), "{about}");
            assert!(!about.contains("PRIVATE_KEY ") && !about.contains(". "), "names only its source: {about}");
            assert_leaks_nothing(&err, &text);
        }
    }

    /// Keeps the PEM shape but damages the RSA numbers inside.
    fn corrupt(pem: &str) -> String {
        let mut lines: Vec<String> = pem.lines().map(str::to_owned).collect();
        let middle = lines.len() / 2;
        lines[middle] = lines[middle].chars().rev().collect();
        lines.join("\n")
    }

    #[test]
    fn debug_is_redacted() {
        let key = AppKey::from_pem(PKCS1).unwrap();
        let creds = Credentials::App { app_id: "1".into(), key: key.clone() };
        let token = Credentials::Token(Secret::new("ghp_supersecret"));
        let shown = format!("{key:?} {creds:?} {creds:#?} {token:?}");
        assert!(shown.contains("[redacted]"));
        assert!(!shown.contains("supersecret"));
        for line in PKCS1.lines().skip(1).take(3) {
            assert!(!shown.contains(&line[..16]));
        }
    }
}
