//! Which endpoint a request is for: method plus path (already without `/api/v3`), matched the way
//! GitHub's router does, so that a non-numeric id is simply an unknown path (404).

use axum::http::Method;

/// Whose hook a deliveries endpoint is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The authenticated app's hook (`/app/hook/...`).
    App,
    Repo {
        owner: String,
        repo: String,
        hook: u64,
    },
    Org {
        org: String,
        hook: u64,
    },
}

/// What is done with a hook's deliveries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    List,
    Get(u64),
    Redeliver(u64),
    /// The hook's configuration (`GET …/config`).
    Config,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    Deliveries(Scope, Op),
    GetVariable {
        owner: String,
        repo: String,
        name: String,
    },
    CreateVariable {
        owner: String,
        repo: String,
    },
    UpdateVariable {
        owner: String,
        repo: String,
        name: String,
    },
    DeleteVariable {
        owner: String,
        repo: String,
        name: String,
    },
    RepoInstallation {
        owner: String,
        repo: String,
    },
    OrgInstallation {
        org: String,
    },
    CreateInstallationToken {
        installation: i64,
    },
    /// `GET /orgs/{org}/repos`.
    OrgRepos {
        org: String,
    },
    /// `GET /repos/{owner}/{repo}/hooks` (`repo: Some`) or `GET /orgs/{org}/hooks` (`None`).
    Hooks {
        owner: String,
        repo: Option<String>,
    },
    /// `GET /installation/repositories`: an installation token's repositories.
    InstallationRepos,
    /// `GET /organizations`: every organization (what a GHES site admin covers).
    Organizations,
}

/// Which credential an endpoint takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AuthClass {
    /// An app JWT (`/app/...` and the installation look-ups).
    Jwt,
    /// A personal or installation token.
    Token,
}

impl Route {
    pub(crate) fn auth_class(&self) -> AuthClass {
        match self {
            Route::Deliveries(Scope::App, _)
            | Route::RepoInstallation { .. }
            | Route::OrgInstallation { .. }
            | Route::CreateInstallationToken { .. } => AuthClass::Jwt,
            _ => AuthClass::Token,
        }
    }

    /// The endpoint's page in GitHub's REST docs, for `documentation_url`.
    pub(crate) fn documentation_url(&self) -> &'static str {
        match self {
            Route::Deliveries(Scope::App, Op::Config) => {
                "https://docs.github.com/rest/apps/webhooks#get-a-webhook-configuration-for-an-app"
            }
            Route::Deliveries(Scope::Repo { .. }, Op::Config) => {
                "https://docs.github.com/rest/repos/webhooks#get-a-webhook-configuration-for-a-repository"
            }
            Route::Deliveries(Scope::Org { .. }, Op::Config) => {
                "https://docs.github.com/rest/orgs/webhooks#get-a-webhook-configuration-for-an-organization"
            }
            Route::Deliveries(Scope::App, Op::List) => {
                "https://docs.github.com/rest/apps/webhooks#list-deliveries-for-an-app-webhook"
            }
            Route::Deliveries(Scope::App, Op::Get(_)) => {
                "https://docs.github.com/rest/apps/webhooks#get-a-delivery-for-an-app-webhook"
            }
            Route::Deliveries(Scope::App, Op::Redeliver(_)) => {
                "https://docs.github.com/rest/apps/webhooks#redeliver-a-delivery-for-an-app-webhook"
            }
            Route::Deliveries(Scope::Repo { .. }, Op::List) => {
                "https://docs.github.com/rest/repos/webhooks#list-deliveries-for-a-repository-webhook"
            }
            Route::Deliveries(Scope::Repo { .. }, Op::Get(_)) => {
                "https://docs.github.com/rest/repos/webhooks#get-a-delivery-for-a-repository-webhook"
            }
            Route::Deliveries(Scope::Repo { .. }, Op::Redeliver(_)) => {
                "https://docs.github.com/rest/repos/webhooks#redeliver-a-delivery-for-a-repository-webhook"
            }
            Route::Deliveries(Scope::Org { .. }, Op::List) => {
                "https://docs.github.com/rest/orgs/webhooks#list-deliveries-for-an-organization-webhook"
            }
            Route::Deliveries(Scope::Org { .. }, Op::Get(_)) => {
                "https://docs.github.com/rest/orgs/webhooks#get-a-webhook-delivery-for-an-organization-webhook"
            }
            Route::Deliveries(Scope::Org { .. }, Op::Redeliver(_)) => {
                "https://docs.github.com/rest/orgs/webhooks#redeliver-a-delivery-for-an-organization-webhook"
            }
            Route::GetVariable { .. } => "https://docs.github.com/rest/actions/variables#get-a-repository-variable",
            Route::CreateVariable { .. } => {
                "https://docs.github.com/rest/actions/variables#create-a-repository-variable"
            }
            Route::UpdateVariable { .. } => {
                "https://docs.github.com/rest/actions/variables#update-a-repository-variable"
            }
            Route::DeleteVariable { .. } => {
                "https://docs.github.com/rest/actions/variables#delete-a-repository-variable"
            }
            Route::RepoInstallation { .. } => {
                "https://docs.github.com/rest/apps/apps#get-a-repository-installation-for-the-authenticated-app"
            }
            Route::OrgInstallation { .. } => {
                "https://docs.github.com/rest/apps/apps#get-an-organization-installation-for-the-authenticated-app"
            }
            Route::CreateInstallationToken { .. } => {
                "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app"
            }
            Route::OrgRepos { .. } => "https://docs.github.com/rest/repos/repos#list-organization-repositories",
            Route::Hooks { repo: Some(_), .. } => {
                "https://docs.github.com/rest/repos/webhooks#list-repository-webhooks"
            }
            Route::Hooks { repo: None, .. } => "https://docs.github.com/rest/orgs/webhooks#list-organization-webhooks",
            Route::InstallationRepos => {
                "https://docs.github.com/rest/apps/installations#list-repositories-accessible-to-the-app-installation"
            }
            Route::Organizations => "https://docs.github.com/rest/orgs/orgs#list-organizations",
        }
    }
}

