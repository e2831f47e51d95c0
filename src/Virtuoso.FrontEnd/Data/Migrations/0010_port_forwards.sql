-- Forwarded ports (issue 14 item 3, design §10). A host declares the address buyers reach it at and the range of its
-- TCP ports that may be forwarded to guests; a running machine holds a host port for its guest's SSH port and one for
-- each extra guest port its owner asked for. The primary key makes "no two machines share a port of a host" the
-- database's guarantee, not a check before the insert.
ALTER TABLE hosts ADD COLUMN public_address TEXT NOT NULL DEFAULT '127.0.0.1';
ALTER TABLE hosts ADD COLUMN first_port BIGINT NOT NULL DEFAULT 40000;
ALTER TABLE hosts ADD COLUMN last_port BIGINT NOT NULL DEFAULT 40999;

-- Held from the claim of a start or resume until the machine stops, suspends, powers off, is found stopped after its
-- host's outage, or leaves the host (eviction, deletion); a start or resume that does not happen gives them back.
CREATE TABLE port_forwards (
    host        TEXT NOT NULL REFERENCES hosts(name) ON DELETE CASCADE,
    host_port   BIGINT NOT NULL,
    machine     TEXT NOT NULL REFERENCES machines(id) ON DELETE CASCADE,
    guest_port  BIGINT NOT NULL,
    PRIMARY KEY (host, host_port),
    UNIQUE (machine, guest_port)
);

-- The guest ports a buyer asked to have forwarded besides SSH (at most 5), applied from the machine's next start or resume.
CREATE TABLE machine_ports (
    machine     TEXT NOT NULL REFERENCES machines(id) ON DELETE CASCADE,
    guest_port  BIGINT NOT NULL,
    PRIMARY KEY (machine, guest_port)
);
