//! `redeliver watch`: the daemon. Holds the state's lock for its life, so a second `watch` or a
//! `run` on the same state refuses (exit 4) instead of redelivering alongside it; with
//! `--dry-run` it takes no lock, writes nothing and prints each pass's plan.

use crate::cli::WatchArgs;
use crate::config::{Env, Listen, resolve_watch};
use crate::daemon::{self, Daemon, http, on_shutdown_signal};
use crate::exit::{Exit, Failure};
use crate::pass::Session;
use redeliver_core::policy::format_duration;

pub async fn run(args: WatchArgs) -> Result<Exit, Failure> {
    let settings = resolve_watch(&args, &Env::from_process(), chrono::Utc::now())?;
    let (mut run, interval) = (settings.run, settings.interval);
    let discovery = std::mem::take(&mut run.discovery);

    // The status port and the polls share one descriptor table: make it as large as allowed.
    daemon::guard::raise_file_limit();
    let mut session = Session::new(run.state.clone());
    let dry_run = run.options.dry_run;
    // A dry run writes nothing, so it takes no lock (as `run --dry-run`): it can watch beside
    // the real daemon on the same state; nor does it take leases (PostgreSQL state).
    if !dry_run {
        session.hold_lock()?;
        // PostgreSQL state: a replica in the fleet, acting on the targets whose leases it holds.
        session.use_leases(run.lease, true);
    }
    // Targets with `replay_past_horizon` or `deliver_to` get their events delivered directly
    // (a dry run's passes never post: the pass checks it).
    session.direct = true;
    on_shutdown_signal(session.cancel.clone())?;
    for t in run.targets.iter().filter(|t| t.direct.is_on() && t.direct.secret.is_none()) {
        crate::output::note(&format!(
            "warning: target {}: no secret_env or secret_file: what watch posts itself carries no signature headers",
            t.name
        ));
    }
    let fixed = run.targets.len();
    let mut daemon = Daemon::new(session, run.targets, run.options, run.notify, interval);
    // Organizations whose hooks are discovered (issue 14): polled on the budget-aware schedule.
    if !discovery.is_empty() {
        daemon.fleet = Some(daemon::Fleet::new(fixed, discovery, settings.fleet, interval));
    }
    // The HTTP side stops with the daemon's own token, after the polling loop has returned.
    let stop_http = tokio_util::sync::CancellationToken::new();
    let server = match &settings.listen {
        Listen::Off => None,
        Listen::At(listen) => {
            let listener = tokio::net::TcpListener::bind(listen.as_str()).await.map_err(|e| {
                Failure::config(format!("--listen {listen}: cannot listen there: {e}; pick another address, or `off`"))
            })?;
            let addr = listener.local_addr().map_err(|e| Failure::internal(e.into()))?;
            crate::output::note(&format!(
                "redeliver: status page at http://{addr}/ (metrics at /metrics, health at /healthz)"
            ));
            let status = daemon.status.clone();
            let stopped = stop_http.clone().cancelled_owned();
            let allowed = http::AllowedHosts::new(addr, &settings.allow_hosts);
            Some(tokio::spawn(http::serve(listener, status, allowed, stopped)))
        }
    };
    crate::output::note(&format!(
        "redeliver: watching {} target(s) every {}; state {}{}",
        daemon.targets.len(),
        format_duration(interval),
        daemon.session.state().describe(),
        if dry_run { " (dry run: each pass's plan is printed; nothing is sent or written)" } else { "" }
    ));
    daemon.run().await;
    stop_http.cancel();
    if let Some(server) = server {
        let _ = server.await;
    }
    crate::output::note(if dry_run {
        "redeliver: stopped; nothing was written (dry run)"
    } else {
        "redeliver: stopped; state saved"
    });
    Ok(Exit::Success)
}
