DROP TABLE events;
DROP TABLE schema_version_deps;
DROP TABLE schema_version_files;
DROP TABLE schemas;
DROP TABLE schema_versions;
DROP TABLE blobs;
DROP TABLE namespaces;
