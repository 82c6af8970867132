//! `redeliver demo`: the whole job against the built-in simulator. Three hours of traffic with
//! failures are redelivered; then the receiver goes down for a whole (compressed) weekend while
//! events keep failing: the hook is seen down, its events are held and only a canary probes it,
//! nothing is given up; on Monday the receiver is back and the backlog drains. A poison event
//! is given up at the cap. GitHub's clock is moved forward between passes, so 60 hours play in
//! seconds; every decision is on GitHub's clock.

use crate::cli::{DemoArgs, PolicyArgs, RunArgs, StateArgs, TargetArgs};
use crate::config::{Env, resolve_run};
use crate::daemon::{Daemon, http};
use crate::exit::{Exit, Failure};
use crate::output;
use crate::pass::Session;
use chrono::{Duration, Utc};
use redeliver_core::github::Pace;
use redeliver_core::policy::Ladder;
use redeliver_sim::history_gen::{self, HistoryPlan, HookKind};
use redeliver_sim::{NewAttempt, Receiver, ReceiverMode, Sim, keys};
use std::collections::HashSet;

const APP_ID: u64 = 4242;
const SECRET: &str = "demo-webhook-secret";

/// The demo's own machinery (simulator, receiver, status page) failing is not the user's doing.
fn demo_failure(e: impl Into<anyhow::Error>) -> Failure {
    Failure::internal(e.into().context("the demo could not start its simulator"))
}

pub async fn run(args: DemoArgs) -> Result<Exit, Failure> {
    let state = std::env::temp_dir().join(format!("redeliver-demo-{}", std::process::id()));
    // Removed however the demo ends, a closed stdout included.
    let result = demo(args, &state).await;
    let _ = std::fs::remove_dir_all(&state);
    result
}

