//! The one place that reads the process environment: every variable's name, and a snapshot
//! ([`Env`]) that the resolver reads and tests build by hand.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Environment variable names, the docs script's first.
pub mod names {
    pub const APP_ID: &str = "APP_ID";
    pub const PRIVATE_KEY: &str = "PRIVATE_KEY";
    pub const PRIVATE_KEY_PATH: &str = "PRIVATE_KEY_PATH";
    pub const TOKEN: &str = "TOKEN";
    pub const LAST_REDELIVERY_VARIABLE_NAME: &str = "LAST_REDELIVERY_VARIABLE_NAME";
    pub const HOSTNAME: &str = "HOSTNAME";
    pub const WORKFLOW_REPO: &str = "WORKFLOW_REPO";
    pub const WORKFLOW_REPO_NAME: &str = "WORKFLOW_REPO_NAME";
    pub const WORKFLOW_REPO_OWNER: &str = "WORKFLOW_REPO_OWNER";
    pub const GITHUB_REPOSITORY: &str = "GITHUB_REPOSITORY";
    pub const GITHUB_API_URL: &str = "GITHUB_API_URL";
    pub const REDELIVER_STATE: &str = "REDELIVER_STATE";
    pub const XDG_STATE_HOME: &str = "XDG_STATE_HOME";
    pub const HOME: &str = "HOME";
    pub const REPO_OWNER: &str = "REPO_OWNER";
    pub const REPO_NAME: &str = "REPO_NAME";
    pub const ORGANIZATION_NAME: &str = "ORGANIZATION_NAME";
    pub const HOOK_ID: &str = "HOOK_ID";
    pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";
    pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
    pub const GITHUB_STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";
    // PostgreSQL state (issue 13): the password of a `postgres://` state, libpq's variable, or
    // a file holding it (a mounted secret).
    pub const PGPASSWORD: &str = "PGPASSWORD";
    pub const REDELIVER_STATE_PASSWORD_FILE: &str = "REDELIVER_STATE_PASSWORD_FILE";
    // TLS to the PostgreSQL state: libpq's variables, under the URL's `sslmode`/`sslrootcert`
    // (docs/ha.md, "TLS to PostgreSQL"); client certificates are refused.
    pub const PGSSLMODE: &str = "PGSSLMODE";
    pub const PGSSLROOTCERT: &str = "PGSSLROOTCERT";
    pub const PGSSLCERT: &str = "PGSSLCERT";
    pub const PGSSLKEY: &str = "PGSSLKEY";
}

/// A snapshot of the environment (tests build their own).
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
    /// The machine's own host name, to tell a container's `HOSTNAME` from a GHES host.
    pub(super) machine_hostname: Option<String>,
}

impl Env {
    pub fn from_process() -> Self {
        let machine_hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .ok()
            .map(|h| h.trim().to_string());
        Self { vars: std::env::vars().collect(), machine_hostname }
    }

    /// An environment made of these pairs only (the demo, tests).
    pub fn with(pairs: &[(&str, &str)], machine_hostname: Option<&str>) -> Self {
        Self {
            vars: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            machine_hostname: machine_hostname.map(str::to_string),
        }
    }

    /// A set, non-blank variable.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(|v| v.as_str()).filter(|v| !v.trim().is_empty())
    }

    /// The state file: `flag`, else `REDELIVER_STATE`, else the XDG default (`history`'s rule;
    /// `run` and `watch` put the config file's `state` between the last two).
    pub fn state_path(&self, flag: Option<&Path>) -> PathBuf {
        flag.map(Path::to_path_buf).or_else(|| self.get(names::REDELIVER_STATE).map(PathBuf::from)).unwrap_or_else(
            || {
                redeliver_core::state::default_state_path(
                    self.get(names::XDG_STATE_HOME).map(Path::new),
                    self.get(names::HOME).map(Path::new),
                )
            },
        )
    }

    // PostgreSQL state (issue 13).

    /// The state where `history`, `export` and `replay` find it (the rule of
    /// [`Env::state_path`]), with the password of a `postgres://` URL (see [`Env::state_password`]).
    pub fn state_location(
        &self,
        flag: Option<&Path>,
    ) -> Result<redeliver_core::state::StateLocation, crate::exit::Failure> {
        let path = self.state_path(flag);
        let password = self.state_password(None)?;
        Ok(redeliver_core::state::StateLocation::parse_with(&path, password.as_ref(), &self.pg_tls())?)
    }

    /// libpq's TLS variables, which a `postgres://` URL's own parameters override, and libpq's
    /// default root certificate `~/.postgresql/root.crt` (used when it exists).
    pub fn pg_tls(&self) -> redeliver_core::state::postgres::tls::PgTlsEnv {
        redeliver_core::state::postgres::tls::PgTlsEnv {
            sslmode: self.get(names::PGSSLMODE).map(str::to_string),
            sslrootcert: self.get(names::PGSSLROOTCERT).map(str::to_string),
            sslcert: self.get(names::PGSSLCERT).map(str::to_string),
            sslkey: self.get(names::PGSSLKEY).map(str::to_string),
            default_root_cert: self.get(names::HOME).map(|h| Path::new(h).join(".postgresql/root.crt")),
        }
    }

    /// The password of a `postgres://` state that carries none: `PGPASSWORD`, else the file
    /// named by `REDELIVER_STATE_PASSWORD_FILE`, else the config file's `state_password_file`.
    /// A file's content is its password, a trailing newline aside; errors name the file only.
    pub fn state_password(
        &self,
        from_config: Option<&Path>,
    ) -> Result<Option<redeliver_core::secret::Secret>, crate::exit::Failure> {
        if let Some(p) = self.get(names::PGPASSWORD) {
            return Ok(Some(redeliver_core::secret::Secret::new(p)));
        }
        let file =
            self.get(names::REDELIVER_STATE_PASSWORD_FILE).map(PathBuf::from).or(from_config.map(Path::to_path_buf));
        let Some(file) = file else { return Ok(None) };
        let text = std::fs::read_to_string(&file)
            .map_err(|e| crate::exit::Failure::config(format!("the state's password file {}: {e}", file.display())))?;
        Ok(Some(redeliver_core::secret::Secret::new(text.trim_end_matches(['\n', '\r']))))
    }
}
