ALTER TABLE jobs DROP COLUMN lease_expires_at;
ALTER TABLE jobs DROP COLUMN lease_holder;
DROP TABLE leases;
