-- protoreg schema, SQLite flavour. Keep table and column names identical to
-- migrations/postgres: core/src/store/schema.rs describes both.
CREATE TABLE namespaces (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    metadata    TEXT NOT NULL DEFAULT '{}',
    settings    TEXT NOT NULL DEFAULT '{}',
    revision    BIGINT NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    deleted_at  TIMESTAMP
);
-- A soft-deleted namespace keeps its rows; its name can be created again.
CREATE UNIQUE INDEX namespaces_live_name ON namespaces (name) WHERE deleted_at IS NULL;

CREATE TABLE blobs (
    sha256      TEXT PRIMARY KEY NOT NULL,
    size        BIGINT NOT NULL,
    data        BLOB NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE schemas (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace_id        BIGINT NOT NULL REFERENCES namespaces (id),
    name                TEXT NOT NULL,
    current_version_id  BIGINT REFERENCES schema_versions (id),
    staged_version_id   BIGINT REFERENCES schema_versions (id),
    -- The staged version was staged by a forced rollback: promote does not
    -- hold its compatibility findings against it.
    staged_forced       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    UNIQUE (namespace_id, name)
);

CREATE TABLE schema_versions (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    schema_id          BIGINT NOT NULL REFERENCES schemas (id),
    version            INTEGER NOT NULL,
    fingerprint        TEXT NOT NULL,
    descriptor_sha256  TEXT NOT NULL REFERENCES blobs (sha256),
    created_by         TEXT NOT NULL DEFAULT '',
    metadata           TEXT NOT NULL DEFAULT '{}',
    created_at         TIMESTAMP NOT NULL,
    promoted_at        TIMESTAMP,
    UNIQUE (schema_id, version)
);

CREATE TABLE schema_version_files (
    version_id     BIGINT NOT NULL REFERENCES schema_versions (id),
    path           TEXT NOT NULL,
    source_sha256  TEXT NOT NULL REFERENCES blobs (sha256),
    PRIMARY KEY (version_id, path)
);

CREATE TABLE schema_version_deps (
    version_id      BIGINT NOT NULL REFERENCES schema_versions (id),
    file_path       TEXT NOT NULL,
    import_path     TEXT NOT NULL,
    -- NULL when the import is a well-known type bundled with the compiler.
    dep_version_id  BIGINT REFERENCES schema_versions (id),
    PRIMARY KEY (version_id, file_path, import_path)
);

CREATE TABLE events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace_id  BIGINT REFERENCES namespaces (id),
    namespace     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX events_namespace ON events (namespace_id, id);
