//! The rough edges a new operator met (issue 15), each as it was seen: a state path that cannot
//! be used, `watch --dry-run`, a GitHub that cannot be reached, a bad key from a file, the demo's
//! status-page link, an integer `app_id` and an empty ladder.

use crate::harness::{APP_ID, App};
use chrono::{Duration, Utc};
use redeliver_sim::NewAttempt;
use tokio::io::AsyncReadExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_state_path_is_explained_without_the_lock_hint_or_a_repeated_cause() {
    let app = App::start().await;
    app.record(NewAttempt::new("push", 502, Utc::now() - Duration::minutes(30)));
    let file = app.dir.path().join("afile");
    std::fs::write(&file, "").unwrap();
    let folder = app.dir.path().join("a-folder");
    std::fs::create_dir(&folder).unwrap();

    for (state, what, fix) in [
        (file.join("state.db"), format!("{} is a file, not a folder", file.display()), "move that file away"),
        (folder.clone(), format!("{} is a folder, not a file", folder.display()), "names the SQLite file itself"),
    ] {
        let out = app.run().args(["--state", state.to_str().unwrap()]).await;
        out.assert_code(4);
        assert!(
            out.stderr.starts_with(&format!("error: cannot use the state file {}: {what}", state.display())),
            "{}",
            out.stderr
        );
        let hint = out.stderr.lines().find(|l| l.starts_with("hint: ")).expect("a hint");
        assert!(hint.contains(fix), "{hint}");
        assert!(!out.stderr.contains("other process"), "the lock hint for a path problem:\n{}", out.stderr);
        assert!(!out.stderr.contains("caused by"), "{}", out.stderr);
    }
    // `history` on a folder says the same, not "disk I/O error".
    let out = app.command(["history", "--state", folder.to_str().unwrap()]).await;
    out.assert_code(4);
    assert!(out.stderr.contains("is a folder, not a file") && !out.stderr.contains("disk I/O"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_dry_run_prints_each_plan_writes_nothing_and_does_not_claim_a_save() {
    let app = App::start().await;
    let failed = app.record(NewAttempt::new("push", 502, Utc::now() - Duration::minutes(30)));
    let mut daemon = app.watch().args(["--dry-run", "--listen", "off", "--pace", "0s"]).spawn();
    daemon.wait_for("nothing is sent or written", 30).await;
    // The pass's summary goes to stdout; stderr says when the pass is over only by the plan.
    let mut stdout = daemon.child.stdout.take().expect("piped stdout");
    let mut plan = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut buf = [0u8; 4096];
    while !plan.contains(&failed.guid) {
        let n = tokio::time::timeout_at(deadline, stdout.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("no plan within 30 s; stdout so far:\n{plan}"))
            .unwrap();
        assert!(n > 0, "stdout ended without the plan:\n{plan}");
        plan.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(plan.contains("dry run: nothing sent, nothing written"), "{plan}");
    assert!(plan.contains("would redeliver") || plan.contains("would_redeliver"), "{plan}");
    daemon.signal("INT");
    assert_eq!(daemon.exit_code(30).await, 0);
    let said = daemon.wait_for("redeliver: stopped", 10).await;
    assert_eq!(said, "redeliver: stopped; nothing was written (dry run)");
    assert!(!daemon.seen.iter().any(|l| l.contains("state saved")), "{:?}", daemon.seen);
    assert!(!app.state_path().exists(), "a dry run wrote the state");
    assert_eq!(app.count_requests("POST", "/attempts"), 0, "a dry run redelivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_github_shows_each_retry_at_v_and_counts_the_attempts() {
    let app = App::start().await;
    // A port that was just free: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let out = app.run().without_api_url().args(["-v", "--api-url", &format!("http://{closed}")]).await;
    out.assert_code(3);
    let retries: Vec<&str> = out.stderr.lines().filter(|l| l.contains("trying again in")).collect();
    assert_eq!(retries.len(), 4, "{}", out.stderr);
    for (i, line) in retries.iter().enumerate() {
        assert!(line.contains(&format!("(retry {} of 4)", i + 1)), "{line}");
        assert!(line.contains("could not connect to"), "{line}");
        // Log times to the second: `2026-11-29T00:48:53Z INFO …`.
        let time = line.split_whitespace().next().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok() && time.len() == 20, "{line}");
    }
    let error = out.stderr.lines().find(|l| l.starts_with("error:")).expect("an error line");
    assert!(error.starts_with("error: could not reach GitHub: could not connect to"), "{error}");
    assert!(error.contains("(5 attempts in "), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_key_is_named_by_where_it_came_from() {
    let app = App::start().await;
    let bad = app.dir.path().join("bad.pem");
    std::fs::write(&bad, "not a key\n").unwrap();
    let bad = bad.to_str().unwrap();
    let from_flag = app.run().private_key_file(bad).await;
    from_flag.assert_code(2);
    assert!(
        from_flag.stderr.starts_with(&format!("error: the private key file {bad} (--private-key-file) does not hold")),
        "{}",
        from_flag.stderr
    );
    let from_env =
        app.command(["run", "--api-url", &app.sim.base_url()]).env("APP_ID", "1").env("PRIVATE_KEY_PATH", bad).await;
    from_env.assert_code(2);
    assert!(
        from_env.stderr.starts_with(&format!("error: the private key file {bad} (PRIVATE_KEY_PATH) does not hold")),
        "{}",
        from_env.stderr
    );
    let text = app.run().private_key_env("garbage").await;
    assert!(text.stderr.starts_with("error: PRIVATE_KEY does not hold a PEM private key"), "{}", text.stderr);
    for out in [&from_flag, &from_env, &text] {
        assert!(!out.stderr.contains("Paste") && !out.stderr.contains(". "), "one lower-case sentence: {}", out.stderr);
    }

    let config = app.dir.path().join("k.toml");
    std::fs::write(&config, "[[target]]\nname = \"app\"\napp_id = 1\nprivate_key_env = \"MY_KEY\"\n").unwrap();
    let out = app.command(["run", "--config", config.to_str().unwrap()]).env("MY_KEY", "nope").await;
    out.assert_code(2);
    assert!(out.stderr.contains("the environment variable MY_KEY (private_key_env) does not hold"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_integer_app_id_in_the_config_file_works_and_an_empty_ladder_is_refused_everywhere() {
    let app = App::start().await;
    app.record(NewAttempt::new("push", 502, Utc::now() - Duration::minutes(30)));
    let config = app.dir.path().join("int.toml");
    let target = format!(
        "[[target]]\nname = \"app\"\napi_url = \"{}\"\napp_id = {APP_ID}\nprivate_key_file = \"{}\"\npace = \"0s\"\n",
        app.sim.base_url(),
        app.key_path().display()
    );
    std::fs::write(&config, &target).unwrap();
    let out = app.command(["run", "--json", "--config", config.to_str().unwrap()]).await;
    out.assert_code(0);
    assert_eq!(out.runs().report("app").counts.redelivered, 1);

    let flag = app.run().args(["--ladder", ""]).await;
    flag.assert_code(2);
    assert!(flag.stderr.contains("an empty ladder") && flag.stderr.contains("0s for no wait"), "{}", flag.stderr);
    let empty = app.dir.path().join("empty-ladder.toml");
    std::fs::write(&empty, format!("[defaults]\nladder = \"\"\n{target}")).unwrap();
    let file = app.command(["run", "--config", empty.to_str().unwrap()]).await;
    file.assert_code(2);
    assert!(file.stderr.contains("`ladder`") && file.stderr.contains("an empty ladder"), "{}", file.stderr);
    // `0s` is how backoff is switched off.
    app.run().args(["--ladder", "0s"]).await.assert_code(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demos_status_page_link_says_how_long_it_lives_and_serve_keeps_it_up() {
    let app = App::start().await;
    let out = app.command(["demo", "--events", "20"]).await;
    out.assert_code(0);
    let link = out.stdout.lines().find(|l| l.contains("Status page: http://")).expect("the link");
    assert!(link.contains("only while the demo runs; --serve keeps it up afterwards"), "{link}");
    assert!(out.stdout.contains("`redeliver demo --serve` keeps it up until Ctrl-C"), "{}", out.stdout);

    let mut served = app.command(["demo", "--events", "20", "--serve"]).spawn();
    let mut stdout = served.child.stdout.take().expect("piped stdout");
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut buf = [0u8; 4096];
    while !text.contains("until Ctrl-C.") {
        let n =
            tokio::time::timeout_at(deadline, stdout.read(&mut buf)).await.expect("the demo ends its story").unwrap();
        assert!(n > 0, "stdout ended early:\n{text}");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let url = text.lines().find_map(|l| l.split("Serving the status page at ").nth(1)).unwrap();
    let url = url.split_whitespace().next().unwrap();
    let page = reqwest::get(url).await.expect("the page is still served after the demo");
    assert_eq!(page.status(), 200);
    served.signal("INT");
    assert_eq!(served.exit_code(30).await, 0);
}

/// What else a new user met in ten minutes with the binary: each said about what they gave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_users_other_mistakes_are_named_as_they_were_made() {
    let app = App::start().await;
    // An App id that is not one, from the flag: the flag is named, not APP_ID.
    let out = app.run().args(["--app-id", "my-app"]).await;
    out.assert_code(2);
    assert!(out.stderr.starts_with("error: --app-id is neither a numeric App ID"), "{}", out.stderr);

    // An App id GitHub does not know: GitHub's 404 is about the App, not a hook.
    let out = app.run().env("APP_ID", "999").await;
    out.assert_code(3);
    assert!(out.stderr.contains("hint: no GitHub App has this App id"), "{}", out.stderr);

    // Zero attempts is no policy: refused by the parser, as every other bad value.
    let out = app.run().args(["--max-attempts", "0"]).await;
    out.assert_code(2);
    assert!(out.stderr.contains("invalid value '0' for '--max-attempts <N>'"), "{}", out.stderr);

    // `sim --port` on a port in use is the user's to change (exit 2), not an internal error (70).
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = app.command(["sim", "--port", &port]).await;
    out.assert_code(2);
    assert!(out.stderr.contains(&format!("127.0.0.1:{port} is already in use; pick another port")), "{}", out.stderr);
}
