DROP TABLE events;
DROP TABLE schema_version_deps;
DROP TABLE schema_version_files;
ALTER TABLE schemas DROP CONSTRAINT schemas_current_version_fk, DROP CONSTRAINT schemas_staged_version_fk;
DROP TABLE schema_versions;
DROP TABLE schemas;
DROP TABLE blobs;
DROP TABLE namespaces;
