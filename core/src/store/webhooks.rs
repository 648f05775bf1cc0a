//! Webhook subscriptions, their cursors over the events outbox, and the
//! delivery log. A subscription's open deliveries (`pending`, `retrying`)
//! are delivered one at a time, oldest first; the next event is queued only
//! when none is open, so events reach a subscription in id order.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::models::*;
use super::schema::{events, webhook_deliveries, webhooks};
use super::{Store, StoreError, now};

/// Delivery states.
pub const PENDING: &str = "pending";
pub const RETRYING: &str = "retrying";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";

/// Which events a subscription wants.
pub trait EventFilter {
    fn wants(&self, event: &EventRow) -> bool;
}

impl Store {
    /// Stores a subscription whose cursor starts at the newest event: it
    /// receives what happens from now on.
    pub async fn create_webhook(&self, new: NewWebhook<'_>) -> Result<WebhookRow, StoreError> {
        transaction!(self, conn => {
            let last: Option<i64> = events::table
                .select(diesel::dsl::max(events::id))
                .first(conn)
                .await?;
            let row: WebhookRow = diesel::insert_into(webhooks::table)
                .values(&NewWebhook { last_event_id: last.unwrap_or(0), ..new })
                .returning(WebhookRow::as_returning())
                .get_result(conn)
                .await?;
            Ok(row)
        })
    }

