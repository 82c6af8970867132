//! Parsers and checks for single values (an API URL, an App id, a key, `OWNER/REPO`, an event
//! filter, a point in time): each says what is wrong and how to fix it. Which source a value
//! comes from is [`super::resolve`]'s business, not theirs.

use super::env::{Env, names};
use crate::exit::Failure;
use chrono::{DateTime, Utc};
use redeliver_core::github::AppKey;
use redeliver_core::policy::{parse_duration, to_chrono};
use std::path::Path;
use url::Url;

/// `--api-url` wins; then the docs script's `HOSTNAME`; then Actions' `GITHUB_API_URL`; then github.com.
///
/// Shells and container runtimes export `HOSTNAME` as the machine's own name, so it is taken
/// as a GitHub host only when it is not the machine's name and looks like one: it has a scheme,
/// a dot (`ghe.example.com`, `10.0.0.5`) or a port. Anything else is ignored, with a debug log.
pub fn api_url(flag: Option<&str>, env: &Env) -> Result<(Url, &'static str), Failure> {
    if let Some(flag) = flag {
        return Ok((parse_api_url(flag, "--api-url")?, "--api-url"));
    }
    if let Some(host) = env.get(names::HOSTNAME).map(str::trim) {
        let is_machine = env.machine_hostname.as_deref() == Some(host);
        let looks_like_host = host.contains("://") || host.contains('.') || host.contains(':');
        if !is_machine && looks_like_host {
            return Ok((hostname_url(host)?, "HOSTNAME"));
        }
        tracing::debug!(hostname = host, "ignoring HOSTNAME: it names this machine or container, not a GitHub host");
    }
    if let Some(url) = env.get(names::GITHUB_API_URL) {
        return Ok((parse_api_url(url, names::GITHUB_API_URL)?, "GITHUB_API_URL"));
    }
    Ok((Url::parse("https://api.github.com").expect("static URL"), "default"))
}

/// The docs script's rule: a bare host means `https://HOST/api/v3`; `github.com` means the public API.
fn hostname_url(host: &str) -> Result<Url, Failure> {
    let (scheme, rest) = host.split_once("://").unwrap_or(("https", host));
    let rest = rest.trim_end_matches('/');
    if rest.eq_ignore_ascii_case("github.com") || rest.eq_ignore_ascii_case("api.github.com") {
        return Ok(Url::parse("https://api.github.com").expect("static URL"));
    }
    let with_path = if rest.contains('/') { rest.to_string() } else { format!("{rest}/api/v3") };
    parse_api_url(&format!("{scheme}://{with_path}"), names::HOSTNAME)
}

pub fn parse_api_url(text: &str, source: &str) -> Result<Url, Failure> {
    // Quoted without user name, password or query (a token may have been put there), and not at
    // all when it is no URL (it may be a token in the wrong variable).
    let shown = shown_url(text).map(|u| format!(" '{u}'")).unwrap_or_default();
    let bad = |why: &str| {
        Failure::config(format!(
            "{source}{shown} is not a usable API URL ({why}): write e.g. https://api.github.com or https://ghe.example.com/api/v3"
        ))
    };
    let url = Url::parse(text.trim()).map_err(|e| bad(&e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it must not carry a user name or password; give the token in TOKEN or token_env"));
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be https or http"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not have a query or fragment"));
    }
    // Keep the path prefix (GHES's /api/v3) without a trailing slash; paths are appended to it.
    let mut url = url;
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    Ok(url)
}

/// `scheme://host[:port]/path` of a URL, for messages: never its user name, password, query or
/// fragment. `None` when `text` is not a URL.
fn shown_url(text: &str) -> Option<String> {
    let url = Url::parse(text.trim()).ok()?;
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    Some(format!("{}://{}{port}{}", url.scheme(), url.host_str().unwrap_or(""), url.path().trim_end_matches('/')))
}

