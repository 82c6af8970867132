//! Throw-away RSA keys for tests, benchmarks and `redeliver demo`; they protect nothing.
//!
//! GitHub hands out PKCS#1 PEMs (`BEGIN RSA PRIVATE KEY`); the PKCS#8 form of the same key lets
//! a client prove it accepts both. [`OTHER_KEY`] is unrelated, for "signed with the wrong key".

/// The test app's private key as PKCS#1 PEM, the form GitHub hands out.
pub const TEST_APP_KEY_PKCS1: &str = include_str!("../keys/test-app-key.pem");

/// The same private key as PKCS#8 PEM (`BEGIN PRIVATE KEY`).
pub const TEST_APP_KEY_PKCS8: &str = include_str!("../keys/test-app-key.pkcs8.pem");

/// The public half of the test app's key; pass it to [`crate::World::add_app`].
pub const TEST_APP_PUBLIC_KEY: &str = include_str!("../keys/test-app-key.pub.pem");

/// An unrelated private key (PKCS#1): JWTs signed with it must be rejected.
pub const OTHER_KEY: &str = include_str!("../keys/other-key.pem");
