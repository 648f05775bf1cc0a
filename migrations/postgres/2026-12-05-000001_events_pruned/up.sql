-- Retention (events.retention_days) deletes the oldest events. This one row
-- keeps the highest event id deleted so far: a reader asking for the events
-- after an id below it may have missed some, and is told so (`truncated`).
CREATE TABLE events_pruned (
    id             INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    last_event_id  BIGINT NOT NULL,
    pruned_at      TIMESTAMP NOT NULL
);
