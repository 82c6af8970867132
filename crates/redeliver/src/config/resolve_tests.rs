//! The resolver's precedence, setting kind by setting kind: a flag beats the environment, the
//! environment beats the config file, the file beats the default.

use super::file::{ConfigFile, parse};
use super::resolve::{DEFAULT_INTERVAL, DEFAULT_LISTEN, DEFAULT_LOOKBACK, run_settings, watch_settings};
use super::{Env, Listen, NotifySettings, RunSettings, WatchSettings};
use crate::cli::{PolicyArgs, RunArgs, StateArgs, TargetArgs, VariableArgs, WatchArgs};
use chrono::{DateTime, Duration, Utc};
use redeliver_core::github::{HookTarget, Pace};
use redeliver_core::policy::Ladder;
use std::path::{Path, PathBuf};

const KEY: &str = include_str!("../../../redeliver-sim/keys/test-app-key.pem");

fn now() -> DateTime<Utc> {
    "2026-11-28T12:00:00Z".parse().unwrap()
}

/// The App hook from flags and environment: the smallest valid command line.
fn app_args() -> RunArgs {
    RunArgs { target: TargetArgs { app_id: Some("1".into()), ..TargetArgs::default() }, ..RunArgs::default() }
}

/// `app_args` with these state flags.
fn with_state(state: StateArgs) -> RunArgs {
    RunArgs { state, ..app_args() }
}

/// `app_args` with these policy flags.
fn with_policy(policy: PolicyArgs) -> RunArgs {
    RunArgs { policy, ..app_args() }
}

/// `watch` with the App hook of `app_args` and nothing else.
fn watch_app() -> WatchArgs {
    WatchArgs { target: app_args().target, ..WatchArgs::default() }
}

fn env(pairs: &[(&str, &str)]) -> Env {
    let mut all = vec![("PRIVATE_KEY", KEY), ("HOME", "/home/u")];
    all.extend_from_slice(pairs);
    Env::with(&all, None)
}

/// A file with one app target, plus `extra` lines at the top level and `target` lines in it.
fn config(top: &str, defaults: &str, target: &str) -> ConfigFile {
    let text = format!(
        "{top}\n[defaults]\n{defaults}\n[[target]]\nname = \"a\"\napp_id = \"1\"\nprivate_key_env = \"PRIVATE_KEY\"\n{target}"
    );
    parse(&text, Path::new("test.toml")).unwrap_or_else(|f| panic!("{:#}", f.error))
}

fn run(args: &RunArgs, env: &Env, file: Option<&ConfigFile>) -> RunSettings {
    run_settings(args, env, file, now()).unwrap_or_else(|f| panic!("{:#}", f.error))
}

fn watch(args: &WatchArgs, file: Option<&ConfigFile>) -> WatchSettings {
    watch_settings(args, &env(&[]), file, now()).unwrap_or_else(|f| panic!("{:#}", f.error))
}

#[test]
fn the_state_file_flag_then_environment_then_file_then_default() {
    let file = config("state = \"/from/file.db\"", "", "");
    let flag = with_state(StateArgs { state: Some("/from/flag.db".into()), ..StateArgs::default() });
    let var = env(&[("REDELIVER_STATE", "/from/env.db")]);
    let file_of = |s: RunSettings| s.state.file().map(Path::to_path_buf);
    assert_eq!(file_of(run(&flag, &var, Some(&file))), Some(PathBuf::from("/from/flag.db")));
    assert_eq!(file_of(run(&app_args(), &var, Some(&file))), Some(PathBuf::from("/from/env.db")));
    assert_eq!(file_of(run(&app_args(), &env(&[]), Some(&file))), Some(PathBuf::from("/from/file.db")));
    assert_eq!(
        file_of(run(&app_args(), &env(&[]), None)),
        Some(PathBuf::from("/home/u/.local/state/redeliver/state.db"))
    );
}

#[test]
fn the_audit_history_kept_flag_then_file_then_thirty_days() {
    let file = config("keep_history = \"7d\"", "", "");
    let flag =
        with_state(StateArgs { keep_history: Some(std::time::Duration::from_secs(3600)), ..StateArgs::default() });
    assert_eq!(run(&flag, &env(&[]), Some(&file)).options.keep_history(), Duration::hours(1));
    assert_eq!(run(&app_args(), &env(&[]), Some(&file)).options.keep_history(), Duration::days(7));
    assert_eq!(run(&app_args(), &env(&[]), None).options.keep_history(), Duration::days(30));
}

