-- Issue 20 point 2: API keys for automation. A key is "vk_" and 256 random bits; only its SHA-256 is stored (as the
-- sessions' tokens are), and a call is authenticated by looking that hash up, never by comparing secrets. Revoking a key
-- deletes its row, and so does deleting its account. An expired key stays listed (and refused) until revoked.
CREATE TABLE api_keys (
    id            {serial},
    owner         TEXT NOT NULL REFERENCES accounts(username) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    scope         TEXT NOT NULL,          -- read | write
    key_hash      TEXT NOT NULL UNIQUE,   -- SHA-256 (hex) of the whole key; the key itself is never stored
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NULL,            -- NULL: never expires
    last_used_at  BIGINT NULL,            -- the last call it authenticated, to the minute; NULL: never used
    UNIQUE (owner, name)
);
