-- Hosts that go offline (issue 13): a running machine whose host has not answered for longer than the grace period
-- stops consuming running time from the host's last sign of life until the host answers again; this is when.
ALTER TABLE machines ADD COLUMN host_offline_since BIGINT NULL;
