-- Issue 20: log-in failures counted in the database, so that N replicas do not allow N times the guesses
-- (Core/Accounts/LoginBackoff.cs decides from these rows), usernames unique whatever their case, and the address an
-- account was signed up from (sign-ups are limited per address and hour).
CREATE TABLE login_failures (
    id            {serial},
    username_key  TEXT NOT NULL,   -- the username as typed, lower-cased (it may name no account)
    address       TEXT NOT NULL,   -- the client's address
    at            BIGINT NOT NULL
);
CREATE INDEX login_failures_account ON login_failures (username_key, address, at);
CREATE INDEX login_failures_address ON login_failures (address, at);
CREATE INDEX login_failures_at ON login_failures (at);
CREATE UNIQUE INDEX accounts_username_folded ON accounts (lower(username));
ALTER TABLE accounts ADD COLUMN signup_address TEXT NULL;
CREATE INDEX accounts_signup_address ON accounts (signup_address, created_at);
