//! Repository Actions variables, where the tool keeps its "last run" marker like GitHub's script.
//!
//! GitHub treats variable names case-insensitively and shows them upper-cased, so names are
//! stored upper-cased and looked up that way.

use super::{State, World};
use chrono::{DateTime, Utc};

/// One repository variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Variable {
    pub name: String,
    pub value: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Variables are keyed by lowercase owner and repo, and the upper-cased name.
pub(crate) fn key(owner: &str, repo: &str, name: &str) -> (String, String, String) {
    (owner.to_lowercase(), repo.to_lowercase(), name.to_uppercase())
}

impl State {
    pub(crate) fn variable(&self, owner: &str, repo: &str, name: &str) -> Option<&Variable> {
        self.variables.get(&key(owner, repo, name))
    }

    /// Creates or overwrites a variable, keeping its creation time when it existed.
    pub(crate) fn put_variable(&mut self, owner: &str, repo: &str, name: &str, value: &str, now: DateTime<Utc>) {
        let created_at = self.variable(owner, repo, name).map_or(now, |v| v.created_at);
        self.variables.insert(
            key(owner, repo, name),
            Variable { name: name.to_uppercase(), value: value.to_string(), created_at, updated_at: now },
        );
    }

    /// Changes the value of an existing variable and perhaps its name, keeping its creation time.
    pub(crate) fn update_variable(
        &mut self,
        owner: &str,
        repo: &str,
        name: &str,
        new_name: &str,
        value: &str,
        now: DateTime<Utc>,
    ) {
        let Some(old) = self.remove_variable(owner, repo, name) else {
            return;
        };
        self.variables.insert(
            key(owner, repo, new_name),
            Variable {
                name: new_name.to_uppercase(),
                value: value.to_string(),
                created_at: old.created_at,
                updated_at: now,
            },
        );
    }

    pub(crate) fn remove_variable(&mut self, owner: &str, repo: &str, name: &str) -> Option<Variable> {
        self.variables.remove(&key(owner, repo, name))
    }
}

impl World {
    /// Creates or overwrites repository variable `name` of `owner/repo`.
    pub fn set_variable(&self, owner: &str, repo: &str, name: &str, value: &str) {
        let mut state = self.lock();
        let now = state.now();
        state.put_variable(owner, repo, name, value, now);
    }

    /// The value of repository variable `name` of `owner/repo`, if it exists.
    pub fn variable(&self, owner: &str, repo: &str, name: &str) -> Option<String> {
        self.lock().variable(owner, repo, name).map(|v| v.value.clone())
    }
}
