-- ISO images buyers upload (issue 15 item 3). The bytes are not here: each lives once, content-addressed, in the
-- front-end's blob directory (BlobDirectory: blobs/sha256/HEX), shared by every row of equal sha256 and removed with
-- the last of them. The unique key makes "that name is taken" the database's answer, not a check before the insert.
CREATE TABLE isos (
    id          {serial},
    owner       TEXT NOT NULL REFERENCES accounts(username),
    name        TEXT NOT NULL,
    sha256      TEXT NOT NULL,            -- lower-case hex of the content
    size_bytes  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (owner, name)
);
CREATE INDEX isos_sha256 ON isos (sha256);
-- The ISO in a machine's CD drive (it boots from it first); not a state: attached or ejected while the machine does not run.
ALTER TABLE machines ADD COLUMN cdrom_iso_id BIGINT NULL REFERENCES isos(id);
CREATE INDEX machines_cdrom_iso_id ON machines (cdrom_iso_id);
