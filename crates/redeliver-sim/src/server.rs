//! [`Sim`]: the world served over HTTP on `127.0.0.1:0`, at the root and under `/api/v3`.

use crate::api::{self, Api};
use crate::world::World;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long `shutdown` waits for open connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running simulator. Dropping it stops the server (in the background); [`Sim::shutdown`]
/// stops it and waits.
pub struct Sim {
    addr: SocketAddr,
    world: World,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Sim {
    /// Starts a simulator with an empty world.
    pub async fn start() -> anyhow::Result<Sim> {
        Sim::start_with(World::new()).await
    }

    /// Starts a simulator serving `world` (e.g. one prepared before the server starts).
    pub async fn start_with(world: World) -> anyhow::Result<Sim> {
        Sim::start_on(world, 0).await
    }

    /// Starts a simulator serving `world` on `127.0.0.1:port` (0: any free port), e.g. for
    /// `redeliver sim --port`, where a person points the CLI at a port they chose.
    pub async fn start_on(world: World, port: u16) -> anyhow::Result<Sim> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        world.lock().host = addr.to_string();
        let app = api::router(Arc::new(Api {
            world: world.clone(),
            origin: format!("http://{addr}"),
            in_flight: Default::default(),
        }));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                tracing::warn!(%error, "simulator server stopped with an error");
            }
        });
        tracing::debug!(%addr, "simulator listening");
        Ok(Sim { addr, world, stop: Some(stop), task: Some(task) })
    }

    /// The API root, like `https://api.github.com`: `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The same API as GitHub Enterprise Server exposes it: `http://127.0.0.1:PORT/api/v3`.
    pub fn ghes_base_url(&self) -> String {
        format!("http://{}/api/v3", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle to the world this simulator serves.
    pub fn world(&self) -> World {
        self.world.clone()
    }

    /// Stops accepting requests and waits (briefly) for open connections to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
