-- Billing daemon (design §4): when each machine's next storage and running periods begin, so that a billing
-- pass reads only machines with a charge due (indexed), not every stored machine.
ALTER TABLE machines ADD COLUMN next_storage_at BIGINT NULL;
ALTER TABLE machines ADD COLUMN running_due_at BIGINT NULL;
UPDATE machines SET next_storage_at = arrived_at + storage_periods_charged * storage_period_days * 86400000 WHERE host IS NOT NULL;
-- Recomputed exactly by the first billing pass.
UPDATE machines SET running_due_at = running_since WHERE running_since IS NOT NULL;
CREATE INDEX machines_next_storage_at ON machines(next_storage_at);
CREATE INDEX machines_running_due_at ON machines(running_due_at);

-- Market estimates over time (§6.1.9), for the chart of each configuration's price.
CREATE TABLE price_history (
    id            {serial},
    configuration TEXT NOT NULL,
    at            BIGINT NOT NULL,
    storage_rate  TEXT NOT NULL,
    running_rate  TEXT NOT NULL
);
CREATE INDEX price_history_configuration ON price_history(configuration, at);
