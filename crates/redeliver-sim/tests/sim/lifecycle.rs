//! The servers bind loopback ports of their own and stop when dropped or shut down.

use crate::support::http;
use redeliver_sim::{Receiver, Sim};
use std::time::Duration;

/// Whether anything still accepts connections at `addr`, asked a bounded number of times.
async fn stops_listening(addr: std::net::SocketAddr) -> bool {
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn servers_listen_on_loopback_and_stop_on_drop_or_shutdown() {
    let sim = Sim::start().await.unwrap();
    let other = Sim::start().await.unwrap();
    let receiver = Receiver::start(None).await.unwrap();
    assert!(sim.base_url().starts_with("http://127.0.0.1:"));
    assert_eq!(sim.ghes_base_url(), format!("{}/api/v3", sim.base_url()));
    assert!(receiver.url().starts_with("http://127.0.0.1:") && receiver.url().ends_with("/webhook"));
    assert_ne!(sim.addr(), other.addr());
    let unknown = http().get(format!("{}/nope", sim.base_url())).send().await.unwrap();
    assert_eq!(unknown.status(), 404);

    let (sim_addr, other_addr, receiver_addr) = (sim.addr(), other.addr(), receiver.addr());
    drop(sim);
    drop(receiver);
    other.shutdown().await;
    assert!(stops_listening(sim_addr).await);
    assert!(stops_listening(receiver_addr).await);
    assert!(stops_listening(other_addr).await);
}
