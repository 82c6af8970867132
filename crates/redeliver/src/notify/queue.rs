//! Notifications off the poll loop (`watch`): the loop hands each one to a bounded queue and
//! goes on polling; a single worker sends them in order. When the queue is full (the receiver or
//! the command is slower than events are given up), a notification is dropped with a warning
//! and counted, rather than stalling the redeliveries of every target.

use super::{Note, send};
use crate::config::NotifySettings;
use crate::daemon::status::SharedStatus;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How many notifications may wait for the worker.
pub const CAPACITY: usize = 256;

/// The sending side, held by the poll loop.
pub struct Queue {
    tx: mpsc::Sender<Note>,
    worker: JoinHandle<()>,
    status: SharedStatus,
}

impl Queue {
    /// Starts the worker; drops are counted in `status` (shown in `/metrics`).
    pub fn start(settings: NotifySettings, capacity: usize, status: SharedStatus) -> Queue {
        let (tx, mut rx) = mpsc::channel::<Note>(capacity.max(1));
        let worker = tokio::spawn(async move {
            let client = super::http_client();
            while let Some(note) = rx.recv().await {
                send(&settings, &client, &note).await;
            }
        });
        Queue { tx, worker, status }
    }

    /// Queues `notes` without waiting; what does not fit is dropped and counted.
    pub fn push(&self, notes: Vec<Note>) {
        for note in notes {
            if let Err(mpsc::error::TrySendError::Full(note) | mpsc::error::TrySendError::Closed(note)) =
                self.tx.try_send(note)
            {
                tracing::warn!(guid = %note.guid, "the notification queue is full; this notification is dropped");
                self.status.update(|s| s.notifications_dropped += 1);
            }
        }
    }

    /// Lets the worker finish what is queued for at most `grace`, then stops it (a command still
    /// running is killed with it).
    pub async fn close(self, grace: std::time::Duration) {
        drop(self.tx);
        let mut worker = self.worker;
        if tokio::time::timeout(grace, &mut worker).await.is_err() {
            tracing::warn!("notifications still queued at shutdown were not sent");
            worker.abort();
            let _ = worker.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(i: usize) -> Note {
        Note { guid: format!("g-{i}"), body: b"{}".to_vec(), env: vec![] }
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let status = SharedStatus::default();
        // A command that holds the worker: the queue fills behind it.
        let settings = NotifySettings { url: None, command: Some("sleep 30".into()) };
        let queue = Queue::start(settings, 2, status.clone());
        queue.push((0..10).map(note).collect());
        let dropped = status.snapshot().notifications_dropped;
        // The worker may have taken one off the queue already: 2 or 3 are held, the rest dropped.
        assert!((7..=8).contains(&dropped), "{dropped}");
        queue.close(std::time::Duration::from_millis(100)).await;
    }
}
