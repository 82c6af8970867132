//! The docs script's memory: a repository Actions configuration variable holding the time of the
//! last run as milliseconds since the epoch, in decimal (`Date.now()` in JavaScript). Reading and
//! writing the same format keeps `redeliver` a drop-in replacement that can take over mid-stream.
//! The same calls read and write any string value ([`ActionsVariable::read_value`],
//! [`ActionsVariable::write_value`]): the ledger carried next to it ([`crate::state::carry`]).
//!
//! Endpoints: <https://docs.github.com/rest/actions/variables#get-a-repository-variable>,
//! `#create-a-repository-variable` (201) and `#update-a-repository-variable` (204).

use super::client::{Call, GitHubClient};
use super::error::ApiError;
use super::step::RequestKind;
use super::target::escape_segment;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::json;
use std::fmt;
use std::str::FromStr;
use url::Url;

/// A valid Actions variable name: letters, digits and `_`, not starting with a digit or `GITHUB_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VariableName(String);

/// Why a variable name is not one GitHub accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct VariableNameError(String);

impl FromStr for VariableName {
    type Err = VariableNameError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let rule = "Actions variable names may contain only letters, digits and '_', and must not \
                    start with a digit or with 'GITHUB_'";
        if name.is_empty() {
            return Err(VariableNameError(format!("the Actions variable name is empty: {rule}")));
        }
        if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_')) {
            return Err(VariableNameError(format!(
                "{name:?} is not a valid variable name ({bad:?} is not allowed): {rule}"
            )));
        }
        if name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(VariableNameError(format!(
                "{name:?} is not a valid variable name (it starts with a digit): {rule}"
            )));
        }
        if name.len() >= 7 && name[..7].eq_ignore_ascii_case("GITHUB_") {
            return Err(VariableNameError(format!(
                "{name:?} is not a valid variable name (the GITHUB_ prefix is reserved): {rule}"
            )));
        }
        Ok(VariableName(name.to_owned()))
    }
}

impl VariableName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VariableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `at` as the docs script writes it: integer milliseconds since the epoch.
pub fn format_millis(at: DateTime<Utc>) -> String {
    at.timestamp_millis().to_string()
}

/// Reads [`format_millis`]'s format, tolerating surrounding whitespace. The error says what is
/// wrong with the value (it is a plain configuration value, not a secret).
pub fn parse_millis(s: &str) -> Result<DateTime<Utc>, String> {
    let trimmed = s.trim();
    let shown = if trimmed.chars().count() > 40 {
        format!("{:?}…", trimmed.chars().take(40).collect::<String>())
    } else {
        format!("{trimmed:?}")
    };
    if trimmed.is_empty() {
        return Err("the value is empty; expected milliseconds since 1970 such as 1718000000000".into());
    }
    let millis: i64 = trimmed.parse().map_err(|_| {
        format!("the value {shown} is not a whole number of milliseconds since 1970 (such as 1718000000000)")
    })?;
    DateTime::from_timestamp_millis(millis)
        .ok_or_else(|| format!("the value {shown} is out of range for a time in milliseconds since 1970"))
}

/// The last-run time kept in a repository Actions variable, read and written with a token.
#[derive(Debug)]
pub struct ActionsVariable {
    client: GitHubClient,
    owner: String,
    repo: String,
    name: VariableName,
    /// What the last read learnt: `Some(true)` exists, `Some(false)` absent, `None` not read yet.
    exists: Option<bool>,
}

impl ActionsVariable {
    /// `client` must use a token with write access to the repository's variables.
    pub fn new(client: GitHubClient, owner: String, repo: String, name: VariableName) -> Self {
        ActionsVariable { client, owner, repo, name, exists: None }
    }

    /// The variable's name.
    pub fn name(&self) -> &VariableName {
        &self.name
    }

    /// "Actions variable NAME in owner/repo".
    pub fn describe(&self) -> String {
        format!("Actions variable {} in {}/{}", self.name, self.owner, self.repo)
    }

