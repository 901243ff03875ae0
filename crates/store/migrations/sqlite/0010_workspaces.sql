-- Workspaces: an account's groups of API keys, each with its own routing
-- defaults (`provider`: an OpenRouter provider object, as JSON text).
-- A key whose workspace_id is NULL is in the account's default workspace.
CREATE TABLE workspaces (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    provider TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (account_id, slug)
);
ALTER TABLE api_keys ADD COLUMN workspace_id TEXT NULL;
CREATE INDEX api_keys_workspace ON api_keys (workspace_id)
