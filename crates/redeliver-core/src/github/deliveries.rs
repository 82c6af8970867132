//! The reads the archive makes: one delivery's full record (`GET …/deliveries/{id}`: the request
//! headers and payload GitHub sent, and where it sent them) and a hook's configuration
//! (`GET …/config`: URL, content type; the secret comes back masked and is not read):
//!
//! - <https://docs.github.com/rest/apps/webhooks#get-a-delivery-for-an-app-webhook>
//! - <https://docs.github.com/rest/apps/webhooks#get-a-webhook-configuration-for-an-app>
//! - <https://docs.github.com/rest/repos/webhooks#get-a-webhook-configuration-for-a-repository>
//! - <https://docs.github.com/rest/orgs/webhooks#get-a-webhook-configuration-for-an-organization>

use super::client::{Call, GitHubClient};
use super::error::ApiError;
use super::step::RequestKind;
use super::target::HookTarget;
use super::text::describe_body_kind;
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeMap;

/// What the archive keeps of one delivery record.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    /// `request.headers`: string values only (GitHub sends nothing else there).
    pub headers: BTreeMap<String, String>,
    /// `request.payload`, as GitHub returned it.
    pub payload: Value,
    /// `url`: where GitHub posted it.
    pub url: Option<String>,
}

/// A hook's configuration; `insecure_ssl` is `"0"` or `"1"` as GitHub gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookConfig {
    pub url: Option<String>,
    pub content_type: Option<String>,
    pub insecure_ssl: Option<String>,
}

/// The configuration endpoint's path: the hook's own path, then `/config`.
pub fn config_path(target: &HookTarget) -> String {
    let deliveries = target.deliveries_path();
    let hook = deliveries.strip_suffix("/deliveries").unwrap_or(&deliveries);
    format!("{hook}/config")
}

impl GitHubClient {
    /// One delivery's record (`GET …/deliveries/{id}`), a read retried like any other.
    pub async fn delivery_record(&mut self, target: &HookTarget, delivery_id: u64) -> Result<DeliveryRecord, ApiError> {
        let body =
            self.get_json(target, &format!("{}/{delivery_id}", target.deliveries_path()), "get_delivery").await?;
        let request = body.get("request");
        let headers = request
            .and_then(|r| r.get("headers"))
            .and_then(Value::as_object)
            .map(|h| h.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
            .unwrap_or_default();
        let Some(payload) = request.and_then(|r| r.get("payload")).filter(|p| !p.is_null()).cloned() else {
            return Err(ApiError::Malformed {
                detail: format!("delivery {delivery_id} of the {target} came back without `request.payload`"),
                request_id: None,
            });
        };
        let url = body.get("url").and_then(Value::as_str).map(str::to_owned);
        Ok(DeliveryRecord { headers, payload, url })
    }

    /// The hook's configuration (`GET …/config`).
    pub async fn hook_config(&mut self, target: &HookTarget) -> Result<HookConfig, ApiError> {
        let body = self.get_json(target, &config_path(target), "hook_config").await?;
        let field = |name: &str| match body.get(name) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        Ok(HookConfig { url: field("url"), content_type: field("content_type"), insecure_ssl: field("insecure_ssl") })
    }

    async fn get_json(&mut self, target: &HookTarget, path: &str, endpoint: &'static str) -> Result<Value, ApiError> {
        if self.is_app() != target.needs_app_jwt() {
            return Err(ApiError::Config {
                detail: format!(
                    "the {target} cannot be read with this credential (an App JWT reads only the app hook)"
                ),
            });
        }
        let url = self.endpoint(path, None);
        let call =
            Call { method: Method::GET, url, endpoint, body: None, kind: RequestKind::Read, if_none_match: None };
        let answer = self.call(&call).await?;
        if !answer.is_success() {
            return Err(self.error_for(&answer, true));
        }
        serde_json::from_slice::<Value>(&answer.body).ok().filter(Value::is_object).ok_or_else(|| ApiError::Malformed {
            detail: format!(
                "reading the {target} ({endpoint}) returned {}, not a JSON object",
                describe_body_kind(&answer.headers, &answer.body)
            ),
            request_id: answer.request_id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_paths_for_each_kind_of_hook() {
        assert_eq!(config_path(&HookTarget::App), "/app/hook/config");
        let repo = HookTarget::Repo { owner: "o".into(), repo: "r".into(), hook_id: 3 };
        assert_eq!(config_path(&repo), "/repos/o/r/hooks/3/config");
        assert_eq!(config_path(&HookTarget::Org { org: "x".into(), hook_id: 9 }), "/orgs/x/hooks/9/config");
    }
}
