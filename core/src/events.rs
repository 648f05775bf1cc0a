//! Event delivery to plugin sinks: each sink reads the `events` outbox in
//! order from its own cursor (`sink_cursors`), so delivery survives
//! restarts and is at least once. A sink that fails is retried with
//! backoff; it never holds up the registry or other sinks.
//!
//! A sink seen for the first time starts at the newest event: it receives
//! what happens from then on, not the whole history. A caught-up sink waits
//! for the next commit ([`Store::committed`]: of this process, or of
//! another replica, announced by PostgreSQL), and looks anyway every
//! second. With several replicas, a sink is delivered to by the holder of
//! its lease (`sink:<plugin>/<sink>`) only.

use std::time::Duration;

use protoreg_plugin_sdk::Event;

use crate::plugin::Sink;
use crate::store::{EventRow, Store, StoreError};

/// The first retry after a failure.
const POLL: Duration = Duration::from_millis(200);
/// How long a caught-up sink waits for a commit of this process before it
/// looks anyway (for events other replicas wrote).
const IDLE: Duration = Duration::from_secs(1);
/// Events read per batch.
const BATCH: i64 = 100;
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Starts one delivery task per sink on the current runtime.
pub fn start(store: Store, sinks: Vec<Sink>) {
    for sink in sinks {
        let store = store.clone();
        actix::spawn(async move { deliver_forever(store, sink).await });
    }
}

async fn deliver_forever(store: Store, sink: Sink) {
    let key = sink.key();
    let lease = format!("sink:{key}");
    let mut backoff = POLL;
    // Warn when a sink starts failing and when it recovers, not on every
    // retry of the same failure (an unconfigured sink fails for good).
    let mut failing = false;
    loop {
        // Registered before reading, so a commit between the read and the
        // wait is not missed.
        let committed = store.committed().notified();
        tokio::pin!(committed);
        committed.as_mut().enable();
        // One replica delivers to a sink at a time: the holder of its lease.
        match store.hold_lease(&lease).await {
            Ok(true) => {}
            Ok(false) => {
                tokio::time::sleep(IDLE.min(store.lease_ttl() / 4)).await;
                continue;
            }
            Err(err) => {
                tracing::debug!(sink = %key, %err, "cannot take the sink's lease; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        }
        match deliver_batch(&store, &sink, &key).await {
            Ok(delivered) => {
                if failing {
                    tracing::info!(sink = %key, "event delivery recovered");
                    failing = false;
                }
                backoff = POLL;
                if delivered == 0 {
                    let _ = tokio::time::timeout(IDLE, committed).await;
                }
            }
            Err(reason) => {
                if failing {
                    tracing::debug!(sink = %key, %reason, retry_in_ms = backoff.as_millis() as u64,
                        "event delivery still failing");
                } else {
                    tracing::warn!(sink = %key, %reason, retry_in_ms = backoff.as_millis() as u64,
                        "event delivery failed; retrying with backoff");
                    failing = true;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Delivers the next batch; returns how many events were delivered.
async fn deliver_batch(store: &Store, sink: &Sink, key: &str) -> Result<usize, String> {
    let cursor = match store.sink_cursor(key).await.map_err(store_error)? {
        Some(cursor) => cursor,
        None => {
            let start = store.last_event_id().await.map_err(store_error)?;
            store
                .set_sink_cursor(key, start)
                .await
                .map_err(store_error)?;
            start
        }
    };
    let rows = store
        .events_after(cursor, BATCH)
        .await
        .map_err(store_error)?;
    let mut delivered = 0;
    for row in rows {
        let id = row.id;
        let event = to_event(row);
        let target = sink.clone();
        tokio::task::spawn_blocking(move || target.deliver(&event))
            .await
            .map_err(|e| format!("delivery task: {e}"))?
            .map_err(|e| format!("event {id}: {e}"))?;
        store.set_sink_cursor(key, id).await.map_err(store_error)?;
        delivered += 1;
    }
    Ok(delivered)
}

fn store_error(e: StoreError) -> String {
    e.to_string()
}

pub(crate) fn to_event(row: EventRow) -> Event {
    Event {
        id: row.id,
        kind: row.kind,
        namespace: row.namespace,
        payload_json: row.payload,
        created_at: row
            .created_at
            .and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        sink: String::new(),
        destination: None,
    }
}
