//! The TOML config file: any number of targets (App, repository and organization hooks, on any
//! number of hosts), each with its own credentials and policy, plus daemon settings. Every
//! mistake is reported before any request, naming the target and the key.
//!
//! The format is documented in `docs/config.md`.

use crate::config::{
    Auth, Env, Knobs, Target, api_url, app_id, key_from_file, key_from_text, parse_api_url, split_repo,
};
use crate::exit::Failure;
use redeliver_core::github::HookTarget;
use redeliver_core::secret::Secret;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

const TOP_KEYS: &[&str] = &["state", "interval", "listen", "notify_url", "notify_command", "defaults", "target"];
const KNOB_KEYS: &[&str] =
    &["lookback", "overlap", "ladder", "max_attempts", "horizon", "pace", "max_wait", "events", "exclude_events"];
const TARGET_KEYS: &[&str] = &[
    "name",
    "kind",
    "api_url",
    "app_id",
    "private_key_file",
    "private_key_env",
    "private_key",
    "token",
    "token_env",
    "token_file",
    "repo",
    "org",
    "hook_id",
];

/// Settings for the daemon and notifications (flags override them).
#[derive(Debug, Clone, Default)]
pub struct FileSettings {
    pub state: Option<PathBuf>,
    pub interval: Option<String>,
    pub listen: Option<String>,
    pub notify_url: Option<String>,
    pub notify_command: Option<String>,
}

/// A parsed config file, its targets not yet resolved.
#[derive(Debug)]
pub struct ConfigFile {
    path: PathBuf,
    pub settings: FileSettings,
    defaults: Knobs,
    targets: Vec<Table>,
}

pub fn load(path: &Path) -> Result<ConfigFile, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::config(format!("cannot read the config file {}: {e}", path.display())))?;
    parse(&text, path)
}

fn fail(path: &Path, what: impl std::fmt::Display) -> Failure {
    Failure::config(format!("{}: {what}", path.display()))
}

pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, Failure> {
    let table: Table = text.parse().map_err(|e: toml::de::Error| fail(path, format!("not valid TOML: {e}")))?;
    check_keys(&table, TOP_KEYS, path, "top level")?;
    let string = |key: &str| -> Result<Option<String>, Failure> { get_string(&table, key, path, "top level") };
    let settings = FileSettings {
        state: string("state")?.map(PathBuf::from),
        interval: string("interval")?,
        listen: string("listen")?,
        notify_url: string("notify_url")?,
        notify_command: string("notify_command")?,
    };
    let defaults = match table.get("defaults") {
        None => Knobs::default(),
        Some(Value::Table(t)) => {
            check_keys(t, KNOB_KEYS, path, "[defaults]")?;
            knobs(t, path, "[defaults]")?
        }
        Some(_) => return Err(fail(path, "`defaults` must be a table: [defaults]")),
    };
    let targets = match table.get("target") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Table(t) => Ok(t.clone()),
                _ => Err(fail(path, format!("target #{} must be a table: [[target]]", i + 1))),
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
        Some(_) => return Err(fail(path, "`target` must be an array of tables: [[target]]")),
    };
    if targets.is_empty() {
        return Err(fail(path, "no targets: add at least one [[target]] table (see docs/config.md)"));
    }
    Ok(ConfigFile { path: path.to_path_buf(), settings, defaults, targets })
}

impl ConfigFile {
    /// Resolves every target: credentials read, keys parsed, duplicates refused.
    pub fn targets(&self, env: &Env, flags: &Knobs) -> Result<Vec<Target>, Failure> {
        let mut names = HashSet::new();
        let mut hooks = HashSet::new();
        let mut out = Vec::new();
        for (i, t) in self.targets.iter().enumerate() {
            let name = get_string(t, "name", &self.path, &format!("target #{}", i + 1))?.ok_or_else(|| {
                fail(&self.path, format!("target #{} has no `name`: give each target a unique name", i + 1))
            })?;
            let place = format!("target \"{name}\"");
            check_keys(t, &[TARGET_KEYS, KNOB_KEYS].concat(), &self.path, &place)?;
            if !names.insert(name.clone()) {
                return Err(fail(&self.path, format!("{place} appears twice: target names must be unique")));
            }
            let target = self.target(t, &name, &place, env, flags)?;
            if !hooks.insert(target.key()) {
                return Err(fail(
                    &self.path,
                    format!("{place} is the same hook as an earlier target ({})", target.describe()),
                ));
            }
            out.push(target);
        }
        Ok(out)
    }

