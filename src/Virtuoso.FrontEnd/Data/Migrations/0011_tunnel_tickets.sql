-- Tunnels to a guest's port (design §10) use the console's one-time tickets: kind says which WebSocket a ticket
-- opens ('console' or 'tunnel'), so that a ticket of one kind never opens the other; guest_port is where a tunnel leads.
ALTER TABLE console_tickets ADD COLUMN kind TEXT NOT NULL DEFAULT 'console';
ALTER TABLE console_tickets ADD COLUMN guest_port INTEGER NULL;
