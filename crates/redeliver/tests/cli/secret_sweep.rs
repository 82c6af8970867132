//! The secret sweep: every flow that holds a secret (an App's JWT, a personal token, a minted
//! installation token), run at `-vv` with `RUST_LOG=trace`, then every place the process could
//! have put one is searched: stdout and stderr, every HTTP endpoint of `watch`, the
//! notifications (URL and command, with the command's environment), and the SQLite files with
//! their WAL. None may hold a line of the private key, a token or a JWT.

use crate::harness::{APP_ID, App, Output, wait_until};
use chrono::{Duration, Utc};
use redeliver_sim::{NewAttempt, Receiver, keys};
use std::path::Path;
use std::time::Duration as StdDuration;

const USER_TOKEN: &str = "ghp_sweepUserToken0123456789abcdefXYZ";
/// The prefix of every installation token the simulator mints.
const INSTALLATION_TOKEN_PREFIX: &str = "ghs_";

/// A failed event (due for a redelivery) and one at its attempt cap (given up: notified).
fn failures(record: impl Fn(NewAttempt) -> String) {
    let at = Utc::now() - Duration::hours(2);
    record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(30)));
    let poison = record(NewAttempt::new("issues", 502, at));
    for i in 1..3 {
        record(NewAttempt::new("issues", 502, at + Duration::minutes(i)).guid(&poison).redelivery(true));
    }
}

/// What a notify command leaves: its environment and its stdin, one file each per event.
fn notify_command(dir: &Path) -> String {
    let d = dir.display();
    format!("env > '{d}/env-'$REDELIVER_GUID'.txt'; cat > '{d}/stdin-'$REDELIVER_GUID'.json'")
}

/// Where the secrets could be found, each with a name for the failure message.
#[derive(Default)]
struct Haystack(Vec<(String, String)>);

impl Haystack {
    fn add(&mut self, name: impl Into<String>, text: impl Into<String>) {
        self.0.push((name.into(), text.into()));
    }

    fn output(&mut self, flow: &str, out: &Output) {
        self.add(format!("{flow} stdout"), out.stdout.clone());
        self.add(format!("{flow} stderr"), out.stderr.clone());
    }

