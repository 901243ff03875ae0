//! Organization members (reference §8.5): the people of an account, each an
//! `admin` or a `member`, who may own API and management keys, belong to
//! workspaces and have guardrails assigned. What a role may do is the
//! server's business; the store keeps who is who.

use std::collections::HashMap;
use std::str::FromStr;

use rand::RngCore;
use sqlx::Row;

use crate::links::Link;
use crate::{Store, StoreError, now_ms};

/// Members of workspaces.
const WORKSPACE_MEMBERS: Link = Link { table: "workspace_members", owner: "workspace_id", other: "member_id" };
/// Guardrails assigned to members.
const MEMBER_GUARDRAILS: Link = Link { table: "member_guardrails", owner: "guardrail_id", other: "member_id" };

/// What a member may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemberRole {
    /// Everything in the account, like the account's own management keys.
    Admin,
    /// Only their own keys, and what those keys did.
    Member,
}

impl MemberRole {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberRole::Admin => "admin",
            MemberRole::Member => "member",
        }
    }
}

impl FromStr for MemberRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(MemberRole::Admin),
            "member" => Ok(MemberRole::Member),
            other => Err(format!("unknown member role `{other}`")),
        }
    }
}

/// A stored member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// `mem_<16 hex>`.
    pub id: String,
    /// Owning account (the organization).
    pub account_id: String,
    /// Display name.
    pub name: String,
    /// E-mail address, unique within the account.
    pub email: Option<String>,
    /// Admin or member.
    pub role: MemberRole,
    /// A disabled member's keys are refused.
    pub disabled: bool,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds of the last change.
    pub updated_at: i64,
}

/// A change to a member; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberPatch {
    /// New name.
    pub name: Option<String>,
    /// New e-mail (`Some(None)` removes it).
    pub email: Option<Option<String>>,
    /// New role.
    pub role: Option<MemberRole>,
    /// Disable or re-enable.
    pub disabled: Option<bool>,
}

const COLUMNS: &str = "id, account_id, name, email, role, disabled, created_at, updated_at";

