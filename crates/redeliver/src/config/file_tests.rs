//! The config file's model and its error messages: every kind of target resolves, and every
//! mistake names the file, line, column, target and key, and never a value.

use super::file::{ConfigFile, parse};
use super::resolve::run_settings;
use super::{Auth, Env, Target};
use crate::cli::RunArgs;
use std::path::Path;

const KEY: &str = include_str!("../../../redeliver-sim/keys/test-app-key.pem");

fn file(text: &str) -> Result<ConfigFile, String> {
    parse(text, Path::new("redeliver.toml")).map_err(|f| f.error.to_string())
}

fn resolve(text: &str, env: &[(&str, &str)]) -> Result<Vec<Target>, String> {
    let env = Env::with(env, None);
    let file = file(text)?;
    run_settings(&RunArgs::default(), &env, Some(&file), chrono::Utc::now())
        .map(|s| s.targets)
        .map_err(|f| f.error.to_string())
}

#[test]
fn a_file_with_every_kind_of_target_resolves() {
    let text = r#"
        state = "/var/lib/redeliver/state.db"
        interval = "2m"
        [defaults]
        ladder = "1m,10m"
        max_attempts = 4
        [[target]]
        name = "ci-app"
        app_id = "12345"
        private_key_env = "APP_KEY"
        [[target]]
        name = "infra"
        kind = "repo"
        repo = "octo/infra"
        hook_id = 42
        token_env = "GH_TOKEN"
        api_url = "https://ghe.example.com/api/v3"
        max_attempts = 6
        [[target]]
        name = "org-hook"
        kind = "org"
        org = "octo"
        hook_id = 7
        app_id = 12345
        private_key_env = "APP_KEY"
        events = ["workflow_job"]
    "#;
    let targets = resolve(text, &[("APP_KEY", KEY), ("GH_TOKEN", "ghp_x")]).unwrap();
    assert_eq!(targets.len(), 3);
    assert!(matches!(targets[0].auth, Auth::App { .. }));
    assert_eq!(targets[0].policy.max_attempts, 4);
    assert!(matches!(targets[1].auth, Auth::Token(_)));
    assert_eq!(targets[1].policy.max_attempts, 6);
    assert_eq!(targets[1].policy.horizon, chrono::Duration::days(7), "GHES horizon");
    assert_eq!(targets[1].key(), "repo:octo/infra#42@https://ghe.example.com/api/v3");
    assert!(
        matches!(&targets[2].auth, Auth::Installation { app_id, .. } if app_id == "12345"),
        "an integer app_id is read as the App ID"
    );
    assert_eq!(targets[2].filter.include, ["workflow_job"]);
    assert_eq!(file(text).unwrap().interval, Some(std::time::Duration::from_secs(120)));
}

#[test]
fn every_default_knob_is_also_a_target_key() {
    let knobs = "lookback = \"1h\"\noverlap = \"1m\"\nladder = \"1m\"\nmax_attempts = 2\nhorizon = \"2d\"\npace = \"auto\"\nmax_wait = \"1m\"\nevents = [\"push\"]\nexclude_events = [\"ping\"]\n";
    let target = "[[target]]\nname = \"a\"\napp_id = \"1\"\nprivate_key_env = \"K\"\n";
    let in_defaults = file(&format!("[defaults]\n{knobs}{target}")).unwrap();
    let in_target = file(&format!("{target}{knobs}")).unwrap();
    assert_eq!(in_defaults.defaults.knobs(), in_target.target[0].knobs());
    assert_eq!(in_target.target[0].knobs().ladder.map(|l| l.0), Some(vec![chrono::Duration::minutes(1)]));
}

