//! Delivering an event straight to its receiver, as GitHub would have, instead of asking GitHub
//! to: `redeliver replay` ([`send`]), and `watch`'s direct delivery per target ([`owed`]: events
//! past GitHub's horizon with `replay_past_horizon`, and every event in pull mode, `deliver_to`).

pub mod owed;
pub mod send;
