//! Call records are written by one task, in batches: every record that arrives while a
//! write is in flight goes into the next transaction. Calls never wait for the database,
//! and SQLite sees one writer instead of hundreds competing for its lock.

use ramal_store::{CallRecord, Store};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The most records in one transaction.
const MAX_BATCH: usize = 512;

/// Hands finished calls to the writer.
#[derive(Debug, Clone)]
pub(crate) struct RecordWriter {
    sender: mpsc::UnboundedSender<CallRecord>,
}

impl RecordWriter {
    /// Starts the writer; it stops once every `RecordWriter` is dropped and the queue is
    /// written.
    pub(crate) fn spawn(store: Store) -> (RecordWriter, JoinHandle<()>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (RecordWriter { sender }, tokio::spawn(run(store, receiver)))
    }

    /// Queues `record` for writing.
    pub(crate) fn submit(&self, record: CallRecord) {
        if let Err(unsent) = self.sender.send(record) {
            tracing::error!(call = %unsent.0.id, "the record writer has stopped; call record lost");
        }
    }
}

async fn run(store: Store, mut receiver: mpsc::UnboundedReceiver<CallRecord>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = receiver.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(record) => batch.push(record),
                Err(_) => break,
            }
        }
        if let Err(error) = store.record_calls(&batch).await {
            // One bad record must not cost the others: write them one by one.
            tracing::warn!(%error, records = batch.len(), "batch write failed; writing records one by one");
            for record in &batch {
                if let Err(error) = store.record_call(record).await {
                    tracing::error!(call = %record.id, %error, "the call record could not be stored");
                }
            }
        }
        batch.clear();
    }
}
