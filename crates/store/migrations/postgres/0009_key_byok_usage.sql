-- A key's lifetime BYOK spend (provider list cost), kept by the generation
-- writer like usage_nano, so no query has to sum a key's whole history.
ALTER TABLE api_keys ADD COLUMN byok_usage_nano BIGINT NOT NULL DEFAULT 0;
UPDATE api_keys SET byok_usage_nano = (
    SELECT COALESCE(SUM(byok_cost_nano), 0) FROM generations WHERE generations.key_hash = api_keys.hash
)
