//! Which webhook's deliveries to read: the GitHub App's own hook, a repository hook or an
//! organization hook. Each has the same list/redeliver pair of endpoints under its own prefix:
//!
//! - <https://docs.github.com/rest/apps/webhooks#list-deliveries-for-an-app-webhook>
//! - <https://docs.github.com/rest/repos/webhooks#list-deliveries-for-a-repository-webhook>
//! - <https://docs.github.com/rest/orgs/webhooks#list-deliveries-for-an-organization-webhook>

use std::fmt;

/// A webhook whose deliveries can be listed and redelivered.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HookTarget {
    /// The hook configured on a GitHub App; only an App JWT may read it.
    App,
    /// A repository webhook; needs a token (PAT or installation token).
    Repo { owner: String, repo: String, hook_id: u64 },
    /// An organization webhook; needs a token of an organization owner.
    Org { org: String, hook_id: u64 },
}

impl HookTarget {
    /// The list endpoint's path, relative to the API base URL (leading `/`, segments escaped).
    pub fn deliveries_path(&self) -> String {
        match self {
            HookTarget::App => "/app/hook/deliveries".to_owned(),
            HookTarget::Repo { owner, repo, hook_id } => {
                format!("/repos/{}/{}/hooks/{hook_id}/deliveries", escape_segment(owner), escape_segment(repo))
            }
            HookTarget::Org { org, hook_id } => {
                format!("/orgs/{}/hooks/{hook_id}/deliveries", escape_segment(org))
            }
        }
    }

    /// The redeliver endpoint's path for one delivery.
    pub fn attempts_path(&self, delivery_id: u64) -> String {
        format!("{}/{delivery_id}/attempts", self.deliveries_path())
    }

    /// Whether this hook is read with an App JWT (true) or with a token (false).
    pub fn needs_app_jwt(&self) -> bool {
        matches!(self, HookTarget::App)
    }
}

impl fmt::Display for HookTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HookTarget::App => f.write_str("app hook"),
            HookTarget::Repo { owner, repo, hook_id } => {
                write!(f, "repository hook {owner}/{repo}#{hook_id}")
            }
            HookTarget::Org { org, hook_id } => write!(f, "organization hook {org}#{hook_id}"),
        }
    }
}

/// Percent-escapes one path segment so that a name can never add a segment or a query
/// (GitHub's names are `[A-Za-z0-9._-]`, which pass unchanged; `.` and `..` are escaped whole).
pub(crate) fn escape_segment(segment: &str) -> String {
    if segment == "." || segment == ".." {
        return segment.replace('.', "%2E");
    }
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_for_each_kind_of_hook() {
        assert_eq!(HookTarget::App.deliveries_path(), "/app/hook/deliveries");
        assert_eq!(HookTarget::App.attempts_path(42), "/app/hook/deliveries/42/attempts");
        let repo = HookTarget::Repo { owner: "octo-org".into(), repo: "hello.world".into(), hook_id: 7 };
        assert_eq!(repo.deliveries_path(), "/repos/octo-org/hello.world/hooks/7/deliveries");
        assert_eq!(
            repo.attempts_path(u64::MAX),
            "/repos/octo-org/hello.world/hooks/7/deliveries/18446744073709551615/attempts"
        );
        let org = HookTarget::Org { org: "octo_org".into(), hook_id: 9 };
        assert_eq!(org.deliveries_path(), "/orgs/octo_org/hooks/9/deliveries");
    }

    #[test]
    fn odd_names_cannot_escape_their_segment() {
        let repo = HookTarget::Repo { owner: "..".into(), repo: "a/b?c#d e".into(), hook_id: 1 };
        assert_eq!(repo.deliveries_path(), "/repos/%2E%2E/a%2Fb%3Fc%23d%20e/hooks/1/deliveries");
    }

    #[test]
    fn display_names_the_hook() {
        assert_eq!(HookTarget::App.to_string(), "app hook");
        let repo = HookTarget::Repo { owner: "o".into(), repo: "r".into(), hook_id: 123 };
        assert_eq!(repo.to_string(), "repository hook o/r#123");
        assert_eq!(HookTarget::Org { org: "org".into(), hook_id: 123 }.to_string(), "organization hook org#123");
    }
}
