//! The `redeliver` binary as users and operators run it, against the simulator: one test binary
//! (one link) for the crate, as ripgrep and just have.

mod archive;
mod direct;
mod golden;
mod habits;
mod harness;
mod healthcheck;
mod hostile_client;
mod never_lose_list;
mod never_lose_state;
mod ops;
mod org_fleet;
mod org_fleet_app;
mod org_fleet_replicas;
mod outage;
mod pipe;
mod postgres;
mod postgres_tls;
mod rough_edges;
mod run;
mod secret_sweep;
mod targets;
mod watch;
