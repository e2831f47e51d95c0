-- What a buyer pays for is what the guest gets (issue 17, design §12): the CPU share the agent enforces for the machine
-- (thousandths of a core, decided when it was stored and kept with it) and its vCPUs, and what the agent last measured
-- of its QEMU while running: CPU used over the last few seconds (thousandths of a core) and memory (MB). The host
-- monitor copies them from the agents' machine lists; none of them is machine state.
ALTER TABLE machines ADD COLUMN cpu_millicores BIGINT NULL;
ALTER TABLE machines ADD COLUMN vcpus BIGINT NULL;
ALTER TABLE machines ADD COLUMN cpu_used_millicores BIGINT NULL;
ALTER TABLE machines ADD COLUMN memory_used_mb BIGINT NULL;
