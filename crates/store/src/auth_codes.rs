//! OAuth PKCE authorization codes (reference §8.6): an account asks for a
//! code bound to a challenge; an app exchanges code and verifier, once,
//! within ten minutes, for a new API key of that account.

use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;
use switchyard_api::NanoUsd;

use crate::keys::{KeySpec, NewKey, hash_key};
use crate::period::LimitReset;
use crate::{Store, StoreError, now_ms};

/// How long a code can be exchanged.
pub const CODE_TTL_MS: i64 = 10 * 60 * 1000;

/// How the verifier proves it belongs to the challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChallengeMethod {
    /// `challenge = BASE64URL(SHA256(verifier))`, unpadded.
    S256,
    /// `challenge = verifier`.
    Plain,
}

impl ChallengeMethod {
    /// The method named `s` (`S256` or `plain`).
    pub fn parse(s: &str) -> Option<ChallengeMethod> {
        match s {
            "S256" => Some(ChallengeMethod::S256),
            "plain" => Some(ChallengeMethod::Plain),
            _ => None,
        }
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeMethod::S256 => "S256",
            ChallengeMethod::Plain => "plain",
        }
    }

    /// True when `verifier` answers `challenge`.
    pub fn verifies(self, verifier: &str, challenge: &str) -> bool {
        let expected = match self {
            ChallengeMethod::Plain => verifier.to_owned(),
            ChallengeMethod::S256 => base64url(&Sha256::digest(verifier.as_bytes())),
        };
        // Both sides are public-length strings; compare without early exit anyway.
        expected.len() == challenge.len()
            && expected.bytes().zip(challenge.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

/// Unpadded base64url, as PKCE writes it.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// What a code will grant and how it must be proven.
#[derive(Clone, Debug, Default)]
pub struct CodeRequest {
    /// The challenge the app will answer.
    pub code_challenge: String,
    /// `S256` or `plain`; `None` means `plain`.
    pub method: Option<ChallengeMethod>,
    /// Where the app waits for the code.
    pub callback_url: Option<String>,
    /// Name of the key to create.
    pub key_label: Option<String>,
    /// Spend cap of that key.
    pub limit: Option<NanoUsd>,
    /// When the cap starts over.
    pub limit_reset: Option<LimitReset>,
    /// When that key expires, Unix ms.
    pub key_expires_at: Option<i64>,
    /// The workspace that key lands in (the caller checks it is the
    /// account's).
    pub workspace_id: Option<String>,
    /// The member that key belongs to (the one whose key asked for the code).
    pub member_id: Option<String>,
}

/// A code just made: shown once.
#[derive(Clone, Debug)]
pub struct NewCode {
    /// The code to hand to the app.
    pub code: String,
    /// Unix ms.
    pub created_at: i64,
}

/// Why an exchange was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum ExchangeRefusal {
    /// No such code, already used, or past its ten minutes.
    InvalidCode,
    /// The verifier does not answer the challenge, or the method differs.
    InvalidVerifier,
}

impl Store {
    /// Makes a code for `account_id`.
    pub async fn create_auth_code(&self, account_id: &str, req: &CodeRequest) -> Result<NewCode, StoreError> {
        let mut raw = [0u8; 24];
        rand::rng().fill_bytes(&mut raw);
        let code = hex::encode(raw);
        let now = now_ms();
        sqlx::query(
            "INSERT INTO auth_codes (code_hash, account_id, code_challenge, code_challenge_method, callback_url, \
             key_label, limit_nano, limit_reset, key_expires_at, created_at, expires_at, workspace_id, member_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(hash_key(&code))
        .bind(account_id)
        .bind(&req.code_challenge)
        .bind(req.method.unwrap_or(ChallengeMethod::Plain).as_str())
        .bind(&req.callback_url)
        .bind(&req.key_label)
        .bind(req.limit.map(|l| l.0))
        .bind(req.limit_reset.map(LimitReset::as_str))
        .bind(req.key_expires_at)
        .bind(now)
        .bind(now + CODE_TTL_MS)
        .bind(req.workspace_id.clone())
        .bind(req.member_id.clone())
        .execute(self.pool())
        .await?;
        Ok(NewCode { code, created_at: now })
    }

    /// Exchanges a code: marks it used (atomically, so two racing exchanges
    /// cannot both win) and creates the key it describes. Returns the key
    /// and its account.
    pub async fn exchange_auth_code(
        &self,
        code: &str,
        verifier: &str,
        method: ChallengeMethod,
    ) -> Result<Result<(NewKey, String), ExchangeRefusal>, StoreError> {
        let hash = hash_key(code);
        let now = now_ms();
        let row = sqlx::query(
            "SELECT account_id, code_challenge, code_challenge_method, key_label, limit_nano, limit_reset, \
             key_expires_at, workspace_id, member_id FROM auth_codes WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(&hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(Err(ExchangeRefusal::InvalidCode)) };
        let stored_method: String = row.try_get("code_challenge_method")?;
        let challenge: String = row.try_get("code_challenge")?;
        if stored_method != method.as_str() || !method.verifies(verifier, &challenge) {
            return Ok(Err(ExchangeRefusal::InvalidVerifier));
        }
        let claimed = sqlx::query("UPDATE auth_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL")
            .bind(now)
            .bind(&hash)
            .execute(self.pool())
            .await?;
        if claimed.rows_affected() != 1 {
            return Ok(Err(ExchangeRefusal::InvalidCode));
        }
        let account: String = row.try_get("account_id")?;
        let label: Option<String> = row.try_get("key_label")?;
        let reset: Option<String> = row.try_get("limit_reset")?;
        let spec = KeySpec {
            name: label.unwrap_or_else(|| "OAuth app".to_owned()),
            limit: row.try_get::<Option<i64>, _>("limit_nano")?.map(NanoUsd),
            limit_reset: reset.and_then(|r| r.parse().ok()),
            expires_at: row.try_get("key_expires_at")?,
            workspace_id: row.try_get("workspace_id")?,
            member_id: row.try_get("member_id")?,
            ..KeySpec::default()
        };
        let key = self.create_key_with(&account, &spec).await?;
        Ok(Ok((key, account)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_the_rfc_7636_example() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(ChallengeMethod::S256.verifies(verifier, challenge));
        assert!(!ChallengeMethod::S256.verifies("other", challenge));
        assert!(ChallengeMethod::Plain.verifies("abc", "abc"));
        assert!(!ChallengeMethod::Plain.verifies("abc", "abd"));
        assert_eq!(ChallengeMethod::parse("s256"), None);
    }
}