    pub async fn webhooks(&self) -> Result<Vec<WebhookRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(webhooks::table
                .order(webhooks::id)
                .select(WebhookRow::as_select())
                .load(conn)
                .await?)
        })
    }

    pub async fn webhook(&self, id: i64) -> Result<Option<WebhookRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(webhooks::table
                .find(id)
                .select(WebhookRow::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// Ids of the active subscriptions.
    pub async fn active_webhook_ids(&self) -> Result<Vec<i64>, StoreError> {
        with_conn!(self, conn => {
            Ok(webhooks::table
                .filter(webhooks::active.eq(true))
                .order(webhooks::id)
                .select(webhooks::id)
                .load(conn)
                .await?)
        })
    }

    /// Applies `changes`; `None` when there is no such subscription.
    pub async fn update_webhook(
        &self,
        id: i64,
        changes: WebhookChanges,
    ) -> Result<Option<WebhookRow>, StoreError> {
        let at = now();
        transaction!(self, conn => {
            let updated = diesel::update(webhooks::table.find(id))
                .set((&changes, webhooks::updated_at.eq(at)))
                .returning(WebhookRow::as_returning())
                .get_result(conn)
                .await
                .optional()?;
            Ok(updated)
        })
    }

    /// Removes a subscription and its delivery log; `false` when missing.
    pub async fn delete_webhook(&self, id: i64) -> Result<bool, StoreError> {
        transaction!(self, conn => {
            diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::webhook_id.eq(id)))
                .execute(conn)
                .await?;
            let deleted = diesel::delete(webhooks::table.find(id)).execute(conn).await?;
            Ok(deleted == 1)
        })
    }

    /// The oldest open delivery of a subscription (pings excluded: they are
    /// attempted once, when asked for).
    pub async fn open_delivery(&self, webhook_id: i64) -> Result<Option<DeliveryRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(webhook_deliveries::table
                .filter(
                    webhook_deliveries::webhook_id
                        .eq(webhook_id)
                        .and(webhook_deliveries::status.eq_any([PENDING, RETRYING]))
                        .and(webhook_deliveries::event_id.ne(0)),
                )
                .order(webhook_deliveries::id)
                .select(DeliveryRow::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// Moves the subscription's cursor over up to `batch` events, queueing
    /// a delivery for each one `filter` wants (in id order, so delivery
    /// ids follow event ids). Returns whether the cursor moved. One
    /// transaction, so the cursor and the queued deliveries are durable
    /// together.
    pub async fn queue_next_events(
        &self,
        webhook_id: i64,
        filter: &(dyn EventFilter + Sync),
        batch: i64,
    ) -> Result<bool, StoreError> {
        let at = now();
        transaction!(self, conn => {
            let cursor: Option<i64> = webhooks::table
                .find(webhook_id)
                .filter(webhooks::active.eq(true))
                .select(webhooks::last_event_id)
                .first(conn)
                .await
                .optional()?;
            let Some(cursor) = cursor else { return Ok(false) };
            let rows: Vec<EventRow> = events::table
                .filter(events::id.gt(cursor))
                .order(events::id)
                .limit(batch)
                .select(EventRow::as_select())
                .load(conn)
                .await?;
            let Some(last) = rows.last().map(|r| r.id) else { return Ok(false) };
            let queued: Vec<NewDelivery<'_>> = rows
                .iter()
                .filter(|row| filter.wants(row))
                .map(|event| NewDelivery {
                    webhook_id,
                    event_id: event.id,
                    kind: &event.kind,
                    namespace: &event.namespace,
                    payload: &event.payload,
                    event_created_at: event.created_at,
                    status: PENDING,
                    attempts: 0,
                    next_attempt_at: Some(at),
                    created_at: at,
                })
                .collect();
            // One statement per row: SQLite assigns ids in insert order.
            for delivery in &queued {
                diesel::insert_into(webhook_deliveries::table)
                    .values(delivery)
                    .execute(conn)
                    .await?;
            }
            diesel::update(webhooks::table.find(webhook_id))
                .set(webhooks::last_event_id.eq(last))
                .execute(conn)
                .await?;
            Ok(true)
        })
    }

    /// Writes the outcome of an attempt.
    pub async fn record_attempt(
        &self,
        delivery_id: i64,
        attempt: &DeliveryAttempt,
    ) -> Result<(), StoreError> {
        with_conn!(self, conn => {
            diesel::update(webhook_deliveries::table.find(delivery_id))
                .set(attempt)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// The receiver said the subscription is gone (410): records the
    /// attempt, deactivates the subscription and writes `webhook.disabled`,
    /// in one transaction. `false` when it was inactive already.
    pub async fn disable_webhook_gone(
        &self,
        webhook_id: i64,
        delivery_id: i64,
        attempt: &DeliveryAttempt,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let at = now();
        transaction!(self, conn => {
            diesel::update(webhook_deliveries::table.find(delivery_id))
                .set(attempt)
                .execute(conn)
                .await?;
            let url: Option<String> = diesel::update(
                webhooks::table.find(webhook_id).filter(webhooks::active.eq(true)),
            )
            .set((webhooks::active.eq(false), webhooks::updated_at.eq(at)))
            .returning(webhooks::url)
            .get_result(conn)
            .await
            .optional()?;
            let Some(url) = url else { return Ok(false) };
            insert_event!(conn, None, "", "webhook.disabled",
                serde_json::json!({"webhook": webhook_id, "url": url, "reason": reason, "delivery": delivery_id}), at);
            Ok(true)
        })
    }

    /// A subscription's deliveries, newest first: up to `limit` with an id
    /// below `before` (when given).
    pub async fn deliveries(
        &self,
        webhook_id: i64,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        with_conn!(self, conn => {
            let mut query = webhook_deliveries::table
                .filter(webhook_deliveries::webhook_id.eq(webhook_id))
                .into_boxed();
            if let Some(before) = before {
                query = query.filter(webhook_deliveries::id.lt(before));
            }
            Ok(query
                .order(webhook_deliveries::id.desc())
                .limit(limit)
                .select(DeliveryRow::as_select())
                .load(conn)
                .await?)
        })
    }

    pub async fn delivery(
        &self,
        webhook_id: i64,
        id: i64,
    ) -> Result<Option<DeliveryRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(webhook_deliveries::table
                .filter(webhook_deliveries::webhook_id.eq(webhook_id).and(webhook_deliveries::id.eq(id)))
                .select(DeliveryRow::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// Queues the event of `delivery` again (a new delivery row, after the
    /// open ones). Pings are queued as pings.
    pub async fn requeue_delivery(
        &self,
        delivery: &DeliveryRow,
    ) -> Result<DeliveryRow, StoreError> {
        let at = now();
        transaction!(self, conn => {
            Ok(diesel::insert_into(webhook_deliveries::table)
                .values(&NewDelivery {
                    webhook_id: delivery.webhook_id,
                    event_id: delivery.event_id,
                    kind: &delivery.kind,
                    namespace: &delivery.namespace,
                    payload: &delivery.payload,
                    event_created_at: delivery.event_created_at,
                    status: PENDING,
                    attempts: 0,
                    next_attempt_at: Some(at),
                    created_at: at,
                })
                .returning(DeliveryRow::as_returning())
                .get_result(conn)
                .await?)
        })
    }

    /// A ping's delivery row (event id 0), to be attempted at once.
    pub async fn insert_ping(
        &self,
        webhook_id: i64,
        payload: &str,
        at: NaiveDateTime,
    ) -> Result<DeliveryRow, StoreError> {
        with_conn!(self, conn => {
            Ok(diesel::insert_into(webhook_deliveries::table)
                .values(&NewDelivery {
                    webhook_id,
                    event_id: 0,
                    kind: "ping",
                    namespace: "",
                    payload,
                    event_created_at: at,
                    status: PENDING,
                    attempts: 0,
                    next_attempt_at: None,
                    created_at: at,
                })
                .returning(DeliveryRow::as_returning())
                .get_result(conn)
                .await?)
        })
    }

    /// How many of the subscription's deliveries are in each state.
    pub async fn delivery_count(&self, webhook_id: i64, status: &str) -> Result<i64, StoreError> {
        with_conn!(self, conn => {
            Ok(webhook_deliveries::table
                .filter(webhook_deliveries::webhook_id.eq(webhook_id).and(webhook_deliveries::status.eq(status)))
                .count()
                .get_result(conn)
                .await?)
        })
    }
}