/// The App's id from `value`, which came from `source` (`--app-id`, `APP_ID`, a config file's
/// `app_id`): errors name that source, and say where to set it when there is none.
pub fn app_id(value: Option<&str>, source: &str) -> Result<String, Failure> {
    let Some(id) = value.map(str::trim) else {
        return Err(Failure::config(format!(
            "no App id: set {source} to the App ID (or client ID) shown on the GitHub App's settings page"
        )));
    };
    let numeric = id.parse::<u64>().is_ok_and(|n| n > 0);
    let client_id = id.starts_with("Iv") && id.len() > 3 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '.');
    if numeric || client_id {
        Ok(id.to_string())
    } else {
        // Not quoted: a value in the wrong variable may be a token or a key.
        Err(Failure::config(format!(
            "{source} is neither a numeric App ID nor a client ID (Iv1.… or Iv23…; the value is not shown, in case it \
             is a secret): copy the App ID from the GitHub App's settings page"
        )))
    }
}

/// The key in the file at `path`, which `setting` (`--private-key-file`, `PRIVATE_KEY_PATH`, a
/// config file's `private_key_file`) named: every error names the file and the setting.
pub fn key_from_file(path: &Path, setting: &str) -> Result<AppKey, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::config(format!(
            "cannot read the private key file {} ({setting}): {e}; point {setting} at the .pem file downloaded from the App's settings page",
            path.display()
        ))
    })?;
    key_from_text(&text, &format!("the private key file {} ({setting})", path.display()))
}

/// The key in `text`; `source` names where it came from (`PRIVATE_KEY`, a file, a config key)
/// and is the subject of every error.
pub fn key_from_text(text: &str, source: &str) -> Result<AppKey, Failure> {
    AppKey::from_pem(text).map_err(|e| Failure::config(e.about(source)))
}

pub fn split_repo(full: &str, source: &str) -> Result<(String, String), Failure> {
    match full.trim().split_once('/') {
        Some((o, r)) if !o.is_empty() && !r.is_empty() && !r.contains('/') => Ok((o.to_string(), r.to_string())),
        _ => Err(Failure::config(format!("{source} '{full}' is not OWNER/REPO"))),
    }
}

pub fn patterns(values: &[String]) -> Result<Vec<String>, Failure> {
    values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(|v| {
            let ok = v.split('.').count() <= 2
                && v.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
            if ok {
                Ok(v.to_string())
            } else {
                Err(Failure::config(format!(
                    "event filter '{v}' is not `event` or `event.action` (e.g. pull_request or pull_request.opened)"
                )))
            }
        })
        .collect()
}

/// A point in time as `--since` and `--until` take it: an RFC 3339 time, or an age such as `6h`
/// (that long before the command starts). Parsed by clap, so a bad value is a usage error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    At(DateTime<Utc>),
    Ago(std::time::Duration),
}

impl When {
    pub fn at(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            When::At(t) => t,
            When::Ago(age) => now - to_chrono(age),
        }
    }
}

