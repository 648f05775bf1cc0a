ALTER TABLE schema_versions DROP COLUMN served_layout;
ALTER TABLE schema_versions DROP COLUMN own_sha256;
