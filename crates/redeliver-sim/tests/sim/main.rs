//! Scenario tests: the simulator driven over HTTP, as the redeliver client will drive it.

mod auth;
mod budgets;
mod conditional;
mod conformance;
mod docs_script;
mod faults;
mod flavor;
mod installations;
mod lifecycle;
mod listing;
mod org_listings;
mod paging_faults;
mod recording;
mod redelivery;
mod secondary_limits;
mod seeding;
mod support;
mod time_scale;
mod variables;
