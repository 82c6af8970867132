//! `redeliver watch`: the daemon. Holds the state's lock for its life, so a second `watch` or a
//! `run` on the same state refuses (exit 4) instead of redelivering alongside it.

use crate::cli::WatchArgs;
use crate::config::{Env, resolve_run, std_duration};
use crate::daemon::{Daemon, http, on_shutdown_signal};
use crate::exit::{Exit, Failure};
use crate::pass::Session;

pub async fn run(args: WatchArgs) -> Result<Exit, Failure> {
    let settings = resolve_run(&args.run, &Env::from_process(), chrono::Utc::now())?;
    if settings.options.since.is_some() || settings.options.until.is_some() || settings.options.json {
        return Err(Failure::config(
            "--since, --until and --json are for `redeliver run`; `watch` keeps going from the stored time",
        ));
    }
    let mut file = settings.file.clone();
    let interval_text = args.interval.clone().or(file.interval.clone()).unwrap_or_else(|| "1m".into());
    let interval = parse_interval(&interval_text)?;
    let listen = args.listen.clone().or(file.listen.clone()).unwrap_or_else(|| "127.0.0.1:9187".into());
    file.notify_url = args.notify_url.clone().or(file.notify_url);
    file.notify_command = args.notify_command.clone().or(file.notify_command);

    let mut session = Session::new(settings.state_path.clone());
    session.hold_lock()?;
    on_shutdown_signal(&session)?;
    let mut daemon = Daemon::new(session, settings.targets, settings.options, file, interval);

    let (stop_http, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = if listen == "off" {
        None
    } else {
        let listener = tokio::net::TcpListener::bind(&listen).await.map_err(|e| {
            Failure::config(format!("--listen {listen}: cannot listen there: {e}; pick another address, or `off`"))
        })?;
        let addr = listener.local_addr().map_err(|e| Failure::internal(e.into()))?;
        crate::output::note(&format!(
            "redeliver: status page at http://{addr}/ (metrics at /metrics, health at /healthz)"
        ));
        let status = daemon.status.clone();
        Some(tokio::spawn(http::serve(listener, status, async {
            let _ = stopped.await;
        })))
    };
    crate::output::note(&format!(
        "redeliver: watching {} target(s) every {interval_text}; state {}",
        daemon.targets.len(),
        daemon.session.state_path().display()
    ));
    daemon.run().await;
    let _ = stop_http.send(());
    if let Some(server) = server {
        let _ = server.await;
    }
    crate::output::note("redeliver: stopped; state saved");
    Ok(Exit::Success)
}

/// A poll interval: a duration such as `1m`, or milliseconds such as `250ms` (tests, demos).
pub fn parse_interval(text: &str) -> Result<std::time::Duration, Failure> {
    let d = std_duration("--interval", text)?;
    if d.is_zero() {
        return Err(Failure::config("--interval must be more than zero"));
    }
    Ok(d)
}
