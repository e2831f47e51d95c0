-- Issue 18. What the host monitor's last failed check of an agent found (a ConnectionCodes code and its sentence, and
-- when), cleared when the agent answers again; the speed the agent measures (bogomips, as it reports); and when the
-- monitor declared the host offline and told its provider and the owners of the machines on it (once per outage: the
-- conditional UPDATE that sets it is the "once"), cleared when it answers again.
ALTER TABLE hosts ADD COLUMN last_failure TEXT NULL;
ALTER TABLE hosts ADD COLUMN last_failure_message TEXT NULL;
ALTER TABLE hosts ADD COLUMN last_failure_at BIGINT NULL;
ALTER TABLE hosts ADD COLUMN bogomips BIGINT NULL;
ALTER TABLE hosts ADD COLUMN outage_since BIGINT NULL;
-- Notifications are events of certain kinds (Events/Notifications.cs); an account stores only how far it has read them
-- (an event seq) and the balance under which it wants to be told (money as invariant decimal TEXT; NULL: never).
ALTER TABLE accounts ADD COLUMN notifications_read BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN balance_threshold TEXT NULL;
