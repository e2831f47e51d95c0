-- Issue 19 point 2: a host's agent joins with a one-time token. Adding a host without an agent secret makes a join token
-- ("vj_" and 256 random bits, shown once in the install command); only its SHA-256 is kept here. The install script on the
-- host presents it once, with the secret the host made for itself: the join stores that secret and clears both columns,
-- in one conditional UPDATE, so a token works once even with replicas racing. A new token replaces the old one.
ALTER TABLE hosts ADD COLUMN join_token_hash TEXT NULL;
ALTER TABLE hosts ADD COLUMN join_expires_at BIGINT NULL;
CREATE UNIQUE INDEX hosts_join_token ON hosts (join_token_hash);
