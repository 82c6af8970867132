//! Property tests of the config file parser: any text (TOML or not) is read without a panic, and
//! whatever is wrong with it, the error never shows a secret written in it (`token = "…"`,
//! `private_key = "…"`), however the line around the secret is broken.
//!
//! The normal test run tries 256 texts per property; `PROPTEST_CASES=100000` is the long mode
//! (recorded in docs/security.md).

use super::file::parse;
use proptest::prelude::*;
use std::path::Path;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Lines a config file may hold, right or wrong.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "[[target]]",
            "[defaults]",
            "[target]",
            "name = \"a\"",
            "name = \"a\"",
            "kind = \"repo\"",
            "kind = \"nope\"",
            "repo = \"octo/infra\"",
            "hook_id = 42",
            "hook_id = -1",
            "app_id = 12",
            "pace = \"fast\"",
            "ladder = \"\"",
            "interval = \"0s\"",
            "max_wait = \"99999999999d\"",
            "max_pages = 0",
            "list_deadline = \"1x\"",
            "ca_cert = 7",
            "unknown = 1",
            "token_env = \"T\"",
            "events = [1, 2]",
            "x = \"\"\"",
            "'",
            "= =",
        ])
        .prop_map(str::to_owned),
        "[ -~]{0,30}",
    ]
}

/// The secret in a value position, written well or badly.
fn secret_line(s: String) -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        format!("token = \"{s}\""),
        format!("token = \"{s}"),
        format!("token = {s}"),
        format!("token = '{s}'"),
        format!("token = [\"{s}\"]"),
        format!("token = {{ value = \"{s}\" }}"),
        format!("token = \"{s}\" x"),
        format!("token = \"\"\"\n{s}\n\"\"\""),
        format!("private_key = \"{s}\""),
        format!("private_key = \"\"\"-----BEGIN RSA PRIVATE KEY-----\n{s}==\n-----END RSA PRIVATE KEY-----\"\"\""),
        format!("private_key = 1{s}"),
        format!("token = \"{s}\"\ntoken = \"{s}\""),
    ])
}

fn text_with_a_secret() -> impl Strategy<Value = (String, String)> {
    "ghp_[A-Za-z0-9]{24}".prop_flat_map(|secret| {
        let lines = prop::collection::vec(line(), 0..12);
        (Just(secret.clone()), lines, secret_line(secret.clone()), any::<prop::sample::Index>()).prop_map(
            |(secret, mut lines, secret_line, at)| {
                lines.insert(at.index(lines.len() + 1), secret_line);
                (lines.join("\n"), secret)
            },
        )
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_is_read_without_a_panic(text in ".{0,300}") {
        let _ = parse(&text, Path::new("any.toml"));
    }

    #[test]
    fn no_error_shows_a_secret_written_in_the_file((text, secret) in text_with_a_secret()) {
        if let Err(failure) = parse(&text, Path::new("redeliver.toml")) {
            let shown = format!("{:#} | {:?} | {}", failure.error, failure.error, failure.hint.unwrap_or_default());
            prop_assert!(!shown.contains(&secret), "the error shows the secret:\n{}\n--- text\n{}", shown, text);
            prop_assert!(!shown.contains(&secret[4..16]), "the error shows part of the secret:\n{}\n--- text\n{}", shown, text);
        }
    }
}
