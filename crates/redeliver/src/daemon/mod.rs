//! The watch daemon: the polling loop (`poll`), what it knows (`status`), and the HTTP side
//! that shows it (`http`: the routes; `health`: /healthz; `metrics`: /metrics; `page`: the
//! status page).

pub mod fleet;
pub mod guard;
pub mod health;
pub mod http;
pub mod metrics;
pub mod page;
mod page_fleet;
mod page_replays;
mod poll;
pub mod status;

pub use poll::{Daemon, on_shutdown_signal};
