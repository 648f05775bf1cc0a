-- A cache of each namespace's restore state: the current and staged
-- versions its view held at `revision`, encoded once (see
-- core/src/checkpoint.rs), so that a restart reads one row per namespace
-- instead of every version's descriptor set. Versions are immutable, so an
-- entry stays valid for as long as a schema points at its version; restore
-- checks every pointer against `schemas` and reads what the checkpoint
-- lacks the usual way. Rewritten in the background after changes.
CREATE TABLE restore_checkpoints (
    namespace_id  BIGINT PRIMARY KEY NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
    revision      BIGINT NOT NULL,
    format        INTEGER NOT NULL,
    data          BYTEA NOT NULL,
    written_at    TIMESTAMP NOT NULL
);
