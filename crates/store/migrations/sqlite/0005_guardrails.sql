-- Guardrails (reference §8.5): account-owned policies assigned to API keys.
-- A spend budget that may start over daily, weekly (Monday) or monthly at UTC
-- boundaries, model and provider allow-lists (JSON arrays, NULL for none),
-- zero-data-retention, and content rules: the prompt-injection detector,
-- custom regex filters (a JSON array of {pattern, action, label}) and the
-- sensitive-information detectors (a JSON object {action, types} or NULL).
CREATE TABLE guardrails (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    description TEXT,
    limit_nano BIGINT,
    reset_interval TEXT CHECK (reset_interval IN ('daily', 'weekly', 'monthly')),
    allowed_models TEXT,
    allowed_providers TEXT,
    enforce_zdr BIGINT NOT NULL DEFAULT 0,
    block_prompt_injection BIGINT NOT NULL DEFAULT 0,
    regex_filters TEXT NOT NULL,
    pii TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX guardrails_account ON guardrails(account_id, created_at);

-- Which keys a guardrail applies to (a key may have several guardrails).
CREATE TABLE guardrail_keys (
    guardrail_id TEXT NOT NULL REFERENCES guardrails(id) ON DELETE CASCADE,
    key_hash TEXT NOT NULL REFERENCES api_keys(hash),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (guardrail_id, key_hash)
);
CREATE INDEX guardrail_keys_key ON guardrail_keys(key_hash)
