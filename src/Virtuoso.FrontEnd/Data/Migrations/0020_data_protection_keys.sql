-- Issue 19: the key ring of ASP.NET Core data protection (anti-forgery tokens of the web's forms) lives in the database,
-- so that a form served by one replica is accepted by another behind the balancer (Data/DatabaseKeyRing.cs).
CREATE TABLE data_protection_keys (
    name        TEXT PRIMARY KEY,   -- the key's friendly name (key-<guid>), unique
    xml         TEXT NOT NULL,      -- the key element as data protection writes it
    created_at  BIGINT NOT NULL
);