    fn target(&self, t: &Table, name: &str, place: &str, env: &Env, flags: &Knobs) -> Result<Target, Failure> {
        let path = &self.path;
        let s = |key: &str| get_string(t, key, path, place);
        let kind = s("kind")?.unwrap_or_else(|| "app".to_string());
        let api = match s("api_url")? {
            Some(url) => (parse_api_url(&url, &format!("{place}: api_url"))?, "config file"),
            None => api_url(None, env)?,
        };
        let hook_id = || -> Result<u64, Failure> {
            match t.get("hook_id") {
                Some(Value::Integer(n)) if *n > 0 => Ok(*n as u64),
                Some(_) => Err(fail(path, format!("{place}: hook_id must be a positive number"))),
                None => Err(fail(
                    path,
                    format!("{place}: a {kind} target needs hook_id (the number in the hook's settings URL)"),
                )),
            }
        };
        let hook = match kind.as_str() {
            "app" => HookTarget::App,
            "repo" => {
                let full = s("repo")?
                    .ok_or_else(|| fail(path, format!("{place}: a repo target needs repo = \"OWNER/REPO\"")))?;
                let (owner, repo) = split_repo(&full, &format!("{place}: repo"))?;
                HookTarget::Repo { owner, repo, hook_id: hook_id()? }
            }
            "org" => {
                let org = s("org")?.ok_or_else(|| fail(path, format!("{place}: an org target needs org = \"ORG\"")))?;
                HookTarget::Org { org, hook_id: hook_id()? }
            }
            other => {
                return Err(fail(
                    path,
                    format!("{place}: kind = \"{other}\" is not one of \"app\", \"repo\", \"org\""),
                ));
            }
        };
        let auth = self.auth(t, &hook, place, env)?;
        let file_knobs = self.defaults.overlaid(&knobs(t, path, place)?);
        Target::build(name.to_string(), hook, api, auth, &file_knobs.overlaid(flags))
            .map_err(|f| fail(path, format!("{place}: {}", f.error)))
    }

    fn auth(&self, t: &Table, hook: &HookTarget, place: &str, env: &Env) -> Result<Auth, Failure> {
        let path = &self.path;
        let s = |key: &str| get_string(t, key, path, place);
        let key = match (s("private_key_file")?, s("private_key_env")?, s("private_key")?) {
            (Some(file), _, _) => Some(
                key_from_file(Path::new(&file), &format!("{place}'s private_key_file"))
                    .map_err(|f| fail(path, format!("{place}: {}", f.error)))?,
            ),
            (None, Some(var), _) => {
                let text = env.get(&var).ok_or_else(|| {
                    fail(path, format!("{place}: private_key_env names {var}, which is not set in the environment"))
                })?;
                Some(key_from_text(text, &format!("{place}: the environment variable {var}"))?)
            }
            (None, None, Some(text)) => Some(key_from_text(&text, &format!("{place}: private_key"))?),
            (None, None, None) => None,
        };
        let token = match (s("token_env")?, s("token_file")?, s("token")?) {
            (Some(var), _, _) => Some(env.get(&var).map(|t| Secret::new(t.trim())).ok_or_else(|| {
                fail(path, format!("{place}: token_env names {var}, which is not set in the environment"))
            })?),
            (None, Some(file), _) => Some(Secret::new(
                std::fs::read_to_string(&file)
                    .map_err(|e| fail(path, format!("{place}: cannot read token_file {file}: {e}")))?
                    .trim(),
            )),
            (None, None, Some(text)) => Some(Secret::new(text.trim())),
            (None, None, None) => None,
        };
        let app = s("app_id")?;
        match (hook, key, token) {
            (HookTarget::App, Some(key), _) => Ok(Auth::App {
                app_id: app_id(app.as_deref()).map_err(|f| fail(path, format!("{place}: {}", f.error)))?,
                key,
            }),
            (HookTarget::App, None, _) => Err(fail(
                path,
                format!(
                    "{place}: missing credential: an app target needs app_id and private_key_file (or private_key_env)"
                ),
            )),
            (_, _, Some(token)) => Ok(Auth::Token(token)),
            (_, Some(key), None) => Ok(Auth::Installation {
                app_id: app_id(app.as_deref()).map_err(|f| fail(path, format!("{place}: {}", f.error)))?,
                key,
            }),
            (_, None, None) => Err(fail(
                path,
                format!(
                    "{place}: missing credential: give token_env or token_file (a token that can read and redeliver the hook), or app_id with private_key_file to use an installation token"
                ),
            )),
        }
    }
}

