-- Organizations (reference §8.5): an account's members, each an `admin` or
-- a `member`. API and management keys may belong to a member
-- (api_keys.member_id; NULL: the account's own, which act as admin).
CREATE TABLE members (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL,
    email TEXT,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX members_account ON members (account_id, created_at);
CREATE UNIQUE INDEX members_email ON members (account_id, email);
ALTER TABLE api_keys ADD COLUMN member_id TEXT NULL;
CREATE INDEX api_keys_member ON api_keys (member_id);

-- Which workspaces a member belongs to (a member may only make keys there).
CREATE TABLE workspace_members (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    member_id TEXT NOT NULL REFERENCES members(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, member_id)
);
CREATE INDEX workspace_members_member ON workspace_members (member_id);

-- Guardrails assigned to members: they apply to every key of the member.
CREATE TABLE member_guardrails (
    guardrail_id TEXT NOT NULL REFERENCES guardrails(id) ON DELETE CASCADE,
    member_id TEXT NOT NULL REFERENCES members(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (guardrail_id, member_id)
);
CREATE INDEX member_guardrails_member ON member_guardrails (member_id);

-- A workspace's guardrail (at most one per workspace) applies to every key
-- in the workspace.
ALTER TABLE guardrails ADD COLUMN workspace_id TEXT NULL;
CREATE UNIQUE INDEX guardrails_workspace ON guardrails (workspace_id) WHERE workspace_id IS NOT NULL;

-- BYOK keys of a workspace are used only by keys in that workspace.
ALTER TABLE byok_keys ADD COLUMN workspace_id TEXT NULL;

-- Presets of a workspace: resolved before the account's for its keys.
CREATE TABLE workspace_presets (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    account_id TEXT NOT NULL REFERENCES accounts(id),
    slug TEXT NOT NULL,
    config TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, slug)
);

-- PKCE codes remember the workspace and member the exchanged key lands in.
ALTER TABLE auth_codes ADD COLUMN workspace_id TEXT NULL;
ALTER TABLE auth_codes ADD COLUMN member_id TEXT NULL
