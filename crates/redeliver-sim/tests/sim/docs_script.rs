//! GitHub's own docs script ("Automatically redelivering failed deliveries for a GitHub App
//! webhook", Node + octokit) run against the simulator as an independent client nobody here
//! wrote: its first run redelivers each failed event once and creates its variable, its second
//! run redelivers nothing more and updates the variable.
//!
//! The script is read from `shared/reference/docs-script/` next to the checkout (never copied
//! into the project); octokit 4 comes from the npm registry into the test's target directory,
//! once. `.ci/run` installs Debian's Node and npm when they are missing: this test never skips.

use chrono::{Duration, Utc};
use redeliver_sim::{NewAttempt, Receiver, Sim, keys};
use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;
use tokio::process::Command;

const SCRIPT: &str = "shared/reference/docs-script/redeliver-failed-deliveries.js";
const APP_ID: u64 = 7_070_707;
const TOKEN: &str = "ghp_docsScriptToken00000000000000000000";
const VARIABLE: &str = "LAST_REDELIVERY";
/// npm install and one script run each get this long at most.
const NPM_LIMIT: StdDuration = StdDuration::from_secs(300);
const RUN_LIMIT: StdDuration = StdDuration::from_secs(120);

/// The script, from `REDELIVER_DOCS_SCRIPT` or the nearest ancestor of this crate that holds it.
fn script() -> PathBuf {
    if let Some(path) = std::env::var_os("REDELIVER_DOCS_SCRIPT") {
        return PathBuf::from(path);
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .map(|dir| dir.join(SCRIPT))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("GitHub's docs script not found at {SCRIPT} above {}", here.display()))
}

/// `node_modules` holding octokit 4, installed from the npm registry on first use; the tests of
/// this binary share one install rather than race two into one directory.
async fn octokit() -> PathBuf {
    static INSTALLED: tokio::sync::OnceCell<PathBuf> = tokio::sync::OnceCell::const_new();
    INSTALLED.get_or_init(install_octokit).await.clone()
}

async fn install_octokit() -> PathBuf {
    let prefix = Path::new(env!("CARGO_TARGET_TMPDIR")).join("docs-script-npm");
    let modules = prefix.join("node_modules");
    if modules.join("octokit/package.json").is_file() {
        return modules;
    }
    std::fs::create_dir_all(&prefix).unwrap();
    let install = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--no-save", "--loglevel=error", "--prefix"])
        .arg(&prefix)
        .arg("octokit@4")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(NPM_LIMIT, install)
        .await
        .expect("npm install octokit@4 took too long")
        .expect("npm must be installed (.ci/run installs Debian's nodejs and npm)");
    assert!(output.status.success(), "npm install failed: {}", String::from_utf8_lossy(&output.stderr));
    modules
}

/// Runs the script once against `base_url`; returns its stdout.
async fn run_script(base_url: &str, modules: &Path) -> String {
    let run = Command::new("node")
        .arg(script())
        .env("NODE_PATH", modules)
        .env("BASE_URL", base_url)
        .env("APP_ID", APP_ID.to_string())
        .env("PRIVATE_KEY", keys::TEST_APP_KEY_PKCS1)
        .env("TOKEN", TOKEN)
        .env("LAST_REDELIVERY_VARIABLE_NAME", VARIABLE)
        .env("WORKFLOW_REPO", "ops")
        .env("WORKFLOW_REPO_OWNER", "octo")
        .env_remove("HTTPS_PROXY")
        .env_remove("HTTP_PROXY")
        .env_remove("https_proxy")
        .env_remove("http_proxy")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(RUN_LIMIT, run)
        .await
        .expect("the docs script took too long")
        .expect("node must be installed (.ci/run installs Debian's nodejs)");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "the docs script failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn githubs_docs_script_redelivers_then_patches_its_variable() {
    two_runs(false).await;
}

/// The same against the GHES base URL, as the docs' Enterprise Server variant configures it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn githubs_docs_script_runs_against_ghes_under_api_v3() {
    two_runs(true).await;
}

/// Seeds three failed events and one already recovered, runs the script twice at the root or
/// under `/api/v3`, and checks what each run did.
async fn two_runs(ghes: bool) {
    let modules = octokit().await;
    let sim = Sim::start().await.unwrap();
    let base_url = if ghes { sim.ghes_base_url() } else { sim.base_url() };
    let receiver = Receiver::start(None).await.unwrap();
    let world = sim.world();
    let hook = world.add_app(APP_ID, "Iv23liDocsScript", keys::TEST_APP_PUBLIC_KEY, &receiver.url(), None);
    world.add_token(TOKEN);
    let now = Utc::now();
    let mut failed = Vec::new();
    for i in 0..3 {
        let at = now - Duration::hours(2) + Duration::minutes(10 * i);
        failed.push(world.record_attempt(hook, NewAttempt::new("issues", 502, at).action("opened")).guid);
        world.record_attempt(hook, NewAttempt::new("push", 200, at + Duration::minutes(1)));
    }
    // An event that failed and was already redelivered with success: the script must leave it.
    let recovered = world.record_attempt(hook, NewAttempt::new("push", 0, now - Duration::hours(3))).guid;
    world
        .record_attempt(hook, NewAttempt::new("push", 200, now - Duration::hours(3)).guid(&recovered).redelivery(true));

    let first = run_script(&base_url, &modules).await;
    world.settle().await;
    assert!(first.contains("Redelivered 3 failed webhook deliveries"), "{first}");
    for guid in &failed {
        assert_eq!(world.attempts_for(guid).iter().filter(|a| a.redelivery).count(), 1, "{guid}");
        assert_eq!(receiver.successes_for(guid), 1);
    }
    assert_eq!(world.attempts_for(&recovered).len(), 2, "an event already recovered is left alone");
    let stored = world.variable("octo", "ops", VARIABLE).expect("the first run creates its variable");
    let requests = world.requests();
    assert!(requests.iter().any(|r| r.method == "POST" && r.path.ends_with("/actions/variables") && r.status == 201));

    let second = run_script(&base_url, &modules).await;
    world.settle().await;
    assert!(second.contains("Redelivered 0 failed webhook deliveries"), "{second}");
    let patched = world.requests().iter().filter(|r| r.method == "PATCH" && r.status == 204).count();
    assert_eq!(patched, 1, "the second run updates the variable");
    let updated = world.variable("octo", "ops", VARIABLE).unwrap();
    assert!(updated.parse::<i64>().unwrap() > stored.parse::<i64>().unwrap(), "{stored} then {updated}");
    // The only refusal is the 404 the script expects for its variable on the first run.
    let refused: Vec<_> = world.requests().into_iter().filter(|r| r.status >= 400).collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!((refused[0].method.as_str(), refused[0].status), ("GET", 404));
    assert!(refused[0].path.ends_with(&format!("/actions/variables/{VARIABLE}")));
    assert!(world.requests().iter().all(|r| r.ghes == ghes), "every request at the base URL given");
}
