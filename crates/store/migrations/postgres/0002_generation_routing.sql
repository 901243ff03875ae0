-- The routing decision of each generation: the plan, what was filtered out
-- and why, soft preferences applied (JSON).
ALTER TABLE generations ADD COLUMN routing TEXT;
