//! Several replicas on one PostgreSQL database: learning of the changes
//! other replicas commit, and renewing this process's leases.
//!
//! Every transaction that writes an event also sends a notification on
//! [`CHANGES_CHANNEL`] (see [`ChangeNotice`](crate::store::ChangeNotice)),
//! delivered by PostgreSQL on commit. One task per process listens on a
//! connection of its own (reconnecting with backoff when the database goes
//! away) and, for a notification from another replica:
//! - wakes this process's event readers (feed, sinks, webhooks) and the
//!   code generation worker, which would otherwise look only on their poll;
//! - reloads the namespace it names through the namespace's actor, when the
//!   revision it announces is newer than the view's (the same `Reload` a
//!   revision conflict sends), or adds a namespace this process does not
//!   know yet.
//!
//! As a fallback (a notification lost while the listener reconnected, or a
//! database that does not deliver them) the same task compares every live
//! namespace's stored revision with its view every `replica_sync`, and
//! right after each (re)connection. SQLite has one process per file: no
//! listener, no periodic look.
//!
//! A second task renews the leases (`store::leases`) every quarter of the
//! lease time, on both backends.

use std::collections::HashSet;
use std::pin::pin;
use std::sync::{Arc, Weak};
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures::StreamExt;

use crate::actor::Reload;
use crate::error::Result;
use crate::ids::NamespaceId;
use crate::load::load_view;
use crate::state::Shared;
use crate::store::{CHANGES_CHANNEL, ChangeNote, replica_id};

use super::Registry;

const MAX_BACKOFF: Duration = Duration::from_secs(5);

impl Registry {
    /// Starts the lease renewal and, on PostgreSQL, the replica listener.
    pub(super) fn start_replica_tasks(&self) {
        let weak = Arc::downgrade(&self.shared);
        actix::spawn(renew_leases(weak.clone()));
        if self.shared.store.is_postgres() {
            actix::spawn(listen(weak, self.create_lock.clone()));
        }
    }
}

async fn renew_leases(weak: Weak<Shared>) {
    let mut failing = false;
    loop {
        let Some(shared) = weak.upgrade() else {
            return;
        };
        let store = shared.store.clone();
        drop(shared);
        let period = store.lease_ttl() / 4;
        match store.renew_leases().await {
            Ok(()) if failing => {
                tracing::info!("lease renewal recovered");
                failing = false;
            }
            Ok(()) => {}
            Err(err) if !failing => {
                tracing::warn!(%err, "cannot renew leases; other replicas take the work over when they expire");
                failing = true;
            }
            Err(_) => {}
        }
        tokio::time::sleep(period).await;
    }
}

async fn listen(weak: Weak<Shared>, create_lock: Arc<tokio::sync::Mutex<()>>) {
    let mut backoff = Duration::from_millis(100);
    let mut failing = false;
    loop {
        let Some(shared) = weak.upgrade() else {
            return;
        };
        let url = shared.store.url().to_owned();
        let interval = shared.replica_sync;
        drop(shared);
        let mut conn = match connect(&url).await {
            Ok(conn) => conn,
            Err(err) => {
                if !failing {
                    tracing::warn!(%err, retry_in_ms = backoff.as_millis() as u64,
                        "replica listener: cannot listen for other replicas' changes; retrying");
                    failing = true;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        if failing {
            tracing::info!("replica listener: listening again");
            failing = false;
        }
        backoff = Duration::from_millis(100);
        // What was committed while nobody listened.
        if check_all(&weak, &create_lock).await.is_err() {
            continue;
        }
        let mut notes = pin!(conn.notifications_stream());
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                note = notes.next() => match note {
                    Some(Ok(note)) => {
                        if on_note(&weak, &create_lock, &note.payload).await.is_err() {
                            break;
                        }
                    }
                    Some(Err(err)) => {
                        tracing::warn!(%err, "replica listener: the connection broke; reconnecting");
                        break;
                    }
                    None => break,
                },
                _ = tick.tick() => {
                    match check_all(&weak, &create_lock).await {
                        Ok(true) => {}
                        Ok(false) => return,
                        Err(err) => {
                            tracing::warn!(%err, "replica listener: revision check failed; reconnecting");
                            break;
                        }
                    }
                }
            }
        }
    }
}

async fn connect(url: &str) -> std::result::Result<AsyncPgConnection, String> {
    use diesel_async::RunQueryDsl;
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .map_err(|e| e.to_string())?;
    diesel::sql_query(format!("LISTEN {CHANGES_CHANNEL}"))
        .execute(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

/// One notification. `Err`: the store failed (reconnect).
async fn on_note(
    weak: &Weak<Shared>,
    create_lock: &tokio::sync::Mutex<()>,
    payload: &str,
) -> Result<()> {
    let Some(note) = ChangeNote::parse(payload) else {
        tracing::debug!(
            payload,
            "replica listener: ignoring a notification it cannot read"
        );
        return Ok(());
    };
    if note.origin == replica_id() {
        // This process's own commit: its actor swapped the view already.
        return Ok(());
    }
    let Some(shared) = weak.upgrade() else {
        return Ok(());
    };
    shared.store.notify_committed();
    shared.codegen_wake.notify_one();
    let Some((row_id, revision)) = note.namespace else {
        return Ok(());
    };
    let known = shared
        .entries()
        .into_iter()
        .find(|(_, entry)| entry.view.load().info.row_id == row_id);
    match known {
        Some((_, entry)) => {
            if entry.view.load().info.revision < revision
                && let Some(actor) = entry.actor()
            {
                actor.do_send(Reload);
            }
            Ok(())
        }
        // A namespace created (or re-created) elsewhere.
        None => {
            drop(shared);
            check_all(weak, create_lock).await.map(|_| ())
        }
    }
}

/// Compares every live namespace's stored revision with this process's
/// view: reloads those behind (or deleted), adds those it lacks. `false`
/// when the registry is gone.
async fn check_all(weak: &Weak<Shared>, create_lock: &tokio::sync::Mutex<()>) -> Result<bool> {
    let Some(shared) = weak.upgrade() else {
        return Ok(false);
    };
    let live = shared.store.live_revisions().await?;
    let mut names = HashSet::with_capacity(live.len());
    for (row_id, name, revision) in live {
        match shared.entry(&name) {
            Some(entry) => {
                let view = entry.view.load();
                if (view.info.row_id != row_id || view.info.revision < revision)
                    && let Some(actor) = entry.actor()
                {
                    actor.do_send(Reload);
                }
            }
            None => add_namespace(&shared, create_lock, &name).await?,
        }
        names.insert(name);
    }
    for (name, entry) in shared.entries() {
        if !names.contains(name.as_str())
            && let Some(actor) = entry.actor()
        {
            // Deleted elsewhere (or created here after the read: the reload
            // finds it and keeps it).
            actor.do_send(Reload);
        }
    }
    Ok(true)
}

async fn add_namespace(
    shared: &Shared,
    create_lock: &tokio::sync::Mutex<()>,
    name: &str,
) -> Result<()> {
    let Ok(id) = NamespaceId::parse(name) else {
        return Ok(());
    };
    let _guard = create_lock.lock().await;
    if shared.entry(name).is_some() {
        return Ok(());
    }
    let Some(row) = shared.store.live_namespace(name).await? else {
        return Ok(());
    };
    let builtins = shared.builtin_files(&id);
    let view = load_view(&shared.store, &row, &builtins).await?;
    shared.insert_entry(view);
    Ok(())
}
