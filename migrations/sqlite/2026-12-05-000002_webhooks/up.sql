-- Webhook subscriptions. The secret is stored as it is (deliveries are
-- signed with it); the API shows it only in the answer that created it.
-- last_event_id is the subscription's cursor over the events outbox: every
-- event up to it has a delivery below (or did not match the filters).
CREATE TABLE webhooks (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    url            TEXT NOT NULL,
    -- JSON: ["namespace.promoted", ...] or ["*"]
    events         TEXT NOT NULL,
    -- JSON: ["shop", ...]; [] for every namespace
    namespaces     TEXT NOT NULL,
    secret         TEXT NOT NULL,
    description    TEXT NOT NULL,
    active         BOOLEAN NOT NULL,
    last_event_id  BIGINT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    created_by     TEXT NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);

-- The delivery log: one row per event (or ping, or redelivery) queued for a
-- subscription. Rows in pending or retrying are open; a subscription
-- delivers its open rows one at a time, oldest first.
CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id       BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id         BIGINT NOT NULL,
    kind             TEXT NOT NULL,
    namespace        TEXT NOT NULL,
    payload          TEXT NOT NULL,
    event_created_at TIMESTAMP NOT NULL,
    -- pending | retrying | delivered | failed
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    response_code    INTEGER,
    error            TEXT,
    duration_ms      BIGINT,
    next_attempt_at  TIMESTAMP,
    created_at       TIMESTAMP NOT NULL,
    delivered_at     TIMESTAMP
);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_open ON webhook_deliveries (webhook_id, status, id);
