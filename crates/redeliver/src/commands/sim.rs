//! `redeliver sim`: the simulator on 127.0.0.1 with a demo App and some failed deliveries, so
//! the CLI can be tried by hand. Runs until Ctrl-C.

use crate::cli::SimArgs;
use crate::exit::{Exit, Failure};
use chrono::{Duration, Utc};
use redeliver_sim::{NewAttempt, Receiver, Sim, keys};

pub async fn run(args: SimArgs) -> Result<Exit, Failure> {
    let fail = |e: anyhow::Error| Failure::new(Exit::State, e.context("cannot start the simulator"));
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
    println!("GitHub simulator listening at {} (GHES-style: {})", sim.base_url(), sim.ghes_base_url());
    println!("{} failed deliveries seeded; webhooks go to {}", args.failed, receiver.url());
    println!("Try, in another shell:");
    println!(
        "  redeliver run --api-url {} --app-id 1 --private-key-file {} --pace 0s",
        sim.base_url(),
        key_path.display()
    );
    println!("Press Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    let _ = std::fs::remove_file(&key_path);
    Ok(Exit::Success)
}