#[test]
fn mistakes_name_the_target_and_the_key() {
    let app = |extra: &str| format!("[[target]]\nname = \"a\"\napp_id = \"1\"\nprivate_key_env = \"K\"\n{extra}");
    let env = [("K", KEY)];
    let err = |text: &str| resolve(text, &env).unwrap_err();
    assert!(err(&app("hookid = 3")).contains("target \"a\": unknown key `hookid`"), "{}", err(&app("hookid = 3")));
    assert!(err("bogus = 1\n[[target]]\nname=\"a\"").contains("top level: unknown key `bogus`"));
    assert!(err(&format!("{}\n{}", app(""), app(""))).contains("target \"a\" appears twice"));
    assert!(
        err("[[target]]\nname = \"r\"\nkind = \"repo\"\nrepo = \"o/r\"\nhook_id = 1")
            .contains("target \"r\": missing credential")
    );
    assert!(err("[[target]]\nname = \"a\"\napp_id = \"1\"").contains("target \"a\": missing credential"));
    let unreadable = err("[[target]]\nname = \"k\"\napp_id = \"1\"\nprivate_key_file = \"/no/such.pem\"");
    assert!(unreadable.contains("target \"k\"") && unreadable.contains("/no/such.pem"), "{unreadable}");
    assert!(
        err("[[target]]\nname = \"t\"\nkind = \"repo\"\nrepo = \"o/r\"\nhook_id = 1\ntoken_env = \"NOPE\"")
            .contains("NOPE, which is not set")
    );
    assert_eq!(
        err(&app("ladder = \"1m,5x\"")),
        "redeliver.toml:5:10: target \"a\": `ladder`: rung 2: not a duration: write a number with a unit (ms, s, m, h, d), e.g. 250ms, 90s, 5m, 2h, 3d or 1h30m"
    );
    assert!(err(&app("ladder = \"\"")).contains("an empty ladder"));
    assert!(err(&app("horizon = \"100000000000d\"")).contains("`horizon`: too long"));
    assert!(err(&app("pace = \"fast\"")).contains("`pace`: not a pace"));
    assert!(err(&app("max_attempts = 0")).contains("`max_attempts`: must be a number from 1 to 1000"));
    assert!(err(&app("kind = \"team\"")).contains("`kind`: is not one of app, repo, org"));
    assert!(err("").contains("no targets"));
    assert!(err("[[target]]\nkind = \"org\"").contains("target #1: no `name`: give each target a unique name"));
    assert!(err("[[target]\n").contains("not valid TOML"));
    let same_hook = "[[target]]\nname = \"x\"\nkind = \"org\"\norg = \"o\"\nhook_id = 1\ntoken = \"t\"\n[[target]]\nname = \"y\"\nkind = \"org\"\norg = \"o\"\nhook_id = 1\ntoken = \"t\"";
    assert!(err(same_hook).contains("target \"y\" is the same hook"));
}

#[test]
fn an_unknown_key_lists_the_known_ones_and_suggests_the_closest() {
    let err = file("[[target]]\nname = \"infra\"\nhookid = 3").unwrap_err();
    assert!(
        err.starts_with("redeliver.toml:3:1: target \"infra\": unknown key `hookid`, did you mean `hook_id`?"),
        "{err}"
    );
    assert!(err.contains("(known keys: name, kind, api_url, app_id,"), "{err}");
    let far = file("[defaults]\nretries = 3\n[[target]]\nname = \"a\"").unwrap_err();
    assert!(far.contains("[defaults]: unknown key `retries` (known keys: lookback, overlap, ladder,"), "{far}");
    assert!(file("[defaults]\nladdr = \"1m\"\n").unwrap_err().contains("did you mean `ladder`?"));
}

