DELETE FROM jobs WHERE kind = 'sync';
CREATE TABLE jobs_old (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT NOT NULL,
    namespace_id     BIGINT NOT NULL REFERENCES namespaces (id),
    namespace        TEXT NOT NULL,
    schema           TEXT NOT NULL,
    version_id       BIGINT NOT NULL REFERENCES schema_versions (id),
    plugin           TEXT NOT NULL,
    parameter        TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,
    log              TEXT NOT NULL DEFAULT '',
    artifact_sha256  TEXT REFERENCES blobs (sha256),
    created_at       TIMESTAMP NOT NULL,
    started_at       TIMESTAMP,
    finished_at      TIMESTAMP,
    lease_holder     TEXT,
    lease_expires_at TIMESTAMP
);
INSERT INTO jobs_old SELECT id, kind, namespace_id, namespace, schema, version_id, plugin, parameter,
    status, log, artifact_sha256, created_at, started_at, finished_at,
    lease_holder, lease_expires_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_old RENAME TO jobs;
CREATE INDEX jobs_status ON jobs (status, id);
DROP TABLE sources;
