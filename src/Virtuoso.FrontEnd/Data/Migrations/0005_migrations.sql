-- Migration between hosts (design §6.2, report §7.3): one durable record per migration, written with the machine's
-- 'migrating' state in one transaction, so a front-end that restarts (or another replica) completes or reverts it.
CREATE TABLE migrations (
    seq            {serial},              -- orders a machine's migrations even when their clocks tie
    id             TEXT NOT NULL UNIQUE,
    machine        TEXT NOT NULL,         -- no foreign key: the history outlives a deleted machine, as events do
    owner          TEXT NOT NULL,
    origin         TEXT NOT NULL,         -- host names; no foreign key for the same reason
    destination    TEXT NOT NULL,
    method         TEXT NOT NULL,
    version        BIGINT NOT NULL,       -- the machine's version when it began; success ends at version + 1
    previous_state TEXT NOT NULL,         -- stored | stopped | suspended: where the machine returns
    phase          TEXT NOT NULL,         -- open -> committed -> done, or open -> reverted
    error          TEXT NULL,             -- why it was reverted
    resp_success   INTEGER NULL,          -- the RESP received (1 SUCCESS, 0 FAIL), never trusted alone
    resp_version   BIGINT NULL,
    last_heartbeat BIGINT NULL,
    created_at     BIGINT NOT NULL,
    committed_at   BIGINT NULL,
    ended_at       BIGINT NULL
);
-- At most one unfinished migration per machine.
CREATE UNIQUE INDEX migrations_unfinished ON migrations(machine) WHERE phase IN ('open', 'committed');
CREATE INDEX migrations_machine ON migrations(machine, seq);
CREATE INDEX migrations_phase ON migrations(phase);

-- What each host's agent reports in /v1/health: its VMMP port and the methods it would answer a QUERY with.
ALTER TABLE hosts ADD COLUMN vmmp_port INTEGER NULL;
ALTER TABLE hosts ADD COLUMN methods TEXT NULL;   -- space-separated, e.g. 'SCP RSYNC DEDUP'
