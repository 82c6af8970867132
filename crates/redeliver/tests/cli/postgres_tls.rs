//! `--state postgres://…` over TLS as a managed database's users write it (docs/ha.md, "TLS to
//! PostgreSQL"): `sslmode=verify-full&sslrootcert=…` against the test server, whose certificate
//! its own CA signs; the same CA through `PGSSLROOTCERT` and `~/.postgresql/root.crt`; and the
//! refusals a user meets first, each naming the URL (never its password) and what to change.

use crate::harness::App;
use chrono::{Duration, Utc};
use redeliver_core::state::postgres::testing;
use redeliver_sim::NewAttempt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_with_verify_full_and_the_providers_ca_and_the_refusals_users_meet_first() {
    let app = App::start().await;
    let guid = app.record(NewAttempt::new("push", 502, Utc::now() - Duration::minutes(5))).guid;
    let ca = testing::ca();
    let state = testing::fresh_url();
    let verified = format!("{state}&sslmode=verify-full&sslrootcert={}", ca.display());
    let out = app.run().json().args(["--state", &verified]).await;
    out.assert_code(0);
    assert_eq!(out.report().counts.redelivered, 1, "{}", out.stderr);
    // The CA from libpq's variable, the mode from the URL: `history` reads the same ledger.
    let history = app
        .command(["history", "--json", "--state", &format!("{state}&sslmode=verify-full")])
        .env("PGSSLROOTCERT", ca.display().to_string())
        .await;
    history.assert_code(0);
    assert_eq!(history.history().iter().filter(|r| r.guid == guid).count(), 1);

    // No CA given: the platform's roots do not know the server's. Exit 4: the state cannot be reached.
    let with_password = state.replacen("postgres@", "postgres:pg-url-password-never-shown@", 1);
    let unknown = app.run().args(["--state", &format!("{with_password}&sslmode=verify-full")]).await;
    unknown.assert_code(4);
    let said = format!("{}{}", unknown.stdout, unknown.stderr);
    assert!(said.contains("postgres://postgres@127.0.0.1:"), "the URL: {said}");
    assert!(said.contains("unknown issuer") && said.contains("sslrootcert=/path/to/ca.pem"), "{said}");
    assert!(!said.contains("pg-url-password-never-shown"), "{said}");

    // A root file that is not there: named, before any connection.
    let missing = app.dir.path().join("rds-global-bundle.pem");
    let refused =
        app.run().args(["--state", &format!("{state}&sslmode=verify-full&sslrootcert={}", missing.display())]).await;
    refused.assert_code(4);
    assert!(
        refused.stderr.contains(&missing.display().to_string()) && refused.stderr.contains("cannot be read"),
        "{}",
        refused.stderr
    );

    // A mode libpq has and redeliver cannot honour, from the environment: refused, naming it.
    let allow = app.run().args(["--state", &state]).env("PGSSLMODE", "allow").await;
    allow.assert_code(4);
    assert!(
        allow.stderr.contains("PGSSLMODE=allow is not supported") && allow.stderr.contains("verify-full"),
        "{}",
        allow.stderr
    );
}
