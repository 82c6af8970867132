//! `redeliver healthcheck`: asks a running `watch` for `/healthz` and exits 0 when it answers
//! 2xx, 1 otherwise. It exists for the container image, whose `HEALTHCHECK` has no shell and no
//! curl to call (deploy/docker/Dockerfile); Docker reads 0 as healthy and 1 as unhealthy, so
//! every failure, a refused connection included, is 1.

use crate::cli::HealthcheckArgs;
use crate::exit::{Exit, Failure};
use crate::output;

pub async fn run(args: HealthcheckArgs) -> Result<Exit, Failure> {
    let url = url::Url::parse(&args.url).map_err(|e| Failure::config(format!("not a URL to probe: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Failure::config("only http:// and https:// URLs can be probed"));
    }
    // No proxy: a container's HTTP_PROXY must not carry a probe of its own loopback away; no
    // redirect: the answer of /healthz itself is the verdict.
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(args.timeout)
        .build()
        .map_err(|e| Failure::internal(anyhow::Error::new(e).context("cannot build an HTTP client")))?;
    match client.get(url.clone()).send().await {
        Ok(answer) if answer.status().is_success() => {
            output::line(&format!("healthy: {url} answered {}", answer.status()))?;
            Ok(Exit::Success)
        }
        Ok(answer) => {
            let status = answer.status();
            // /healthz names the targets that are behind; a short body, bounded anyway.
            let body = answer.text().await.unwrap_or_default();
            let body: String = body.chars().take(500).collect();
            output::note(&format!("unhealthy: {url} answered {status}: {}", body.trim()));
            Ok(Exit::Attention)
        }
        Err(e) => {
            let cause = if e.is_timeout() { "no answer in time".to_string() } else { chain(&e) };
            output::note(&format!("unhealthy: cannot reach {url}: {cause}"));
            Ok(Exit::Attention)
        }
    }
}

/// The error and its causes on one line: reqwest's own message stops at "error sending request".
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
