CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    billing TEXT NOT NULL CHECK (billing IN ('postpaid', 'prepaid')),
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    label TEXT NOT NULL,
    is_management BIGINT NOT NULL DEFAULT 0,
    disabled BIGINT NOT NULL DEFAULT 0,
    limit_nano BIGINT,
    usage_nano BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT
);
CREATE INDEX api_keys_account ON api_keys(account_id);

CREATE TABLE credit_ledger (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    kind TEXT NOT NULL CHECK (kind IN ('grant', 'usage', 'refund', 'adjustment')),
    amount_nano BIGINT NOT NULL,
    generation_id TEXT,
    note TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX credit_ledger_account ON credit_ledger(account_id);

CREATE TABLE generations (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    model TEXT NOT NULL,
    provider_name TEXT,
    provider_slug TEXT,
    upstream_model TEXT,
    upstream_id TEXT,
    tokens_prompt BIGINT NOT NULL,
    tokens_completion BIGINT NOT NULL,
    tokens_reasoning BIGINT NOT NULL,
    tokens_cached BIGINT NOT NULL,
    tokens_cache_write BIGINT NOT NULL,
    usage_estimated BIGINT NOT NULL,
    cost_nano BIGINT NOT NULL,
    latency_ms BIGINT NOT NULL,
    ttft_ms BIGINT,
    generation_time_ms BIGINT NOT NULL,
    finish_reason TEXT,
    native_finish_reason TEXT,
    streamed BIGINT NOT NULL,
    cancelled BIGINT NOT NULL,
    status BIGINT NOT NULL,
    error TEXT,
    attempts TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX generations_account_created ON generations(account_id, created_at);
