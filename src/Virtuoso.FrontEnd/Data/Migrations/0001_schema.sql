-- Virtuoso schema, version 1. Portable between SQLite and PostgreSQL: money is stored as invariant decimal
-- TEXT and computed in C# (decimal), never in SQL, so no floating point ever touches it. Times are unix
-- milliseconds. {serial} is the dialect's auto-increment key.

CREATE TABLE accounts (
    username      TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    type          TEXT NOT NULL,          -- buyer | provider | operator
    balance       TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,         -- SHA-256 of the bearer token; the token itself is never stored
    username    TEXT NOT NULL REFERENCES accounts(username),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE configurations (
    name             TEXT PRIMARY KEY,
    processor        TEXT NOT NULL,
    speed            BIGINT NOT NULL,
    os               TEXT NOT NULL,
    memory           BIGINT NOT NULL,
    disk             BIGINT NOT NULL,
    image            TEXT NULL,           -- installed OS image of a preconfigured machine; NULL = blank
    min_memory       BIGINT NULL,
    min_disk         BIGINT NULL,
    est_storage_rate TEXT NULL,           -- market mean, $/month (§6.1.9); stale when no host has room
    est_running_rate TEXT NULL,           -- market mean, $/hour
    sort             INTEGER NOT NULL
);

CREATE TABLE hosts (
    name           TEXT PRIMARY KEY,
    owner          TEXT NOT NULL REFERENCES accounts(username),
    address        TEXT NOT NULL,
    port           INTEGER NOT NULL,
    processor      TEXT NOT NULL,
    speed          BIGINT NOT NULL,
    speed_unit     BIGINT NOT NULL,
    speed_price    TEXT NOT NULL,
    memory         BIGINT NOT NULL,
    memory_unit    BIGINT NOT NULL,
    memory_price   TEXT NOT NULL,
    running_period BIGINT NOT NULL,
    storage        BIGINT NOT NULL,
    storage_unit   BIGINT NOT NULL,
    storage_price  TEXT NOT NULL,
    storage_period BIGINT NOT NULL,
    connect_speed  TEXT NOT NULL,
    secret         TEXT NOT NULL,         -- the agent's control secret; the front-end must present it
    last_seen      BIGINT NULL,           -- last successful health check (host monitor)
    created_at     BIGINT NOT NULL
);

CREATE TABLE machines (
    id                      TEXT PRIMARY KEY,   -- 128-bit global id (§6.1.5)
    owner                   TEXT NOT NULL REFERENCES accounts(username),
    name                    TEXT NOT NULL,
    processor               TEXT NOT NULL,
    speed                   BIGINT NOT NULL,
    memory                  BIGINT NOT NULL,
    disk                    BIGINT NOT NULL,
    os                      TEXT NOT NULL,
    image                   TEXT NULL,
    mac                     TEXT NOT NULL,
    state                   TEXT NOT NULL,
    version                 BIGINT NOT NULL,
    host                    TEXT NULL REFERENCES hosts(name),
    storage_bid             TEXT NOT NULL,
    running_bid             TEXT NOT NULL,
    storage_price           TEXT NULL,          -- fixed at arrival on a host (§5.2.3: never retroactive)
    storage_period_days     BIGINT NULL,
    running_price           TEXT NULL,
    running_period_seconds  BIGINT NULL,
    stay                    BIGINT NOT NULL,    -- arrivals on a host so far; numbers the charge keys
    arrived_at              BIGINT NULL,
    storage_periods_charged BIGINT NOT NULL,
    running_periods_charged BIGINT NOT NULL,
    running_seconds_used    TEXT NOT NULL,
    running_since           BIGINT NULL,
    created_at              BIGINT NOT NULL
);
CREATE INDEX machines_owner ON machines(owner);
CREATE INDEX machines_host ON machines(host);

CREATE TABLE transfers (
    id           {serial},
    key          TEXT NOT NULL UNIQUE,  -- idempotency: a duplicate key means "already done" (design §4)
    kind         TEXT NOT NULL,
    amount       TEXT NOT NULL,
    from_account TEXT NOT NULL REFERENCES accounts(username),
    to_account   TEXT NOT NULL REFERENCES accounts(username),
    machine      TEXT NULL,
    host         TEXT NULL,
    at           BIGINT NOT NULL
);
CREATE INDEX transfers_machine ON transfers(machine);

CREATE TABLE events (
    seq      {serial},
    at       BIGINT NOT NULL,
    origin   TEXT NOT NULL,
    kind     TEXT NOT NULL,
    machine  TEXT NULL,
    account  TEXT NULL,
    message  TEXT NOT NULL
);
CREATE INDEX events_machine ON events(machine);
CREATE INDEX events_account ON events(account);
