-- BYOK spend: the provider's list cost of a generation served with the
-- account's own provider key (what the provider bills the account), kept
-- beside `cost_nano` (the gateway's fee), 0 for every other generation.
ALTER TABLE generations ADD COLUMN byok_cost_nano BIGINT NOT NULL DEFAULT 0
