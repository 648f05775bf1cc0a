-- Restore reads each version's own files, not its whole served set.
-- own_sha256: blob key of a FileDescriptorSet holding only the version's own
-- files (byte for byte as served, in served order). served_layout: JSON array,
-- one [path, origin] per file of the served set in order; origin 0 = this
-- version's own files, a version id = that version's own files, null = the
-- well-known type bundled with the server. Both NULL for versions stored
-- before this migration (restore then reads descriptor_sha256, the served
-- set, as before). No foreign key on own_sha256, so that down.sql can drop
-- the column on SQLite too; publish writes the blob in the same transaction.
ALTER TABLE schema_versions ADD COLUMN own_sha256 TEXT;
ALTER TABLE schema_versions ADD COLUMN served_layout TEXT;
