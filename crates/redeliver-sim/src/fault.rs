//! Faults to inject into the API: which requests they hit, and how many times.
//!
//! A matching rule answers before normal handling, so a fault can stand in for GitHub being down,
//! rate limiting, or corrupting a response, regardless of the request's credentials.

use std::time::Duration;

/// What an injected fault does to a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and a GitHub-like JSON error body (e.g. 500, 502, 503).
    Status(u16),
    /// 403 "You have exceeded a secondary rate limit...", with `Retry-After` when given.
    SecondaryRateLimit { retry_after: Option<u64> },
    /// 429 with the secondary-rate-limit message, with `Retry-After` when given.
    TooManyRequests { retry_after: Option<u64> },
    /// 401 "Bad credentials", whatever credential was sent.
    Unauthorized,
    /// Wait this long, then handle the request normally.
    Slow(Duration),
    /// Handle the request normally (its effects happen), then answer 200 with the body cut short.
    MalformedJson,
    /// A list answers 200 with an empty page (`[]`) whose `Link: rel="next"` asks for the same
    /// items under a cursor of its own: a client must keep following `next` until it is absent
    /// (issue 8, case 5), and a new cursor is progress, not a loop.
    EmptyPageWithNext,
    /// A list answers normally, but its `next` link starts `overlap` items back, so the next page
    /// lists the last `overlap` items of this one again: the same delivery id seen twice.
    RepeatItems { overlap: usize },
    /// A redelivery is refused with 422 and GitHub's text for it, and nothing is sent: a refused
    /// redelivery leaves no trace in the delivery log.
    RedeliveryRefused,
}

/// Which requests a [`Fault`] applies to, and how many times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRule {
    /// `Some("POST")` to match one method (case-insensitive), `None` for any.
    pub method: Option<String>,
    /// Matches paths (without the `/api/v3` prefix) that start with this, e.g. `/app/hook`.
    pub path_prefix: String,
    /// What happens to a matching request.
    pub fault: Fault,
    /// How many matching requests the rule still applies to.
    pub times: usize,
}

impl FaultRule {
    /// A rule for one request of any method whose path starts with `path_prefix`.
    pub fn new(path_prefix: &str, fault: Fault) -> FaultRule {
        FaultRule { method: None, path_prefix: path_prefix.to_string(), fault, times: 1 }
    }

    /// Only requests with this method.
    pub fn method(mut self, method: &str) -> FaultRule {
        self.method = Some(method.to_string());
        self
    }

    /// Apply to this many matching requests.
    pub fn times(mut self, times: usize) -> FaultRule {
        self.times = times;
        self
    }

    pub(crate) fn matches(&self, method: &str, path: &str) -> bool {
        self.times > 0
            && self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
            && path.starts_with(&self.path_prefix)
    }
}

/// Takes one use of the first rule matching the request, dropping rules that are used up.
pub(crate) fn take(rules: &mut Vec<FaultRule>, method: &str, path: &str) -> Option<Fault> {
    let index = rules.iter().position(|r| r.matches(method, path))?;
    let rule = &mut rules[index];
    rule.times -= 1;
    let fault = rule.fault.clone();
    if rule.times == 0 {
        rules.remove(index);
    }
    Some(fault)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_applies_its_number_of_times_to_matching_requests_only() {
        let mut rules = vec![FaultRule::new("/app/hook", Fault::Status(502)).method("get").times(2)];
        assert_eq!(take(&mut rules, "POST", "/app/hook/deliveries"), None);
        assert_eq!(take(&mut rules, "GET", "/repos/a/b"), None);
        assert_eq!(take(&mut rules, "GET", "/app/hook/deliveries"), Some(Fault::Status(502)));
        assert_eq!(take(&mut rules, "GET", "/app/hook/deliveries"), Some(Fault::Status(502)));
        assert_eq!(take(&mut rules, "GET", "/app/hook/deliveries"), None);
        assert!(rules.is_empty());
    }
}
