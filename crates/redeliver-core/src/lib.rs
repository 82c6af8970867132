//! redeliver-core: what a GitHub webhook delivery is, what to do about a failed one
//! (the pure planner), and the thin I/O shell that talks to GitHub and keeps state.
//!
//! [`model`] says what a delivery is and [`parse`] reads a page of them without copying.
//! Decision logic ([`plan`], [`policy`], [`health`]) takes values, including `now`, and does no I/O.
//! Everything that touches the network, the disk or the clock lives in [`github`] and [`state`].

pub mod discover;
pub mod github;
pub mod health;
pub mod model;
pub mod parse;
pub mod plan;
pub mod policy;
pub mod schedule;
pub mod secret;
pub mod state;
pub mod text;
