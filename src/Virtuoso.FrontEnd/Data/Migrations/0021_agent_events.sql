-- Issue 19 point 3: the agents' own events (their events.log) gathered into this log by Events/EventCollector.cs.
-- An agent's event keeps where it came from: the host, the agent's log id (a new data directory is a new log) and the
-- event's position in that log. (host_log, host_position) is unique: replicas collecting at once can never store an event
-- twice. Partial, so the front-end's own events (NULL there) cost it nothing.
ALTER TABLE events ADD COLUMN host TEXT NULL;
ALTER TABLE events ADD COLUMN host_log TEXT NULL;
ALTER TABLE events ADD COLUMN host_position BIGINT NULL;
CREATE UNIQUE INDEX events_host_position ON events(host_log, host_position) WHERE host_log IS NOT NULL;
CREATE INDEX events_host ON events(host) WHERE host IS NOT NULL;
-- The operator's list of all events: newest first by time (then seq), filtered by kind.
CREATE INDEX events_at ON events(at, seq);
CREATE INDEX events_kind ON events(kind, at);
-- How far each host's log has been gathered: the log and the position after which to read next, and the time listed for the
-- host's last event (a host's events never go back in time: Core/Events/AgentEventIntake.ListedAt). Kept when a host is
-- deleted, so that a host added again under the same name with the same agent goes on where it was.
CREATE TABLE event_cursors (
    host      TEXT PRIMARY KEY,
    log       TEXT NOT NULL,
    position  BIGINT NOT NULL,
    at        BIGINT NOT NULL
);
