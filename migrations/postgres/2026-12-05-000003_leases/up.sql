-- Several replicas on one database: a unit of background work (an event
-- sink's cursor, a webhook subscription, checkpoints, event retention) is
-- done by the replica holding its lease. A holder renews its leases while
-- it lives; an expired lease may be taken by any replica.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY NOT NULL,
    holder      TEXT NOT NULL,
    expires_at  TIMESTAMP NOT NULL
);
-- A running job belongs to the replica that claimed it until its lease
-- expires; then any replica may claim it again.
ALTER TABLE jobs ADD COLUMN lease_holder TEXT;
ALTER TABLE jobs ADD COLUMN lease_expires_at TIMESTAMP;
