-- A user's ledger and monthly statements read the transfers from or to one account, in time order.
CREATE INDEX transfers_from_account ON transfers(from_account, at);
CREATE INDEX transfers_to_account ON transfers(to_account, at);
