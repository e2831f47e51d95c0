-- One-time console tickets (design §7). Only a ticket's SHA-256 is stored; using a ticket deletes its row in the
-- same statement (DELETE ... RETURNING), so two replicas can never both accept it.
CREATE TABLE console_tickets (
    ticket_hash    TEXT PRIMARY KEY,
    machine_id     TEXT NOT NULL,
    owner          TEXT NOT NULL,
    host           TEXT NOT NULL,
    agent_session  TEXT NOT NULL,    -- the agent's console session the ticket opens
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX console_tickets_expires ON console_tickets(expires_at);