#[test]
fn the_archive_is_on_unless_the_flag_or_the_file_turns_it_off_and_its_caps_come_from_the_file() {
    let off = config("archive = false\narchive_max_payload = 2048\narchive_max_total = 65536", "", "");
    let on = config("archive = true", "", "");
    let no_archive = with_state(StateArgs { no_archive: true, ..StateArgs::default() });
    assert!(run(&app_args(), &env(&[]), None).options.archive());
    assert!(run(&app_args(), &env(&[]), Some(&on)).options.archive());
    assert!(!run(&app_args(), &env(&[]), Some(&off)).options.archive());
    assert!(!run(&no_archive, &env(&[]), Some(&on)).options.archive(), "the flag wins");
    let limits = run(&app_args(), &env(&[]), Some(&off)).options.archive_limits;
    assert_eq!((limits.max_payload, limits.max_total), (2048, 65536));
    let defaults = run(&app_args(), &env(&[]), None).options.archive_limits;
    assert_eq!((defaults.max_payload, defaults.max_total), (1 << 20, 256 << 20));
    // Units in the file, and the flags over the file.
    let units = config("archive_max_payload = \"4KiB\"\narchive_max_total = \"1MB\"", "", "");
    let limits = run(&app_args(), &env(&[]), Some(&units)).options.archive_limits;
    assert_eq!((limits.max_payload, limits.max_total), (4096, 1_000_000));
    let mut flags = app_args();
    flags.state.archive_max_payload = Some(10);
    flags.state.archive_max_total = Some(20);
    let limits = run(&flags, &env(&[]), Some(&units)).options.archive_limits;
    assert_eq!((limits.max_payload, limits.max_total), (10, 20), "the flags win");
}

#[test]
fn policy_knobs_flag_then_target_then_defaults_then_built_in() {
    let both = config("", "ladder = \"1m\"\nlookback = \"2h\"\npace = \"auto\"", "ladder = \"2m\"");
    let flag = with_policy(PolicyArgs { ladder: Some("3m".parse().unwrap()), ..PolicyArgs::default() });
    let ladder = |s: &RunSettings| s.targets[0].policy.ladder.clone();
    assert_eq!(ladder(&run(&flag, &env(&[]), Some(&both))), [Duration::minutes(3)]);
    assert_eq!(ladder(&run(&app_args(), &env(&[]), Some(&both))), [Duration::minutes(2)]);
    let defaults_only = config("", "ladder = \"1m\"", "");
    assert_eq!(ladder(&run(&app_args(), &env(&[]), Some(&defaults_only))), [Duration::minutes(1)]);
    let built_in = run(&app_args(), &env(&[]), None);
    assert_eq!(built_in.targets[0].policy.ladder.len(), 7, "the default ladder");
    assert_eq!(built_in.targets[0].lookback, Duration::hours(24));
    assert_eq!(DEFAULT_LOOKBACK, std::time::Duration::from_secs(86_400));
    assert_eq!(built_in.targets[0].pace, Pace::DEFAULT);

    // A knob the target does not set falls through to [defaults]; a flag beats both.
    let from_defaults = run(&app_args(), &env(&[]), Some(&both));
    assert_eq!(from_defaults.targets[0].lookback, Duration::hours(2));
    assert_eq!(from_defaults.targets[0].pace, Pace::AUTO);
    let flags = with_policy(PolicyArgs {
        lookback: Some(std::time::Duration::from_millis(500)),
        pace: Some(Pace::Fixed(std::time::Duration::ZERO)),
        max_wait: Some(std::time::Duration::from_secs(1)),
        ..PolicyArgs::default()
    });
    let flagged = run(&flags, &env(&[]), Some(&both));
    assert_eq!(flagged.targets[0].lookback, Duration::milliseconds(500), "--lookback 500ms is accepted");
    assert_eq!(flagged.targets[0].pace, Pace::Fixed(std::time::Duration::ZERO));
    assert_eq!(flagged.targets[0].max_wait, std::time::Duration::from_secs(1));
}

