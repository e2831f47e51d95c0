-- Private networks (issue 16, design §9): one Ethernet segment per network, whatever host its machines are on. The
-- unique keys make "that name is taken" and "that VNI is taken" the database's answers, not checks before the insert:
-- a VNI is allocated as MAX + 1 with INSERT .. ON CONFLICT DO NOTHING, retried when another replica took it first.
CREATE TABLE networks (
    id          {serial},
    owner       TEXT NOT NULL REFERENCES accounts(username),
    name        TEXT NOT NULL,
    subnet      TEXT NOT NULL,            -- IPv4 CIDR, e.g. 10.128.0.0/24
    vni         BIGINT NOT NULL UNIQUE,   -- the VXLAN network identifier, 1..16777215, unique in the marketplace
    created_at  BIGINT NOT NULL,
    UNIQUE (owner, name)
);
-- A machine's network and its fixed address there; NULL for machines registered before this migration, attached to
-- their owner's default network when first needed (at a start, resume or edit). The unique index makes two machines of
-- one network never share an address (NULLs are distinct in both dialects).
ALTER TABLE machines ADD COLUMN network BIGINT NULL REFERENCES networks(id);
ALTER TABLE machines ADD COLUMN private_address TEXT NULL;
CREATE UNIQUE INDEX machines_network_address ON machines (network, private_address);
