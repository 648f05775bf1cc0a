//! The outbox as the event API reads it: the kinds of event, the order
//! lock every event writer takes, filtered pages of events, and retention
//! (pruning old events and the watermark that says how far it went).

use std::future::Future;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::models::EventRow;
use super::schema::{events, events_pruned};
use super::{SqliteConn, Store, StoreError, now};

/// Every kind of event (docs/API.md, Events). `insert_event!` refuses
/// others in debug builds, and `GET /v1/events?kind=` accepts only these.
pub const EVENT_KINDS: &[&str] = &[
    "namespace.created",
    "namespace.updated",
    "namespace.deleted",
    "schema.published",
    "schema.rolled_back",
    "namespace.promoted",
    "staging.discarded",
    "codegen.finished",
    "codegen.pushed",
    "sync.finished",
    "webhook.disabled",
    "token.created",
    "token.revoked",
];

/// The key of the PostgreSQL advisory lock that orders event ids ("protoreg"
/// in ASCII).
const EVENT_ORDER_LOCK: i64 = 0x7072_6f74_6f72_6567;

/// Taken by every writer of the outbox right before it inserts its event,
/// and held to the end of its transaction: ids are then taken and committed
/// in the same order, so once id N is visible every smaller id is visible
/// too (or rolled back), and a reader of `id > cursor` skips nothing.
pub trait EventOrderLock {
    fn lock_event_order(&mut self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl EventOrderLock for SqliteConn {
    /// SQLite writers hold the database's write lock (`BEGIN IMMEDIATE`)
    /// for their whole transaction already.
    async fn lock_event_order(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

impl EventOrderLock for AsyncPgConnection {
    async fn lock_event_order(&mut self) -> Result<(), StoreError> {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(EVENT_ORDER_LOCK)
            .execute(self)
            .await?;
        Ok(())
    }
}

/// The PostgreSQL channel on which every transaction that writes an event
/// announces itself to the other replicas (`registry::sync` listens).
pub const CHANGES_CHANNEL: &str = "protoreg_changes";

/// Sent by every writer of the outbox (`insert_event!`), inside its
/// transaction, so that PostgreSQL delivers it to the listeners on commit
/// (and never for a transaction rolled back). The payload is the writing
/// replica's id, then, for an event of a namespace, the namespace's row id
/// and its revision as this transaction leaves it: `"<replica> <id> <rev>"`
/// or `"<replica>"`. See [`ChangeNote::parse`].
pub trait ChangeNotice {
    fn notify_change(
        &mut self,
        namespace_id: Option<i64>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl ChangeNotice for SqliteConn {
    /// One process per SQLite file: nobody else to tell.
    async fn notify_change(&mut self, _namespace_id: Option<i64>) -> Result<(), StoreError> {
        Ok(())
    }
}

impl ChangeNotice for AsyncPgConnection {
    async fn notify_change(&mut self, namespace_id: Option<i64>) -> Result<(), StoreError> {
        diesel::sql_query(
            "SELECT pg_notify($1, $2 || coalesce((SELECT ' ' || id || ' ' || revision \
             FROM namespaces WHERE id = $3), ''))",
        )
        .bind::<diesel::sql_types::Text, _>(CHANGES_CHANNEL)
        .bind::<diesel::sql_types::Text, _>(super::replica_id())
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::BigInt>, _>(namespace_id)
        .execute(self)
        .await?;
        Ok(())
    }
}

/// A change notification, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeNote {
    /// The replica that committed.
    pub origin: String,
    /// The namespace row and the revision the commit left it at.
    pub namespace: Option<(i64, i64)>,
}

impl ChangeNote {
    pub fn parse(payload: &str) -> Option<ChangeNote> {
        let mut parts = payload.split(' ');
        let origin = parts.next().filter(|o| !o.is_empty())?.to_owned();
        let namespace = match (parts.next(), parts.next()) {
            (Some(id), Some(revision)) => Some((id.parse().ok()?, revision.parse().ok()?)),
            (None, None) => None,
            _ => return None,
        };
        Some(ChangeNote { origin, namespace })
    }
}

/// Which events a page holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventSelection {
    /// Only events of these namespaces (`""`: events of no namespace, such
    /// as token audit events); `None`: any.
    pub namespaces: Option<Vec<String>>,
    /// With `namespaces: None`, leave out events of no namespace.
    pub exclude_global: bool,
    /// Only events of these kinds; `None`: any.
    pub kinds: Option<Vec<String>>,
}

impl Store {
    /// Up to `limit` events with `after < id <= upto` that `selection`
    /// admits, oldest first, and then the retention watermark (the highest
    /// id pruned; read after the events, so that a prune between the two
    /// reads shows as a watermark past `after`, never as a silent gap).
    pub async fn events_page(
        &self,
        after: i64,
        upto: i64,
        selection: &EventSelection,
        limit: i64,
    ) -> Result<(Vec<EventRow>, i64), StoreError> {
        if selection.namespaces.as_ref().is_some_and(Vec::is_empty)
            || selection.kinds.as_ref().is_some_and(Vec::is_empty)
        {
            return Ok((Vec::new(), self.events_watermark().await?));
        }
        with_conn!(self, conn => {
            let mut query = events::table
                .filter(events::id.gt(after).and(events::id.le(upto)))
                .order(events::id)
                .limit(limit)
                .select(EventRow::as_select())
                .into_boxed();
            if let Some(namespaces) = &selection.namespaces {
                query = query.filter(events::namespace.eq_any(namespaces));
            } else if selection.exclude_global {
                query = query.filter(events::namespace.ne(""));
            }
            if let Some(kinds) = &selection.kinds {
                query = query.filter(events::kind.eq_any(kinds));
            }
            let rows = query.load(conn).await?;
            let watermark: Option<i64> = events_pruned::table
                .select(events_pruned::last_event_id)
                .first(conn)
                .await
                .optional()?;
            Ok((rows, watermark.unwrap_or(0)))
        })
    }

    /// The highest event id retention has pruned; 0 when none was.
    pub async fn events_watermark(&self) -> Result<i64, StoreError> {
        with_conn!(self, conn => {
            let watermark: Option<i64> = events_pruned::table
                .select(events_pruned::last_event_id)
                .first(conn)
                .await
                .optional()?;
            Ok(watermark.unwrap_or(0))
        })
    }

    /// Deletes the oldest events, those created before `cutoff` (in id
    /// order: the first event created at or after it stops the prune), in
    /// transactions of at most `batch` events, each also raising the
    /// watermark. Returns the watermark when anything was pruned.
    pub async fn prune_events(
        &self,
        cutoff: NaiveDateTime,
        batch: i64,
    ) -> Result<Option<i64>, StoreError> {
        let mut watermark = None;
        loop {
            let at = now();
            let (pruned_to, more) = transaction!(self, conn => {
                let oldest: Vec<(i64, NaiveDateTime)> = events::table
                    .select((events::id, events::created_at))
                    .order(events::id)
                    .limit(batch)
                    .load(conn)
                    .await?;
                let expired = oldest.iter().take_while(|(_, created)| *created < cutoff).count();
                let Some(&(last, _)) = expired.checked_sub(1).and_then(|i| oldest.get(i)) else {
                    return Ok((None, false));
                };
                diesel::delete(events::table.filter(events::id.le(last)))
                    .execute(conn)
                    .await?;
                let before: Option<i64> = events_pruned::table
                    .select(events_pruned::last_event_id)
                    .first(conn)
                    .await
                    .optional()?;
                let mark = before.unwrap_or(0).max(last);
                diesel::insert_into(events_pruned::table)
                    .values((
                        events_pruned::id.eq(1),
                        events_pruned::last_event_id.eq(mark),
                        events_pruned::pruned_at.eq(at),
                    ))
                    .on_conflict(events_pruned::id)
                    .do_update()
                    .set((
                        events_pruned::last_event_id.eq(mark),
                        events_pruned::pruned_at.eq(at),
                    ))
                    .execute(conn)
                    .await?;
                Ok((Some(mark), expired == oldest.len() && oldest.len() as i64 == batch))
            })?;
            if pruned_to.is_some() {
                watermark = pruned_to;
            }
            if !more {
                return Ok(watermark);
            }
        }
    }
}

#[cfg(test)]
impl Store {
    /// Writes a `namespace.updated` event of `namespace` (no namespace row)
    /// in a transaction that goes on working for `linger` after the insert,
    /// as a mutation with more to do after its event would.
    pub(crate) async fn insert_event_lingering(
        &self,
        namespace: &str,
        linger: std::time::Duration,
    ) -> Result<(), StoreError> {
        let at = now();
        transaction!(self, conn => {
            insert_event!(conn, None, namespace, "namespace.updated",
                serde_json::json!({"namespace": namespace}), at);
            tokio::time::sleep(linger).await;
            Ok(())
        })
    }

    pub(crate) async fn all_event_ids(&self) -> Result<Vec<i64>, StoreError> {
        with_conn!(self, conn => {
            Ok(events::table.select(events::id).order(events::id).load(conn).await?)
        })
    }
}
