//! `redeliver sim`: the simulator on 127.0.0.1 with a demo App and some failed deliveries, so
//! the CLI can be tried by hand. Runs until Ctrl-C.

use crate::cli::SimArgs;
use crate::exit::{Exit, Failure};
use crate::output;
use chrono::{Duration, Utc};
use redeliver_sim::{NewAttempt, Receiver, Sim, keys};

pub async fn run(args: SimArgs) -> Result<Exit, Failure> {
    let fail = |e: anyhow::Error| Failure::internal(e.context("cannot start the simulator"));
    let sim = Sim::start_on(redeliver_sim::World::new(), args.port).await.map_err(fail)?;
    let receiver = Receiver::start(None).await.map_err(fail)?;
    let world = sim.world();
    let hook = world.add_app(1, "Iv1.simulated", keys::TEST_APP_PUBLIC_KEY, &receiver.url(), None);
    world.add_token("sim-token");
    let now = Utc::now();
    for i in 0..args.failed {
        world.record_attempt(hook, NewAttempt::new("push", 503, now - Duration::minutes(5 + 3 * i as i64)));
        world.record_attempt(hook, NewAttempt::new("push", 200, now - Duration::minutes(4 + 3 * i as i64)));
    }
    let key_path = std::env::temp_dir().join(format!("redeliver-sim-key-{}.pem", std::process::id()));
    std::fs::write(&key_path, keys::TEST_APP_KEY_PKCS1).map_err(|e| fail(e.into()))?;
    let told = output::data(&format!(
        "GitHub simulator listening at {} (GHES-style: {})\n\
         {} failed deliveries seeded; webhooks go to {}\n\
         Try, in another shell:\n  \
         redeliver run --api-url {} --app-id 1 --private-key-file {} --pace 0s\n\
         Press Ctrl-C to stop.\n",
        sim.base_url(),
        sim.ghes_base_url(),
        args.failed,
        receiver.url(),
        sim.base_url(),
        key_path.display()
    ));
    // Serves on whether or not anyone reads what it said.
    if told.is_err() {
        tracing::debug!("stdout is closed; the simulator keeps serving");
    }
    let _ = tokio::signal::ctrl_c().await;
    let _ = std::fs::remove_file(&key_path);
    Ok(Exit::Success)
}
