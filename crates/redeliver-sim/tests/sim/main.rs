//! Scenario tests: the simulator driven over HTTP, as the redeliver client will drive it.

mod auth;
mod faults;
mod installations;
mod lifecycle;
mod listing;
mod recording;
mod redelivery;
mod support;
mod variables;
