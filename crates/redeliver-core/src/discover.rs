//! PURE. Which of an organization's hooks a discovery target keeps: repositories chosen by
//! name patterns (`*` and `?`, a leading `!` excludes), hooks by receiver URL pattern and
//! events. The listings come from [`crate::github::GitHubClient::org_repos`] and friends;
//! this module only decides.

/// A repository as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedRepo {
    pub owner: String,
    pub name: String,
    pub archived: bool,
}

/// A repository or organization hook as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedHook {
    pub id: u64,
    /// The receiver URL (`config.url`).
    pub url: String,
    pub events: Vec<String>,
    /// GitHub delivers nothing to an inactive hook, so it has nothing to redeliver.
    pub active: bool,
}

/// What a discovery target keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    /// Repository name patterns: kept if it matches one without `!` (or there is none) and
    /// none with `!`.
    pub repos: Vec<String>,
    /// Keep archived repositories too (their hooks still fire on nothing; default off).
    pub archived: bool,
    /// A pattern the hook's receiver URL must match (`None`: any).
    pub hook_url: Option<String>,
    /// Keep a hook subscribed to at least one of these events (or to `*`); empty: any hook.
    pub hook_events: Vec<String>,
}

impl Selector {
    /// Whether repository `r`'s hooks are listed at all.
    pub fn wants_repo(&self, r: &ListedRepo) -> bool {
        if r.archived && !self.archived {
            return false;
        }
        let (exclude, include): (Vec<&String>, Vec<&String>) = self.repos.iter().partition(|p| p.starts_with('!'));
        let included = include.is_empty() || include.iter().any(|p| glob(p, &r.name));
        included && !exclude.iter().any(|p| glob(&p[1..], &r.name))
    }

    /// Whether hook `h` is watched.
    pub fn wants_hook(&self, h: &ListedHook) -> bool {
        let url = self.hook_url.as_deref().is_none_or(|p| glob(p, &h.url));
        let events = self.hook_events.is_empty()
            || h.events.iter().any(|e| e == "*" || self.hook_events.iter().any(|want| want == e));
        h.active && url && events
    }
}

/// Whether `text` matches `pattern`, ASCII case-insensitively: `*` is any run of characters,
/// `?` any one. Linear in the lengths (the classic two-pointer match with one backtrack point).
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let t: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(name: &str, archived: bool) -> ListedRepo {
        ListedRepo { owner: "acme".into(), name: name.into(), archived }
    }

    fn hook(url: &str, events: &[&str]) -> ListedHook {
        ListedHook { id: 1, url: url.into(), events: events.iter().map(|e| (*e).to_string()).collect(), active: true }
    }

    #[test]
    fn globs_match_stars_and_question_marks_without_case() {
        assert!(glob("*", ""));
        assert!(glob("*jenkins.acme.internal*", "https://JENKINS.acme.internal/github-webhook/"));
        assert!(glob("svc-??", "svc-07"));
        assert!(!glob("svc-??", "svc-7"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
        assert!(glob("archived-*", "archived-"));
        assert!(!glob("", "x"));
    }

    #[test]
    fn repositories_are_kept_by_include_and_exclude_patterns() {
        let s = Selector { repos: vec!["*".into(), "!archived-*".into(), "!sandbox".into()], ..Selector::default() };
        assert!(s.wants_repo(&repo("api", false)));
        assert!(!s.wants_repo(&repo("archived-api", false)));
        assert!(!s.wants_repo(&repo("Sandbox", false)));
        assert!(!s.wants_repo(&repo("api", true)), "archived repositories are skipped by default");
        assert!(Selector { archived: true, ..s.clone() }.wants_repo(&repo("api", true)));
        let only = Selector { repos: vec!["!docs".into()], ..Selector::default() };
        assert!(only.wants_repo(&repo("api", false)), "only exclusions: everything else is in");
        let named = Selector { repos: vec!["svc-*".into()], ..Selector::default() };
        assert!(!named.wants_repo(&repo("api", false)));
    }

    #[test]
    fn hooks_are_kept_by_url_pattern_events_and_activity() {
        let s = Selector {
            hook_url: Some("*jenkins.acme.internal*".into()),
            hook_events: vec!["push".into()],
            ..Selector::default()
        };
        assert!(s.wants_hook(&hook("https://jenkins.acme.internal/gh", &["push", "pull_request"])));
        assert!(s.wants_hook(&hook("https://jenkins.acme.internal/gh", &["*"])));
        assert!(!s.wants_hook(&hook("https://jenkins.acme.internal/gh", &["issues"])));
        assert!(!s.wants_hook(&hook("https://chat.acme.com/gh", &["push"])));
        let inactive = ListedHook { active: false, ..hook("https://jenkins.acme.internal/gh", &["push"]) };
        assert!(!s.wants_hook(&inactive));
        assert!(Selector::default().wants_hook(&hook("x", &[])));
    }
}