#[test]
fn a_wrong_type_says_what_to_write_instead() {
    let err = |text: &str| file(text).unwrap_err();
    assert_eq!(
        err("[[target]]\nname = \"a\"\nhook_id = \"42\""),
        "redeliver.toml:3:11: target \"a\": `hook_id` must be a whole number, not a string: write hook_id = 42, without quotes"
    );
    assert!(
        err("state = 1").contains("top level: `state` must be a string, not a number: write state = \"…\", in quotes")
    );
    assert!(
        err("[defaults]\nevents = \"push\"")
            .contains("[defaults]: `events` must be a list of strings, not a string: write events = [\"…\", \"…\"]")
    );
    assert!(err("[defaults]\nevents = [1]").contains("each item of `events` must be a string, not a number"));
    assert!(
        err("[defaults]\nmax_attempts = 1.5").contains("`max_attempts` must be a whole number, not a decimal number")
    );
    assert!(err("defaults = 1").contains("`defaults` must be a table, not a number: write [defaults] on a line"));
    assert!(
        err("target = 1")
            .contains("`target` must be an array of tables, not a number: write each target as a [[target]] table")
    );
    assert!(
        err("[[target]]\nname = \"a\"\napp_id = true").contains("`app_id` must be a number or a string, not a boolean")
    );
    assert!(
        err("[[target]]\nname = \"a\"\nkind = 1").contains("`kind` must be a string, not a number: write kind = \"…\"")
    );
    assert!(err("interval = 60").contains("`interval` must be a string, not a number"));
}

#[test]
fn no_error_echoes_a_value() {
    const SECRET: &str = "ghp_SeCrEt0123";
    for text in [
        format!("[[target]]\nname = \"a\"\ntoken = \"{SECRET}"),
        format!("[[target]]\nname = \"a\"\ntoken = {SECRET}"),
        format!("[[target]]\nname = \"a\"\ntoken = '{SECRET}' trailing"),
        format!("[[target]]\nname = \"a\"\ntoken = \"\"\"{SECRET}"),
        format!("{SECRET}\n[[target]]\nname = \"a\""),
        format!("[[target]]\nname = \"a\"\nhook_id = \"{SECRET}\""),
        format!("[[target]]\nname = \"a\"\ntoken = [\"{SECRET}\"]"),
        format!("[[target]]\nname = \"a\"\nkind = \"{SECRET}\""),
        format!("[[target]]\nname = \"a\"\nladder = \"{SECRET}\""),
        format!("[[target]]\nname = \"a\"\npace = \"{SECRET}\""),
        format!("[[target]]\nname = \"a\"\nprivate_key = 7\ntoken = \"{SECRET}\"\ntoken = \"x\""),
        // Inside a multi-line string a base64 line can look like `key = …`.
        format!("[[target]]\nname = \"a\"\nprivate_key = \"\"\"\nMIIE\n{SECRET}AA=="),
        format!("[[target]]\nname = \"é\"\ntoken = \"{SECRET}é"),
    ] {
        let err = file(&text).unwrap_err();
        assert!(!err.contains("SeCrEt"), "the value leaked: {err}");
        assert!(err.starts_with("redeliver.toml:"), "{err}");
    }
    for line in [format!("token_env = \"{SECRET}\""), "private_key_env = \"-----BEGIN RSA SeCrEt\"".into()] {
        let text = format!("[[target]]\nname = \"a\"\nkind = \"org\"\norg = \"o\"\nhook_id = 1\n{line}");
        let err = resolve(&text, &[]).unwrap_err();
        assert!(!err.contains("SeCrEt") && err.contains("must name an environment variable"), "{err}");
    }
    let syntax = file(&format!("[[target]]\nname = \"a\"\ntoken = \"{SECRET}")).unwrap_err();
    assert!(syntax.starts_with("redeliver.toml:3:") && syntax.contains("not valid TOML"), "{syntax}");
    assert!(syntax.contains("(on the line that sets `token`)"), "the key is named: {syntax}");
}

#[test]
fn the_documented_example_parses() {
    let doc = include_str!("../../../../docs/config.md");
    let example = doc.split("```toml\n").nth(1).and_then(|rest| rest.split("```").next()).expect("a toml block");
    let parsed = file(example).unwrap();
    assert_eq!(parsed.target.len(), 3);
    assert_eq!(parsed.target[0].app_id.as_deref(), Some("123456"));
    assert_eq!(parsed.interval, Some(std::time::Duration::from_secs(60)));
}
