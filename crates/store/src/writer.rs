//! The background generation writer: requests hand their records over and
//! never wait on the database; records are written in batches and flushed
//! on shutdown.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::{GenerationRecord, Store};

/// Largest batch written in one transaction.
const MAX_BATCH: usize = 512;
/// How long the writer waits for more records before writing a batch.
const GATHER: Duration = Duration::from_millis(20);

/// Where requests drop their records. Cheap to clone.
#[derive(Clone, Debug)]
pub struct GenerationSink {
    tx: mpsc::UnboundedSender<GenerationRecord>,
}

impl GenerationSink {
    /// Hands a record to the writer without waiting. Records are only lost
    /// if the writer has already stopped, which happens after shutdown.
    pub fn record(&self, rec: GenerationRecord) {
        if let Err(e) = self.tx.send(rec) {
            tracing::error!(id = %e.0.id, "generation writer stopped; record dropped");
        }
    }
}

/// The writer task's handle.
#[derive(Debug)]
pub struct GenerationWriter {
    task: JoinHandle<()>,
}

impl GenerationWriter {
    /// Starts the writer. It stops once every sink clone is dropped and the
    /// queue is drained.
    pub fn spawn(store: Store) -> (GenerationSink, GenerationWriter) {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(store, rx));
        (GenerationSink { tx }, GenerationWriter { task })
    }

    /// Waits until every queued record is written (call after dropping the
    /// sinks).
    pub async fn finish(self) {
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "generation writer failed");
        }
    }
}

async fn run(store: Store, mut rx: mpsc::UnboundedReceiver<GenerationRecord>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // Gather for a moment so that light traffic also makes few, larger
        // transactions: one per record would cost more CPU than the request.
        if batch.len() < MAX_BATCH {
            tokio::time::sleep(GATHER).await;
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(rec) => batch.push(rec),
                    Err(_) => break,
                }
            }
        }
        write_with_retry(&store, &batch).await;
        batch.clear();
    }
}

/// A failed write is retried with backoff (the database may be busy or
/// restarting). After several failures the batch is written record by
/// record, so one bad record cannot block the rest; a record that still
/// fails is logged in full so it can be replayed by hand.
async fn write_with_retry(store: &Store, batch: &[GenerationRecord]) {
    let mut delay = Duration::from_millis(50);
    for _ in 0..6 {
        match store.insert_generations(batch).await {
            Ok(()) => return,
            Err(e) => {
                tracing::error!(error = %e, records = batch.len(), "writing generations failed; retrying")
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
    for rec in batch {
        if let Err(e) = store.insert_generations(std::slice::from_ref(rec)).await {
            let json = serde_json::to_string(rec).unwrap_or_default();
            tracing::error!(error = %e, cost_nano = rec.cost.0, record = %json, "generation could not be stored");
        }
    }
}
