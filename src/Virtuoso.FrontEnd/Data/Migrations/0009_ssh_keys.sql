-- SSH public keys on an account (issue 14, design §10), given to the owner's machines at each start. The unique keys
-- make "that name is taken" and "that key is already on the account" the database's answer, not a check before the insert.
CREATE TABLE ssh_keys (
    seq          {serial},                 -- creation order: the order the keys are given to a machine
    owner        TEXT NOT NULL REFERENCES accounts(username),
    name         TEXT NOT NULL,
    type         TEXT NOT NULL,            -- ssh-ed25519 | ecdsa-sha2-nistp256 | -nistp384 | -nistp521 | ssh-rsa
    bits         BIGINT NOT NULL,
    fingerprint  TEXT NOT NULL,            -- SHA256:… as ssh-keygen -l prints it
    public_key   TEXT NOT NULL,            -- the normalised line: TYPE BASE64 COMMENT
    created_at   BIGINT NOT NULL,
    UNIQUE (owner, name),
    UNIQUE (owner, fingerprint)
);
