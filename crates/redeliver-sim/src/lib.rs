//! A stateful simulator of GitHub's webhook-delivery REST API, for tests, benchmarks and `redeliver demo`.
//!
//! The simulator is a model, not a script: a [`World`] holds apps, hooks, deliveries, tokens and
//! Actions variables; requests mutate it the way GitHub documents; faults are injected on demand;
//! every request is recorded (without credentials). [`Sim`] serves that world on `127.0.0.1:0`,
//! both at the root (like `https://api.github.com`) and under `/api/v3` (like GitHub Enterprise
//! Server, with its 7-day retention and 30 s receiver timeout: see [`Flavor`]), and stops when
//! dropped. [`Receiver`] is a webhook endpoint to point hooks at. `docs/simulator.md` lists what is
//! modelled, from which GitHub document, and what is not.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use redeliver_sim::{keys, Receiver, Sim};
//! let sim = Sim::start().await?;
//! let receiver = Receiver::start(Some("s3cret")).await?;
//! let world = sim.world();
//! let hook = world.add_app(42, "Iv1.test", keys::TEST_APP_PUBLIC_KEY, &receiver.url(), Some("s3cret"));
//! world.deliver(hook, "issues", Some("opened"), serde_json::json!({"action": "opened"})).await;
//! // ... point the client at sim.base_url() and sign JWTs with keys::TEST_APP_KEY_PKCS1.
//! # Ok(()) }
//! ```
//!
//! Nothing here ever sends traffic off the machine: webhook POSTs go to loopback addresses only.

mod api;
mod fault;
mod flavor;
pub mod history_gen;
mod hookshot;
mod ids;
pub mod key_file;
pub mod keys;
mod rate_limit;
pub mod raw;
mod receiver;
mod recording;
mod secondary;
pub mod seed;
mod server;
pub mod signature;
mod world;

pub use fault::{Fault, FaultRule};
pub use flavor::Flavor;
pub use receiver::{ReceivedEvent, Receiver, ReceiverMode};
pub use recording::{AuthKind, RecordedRequest};
pub use secondary::SecondaryLimits;
pub use server::Sim;
pub use world::{Credential, DeliveryRecord, HookId, NewAttempt, World};
