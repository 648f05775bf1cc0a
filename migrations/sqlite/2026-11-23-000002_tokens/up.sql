-- Bearer tokens. Only the SHA-256 of a secret is stored; the secret is shown
-- once, when the token is created.
CREATE TABLE tokens (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL,
    secret_sha256  TEXT NOT NULL UNIQUE,
    -- JSON: [{"namespace": "billing" | "*", "role": "read" | "write" | "admin"}]
    roles          TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP,
    revoked_at     TIMESTAMP
);
