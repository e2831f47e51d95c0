-- Issue 20: the marketplace's own certificate authority (Agents/MarketTrust.cs). One row, made by whichever replica starts
-- first (INSERT ... ON CONFLICT DO NOTHING, then every replica loads the stored one), so all replicas issue and check with the
-- same authority. The key is stored as PKCS#8 PEM, unencrypted: whoever reads this database can already change every host
-- row and its secret. Replacing the authority: docs/operations.md ("Rotating the marketplace's authority").
CREATE TABLE market_authority (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    certificate  TEXT NOT NULL,   -- PEM
    private_key  TEXT NOT NULL,   -- PKCS#8 PEM
    created_at   BIGINT NOT NULL
);
-- A host's agent certificate (issued at its join, or POST /api/v1/agents/certificate with its secret): the front-end accepts
-- the agent's certificate only when its serial is this one, so a deleted or re-enrolled host's old certificate is refused.
ALTER TABLE hosts ADD COLUMN cert_serial TEXT NULL;
ALTER TABLE hosts ADD COLUMN cert_expires_at BIGINT NULL;
