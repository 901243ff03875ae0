-- Response caching (reference §7.7): a key may cache every answer without
-- the X-OpenRouter-Cache header, and a generation served from the cache
-- names the generation whose answer it replayed.
ALTER TABLE api_keys ADD COLUMN cache_responses BIGINT NOT NULL DEFAULT 0;
ALTER TABLE generations ADD COLUMN response_cache_source_id TEXT