    /// Every file under `dir` (state files, their WAL, the command's dumps), as text.
    fn files(&mut self, dir: &Path) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_file() && path.extension().is_none_or(|e| e != "pem") {
                let bytes = std::fs::read(&path).unwrap();
                self.add(path.display().to_string(), String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }

    fn names(&self) -> Vec<&str> {
        self.0.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[track_caller]
    fn assert_clean(&self) {
        let key_lines: Vec<&str> = keys::TEST_APP_KEY_PKCS1.lines().filter(|l| !l.starts_with("-----")).collect();
        for (name, text) in &self.0 {
            for line in &key_lines {
                assert!(!text.contains(&line[..line.len().min(24)]), "a private key line in {name}:\n{text}");
            }
            assert!(!text.contains(USER_TOKEN), "the personal token in {name}:\n{text}");
            assert!(!text.contains(INSTALLATION_TOKEN_PREFIX), "an installation token in {name}:\n{text}");
            assert!(!has_jwt(text), "a JWT in {name}:\n{text}");
        }
    }
}

/// `eyJ[A-Za-z0-9_-]+\.eyJ`: a JWT's header and the start of its claims.
fn has_jwt(text: &str) -> bool {
    let b64 = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    text.match_indices("eyJ").any(|(i, _)| {
        let rest = &text[i + 3..];
        let run = rest.find(|c: char| !b64(c)).unwrap_or(rest.len());
        run > 0 && rest[run..].starts_with(".eyJ")
    })
}

#[test]
fn the_jwt_pattern_finds_a_jwt() {
    assert!(has_jwt("Bearer eyJhbGciOiJSUzI1NiJ9.eyJpYXQiOjF9.sig"));
    assert!(!has_jwt("eyJ alone, eyJx.notclaims"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_any_output_endpoint_notification_or_state_file() {
    let app = App::start().await;
    let sink = Receiver::start(None).await.unwrap();
    let world = app.world();
    let repo_hook = world.add_repo_hook("octo", "infra", &app.receiver.url(), None);
    world.add_token(USER_TOKEN);
    world.add_installation(APP_ID, "octo");
    let dir = app.dir.path();
    let key_env = ("PRIVATE_KEY", keys::TEST_APP_KEY_PKCS1);
    let loud = [("RUST_LOG", "trace")];
    let mut hay = Haystack::default();

    // The App itself (a JWT), from a config file with both kinds of notification.
    failures(|a| app.record(a).guid);
    let app_toml = dir.join("app.toml");
    let common = format!(
        "notify_url = \"{sink}\"\nnotify_command = \"{cmd}\"\n[defaults]\nmax_attempts = 3\npace = \"0s\"\n",
        sink = sink.url(),
        cmd = notify_command(dir).replace('\\', "\\\\").replace('"', "\\\""),
    );
    std::fs::write(
        &app_toml,
        format!(
            "{common}[[target]]\nname = \"app\"\napi_url = \"{api}\"\napp_id = \"{APP_ID}\"\nprivate_key_env = \"PRIVATE_KEY\"\n",
            api = app.sim.base_url()
        ),
    )
    .unwrap();
    let state = |name: &str| dir.join(name).display().to_string();
    let config_run = |toml: &Path, db: &str| {
        vec![
            "run".to_string(),
            "-vv".into(),
            "--config".into(),
            toml.display().to_string(),
            "--state".into(),
            state(db),
        ]
    };
    let out = app.command(config_run(&app_toml, "app.db")).envs(&[key_env]).envs(&loud).await;
    out.assert_code(1);
    // Loud enough to matter: the HTTP stack's own trace lines are there.
    assert!(out.stderr.contains("TRACE") && out.stderr.contains("DEBUG"), "{}", out.stderr);
    hay.output("app", &out);

    // A personal token on a repository hook.
    failures(|a| world.record_attempt(repo_hook, a).guid);
    let hook = repo_hook.to_string();
    let pat_state = state("pat.db");
    let pat = ["run", "-vv", "--repo", "octo/infra", "--hook-id", &hook, "--api-url", &app.sim.base_url()];
    let out = app
        .command(pat)
        .args(["--max-attempts", "3", "--pace", "0s", "--state", &pat_state])
        .envs(&[("TOKEN", USER_TOKEN)])
        .envs(&loud)
        .await;
    out.assert_code(1);
    hay.output("token", &out);

    // An installation token, minted from the App's key for the repository's owner.
    let inst_toml = dir.join("installation.toml");
    std::fs::write(
        &inst_toml,
        format!(
            "{common}[[target]]\nname = \"inst\"\nkind = \"repo\"\nrepo = \"octo/infra\"\nhook_id = {hook}\napi_url = \"{api}\"\napp_id = \"{APP_ID}\"\nprivate_key_env = \"PRIVATE_KEY\"\n",
            api = app.sim.base_url()
        ),
    )
    .unwrap();
    let out = app.command(config_run(&inst_toml, "installation.db")).envs(&[key_env]).envs(&loud).await;
    out.assert_code(1);
    hay.output("installation", &out);
    assert!(
        world.requests().iter().any(|r| r.method == "POST" && r.path.ends_with("/access_tokens")),
        "an installation token was minted: {}",
        out.stderr
    );

    // `watch`, with its endpoints and its notifications.
    let notified = sink.received().len();
    let flags =
        ["watch", "-vv", "--interval", "300ms", "--max-attempts", "3", "--pace", "0s", "--listen", "127.0.0.1:0"];
    let cmd = notify_command(dir);
    let sink_url = sink.url();
    let mut daemon = app
        .command(flags)
        .args(["--api-url", &app.sim.base_url(), "--app-id", &APP_ID.to_string()])
        .args(["--notify-url", &sink_url, "--notify-command", &cmd])
        .envs(&[key_env, ("REDELIVER_STATE", &state("watch.db"))])
        .envs(&loud)
        .spawn();
    let url = daemon.status_url().await;
    let watch_db = dir.join("watch.db");
    // Once the WAL has been there, the file is in WAL mode: a second connection opened after it
    // keeps the WAL from being checkpointed away when a pass closes its own, so that what later
    // passes write is there to search. (Opened before, it could race the switch to WAL mode.)
    let watch_wal = dir.join("watch.db-wal");
    wait_until(StdDuration::from_secs(30), "watch's state file in WAL mode", || watch_wal.exists()).await;
    let holder = rusqlite::Connection::open(&watch_db).unwrap();
    let _: i64 = holder.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).unwrap();
    let polls = || world.requests().iter().filter(|r| r.path == "/app/hook/deliveries").count();
    let polled = polls();
    wait_until(StdDuration::from_secs(30), "two more polls", || polls() >= polled + 2).await;
    wait_until(StdDuration::from_secs(30), "watch's notification", || sink.received().len() > notified).await;
    for path in ["/", "/status.json", "/metrics", "/healthz"] {
        let body = reqwest::get(format!("{url}{path}")).await.unwrap().text().await.unwrap();
        assert!(!body.is_empty(), "{path}");
        hay.add(format!("watch {path}"), body);
    }
    // While it runs, the state's WAL is there (closing checkpoints it away); the passes since the
    // holder opened wrote to it.
    wait_until(StdDuration::from_secs(30), "watch's WAL", || watch_wal.exists()).await;
    hay.files(dir);
    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(20).await, 0);
    let _ = daemon.wait_for("stopped", 10).await;
    drop(holder);
    hay.add("watch stderr", daemon.seen.join("\n"));
    let mut stdout = String::new();
    if let Some(mut out) = daemon.child.stdout.take() {
        use tokio::io::AsyncReadExt as _;
        let _ = tokio::time::timeout(StdDuration::from_secs(10), out.read_to_string(&mut stdout)).await;
    }
    hay.add("watch stdout", stdout);

    for (i, note) in sink.received().iter().enumerate() {
        hay.add(format!("notification {i}"), note.payload.to_string());
    }
    hay.files(dir);
    let names = hay.names();
    for expected in ["app.db", "watch.db-wal", "watch.db", "env-", "stdin-"] {
        assert!(names.iter().any(|n| n.contains(expected)), "nothing named {expected} was searched: {names:?}");
    }
    hay.assert_clean();
}
