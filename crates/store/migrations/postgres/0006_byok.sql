-- BYOK: an account's own provider keys (reference §8.3). Only the
-- AES-256-GCM ciphertext of a key is kept, with its random nonce and the id
-- of the master key that sealed it (so the master key can be rotated),
-- `last4` is the key's last four characters, for display. Keys of an
-- account are tried in `seq` order (creation order).
CREATE TABLE byok_keys (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    provider TEXT NOT NULL,
    label TEXT,
    last4 TEXT NOT NULL,
    priority TEXT NOT NULL CHECK (priority IN ('prioritized', 'fallback')),
    always_use BIGINT NOT NULL DEFAULT 0,
    disabled BIGINT NOT NULL DEFAULT 0,
    seq BIGINT NOT NULL,
    master_key_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    ciphertext TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX byok_keys_account ON byok_keys(account_id, seq)