fn member_from_row(row: &sqlx::any::AnyRow) -> Result<Member, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(Member {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        role: role.parse().map_err(StoreError::Corrupt)?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn email_taken(email: &str) -> StoreError {
    StoreError::Conflict(format!("a member with e-mail `{email}` already exists"))
}

impl Store {
    /// Adds a member to an account. An e-mail another member of the account
    /// has is [`StoreError::Conflict`].
    pub async fn create_member(
        &self,
        account_id: &str,
        name: &str,
        email: Option<&str>,
        role: MemberRole,
    ) -> Result<Member, StoreError> {
        if let Some(email) = email
            && self.member_by_email(account_id, email).await?.is_some()
        {
            return Err(email_taken(email));
        }
        let mut raw = [0u8; 8];
        rand::rng().fill_bytes(&mut raw);
        let now = now_ms();
        let m = Member {
            id: format!("mem_{}", hex::encode(raw)),
            account_id: account_id.to_owned(),
            name: name.to_owned(),
            email: email.map(str::to_owned),
            role,
            disabled: false,
            created_at: now,
            updated_at: now,
        };
        sqlx::query(&format!("INSERT INTO members ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, 0, $6, $7)"))
            .bind(&m.id)
            .bind(&m.account_id)
            .bind(&m.name)
            .bind(m.email.clone())
            .bind(role.as_str())
            .bind(now)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(m)
    }

    async fn member_by_email(&self, account_id: &str, email: &str) -> Result<Option<Member>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM members WHERE account_id = $1 AND email = $2");
        let row = sqlx::query(&sql).bind(account_id).bind(email).fetch_optional(self.pool()).await?;
        row.as_ref().map(member_from_row).transpose()
    }

    /// The account's member `id`, if any (another account's is `None`).
    pub async fn member(&self, account_id: &str, id: &str) -> Result<Option<Member>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM members WHERE account_id = $1 AND id = $2");
        let row = sqlx::query(&sql).bind(account_id).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(member_from_row).transpose()
    }

    /// The account's members, oldest first.
    pub async fn members(&self, account_id: &str) -> Result<Vec<Member>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM members WHERE account_id = $1 ORDER BY created_at, id");
        let rows = sqlx::query(&sql).bind(account_id).fetch_all(self.pool()).await?;
        rows.iter().map(member_from_row).collect()
    }

    /// Applies a change to the account's member `id`; `None` if there is none.
    pub async fn update_member(
        &self,
        account_id: &str,
        id: &str,
        patch: &MemberPatch,
    ) -> Result<Option<Member>, StoreError> {
        let Some(mut m) = self.member(account_id, id).await? else { return Ok(None) };
        if let Some(Some(email)) = &patch.email
            && self.member_by_email(account_id, email).await?.is_some_and(|other| other.id != id)
        {
            return Err(email_taken(email));
        }
        if let Some(name) = &patch.name {
            m.name.clone_from(name);
        }
        if let Some(email) = &patch.email {
            m.email.clone_from(email);
        }
        m.role = patch.role.unwrap_or(m.role);
        m.disabled = patch.disabled.unwrap_or(m.disabled);
        m.updated_at = now_ms().max(m.updated_at);
        sqlx::query(
            "UPDATE members SET name = $1, email = $2, role = $3, disabled = $4, updated_at = $5 \
             WHERE account_id = $6 AND id = $7",
        )
        .bind(&m.name)
        .bind(m.email.clone())
        .bind(m.role.as_str())
        .bind(i64::from(m.disabled))
        .bind(m.updated_at)
        .bind(account_id)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(Some(m))
    }

    /// Removes the account's member `id`: their keys (API and management)
    /// are deleted, since nobody may use them any more, and they leave
    /// their workspaces and guardrails. False if there was no such member.
    pub async fn delete_member(&self, account_id: &str, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let owned = sqlx::query("SELECT id FROM members WHERE account_id = $1 AND id = $2")
            .bind(account_id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if owned.is_none() {
            return Ok(false);
        }
        let now = now_ms();
        sqlx::query(
            "UPDATE api_keys SET deleted_at = $1, disabled = 1, updated_at = $2 \
             WHERE member_id = $3 AND deleted_at IS NULL",
        )
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM workspace_members WHERE member_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM member_guardrails WHERE member_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM members WHERE id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Adds members to workspace `workspace_id`; returns how many were not
    /// in it already. The caller checks both belong to one account.
    pub async fn add_workspace_members(&self, workspace_id: &str, member_ids: &[String]) -> Result<u64, StoreError> {
        WORKSPACE_MEMBERS.add(self, workspace_id, member_ids).await
    }

    /// Removes a member from a workspace; false if they were not in it.
    pub async fn remove_workspace_member(&self, workspace_id: &str, member_id: &str) -> Result<bool, StoreError> {
        WORKSPACE_MEMBERS.remove(self, workspace_id, member_id).await
    }

    /// The members of workspace `workspace_id`, in the order they joined.
    pub async fn workspace_members(&self, workspace_id: &str) -> Result<Vec<Member>, StoreError> {
        let sql = format!(
            "SELECT {} FROM members m JOIN workspace_members wm ON wm.member_id = m.id \
             WHERE wm.workspace_id = $1 ORDER BY wm.created_at, m.id",
            COLUMNS.split(", ").map(|c| format!("m.{c}")).collect::<Vec<_>>().join(", ")
        );
        let rows = sqlx::query(&sql).bind(workspace_id).fetch_all(self.pool()).await?;
        rows.iter().map(member_from_row).collect()
    }

    /// Whether member `member_id` belongs to workspace `workspace_id`.
    pub async fn in_workspace(&self, workspace_id: &str, member_id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT member_id FROM workspace_members WHERE workspace_id = $1 AND member_id = $2")
            .bind(workspace_id)
            .bind(member_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }

    /// The workspaces member `member_id` belongs to, by id.
    pub async fn member_workspaces(&self, member_id: &str) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT workspace_id FROM workspace_members WHERE member_id = $1 ORDER BY workspace_id")
            .bind(member_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| r.try_get("workspace_id").map_err(StoreError::from)).collect()
    }

    /// Assigns guardrail `id` to members; returns how many were not assigned
    /// already. The caller checks that all belong to one account.
    pub async fn assign_guardrail_members(&self, id: &str, member_ids: &[String]) -> Result<u64, StoreError> {
        MEMBER_GUARDRAILS.add(self, id, member_ids).await
    }

    /// Removes guardrail `id` from a member; false if it was not assigned.
    pub async fn unassign_guardrail_member(&self, id: &str, member_id: &str) -> Result<bool, StoreError> {
        MEMBER_GUARDRAILS.remove(self, id, member_id).await
    }

    /// The members each of the account's guardrails is assigned to, by
    /// guardrail id, in assignment order.
    pub async fn guardrail_member_assignments(
        &self,
        account_id: &str,
    ) -> Result<HashMap<String, Vec<String>>, StoreError> {
        let rows = sqlx::query(
            "SELECT mg.guardrail_id, mg.member_id FROM member_guardrails mg \
             JOIN guardrails g ON g.id = mg.guardrail_id WHERE g.account_id = $1 \
             ORDER BY mg.created_at, mg.member_id",
        )
        .bind(account_id)
        .fetch_all(self.pool())
        .await?;
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for row in &rows {
            out.entry(row.try_get("guardrail_id")?).or_default().push(row.try_get("member_id")?);
        }
        Ok(out)
    }
}

impl Store {
    /// Before a workspace goes: its BYOK keys refuse the deletion (they are
    /// the account's secrets: delete them first); its memberships and
    /// presets go with it and its guardrail stops being a workspace's.
    pub(crate) async fn forget_workspace_links(&self, workspace_id: &str) -> Result<(), StoreError> {
        let row = sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM byok_keys WHERE workspace_id = $1")
            .bind(workspace_id)
            .fetch_one(self.pool())
            .await?;
        let byok: i64 = row.try_get("n")?;
        if byok > 0 {
            return Err(StoreError::Conflict(format!(
                "workspace {workspace_id} still has {byok} BYOK key(s): delete them first"
            )));
        }
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM workspace_members WHERE workspace_id = $1")
            .bind(workspace_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM workspace_presets WHERE workspace_id = $1")
            .bind(workspace_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE guardrails SET workspace_id = NULL WHERE workspace_id = $1")
            .bind(workspace_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
