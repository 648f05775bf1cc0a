-- Where each event sink (a plugin's sink, "plugin/sink") has got to in the
-- events outbox: every event with an id up to last_event_id was delivered.
CREATE TABLE sink_cursors (
    sink           TEXT PRIMARY KEY NOT NULL,
    last_event_id  BIGINT NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
