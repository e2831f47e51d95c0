-- Images are data that travel (issue 15): the front-end's catalogue of preconfigured base images, imported at start-up
-- from its images directory (Virtuoso:ImagesDirectory), one row per image and one per file, each file by its SHA-256, so
-- that an agent lacking an image fetches exactly those bytes from the front-end. sha256 is the disk's (what a buyer can
-- check); os is the image's own label ("Debian GNU/Linux 12 (bookworm)").
CREATE TABLE images (
    name        TEXT PRIMARY KEY,
    os          TEXT NOT NULL,
    kernel      TEXT NULL,
    initrd      TEXT NULL,
    disk        TEXT NOT NULL,
    append      TEXT NULL,
    min_memory  BIGINT NOT NULL,
    min_disk    BIGINT NOT NULL,
    size_bytes  BIGINT NOT NULL,
    sha256      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE TABLE image_files (
    image       TEXT NOT NULL REFERENCES images (name) ON DELETE CASCADE,
    file        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size_bytes  BIGINT NOT NULL,
    PRIMARY KEY (image, file)
);
CREATE INDEX image_files_sha256 ON image_files (sha256);
-- What a long action is doing right now, shown with the machine while its intent is open ("fetching image 43%").
-- Written by MachineWriter alone; not machine state.
ALTER TABLE machines ADD COLUMN activity TEXT NULL;
