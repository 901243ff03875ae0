-- OAuth PKCE authorization codes (reference 8.6): single use, ten minutes,
-- stored as a SHA-256 hash. The key they grant is described here and made
-- when the code is exchanged.
CREATE TABLE auth_codes (
    code_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    code_challenge TEXT NOT NULL,
    code_challenge_method TEXT NOT NULL CHECK (code_challenge_method IN ('S256', 'plain')),
    callback_url TEXT,
    key_label TEXT,
    limit_nano BIGINT,
    limit_reset TEXT,
    key_expires_at BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX auth_codes_account ON auth_codes(account_id)