impl std::str::FromStr for When {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if let Ok(t) = DateTime::parse_from_rfc3339(text.trim()) {
            return Ok(When::At(t.with_timezone(&Utc)));
        }
        parse_duration(text)
            .map(When::Ago)
            .map_err(|_| "neither an RFC 3339 time (2026-11-28T09:00:00Z) nor an age (6h)".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_of(pairs: &[(&str, &str)], flag: Option<&str>) -> String {
        api_url(flag, &Env::with(pairs, Some("runner-7f3a")))
            .map(|(u, _)| u.to_string())
            .unwrap_or_else(|f| format!("ERR {}", f.error))
    }

    #[test]
    fn api_url_precedence_and_the_hostname_trap() {
        assert_eq!(url_of(&[], None), "https://api.github.com/");
        assert_eq!(url_of(&[("GITHUB_API_URL", "https://ghe.corp/api/v3")], None), "https://ghe.corp/api/v3");
        assert_eq!(
            url_of(&[("HOSTNAME", "ghe.corp"), ("GITHUB_API_URL", "https://x.y/api/v3")], None),
            "https://ghe.corp/api/v3"
        );
        assert_eq!(url_of(&[("HOSTNAME", "github.com")], None), "https://api.github.com/");
        assert_eq!(url_of(&[("HOSTNAME", "http://127.0.0.1:8080")], None), "http://127.0.0.1:8080/api/v3");
        assert_eq!(url_of(&[("HOSTNAME", "ghe.corp")], Some("http://127.0.0.1:1/")), "http://127.0.0.1:1/");
        // Container names and the machine's own name are not GitHub hosts.
        assert_eq!(url_of(&[("HOSTNAME", "3f2a9c0d1e4b")], None), "https://api.github.com/");
        assert_eq!(url_of(&[("HOSTNAME", "runner-7f3a")], None), "https://api.github.com/");
        assert_eq!(
            url_of(&[("HOSTNAME", "YOUR_HOSTNAME"), ("GITHUB_API_URL", "https://api.github.com")], None),
            "https://api.github.com/"
        );
        assert!(url_of(&[], Some("ftp://x")).starts_with("ERR --api-url 'ftp://x' is not a usable API URL"));
        assert!(url_of(&[], Some("not a url")).contains("is not a usable API URL"));
    }

    #[test]
    fn an_api_url_never_shows_its_secrets_and_refuses_userinfo() {
        for (url, why) in [
            ("https://x-access-token:ghp_SECRET@ghe.corp/api/v3", "user name or password"),
            ("https://ghp_SECRET@ghe.corp/api/v3", "user name or password"),
            ("https://ghe.corp/api/v3?access_token=ghp_SECRET", "query or fragment"),
        ] {
            let err = url_of(&[], Some(url));
            assert!(err.starts_with("ERR --api-url 'https://ghe.corp/api/v3' is not"), "{err}");
            assert!(err.contains(why) && !err.contains("SECRET"), "{err}");
        }
        let err = url_of(&[], Some("ghp_SECRET"));
        assert!(!err.contains("SECRET") && err.contains("is not a usable API URL"), "{err}");
    }

    #[test]
    fn app_ids_are_numeric_or_client_ids() {
        assert_eq!(app_id(Some(" 12345 "), "APP_ID").unwrap(), "12345");
        assert_eq!(app_id(Some("Iv23liAbC"), "APP_ID").unwrap(), "Iv23liAbC");
        let named = app_id(Some("my-app"), "--app-id").unwrap_err().error.to_string();
        assert!(named.starts_with("--app-id is neither a numeric App ID"), "names its source: {named}");
        let err = app_id(Some("ghp_SECRET"), "APP_ID").unwrap_err().error.to_string();
        assert!(!err.contains("SECRET"), "{err}");
        assert!(
            app_id(None, "APP_ID or --app-id")
                .unwrap_err()
                .error
                .to_string()
                .contains("no App id: set APP_ID or --app-id")
        );
        assert!(app_id(Some("0"), "APP_ID").is_err());
    }

    #[test]
    fn times_and_filters() {
        let now: DateTime<Utc> = "2026-11-28T12:00:00Z".parse().unwrap();
        let when = |text: &str| text.parse::<When>().map(|w| w.at(now));
        assert_eq!(when("6h").unwrap(), now - chrono::Duration::hours(6));
        assert_eq!(
            when("2026-11-28T09:00:00+01:00").unwrap(),
            "2026-11-28T08:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert!(when("yesterday").unwrap_err().contains("neither an RFC 3339 time"));
        assert!(when("100000000000d").is_err(), "too long an age is refused, not a panic");
        assert_eq!(patterns(&["push".into(), "pull_request.opened".into()]).unwrap().len(), 2);
        assert!(patterns(&["a.b.c".into()]).is_err());
    }
}