async fn demo(args: DemoArgs, state: &std::path::Path) -> Result<Exit, Failure> {
    let sim = Sim::start().await.map_err(demo_failure)?;
    let receiver = Receiver::start(Some(SECRET)).await.map_err(demo_failure)?;
    let world = sim.world();
    let hook = world.add_app(APP_ID, "Iv1.demo", keys::TEST_APP_PUBLIC_KEY, &receiver.url(), Some(SECRET));

    // Three hours of the traffic a real App sees (many events, every kind of failure, some
    // already redelivered by hand); the receiver was down for half an hour in the middle, and one
    // event is poison: the receiver rejects it every time (it already failed 6 times).
    let now = Utc::now();
    let n = args.events.max(6);
    let installation_id = world.add_installation(APP_ID, "octo-org");
    let plan = HistoryPlan {
        kind: HookKind::App { installation_id },
        events: n,
        failed: n / 17,
        span: Duration::minutes(180),
        now,
        outage: Some((now - Duration::minutes(100), now - Duration::minutes(70))),
        seed: fastrand::u64(..),
    };
    let mut failed = history_gen::generate(&world, hook, &plan).failed;
    let poison = world
        .record_attempt(hook, NewAttempt::new("installation", 400, now - Duration::minutes(150)).action("created"))
        .guid;
    for k in 1..6 {
        world.record_attempt(
            hook,
            NewAttempt::new("installation", 400, now - Duration::minutes(150 - 20 * k))
                .action("created")
                .guid(&poison)
                .redelivery(true),
        );
    }
    world.script_redelivery_outcome(&poison, 400, 100);
    failed.push(poison.clone());
    receiver.set_mode(ReceiverMode::Down);

    output::line("== redeliver demo: a GitHub App whose receiver was down, against the built-in simulator")?;
    output::line(&format!(
        "   {} events in the last 3 hours; {} failed (a 30-minute outage, stray 503s, and one poison event).",
        n + 1,
        failed.len()
    ))?;
    output::line("   The ladder is shortened to 1m for the demo; the real default is 1m,5m,30m,2h,5h,10h,10h.\n")?;

    let key = keys::TEST_APP_KEY_PKCS1.to_string();
    let settings = || {
        let env = Env::with(&[("PRIVATE_KEY", key.as_str())], None);
        let args = RunArgs {
            target: TargetArgs {
                app_id: Some(APP_ID.to_string()),
                api_url: Some(sim.base_url()),
                ..TargetArgs::default()
            },
            state: StateArgs { state: Some(state.join("state.db")), ..StateArgs::default() },
            policy: PolicyArgs {
                ladder: Some(Ladder(vec![Duration::minutes(1)])),
                pace: Some(Pace::Fixed(std::time::Duration::ZERO)),
                ..PolicyArgs::default()
            },
            ..RunArgs::default()
        };
        resolve_run(&args, &env, Utc::now())
    };

    // The daemon's machinery, polled step by step, with its status page served live.
    let settings = settings()?;
    let session = Session::new(settings.state_path.clone());
    let interval = std::time::Duration::from_secs(2);
    let mut daemon = Daemon::new(session, settings.targets, settings.options, settings.notify, interval);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(demo_failure)?;
    let addr = listener.local_addr().map_err(demo_failure)?;
    let page = format!("http://{addr}/");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let allowed = http::AllowedHosts::new(addr, &[]);
    let server = tokio::spawn(http::serve(listener, daemon.status.clone(), allowed, async {
        let _ = stopped.await;
    }));
    // A link that is dead by the time anyone clicks it is worse than none: say how long it lives.
    output::line(&format!(
        "   Status page: {page} ({})\n",
        if args.serve { "served until Ctrl-C" } else { "only while the demo runs; --serve keeps it up afterwards" }
    ))?;
    let mut weekend = Weekend { world: world.clone(), hook, skew: Duration::zero() };
    receiver.set_mode(ReceiverMode::Up);
    output::line("-- Friday 18:00: the receiver is up; the failures of the last 3 hours are redelivered")?;
    poll(&mut daemon, &weekend).await?;
    weekend.advance(Duration::minutes(5));
    receiver.set_mode(ReceiverMode::Down);
    output::line("-- Friday 18:05: the receiver goes down for the weekend; events keep failing")?;
    for step in 0..=10 {
        // 18:05, then every 6 hours until Monday 06:05.
        failed.extend(weekend.fire(5).await);
        poll(&mut daemon, &weekend).await?;
        let label = weekend.label();
        let t = &daemon.status.snapshot().targets[0];
        if let Some(r) = &t.receiver {
            output::line(&format!("   {label}  {}; {} given up so far", r.line(), t.given_up_total))?;
        }
        if step < 10 {
            weekend.advance(Duration::hours(6));
        }
    }
    receiver.set_mode(ReceiverMode::Up);
    output::line("-- Monday: the receiver is back; GitHub delivers a new event, and the backlog drains")?;
    weekend.fire(1).await;
    for _ in 0..3 {
        weekend.advance(Duration::minutes(2));
        poll(&mut daemon, &weekend).await?;
    }
    output::line("")?;
    let status = daemon.status.snapshot();
    let t = &status.targets[0];
    output::line(&format!(
        "== status page: {} polls, {} redeliveries accepted, {} canaries, {} events pending, {} given up",
        t.polls,
        t.redeliveries.get("accepted").copied().unwrap_or_default(),
        t.canaries_total,
        t.pending.len(),
        t.given_up_total
    ))?;
    for o in &t.outages {
        output::line(&format!(
            "   outage over: {} down, {} events recovered, {} given up",
            crate::report::human_duration(o.seconds),
            o.recovered,
            o.given_up
        ))?;
    }

    let recovered: HashSet<_> =
        failed.iter().filter(|g| world.attempts_for(g).iter().any(|a| (200..300).contains(&a.status_code))).collect();
    let received_ok = failed.iter().filter(|g| receiver.successes_for(g) > 0).count();
    output::line(&format!(
        "== result: {} of {} failed events recovered; the receiver confirmed {} signed deliveries;",
        recovered.len(),
        failed.len(),
        received_ok
    ))?;
    output::line(&format!(
        "   the poison event {poison} was given up at its attempt cap instead of looping forever \
         (GitHub lists {} attempts of it: the canaries sent while the receiver was down are not charged).",
        world.attempts_for(&poison).len()
    ))?;
    output::line("   Next: `redeliver run --help`, or `redeliver sim` to try the CLI by hand.")?;
    if args.serve {
        output::line(&format!("   Serving the status page at {page} until Ctrl-C."))?;
        let _ = tokio::signal::ctrl_c().await;
    } else {
        output::line(
            "   The status page has stopped with the demo; `redeliver demo --serve` keeps it up until Ctrl-C.",
        )?;
    }
    let _ = stop.send(());
    let _ = server.await;
    Ok(if recovered.len() + 1 == failed.len() { Exit::Success } else { Exit::Attention })
}

/// One pass of the daemon's machinery; its redeliveries settle before the clock moves on.
async fn poll(daemon: &mut Daemon, weekend: &Weekend) -> Result<(), Failure> {
    daemon.poll_once().await;
    if let Some(error) = daemon.status.snapshot().targets[0].last_error.clone() {
        return Err(Failure::internal(anyhow::anyhow!("the demo's pass failed: {error}")));
    }
    weekend.world.settle().await;
    Ok(())
}

/// The compressed weekend: GitHub's clock moved on by hand, and new events fired at the hook.
struct Weekend {
    world: redeliver_sim::World,
    hook: redeliver_sim::HookId,
    skew: Duration,
}

impl Weekend {
    fn advance(&mut self, by: Duration) {
        self.skew += by;
        self.world.set_clock_skew(self.skew);
    }

    /// `n` new events delivered now; their GUIDs.
    async fn fire(&self, n: usize) -> Vec<String> {
        let mut guids = Vec::with_capacity(n);
        for i in 0..n {
            let event = ["push", "pull_request", "issues"][i % 3];
            let payload = serde_json::json!({"installation": {"id": 1}, "n": i});
            guids.push(self.world.deliver(self.hook, event, Some("opened"), payload).await.guid);
        }
        guids
    }

    /// How far into the weekend GitHub's clock is, from Friday 18:00.
    fn label(&self) -> String {
        let t = self.skew.num_minutes() + 18 * 60;
        let day = ["Friday", "Saturday", "Sunday", "Monday"][(t / (24 * 60)).clamp(0, 3) as usize];
        format!("{day:<8} {:02}:{:02}", t / 60 % 24, t % 60)
    }
}
