//! The `redeliver` binary as users and operators run it, against the simulator: one test binary
//! (one link) for the crate, as ripgrep and just have.

mod golden;
mod harness;
mod hostile_client;
mod run;
mod targets;
mod watch;