    /// The client's request counts.
    pub fn client(&self) -> &GitHubClient {
        &self.client
    }

    /// Gives the client back, e.g. for its [`GitHubClient::stats`].
    pub fn into_client(self) -> GitHubClient {
        self.client
    }

    /// The stored time, `None` when the variable does not exist (GitHub answers 404). A value
    /// that is not the docs script's format is an error, never silently reset.
    pub async fn read(&mut self) -> Result<Option<DateTime<Utc>>, ApiError> {
        let Some((value, request_id)) = self.read_answer().await? else {
            return Ok(None);
        };
        let at = parse_millis(&value).map_err(|problem| ApiError::Malformed {
            detail: format!(
                "the {} does not hold a last-run time: {problem}. Fix or delete the variable",
                self.describe()
            ),
            request_id,
        })?;
        Ok(Some(at))
    }

    /// The variable's value as stored, whatever it holds; `None` when it does not exist (GitHub
    /// answers 404). For a value in a format of the caller's own, such as the carried ledger.
    pub async fn read_value(&mut self) -> Result<Option<String>, ApiError> {
        Ok(self.read_answer().await?.map(|(value, _)| value))
    }

    /// GET the variable: its `value` and GitHub's request id, or `None` for a 404.
    async fn read_answer(&mut self) -> Result<Option<(String, Option<String>)>, ApiError> {
        self.check_token()?;
        let url = self.client.endpoint(&self.item_path(), None);
        let call = Call {
            method: Method::GET,
            url,
            endpoint: "variable",
            body: None,
            kind: RequestKind::Read,
            if_none_match: None,
        };
        let answer = self.client.call(&call).await?;
        if answer.status == 404 {
            self.exists = Some(false);
            return Ok(None);
        }
        if !answer.is_success() {
            return Err(self.client.error_for(&answer, true));
        }
        let malformed = |detail: String| ApiError::Malformed { detail, request_id: answer.request_id.clone() };
        let json: serde_json::Value = serde_json::from_slice(&answer.body)
            .map_err(|e| malformed(format!("reading the {} did not return JSON ({e})", self.describe())))?;
        let value = json
            .get("value")
            .and_then(|v| v.as_str())
            .ok_or_else(|| malformed(format!("reading the {} returned no string `value`", self.describe())))?;
        self.exists = Some(true);
        Ok(Some((value.to_string(), answer.request_id.clone())))
    }

    /// Stores `at`: creates the variable (POST, 201) when the last read found none, else updates it
    /// (PATCH, 204). Either falls back to the other once if the variable appeared or vanished
    /// meanwhile (POST answered 409, PATCH answered 404).
    pub async fn write(&mut self, at: DateTime<Utc>) -> Result<(), ApiError> {
        self.write_value(&format_millis(at)).await
    }

    /// Stores `value` as it is, creating or updating the variable as [`ActionsVariable::write`] does.
    pub async fn write_value(&mut self, value: &str) -> Result<(), ApiError> {
        self.check_token()?;
        let create_first = self.exists == Some(false);
        let first = if create_first { self.create(value).await? } else { self.update(value).await? };
        let answer = match first {
            Ok(()) => return Ok(()),
            Err(answer) => answer,
        };
        let conflict = if create_first {
            answer.status == 409 || (answer.status == 422 && answer.message.to_ascii_lowercase().contains("exist"))
        } else {
            answer.status == 404
        };
        if !conflict {
            return Err(self.client.error_for(&answer, false));
        }
        tracing::debug!(variable = %self.name, status = answer.status, "variable changed meanwhile; trying the other way");
        let second = if create_first { self.update(value).await? } else { self.create(value).await? };
        second.map_err(|answer| self.client.error_for(&answer, answer.status == 404))
    }