#[test]
fn watch_settings_flag_then_file_then_default() {
    let file = config(
        "interval = \"2m\"\nlisten = \"off\"\nnotify_url = \"http://127.0.0.1:1/file\"\nnotify_command = \"true\"",
        "",
        "",
    );
    let flags = WatchArgs {
        interval: Some(std::time::Duration::from_millis(300)),
        listen: Some("127.0.0.1:0".into()),
        notify_url: Some("http://127.0.0.1:1/flag".into()),
        notify_command: None,
        allow_hosts: vec![],
        ..watch_app()
    };
    let flagged = watch(&flags, Some(&file));
    assert_eq!(flagged.interval, std::time::Duration::from_millis(300));
    assert_eq!(flagged.listen, Listen::At("127.0.0.1:0".into()));
    assert_eq!(
        flagged.run.notify,
        NotifySettings { url: Some("http://127.0.0.1:1/flag".into()), command: Some("true".into()) },
        "each notification setting is resolved on its own"
    );
    let from_file = watch(&watch_app(), Some(&file));
    assert_eq!(from_file.interval, std::time::Duration::from_secs(120));
    assert_eq!(from_file.listen, Listen::Off);
    assert_eq!(from_file.run.notify.url.as_deref(), Some("http://127.0.0.1:1/file"));
    let defaults = watch(&watch_app(), None);
    assert_eq!(defaults.interval, DEFAULT_INTERVAL);
    assert_eq!(defaults.listen, Listen::At(DEFAULT_LISTEN.into()));
    assert_eq!(defaults.run.notify, NotifySettings::default());
    // `run` takes notifications from the file too (it has no flags for them).
    assert_eq!(run(&app_args(), &env(&[]), Some(&file)).notify.command.as_deref(), Some("true"));
}

#[test]
fn watch_refuses_a_zero_interval_and_passes_its_dry_run_on() {
    let zero = config("interval = \"0s\"", "", "");
    let err = watch_settings(&watch_app(), &env(&[]), Some(&zero), now()).unwrap_err();
    assert!(err.error.to_string().contains("interval must be more than zero"), "{}", err.error);
    // `--since`, `--until` and `--json` are not `watch`'s flags at all (clap refuses them).
    let dry = watch(&WatchArgs { dry_run: true, ..watch_app() }, None);
    assert!(dry.run.options.dry_run && !dry.run.options.json);
}

#[test]
fn the_hook_and_credentials_flag_then_environment() {
    let var = env(&[("APP_ID", "777"), ("REPO_OWNER", "o"), ("REPO_NAME", "r"), ("HOOK_ID", "5"), ("TOKEN", "t")]);
    let repo = run(&RunArgs::default(), &var, None);
    assert_eq!(repo.targets[0].hook, HookTarget::Repo { owner: "o".into(), repo: "r".into(), hook_id: 5 });
    let flagged = RunArgs {
        target: TargetArgs { repo: Some("f/g".into()), hook_id: Some(9), ..TargetArgs::default() },
        ..RunArgs::default()
    };
    assert_eq!(
        run(&flagged, &var, None).targets[0].hook,
        HookTarget::Repo { owner: "f".into(), repo: "g".into(), hook_id: 9 }
    );
    let app_env = env(&[("APP_ID", "777")]);
    assert_eq!(run(&RunArgs::default(), &app_env, None).targets[0].key(), "app:777@https://api.github.com");
    assert_eq!(run(&app_args(), &app_env, None).targets[0].key(), "app:1@https://api.github.com");
}

#[test]
fn the_api_url_flag_then_environment_then_default_and_a_file_target_keeps_its_own() {
    let var = env(&[("GITHUB_API_URL", "https://ghe.env/api/v3")]);
    let flag = RunArgs {
        target: TargetArgs { api_url: Some("http://127.0.0.1:1".into()), ..app_args().target },
        ..RunArgs::default()
    };
    assert_eq!(run(&flag, &var, None).targets[0].api_url.as_str(), "http://127.0.0.1:1/");
    assert_eq!(run(&app_args(), &var, None).targets[0].api_url.as_str(), "https://ghe.env/api/v3");
    assert_eq!(run(&app_args(), &env(&[]), None).targets[0].api_url.as_str(), "https://api.github.com/");
    let own = config("", "", "api_url = \"https://ghe.file/api/v3\"");
    let t = &run(&app_args(), &var, Some(&own)).targets[0];
    assert_eq!((t.api_url.as_str(), t.api_url_source), ("https://ghe.file/api/v3", "config file"));
    assert_eq!(run(&app_args(), &var, Some(&config("", "", ""))).targets[0].api_url.as_str(), "https://ghe.env/api/v3");
}

