-- Key limits that start over daily, weekly (Monday) or monthly at UTC
-- boundaries, whether BYOK spend counts against them, and soft deletion
-- (a deleted key stops working and leaves every list, its generations stay).
ALTER TABLE api_keys ADD COLUMN limit_reset TEXT CHECK (limit_reset IN ('daily', 'weekly', 'monthly'));
ALTER TABLE api_keys ADD COLUMN include_byok_in_limit BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN deleted_at BIGINT;
-- A key's spend in a period is summed from its generations.
CREATE INDEX generations_key_created ON generations(key_hash, created_at)