/// The route for `method` and `path`, or `None` for a path GitHub would answer 404.
pub(crate) fn parse(method: &Method, path: &str) -> Option<Route> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let s = |x: &str| x.to_string();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["orgs", org, "repos"]) => Some(Route::OrgRepos { org: s(org) }),
        ("GET", ["repos", owner, repo, "hooks"]) => Some(Route::Hooks { owner: s(owner), repo: Some(s(repo)) }),
        ("GET", ["orgs", org, "hooks"]) => Some(Route::Hooks { owner: s(org), repo: None }),
        ("GET", ["installation", "repositories"]) => Some(Route::InstallationRepos),
        ("GET", ["organizations"]) => Some(Route::Organizations),
        (m, ["app", "hook", rest @ ..]) => Some(Route::Deliveries(Scope::App, op(m, rest)?)),
        (m, ["repos", owner, repo, "hooks", hook, rest @ ..]) => {
            let scope = Scope::Repo { owner: s(owner), repo: s(repo), hook: hook.parse().ok()? };
            Some(Route::Deliveries(scope, op(m, rest)?))
        }
        (m, ["orgs", org, "hooks", hook, rest @ ..]) => {
            let scope = Scope::Org { org: s(org), hook: hook.parse().ok()? };
            Some(Route::Deliveries(scope, op(m, rest)?))
        }
        ("POST", ["repos", owner, repo, "actions", "variables"]) => {
            Some(Route::CreateVariable { owner: s(owner), repo: s(repo) })
        }
        (m, ["repos", owner, repo, "actions", "variables", name]) => {
            let (owner, repo, name) = (s(owner), s(repo), s(name));
            match m {
                "GET" => Some(Route::GetVariable { owner, repo, name }),
                "PATCH" => Some(Route::UpdateVariable { owner, repo, name }),
                "DELETE" => Some(Route::DeleteVariable { owner, repo, name }),
                _ => None,
            }
        }
        ("GET", ["repos", owner, repo, "installation"]) => {
            Some(Route::RepoInstallation { owner: s(owner), repo: s(repo) })
        }
        ("GET", ["orgs", org, "installation"]) => Some(Route::OrgInstallation { org: s(org) }),
        ("POST", ["app", "installations", id, "access_tokens"]) => {
            Some(Route::CreateInstallationToken { installation: id.parse().ok()? })
        }
        _ => None,
    }
}

/// The part after `.../hook` or `.../hooks/{id}`.
fn op(method: &str, rest: &[&str]) -> Option<Op> {
    match (method, rest) {
        ("GET", ["deliveries"]) => Some(Op::List),
        ("GET", ["deliveries", id]) => Some(Op::Get(id.parse().ok()?)),
        ("POST", ["deliveries", id, "attempts"]) => Some(Op::Redeliver(id.parse().ok()?)),
        ("GET", ["config"]) => Some(Op::Config),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_routes_like_githubs_router() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(parse(&get, "/app/hook/deliveries"), Some(Route::Deliveries(Scope::App, Op::List)));
        assert_eq!(
            parse(&post, "/app/hook/deliveries/12/attempts"),
            Some(Route::Deliveries(Scope::App, Op::Redeliver(12)))
        );
        assert_eq!(
            parse(&get, "/orgs/acme/hooks/7/deliveries/9"),
            Some(Route::Deliveries(Scope::Org { org: "acme".into(), hook: 7 }, Op::Get(9)))
        );
        assert_eq!(parse(&get, "/app/hook/config"), Some(Route::Deliveries(Scope::App, Op::Config)));
        assert_eq!(parse(&post, "/app/hook/config"), None);
        assert_eq!(parse(&get, "/app/hook/deliveries/abc"), None);
        assert_eq!(parse(&post, "/app/hook/deliveries"), None);
        assert_eq!(parse(&get, "/repos/a/b/hooks/x/deliveries"), None);
        assert_eq!(parse(&get, "/repos/a/b/hooks"), Some(Route::Hooks { owner: "a".into(), repo: Some("b".into()) }));
        assert_eq!(parse(&get, "/orgs/acme/hooks"), Some(Route::Hooks { owner: "acme".into(), repo: None }));
        assert_eq!(parse(&get, "/orgs/acme/repos"), Some(Route::OrgRepos { org: "acme".into() }));
        assert_eq!(parse(&post, "/orgs/acme/repos"), None);
        assert_eq!(
            parse(&Method::PATCH, "/repos/a/b/actions/variables/LAST_RUN"),
            Some(Route::UpdateVariable { owner: "a".into(), repo: "b".into(), name: "LAST_RUN".into() })
        );
    }
}
