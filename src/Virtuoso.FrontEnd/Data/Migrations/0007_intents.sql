-- Crash-safe machine actions (issue 13, design §5): intent first, then act on the agent, then commit. The intent is
-- written in the transaction that claims the machine (machines.intent), so a front-end that dies between the agent's
-- answer and its own commit leaves a record that the reconciler (any replica) drives to an end.
CREATE TABLE machine_intents (
    id           TEXT PRIMARY KEY,
    machine      TEXT NOT NULL UNIQUE,   -- one open intent per machine
    owner        TEXT NOT NULL,
    action       TEXT NOT NULL,          -- store | start | stop | suspend | resume | delete | evict
    host         TEXT NOT NULL,          -- the host whose agent acts (for store: the host it goes to)
    from_version BIGINT NOT NULL,
    to_version   BIGINT NOT NULL,
    undoing      INTEGER NOT NULL,       -- 1 once the commit was refused: the action is taken back, never committed
    reason       TEXT NULL,              -- why it is being undone
    created_at   BIGINT NOT NULL,
    lease_until  BIGINT NOT NULL,        -- the reconciler leaves it to the request that made it until then
    attempts     BIGINT NOT NULL,        -- reconciler passes that found it open
    last_error   TEXT NULL
);
CREATE INDEX machine_intents_lease ON machine_intents(lease_until);
CREATE INDEX machine_intents_host ON machine_intents(host);

-- The open intent that holds the machine: every other writer of the row requires it NULL, so a claimed machine answers busy.
ALTER TABLE machines ADD COLUMN intent TEXT NULL;

-- A host whose provider asked to delete it: nothing new is stored on it while its machines are evicted.
ALTER TABLE hosts ADD COLUMN deleting INTEGER NOT NULL DEFAULT 0;
