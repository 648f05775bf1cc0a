//! The `events` outbox (every mutation writes its event with
//! `insert_event!`) and the plugin sinks' delivery cursors.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::models::*;
use super::schema::{events, sink_cursors};
use super::{Store, StoreError, now};

impl Store {
    /// Up to `limit` events after `after_id`, oldest first.
    pub async fn events_after(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(events::table
                .filter(events::id.gt(after_id))
                .order(events::id)
                .limit(limit)
                .select(EventRow::as_select())
                .load(conn)
                .await?)
        })
    }

    /// The id of the newest event, 0 when there is none.
    pub async fn last_event_id(&self) -> Result<i64, StoreError> {
        with_conn!(self, conn => {
            let id: Option<i64> = events::table
                .select(diesel::dsl::max(events::id))
                .first(conn)
                .await?;
            Ok(id.unwrap_or(0))
        })
    }

    /// Where a sink has got to, if it has a cursor.
    pub async fn sink_cursor(&self, sink: &str) -> Result<Option<i64>, StoreError> {
        with_conn!(self, conn => {
            Ok(sink_cursors::table
                .filter(sink_cursors::sink.eq(sink))
                .select(sink_cursors::last_event_id)
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// Records that a sink has every event up to `last_event_id`.
    pub async fn set_sink_cursor(&self, sink: &str, last_event_id: i64) -> Result<(), StoreError> {
        let now = now();
        with_conn!(self, conn => {
            diesel::insert_into(sink_cursors::table)
                .values((
                    sink_cursors::sink.eq(sink),
                    sink_cursors::last_event_id.eq(last_event_id),
                    sink_cursors::updated_at.eq(now),
                ))
                .on_conflict(sink_cursors::sink)
                .do_update()
                .set((
                    sink_cursors::last_event_id.eq(last_event_id),
                    sink_cursors::updated_at.eq(now),
                ))
                .execute(conn)
                .await?;
            Ok(())
        })
    }
}

#[cfg(test)]
impl Store {
    pub async fn events_of(&self, namespace_id: i64) -> Result<Vec<EventRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(events::table
                .filter(events::namespace_id.eq(namespace_id))
                .order(events::id)
                .select(EventRow::as_select())
                .load(conn)
                .await?)
        })
    }

    pub(crate) async fn event_count_for_tests(&self) -> Result<i64, StoreError> {
        with_conn!(self, conn => {
            Ok(events::table.count().get_result(conn).await?)
        })
    }
}
