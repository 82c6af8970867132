//! `redeliver sim`: the simulator on 127.0.0.1 with an App installed on an organization, a
//! repository hook and an organization hook (each with a realistic history), so the CLI can be
//! tried by hand against every kind of target. Runs until Ctrl-C.

use crate::cli::SimArgs;
use crate::exit::{Exit, Failure};
use chrono::Utc;
use redeliver_sim::key_file::PrivateKeyFile;
use redeliver_sim::{Flavor, Receiver, Sim, World, keys, seed};

pub async fn run(args: SimArgs) -> Result<Exit, Failure> {
    let fail = |e: anyhow::Error| Failure::new(Exit::State, e.context("cannot start the simulator"));
    let world = World::new();
    if args.ghes {
        world.set_flavor(Flavor::Ghes);
    }
    let sim = Sim::start_on(world, args.port).await.map_err(fail)?;
    let receiver = Receiver::start(None).await.map_err(fail)?;
    let s = seed::seed(&sim.world(), &receiver.url(), args.failed, Utc::now(), fastrand::u64(..));
    // In a private directory of its own: a predictable /tmp path could be read or planted.
    let key = PrivateKeyFile::create(keys::TEST_APP_KEY_PKCS1).map_err(|e| fail(e.into()))?;
    let api = if args.ghes { sim.ghes_base_url() } else { sim.base_url() };
    let key_path = key.path().display();
    let state = |name: &str| key.dir().join(name).display().to_string();
    let flavor = if args.ghes { "GitHub Enterprise Server" } else { "github.com (GHES under /api/v3)" };
    println!("GitHub simulator ({flavor}) listening at {api}");
    println!("{} failed events seeded on each hook; webhooks go to {}", args.failed, receiver.url());
    println!("Credentials:");
    println!("  App id {}, client id {}, private key {key_path}", s.app_id, s.client_id);
    println!("  installation {} on {}", s.installation_id, s.org);
    println!("  user token {}", s.user_token);
    println!(
        "  repository hook {} on {}/{}, organization hook {} on {}",
        s.repo_hook, s.repo_owner, s.repo, s.org_hook, s.org
    );
    println!("Try, in another shell:");
    println!(
        "  redeliver run --api-url {api} --app-id {} --private-key-file {key_path} --pace 0s --state {}",
        s.app_id,
        state("app.db")
    );
    println!(
        "  TOKEN={} redeliver run --api-url {api} --repo {}/{} --hook-id {} --pace 0s --state {}",
        s.user_token,
        s.repo_owner,
        s.repo,
        s.repo_hook,
        state("repo.db")
    );
    println!(
        "  TOKEN={} redeliver run --api-url {api} --org {} --hook-id {} --pace 0s --state {}",
        s.user_token,
        s.org,
        s.org_hook,
        state("org.db")
    );
    println!("  redeliver check --api-url {api} --app-id {} --private-key-file {key_path}", s.client_id);
    println!("Press Ctrl-C to stop.");
    stopped().await;
    drop(key);
    Ok(Exit::Success)
}

/// Ctrl-C or SIGTERM: either way the private key directory is removed on the way out.
async fn stopped() {
    #[cfg(unix)]
    if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        return;
    }
    let _ = tokio::signal::ctrl_c().await;
}
