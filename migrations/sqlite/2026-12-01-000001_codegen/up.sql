-- Code generation on promote. Keep table and column names identical to
-- migrations/postgres: core/src/store/schema.rs describes both.
--
-- One job per promoted schema version and codegen target, written in the
-- promote's own transaction (or by an on-demand generation).
CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    -- 'codegen' (repository syncs will add their own kind).
    kind             TEXT NOT NULL,
    namespace_id     BIGINT NOT NULL REFERENCES namespaces (id),
    namespace        TEXT NOT NULL,
    schema           TEXT NOT NULL,
    version_id       BIGINT NOT NULL REFERENCES schema_versions (id),
    plugin           TEXT NOT NULL,
    parameter        TEXT NOT NULL DEFAULT '',
    -- 'queued' | 'running' | 'succeeded' | 'failed'
    status           TEXT NOT NULL,
    log              TEXT NOT NULL DEFAULT '',
    artifact_sha256  TEXT REFERENCES blobs (sha256),
    created_at       TIMESTAMP NOT NULL,
    started_at       TIMESTAMP,
    finished_at      TIMESTAMP
);
CREATE INDEX jobs_status ON jobs (status, id);

-- Generated code, one gzip tar per (version, generator, parameter), stored
-- content-addressed in blobs.
CREATE TABLE artifacts (
    version_id   BIGINT NOT NULL REFERENCES schema_versions (id),
    plugin       TEXT NOT NULL,
    parameter    TEXT NOT NULL,
    blob_sha256  TEXT NOT NULL REFERENCES blobs (sha256),
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (version_id, plugin, parameter)
);
