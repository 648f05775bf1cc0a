-- Repository sync (issue 18). Keep table and column names identical to
-- migrations/postgres: core/src/store/schema.rs describes both.
--
-- A source ties a git repository branch to schemas of a namespace. The
-- namespace is kept by name: it may not exist before the first sync.
CREATE TABLE sources (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace       TEXT NOT NULL,
    url             TEXT NOT NULL,
    -- The URL compared by the push webhook: without a trailing `.git` or
    -- `/`, lower case.
    url_key         TEXT NOT NULL,
    branch          TEXT NOT NULL,
    root            TEXT NOT NULL,
    -- 'folders' | 'mapping'
    layout          TEXT NOT NULL,
    -- JSON [{schema, root}] when layout = 'mapping'.
    schemas         TEXT NOT NULL DEFAULT '[]',
    auto_promote    BOOLEAN NOT NULL,
    -- The push webhook's HMAC key. Never returned or logged.
    secret          TEXT,
    -- JSON {name, domain, owner, metadata} of a registered service, or NULL.
    service         TEXT,
    service_domain  TEXT,
    -- JSON [schema]: the schemas the last successful sync published.
    synced_schemas  TEXT NOT NULL DEFAULT '[]',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX sources_url_key ON sources (url_key);

-- Sync jobs live in `jobs` (kind 'sync'): they have no schema version, and
-- their namespace may not exist yet. SQLite cannot drop NOT NULL, so the
-- table is rebuilt (nothing references it).
CREATE TABLE jobs_new (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    -- 'codegen' | 'sync'
    kind             TEXT NOT NULL,
    namespace_id     BIGINT REFERENCES namespaces (id),
    namespace        TEXT NOT NULL,
    schema           TEXT NOT NULL,
    version_id       BIGINT REFERENCES schema_versions (id),
    plugin           TEXT NOT NULL,
    parameter        TEXT NOT NULL DEFAULT '',
    -- 'queued' | 'running' | 'succeeded' | 'failed'
    status           TEXT NOT NULL,
    log              TEXT NOT NULL DEFAULT '',
    artifact_sha256  TEXT REFERENCES blobs (sha256),
    created_at       TIMESTAMP NOT NULL,
    started_at       TIMESTAMP,
    finished_at      TIMESTAMP,
    -- Sync jobs: the source (no foreign key: a removed source keeps its
    -- jobs' history), and as JSON {commit, git_ref, requested_by} the commit
    -- wanted (absent: the branch's head at run time; the synced one once
    -- it ran), the ref and who pushed.
    source_id        BIGINT,
    git              TEXT,
    -- The replica running it and until when (2026-12-05-000003_leases).
    lease_holder     TEXT,
    lease_expires_at TIMESTAMP
);
INSERT INTO jobs_new (id, kind, namespace_id, namespace, schema, version_id, plugin, parameter,
                      status, log, artifact_sha256, created_at, started_at, finished_at,
                      lease_holder, lease_expires_at)
    SELECT id, kind, namespace_id, namespace, schema, version_id, plugin, parameter,
           status, log, artifact_sha256, created_at, started_at, finished_at,
           lease_holder, lease_expires_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_status ON jobs (status, id);
CREATE INDEX jobs_source ON jobs (source_id, id);
