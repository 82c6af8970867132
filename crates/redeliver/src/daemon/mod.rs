//! The watch daemon: the polling loop (`poll`), what it knows (`status`), and the HTTP side
//! that shows it (`http`: the routes; `health`: /healthz; `metrics`: /metrics; `page`: the
//! status page).

mod fleet;
mod fleet_lease;
pub mod fleet_status;
pub mod guard;
pub mod health;
pub mod http;
pub mod metrics;
pub mod page;
mod page_replays;
mod page_replicas;
mod poll;
pub mod replicas;
pub mod status;

pub use fleet::Fleet;
pub use poll::{Daemon, on_shutdown_signal};