fn check_keys(t: &Table, known: &[&str], path: &Path, place: &str) -> Result<(), Failure> {
    for key in t.keys() {
        if !known.contains(&key.as_str()) {
            return Err(fail(path, format!("{place}: unknown key `{key}` (known keys: {})", known.join(", "))));
        }
    }
    Ok(())
}

fn get_string(t: &Table, key: &str, path: &Path, place: &str) -> Result<Option<String>, Failure> {
    match t.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(fail(path, format!("{place}: `{key}` must be a string, not {}", other.type_str()))),
    }
}

fn knobs(t: &Table, path: &Path, place: &str) -> Result<Knobs, Failure> {
    let s = |key: &str| get_string(t, key, path, place);
    let list = |key: &str| -> Result<Vec<String>, Failure> {
        match t.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| fail(path, format!("{place}: `{key}` must be a list of strings"))),
            Some(_) => Err(fail(path, format!("{place}: `{key}` must be a list of strings, e.g. [\"push\"]"))),
        }
    };
    let max_attempts = match t.get("max_attempts") {
        None => None,
        Some(Value::Integer(n)) if *n >= 1 && *n <= 1000 => Some(*n as u32),
        Some(_) => return Err(fail(path, format!("{place}: `max_attempts` must be a number from 1 to 1000"))),
    };
    Ok(Knobs {
        lookback: s("lookback")?,
        overlap: s("overlap")?,
        ladder: s("ladder")?,
        max_attempts,
        horizon: s("horizon")?,
        pace: s("pace")?,
        max_wait: s("max_wait")?,
        events: list("events")?,
        exclude_events: list("exclude_events")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = include_str!("../../redeliver-sim/keys/test-app-key.pem");

    fn resolve(text: &str, env: &[(&str, &str)]) -> Result<Vec<Target>, String> {
        let env = Env::with(env, None);
        parse(text, Path::new("redeliver.toml"))
            .and_then(|f| f.targets(&env, &Knobs::default()))
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
            app_id = "12345"
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
        assert!(matches!(targets[2].auth, Auth::Installation { .. }));
        assert_eq!(targets[2].filter.include, ["workflow_job"]);
        let file = parse(text, Path::new("x")).unwrap();
        assert_eq!(file.settings.interval.as_deref(), Some("2m"));
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
        assert!(err(&app("ladder = \"5x\"")).contains("target \"a\": ladder"));
        assert!(err(&app("kind = \"team\"")).contains("is not one of"));
        assert!(err("").contains("no targets"));
        assert!(err("[[target]\n").contains("not valid TOML"));
        let same_hook = "[[target]]\nname = \"x\"\nkind = \"org\"\norg = \"o\"\nhook_id = 1\ntoken = \"t\"\n[[target]]\nname = \"y\"\nkind = \"org\"\norg = \"o\"\nhook_id = 1\ntoken = \"t\"";
        assert!(err(same_hook).contains("target \"y\" is the same hook"));
    }
}