    async fn create(&mut self, value: &str) -> Result<Result<(), super::client::Answer>, ApiError> {
        let url = self.client.endpoint(&format!("{}/actions/variables", self.repo_path()), None);
        // A repeated create answers 409, which falls back to an update: safe to retry.
        self.send(Method::POST, url, value).await
    }

    async fn update(&mut self, value: &str) -> Result<Result<(), super::client::Answer>, ApiError> {
        let url = self.client.endpoint(&self.item_path(), None);
        // Setting the same value twice is harmless: safe to retry.
        self.send(Method::PATCH, url, value).await
    }

    /// Sends `{name, value}`; the inner error is GitHub's answer when it was not a success.
    async fn send(
        &mut self,
        method: Method,
        url: Url,
        value: &str,
    ) -> Result<Result<(), super::client::Answer>, ApiError> {
        let body = json!({ "name": self.name.as_str(), "value": value });
        let call = Call {
            method,
            url,
            endpoint: "variable",
            body: Some(body),
            kind: RequestKind::RepeatableWrite,
            if_none_match: None,
        };
        let answer = self.client.call(&call).await?;
        if answer.is_success() {
            self.exists = Some(true);
            Ok(Ok(()))
        } else {
            Ok(Err(answer))
        }
    }

    fn repo_path(&self) -> String {
        format!("/repos/{}/{}", escape_segment(&self.owner), escape_segment(&self.repo))
    }

    fn item_path(&self) -> String {
        format!("{}/actions/variables/{}", self.repo_path(), self.name)
    }

    fn check_token(&self) -> Result<(), ApiError> {
        if self.client.is_app() {
            return Err(ApiError::Config {
                detail: format!(
                    "the {} must be read and written with a token (TOKEN), not with the GitHub App's JWT",
                    self.describe()
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names() {
        for name in ["WEBHOOK_REDELIVERY_TIME", "a", "_x", "x1_Y2", "GITHUBX", "MY_GITHUB_"] {
            assert_eq!(name.parse::<VariableName>().unwrap().as_str(), name);
        }
    }

    #[test]
    fn invalid_names_say_which_rule() {
        let cases = [
            ("", "empty"),
            ("1ABC", "digit"),
            ("GITHUB_TIME", "GITHUB_"),
            ("github_time", "GITHUB_"),
            ("Github_", "GITHUB_"),
            ("MY-VAR", "'-'"),
            ("MY VAR", "' '"),
            ("CAFÉ", "'É'"),
        ];
        for (name, why) in cases {
            let err = name.parse::<VariableName>().unwrap_err().to_string();
            assert!(err.contains(why), "{name}: {err}");
            assert!(err.contains("letters, digits and '_'"), "{err}");
            if !name.is_empty() {
                assert!(err.contains(&format!("{name:?}")), "names the bad name: {err}");
            }
        }
    }

    #[test]
    fn millis_round_trip_in_the_docs_script_format() {
        let at = DateTime::parse_from_rfc3339("2024-06-10T06:13:20.123Z").unwrap().to_utc();
        assert_eq!(format_millis(at), "1718000000123");
        assert_eq!(parse_millis("1718000000123"), Ok(at));
        assert_eq!(parse_millis(" 1718000000123\n"), Ok(at));
        assert_eq!(parse_millis(&format_millis(DateTime::UNIX_EPOCH)), Ok(DateTime::UNIX_EPOCH));
    }

    #[test]
    fn unparsable_values_are_explained() {
        assert!(parse_millis("").unwrap_err().contains("empty"));
        let e = parse_millis("2024-06-10T06:13:20Z").unwrap_err();
        assert!(e.contains("\"2024-06-10T06:13:20Z\"") && e.contains("milliseconds"), "{e}");
        assert!(parse_millis("1718000000123.5").is_err());
        assert!(parse_millis("99999999999999999999").is_err());
        assert!(parse_millis(&i64::MAX.to_string()).unwrap_err().contains("out of range"));
        assert!(parse_millis(&"9".repeat(100)).unwrap_err().contains('…'));
    }
}
