//! `redeliver sim`: the simulator on 127.0.0.1 with an App installed on an organization, a
//! repository hook and an organization hook (each with a realistic history), so the CLI can be
//! tried by hand against every kind of target. Runs until Ctrl-C.

use crate::cli::SimArgs;
use crate::exit::{Exit, Failure};
use crate::output;
use chrono::Utc;
use redeliver_sim::key_file::PrivateKeyFile;
use redeliver_sim::{Flavor, Receiver, Sim, World, keys, seed};

pub async fn run(args: SimArgs) -> Result<Exit, Failure> {
    let fail = |e: anyhow::Error| Failure::internal(e.context("cannot start the simulator"));
    let world = World::new();
    if args.ghes {
        world.set_flavor(Flavor::Ghes);
    }
    let sim = Sim::start_on(world, args.port).await.map_err(|e| {
        // A port already taken is the user's choice to change, not an internal failure.
        let in_use = e
            .chain()
            .any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::AddrInUse));
        if in_use {
            Failure::config(format!(
                "--port {}: 127.0.0.1:{} is already in use; pick another port, or 0 for a free one",
                args.port, args.port
            ))
        } else {
            fail(e)
        }
    })?;
    let receiver = Receiver::start(None).await.map_err(fail)?;
    let s = seed::seed(&sim.world(), &receiver.url(), args.failed, Utc::now(), fastrand::u64(..));
    // In a private directory of its own: a predictable /tmp path could be read or planted.
    let key = PrivateKeyFile::create(keys::TEST_APP_KEY_PKCS1).map_err(|e| fail(e.into()))?;
    let api = if args.ghes { sim.ghes_base_url() } else { sim.base_url() };
    let key_path = key.path().display();
    let state = |name: &str| key.dir().join(name).display().to_string();
    let flavor = if args.ghes { "GitHub Enterprise Server" } else { "github.com (GHES under /api/v3)" };
    let told = output::data(&format!(
        "GitHub simulator ({flavor}) listening at {api}\n\
         {failed} failed events seeded on each hook; webhooks go to {receiver}\n\
         Credentials:\n  \
         App id {app_id}, client id {client_id}, private key {key_path}\n  \
         installation {installation} on {org}\n  \
         user token {token}\n  \
         repository hook {repo_hook} on {owner}/{repo}, organization hook {org_hook} on {org}\n\
         Try, in another shell:\n  \
         redeliver run --api-url {api} --app-id {app_id} --private-key-file {key_path} --pace 0s --state {app_state}\n  \
         TOKEN={token} redeliver run --api-url {api} --repo {owner}/{repo} --hook-id {repo_hook} --pace 0s --state {repo_state}\n  \
         TOKEN={token} redeliver run --api-url {api} --org {org} --hook-id {org_hook} --pace 0s --state {org_state}\n  \
         redeliver check --api-url {api} --app-id {client_id} --private-key-file {key_path}\n\
         Press Ctrl-C to stop.\n",
        failed = args.failed,
        receiver = receiver.url(),
        app_id = s.app_id,
        client_id = s.client_id,
        installation = s.installation_id,
        org = s.org,
        token = s.user_token,
        repo_hook = s.repo_hook,
        owner = s.repo_owner,
        repo = s.repo,
        org_hook = s.org_hook,
        app_state = state("app.db"),
        repo_state = state("repo.db"),
        org_state = state("org.db"),
    ));
    // Serves on whether or not anyone reads what it said.
    if told.is_err() {
        tracing::debug!("stdout is closed; the simulator keeps serving");
    }
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
