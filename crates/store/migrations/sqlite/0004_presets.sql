-- Presets: named, versioned chat-request configurations of an account
-- (the config is a JSON object, the version starts at 1 and grows by one
-- on every replacement).
CREATE TABLE presets (
    account_id TEXT NOT NULL REFERENCES accounts(id),
    slug TEXT NOT NULL,
    config TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, slug)
)