#[test]
fn since_and_until_are_ages_or_times_and_in_order() {
    let args = RunArgs { since: Some("6h".parse().unwrap()), until: Some("1h".parse().unwrap()), ..app_args() };
    let s = run(&args, &env(&[]), None);
    assert_eq!(s.options.since, Some(now() - Duration::hours(6)));
    assert_eq!(s.options.until, Some(now() - Duration::hours(1)));
    let backwards = RunArgs { since: args.until, until: args.since, ..app_args() };
    assert!(run_settings(&backwards, &env(&[]), None, now()).unwrap_err().error.to_string().contains("--until"));
}

#[test]
fn the_variable_needs_a_valid_name_a_repository_and_a_token() {
    let settings = |args: &RunArgs, pairs: &[(&str, &str)]| run_settings(args, &env(pairs), None, now());
    let ok = [
        ("LAST_REDELIVERY_VARIABLE_NAME", "LAST_RUN"),
        ("WORKFLOW_REPO_OWNER", "o"),
        ("WORKFLOW_REPO", "r"),
        ("TOKEN", "t"),
    ];
    let v = settings(&app_args(), &ok).unwrap().targets.remove(0).variable.unwrap();
    assert_eq!((v.owner.as_str(), v.repo.as_str()), ("o", "r"));
    let flagged = RunArgs {
        variable: VariableArgs { variable: Some("OTHER".into()), variable_repo: Some("f/g".into()) },
        ..app_args()
    };
    let v = settings(&flagged, &ok).unwrap().targets.remove(0).variable.unwrap();
    assert_eq!((v.name.to_string().as_str(), v.owner.as_str(), v.repo.as_str()), ("OTHER", "f", "g"), "flags win");
    let actions = [("LAST_REDELIVERY_VARIABLE_NAME", "LAST_RUN"), ("GITHUB_REPOSITORY", "org/tools"), ("TOKEN", "t")];
    assert_eq!(settings(&app_args(), &actions).unwrap().targets[0].variable.as_ref().unwrap().repo, "tools");
    let err = |pairs: &[(&str, &str)]| settings(&app_args(), pairs).unwrap_err().error.to_string();
    assert!(
        err(&[("LAST_REDELIVERY_VARIABLE_NAME", "GITHUB_X"), ("GITHUB_REPOSITORY", "o/r"), ("TOKEN", "t")])
            .contains("GITHUB_")
    );
    assert!(err(&[("LAST_REDELIVERY_VARIABLE_NAME", "OK"), ("TOKEN", "t")]).contains("needs its repository"));
    assert!(err(&[("LAST_REDELIVERY_VARIABLE_NAME", "OK"), ("GITHUB_REPOSITORY", "o/r")]).contains("TOKEN is not"));
    assert!(settings(&app_args(), &[]).unwrap().targets[0].variable.is_none());
}

#[test]
fn the_demo_ladder_type_round_trips() {
    assert_eq!("2s,2s".parse::<Ladder>().unwrap().0, vec![Duration::seconds(2); 2]);
}

#[test]
fn an_org_repo_hooks_target_is_a_discovery_with_its_selector_and_the_fleet_knobs() {
    let text = "budget_share = 0.3\nmax_interval = \"10m\"\n[[target]]\nname = \"acme-ci\"\nkind = \"org-repo-hooks\"\n\
                org = \"acme\"\ntoken_env = \"ORG_TOKEN\"\nrepos = [\"*\", \"!archived-*\"]\nhook_url = \"*jenkins*\"\n\
                hook_events = [\"push\"]\norg_hooks = true\nrefresh = \"30m\"\nladder = \"2m\"\n";
    let file = parse(text, Path::new("test.toml")).unwrap_or_else(|f| panic!("{:#}", f.error));
    let settings = watch_settings(&WatchArgs::default(), &env(&[("ORG_TOKEN", "ghp_x")]), Some(&file), now())
        .unwrap_or_else(|f| panic!("{:#}", f.error));
    assert!(settings.run.targets.is_empty(), "the organization is not itself polled");
    let d = &settings.run.discovery[0];
    assert_eq!((d.name.as_str(), d.org.as_str(), d.org_hooks), ("acme-ci", "acme", true));
    assert_eq!(d.selector.repos, ["*", "!archived-*"]);
    assert_eq!(d.selector.hook_url.as_deref(), Some("*jenkins*"));
    assert_eq!(d.refresh, std::time::Duration::from_secs(1800));
    assert_eq!(d.template.policy.ladder, vec![Duration::minutes(2)], "policy keys reach every discovered hook");
    assert_eq!(settings.fleet.budget_share, 0.3);
    assert_eq!(settings.fleet.max_interval, std::time::Duration::from_secs(600));

    let defaults = watch(&watch_app(), None).fleet;
    assert_eq!((defaults.budget_share, defaults.max_interval), (0.5, std::time::Duration::from_secs(900)));
    let bad = "budget_share = 1.5\n[[target]]\nname = \"a\"\napp_id = \"1\"\nprivate_key_env = \"PRIVATE_KEY\"\n";
    let err = parse(bad, Path::new("t.toml")).err().map(|f| format!("{:#}", f.error)).unwrap_or_default();
    assert!(err.contains("budget_share") && err.contains("at most 1"), "{err}");
}

// --- Lease (issue 13) ---

/// A PostgreSQL state (parsed only: nothing connects) with these state flags.
fn on_postgres(lease: Option<std::time::Duration>) -> StateArgs {
    StateArgs { state: Some(PathBuf::from("postgres://u@127.0.0.1:1/db")), lease, ..StateArgs::default() }
}

#[test]
fn the_lease_flag_then_file_then_default_and_watch_s_default_covers_two_intervals() {
    let secs = std::time::Duration::from_secs;
    let file = config("lease = \"40s\"", "", "");
    let flagged = with_state(on_postgres(Some(secs(5))));
    assert_eq!(run(&flagged, &env(&[]), Some(&file)).lease, secs(5));
    assert_eq!(run(&with_state(on_postgres(None)), &env(&[]), Some(&file)).lease, secs(40));
    assert_eq!(run(&with_state(on_postgres(None)), &env(&[]), None).lease, secs(30));
    let watch_on = |lease, interval| WatchArgs { state: on_postgres(lease), interval, ..watch_app() };
    assert_eq!(watch(&watch_on(Some(secs(3)), Some(secs(1))), None).run.lease, secs(3));
    // The default interval (1m) would outlast the default lease: the lease grows to two rounds.
    assert_eq!(watch(&watch_on(None, None), None).run.lease, secs(120));
    assert_eq!(watch(&watch_on(None, Some(secs(5))), None).run.lease, secs(30));
}

#[test]
fn a_lease_shorter_than_a_second_or_than_two_intervals_is_refused_on_postgres() {
    let ms = std::time::Duration::from_millis;
    let short = with_state(on_postgres(Some(ms(500))));
    let err = run_settings(&short, &env(&[]), None, now()).unwrap_err();
    assert!(err.error.to_string().contains("the lease (500ms) must be at least 1s"), "{}", err.error);
    let file = config("lease = \"500ms\"", "", "");
    assert!(run_settings(&with_state(on_postgres(None)), &env(&[]), Some(&file), now()).is_err(), "the file's too");
    let args = WatchArgs { state: on_postgres(Some(ms(1500))), interval: Some(ms(1000)), ..watch_app() };
    let err = watch_settings(&args, &env(&[]), None, now()).unwrap_err();
    assert!(err.error.to_string().contains("at least twice the interval (1s)"), "{}", err.error);
    // On a file state a lease means nothing, and nothing is refused.
    let on_file = StateArgs { lease: Some(ms(500)), ..StateArgs::default() };
    assert_eq!(run(&with_state(on_file.clone()), &env(&[]), None).lease, ms(500));
    assert!(watch_settings(&WatchArgs { state: on_file, ..watch_app() }, &env(&[]), None, now()).is_ok());
}
