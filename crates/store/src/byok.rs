//! BYOK (reference §8.3): an account's own provider keys, kept only as
//! AES-256-GCM ciphertext under the gateway's master key.
//!
//! Each key is sealed with a fresh random 96-bit nonce; the additional
//! authenticated data binds the ciphertext to its account, id and provider,
//! so a row copied to another account or provider does not decrypt. The id
//! of the master key that sealed it is stored beside it, so a later master
//! key can be rotated in (decrypt with the old id, seal with the new one).
//! Plaintext keys exist only inside [`Secret`], whose `Debug` prints `***`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{Store, StoreError, now_ms};

/// Bytes of a master key (AES-256).
pub const MASTER_KEY_BYTES: usize = 32;
/// Bytes of a GCM nonce.
const NONCE_BYTES: usize = 12;

/// A secret string (a provider key): kept out of `Debug` output and logs.
/// There is deliberately no `Display`; [`Secret::expose`] is the one way in.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The last four characters prefixed with `…`, or just `…` for a key
    /// too short to show any of it safely (under 12 characters).
    pub fn last4(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        if chars.len() < 12 {
            return "…".into();
        }
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("…{tail}")
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Why a key could not be sealed or opened. Never carries key material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// The master key text is not 32 bytes in base64 or hex.
    #[error("the BYOK master key must be 32 bytes, base64- or hex-encoded: {0}")]
    BadMasterKey(String),
    /// The key was sealed under another master key.
    #[error("sealed under master key {stored}, but the loaded master key is {loaded}")]
    WrongMasterKey {
        /// Id stored with the ciphertext.
        stored: String,
        /// Id of the master key in use.
        loaded: String,
    },
    /// Authentication failed: tampered, moved or sealed under another key.
    #[error("the stored key does not decrypt (wrong master key, or the row was altered)")]
    Decrypt,
    /// Encryption failed (it does not, short of a bug).
    #[error("encryption failed")]
    Encrypt,
}

/// The gateway's master key. `Debug` shows only its id.
#[derive(Clone)]
pub struct MasterKey {
    key: [u8; MASTER_KEY_BYTES],
    id: String,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl MasterKey {
    /// A master key from its raw bytes.
    pub fn from_bytes(key: [u8; MASTER_KEY_BYTES]) -> MasterKey {
        // The id is a domain-separated hash: it names the key without
        // revealing anything usable about it.
        let mut h = Sha256::new();
        h.update(b"switchyard byok master key id\0");
        h.update(key);
        let id = format!("mk-{}", &hex::encode(h.finalize())[..16]);
        MasterKey { key, id }
    }

    /// A fresh random master key.
    pub fn generate() -> MasterKey {
        let mut key = [0u8; MASTER_KEY_BYTES];
        rand::rng().fill_bytes(&mut key);
        MasterKey::from_bytes(key)
    }

    /// Parses 32 bytes written as 64 hex digits or as base64 (standard or
    /// URL-safe alphabet, padded or not); surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<MasterKey, CryptoError> {
        let t = text.trim();
        let bytes = if t.len() == 2 * MASTER_KEY_BYTES && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(t).map_err(|_| CryptoError::BadMasterKey("invalid hex".into()))?
        } else {
            use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
            [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
                .iter()
                .find_map(|e| e.decode(t).ok())
                .ok_or_else(|| CryptoError::BadMasterKey("neither 64 hex digits nor base64".into()))?
        };
        let key: [u8; MASTER_KEY_BYTES] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| CryptoError::BadMasterKey(format!("it decodes to {} bytes", b.len())))?;
        Ok(MasterKey::from_bytes(key))
    }

    /// The key as base64, for writing a key file.
    pub fn encode(&self) -> Secret {
        Secret(base64::engine::general_purpose::STANDARD.encode(self.key))
    }

    /// The key's id, stored with everything it seals.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.key))
    }

    /// Seals `secret` with a fresh nonce; `aad` is authenticated, not stored.
    pub fn seal(&self, secret: &Secret, aad: &str) -> Result<Sealed, CryptoError> {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload { msg: secret.0.as_bytes(), aad: aad.as_bytes() };
        let ct = self.cipher().encrypt(Nonce::from_slice(&nonce), payload).map_err(|_| CryptoError::Encrypt)?;
        Ok(Sealed {
            master_key_id: self.id.clone(),
            nonce: hex::encode(nonce),
            ciphertext: base64::engine::general_purpose::STANDARD.encode(ct),
        })
    }

    /// Opens what [`MasterKey::seal`] sealed with the same `aad`.
    pub fn open(&self, sealed: &Sealed, aad: &str) -> Result<Secret, CryptoError> {
        if sealed.master_key_id != self.id {
            return Err(CryptoError::WrongMasterKey { stored: sealed.master_key_id.clone(), loaded: self.id.clone() });
        }
        let nonce = hex::decode(&sealed.nonce).map_err(|_| CryptoError::Decrypt)?;
        if nonce.len() != NONCE_BYTES {
            return Err(CryptoError::Decrypt);
        }
        let ct =
            base64::engine::general_purpose::STANDARD.decode(&sealed.ciphertext).map_err(|_| CryptoError::Decrypt)?;
        let payload = Payload { msg: &ct, aad: aad.as_bytes() };
        let pt = self.cipher().decrypt(Nonce::from_slice(&nonce), payload).map_err(|_| CryptoError::Decrypt)?;
        String::from_utf8(pt).map(Secret).map_err(|_| CryptoError::Decrypt)
    }
}

/// A sealed secret as stored: master key id, nonce (hex), ciphertext with
/// its GCM tag (base64).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// Id of the master key that sealed it.
    pub master_key_id: String,
    /// The 96-bit nonce, hex.
    pub nonce: String,
    /// Ciphertext and tag, base64.
    pub ciphertext: String,
}

/// Where a key stands against the gateway's shared capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ByokPriority {
    /// Tried before every shared endpoint of the request.
    #[default]
    Prioritized,
    /// Tried after every shared endpoint of the request.
    Fallback,
}

impl ByokPriority {
    /// `prioritized` or `fallback`.
    pub fn as_str(self) -> &'static str {
        match self {
            ByokPriority::Prioritized => "prioritized",
            ByokPriority::Fallback => "fallback",
        }
    }
}

impl std::str::FromStr for ByokPriority {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "prioritized" => Ok(ByokPriority::Prioritized),
            "fallback" => Ok(ByokPriority::Fallback),
            other => Err(format!("unknown BYOK priority `{other}`")),
        }
    }
}

/// A stored BYOK key: its settings and the sealed key, never the plaintext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByokRecord {
    /// Random UUID.
    pub id: String,
    /// Owning account.
    pub account_id: String,
    /// Provider slug the key is for.
    pub provider: String,
    /// Name given by the account.
    pub label: Option<String>,
    /// `…abcd`: the key's last four characters.
    pub last4: String,
    /// Before or after shared capacity.
    pub priority: ByokPriority,
    /// Never fall back to shared capacity for this provider.
    pub always_use: bool,
    /// Disabled keys are kept but not used.
    pub disabled: bool,
    /// Order of creation within the account (keys are tried in this order).
    pub seq: i64,
    /// The sealed key.
    pub sealed: Sealed,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds of the last change.
    pub updated_at: i64,
    /// The workspace whose keys alone use it; `None`: every key of the
    /// account.
    pub workspace_id: Option<String>,
}

impl ByokRecord {
    /// The plaintext key, under the master key that sealed it.
    pub fn decrypt(&self, master: &MasterKey) -> Result<Secret, CryptoError> {
        master.open(&self.sealed, &aad(&self.account_id, &self.id, &self.provider))
    }
}

/// What a new BYOK key is made with.
#[derive(Clone, Debug)]
pub struct NewByok {
    /// Provider slug.
    pub provider: String,
    /// The provider key.
    pub api_key: Secret,
    /// Display name.
    pub label: Option<String>,
    /// Before or after shared capacity.
    pub priority: ByokPriority,
    /// Never fall back to shared capacity for this provider.
    pub always_use: bool,
    /// The workspace whose keys alone use it (`None`: the whole account).
    /// The caller checks it is the account's.
    pub workspace_id: Option<String>,
}

/// A change to a BYOK key; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ByokPatch {
    /// New label (`Some(None)` removes it).
    pub label: Option<Option<String>>,
    /// New priority.
    pub priority: Option<ByokPriority>,
    /// New always-use setting.
    pub always_use: Option<bool>,
    /// Disable or re-enable.
    pub disabled: Option<bool>,
}

/// The authenticated data of a sealed key: what it belongs to.
fn aad(account_id: &str, id: &str, provider: &str) -> String {
    format!("switchyard-byok-v1\0{account_id}\0{id}\0{provider}")
}

/// A random (version 4) UUID.
fn new_id() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

const COLUMNS: &str = "id, account_id, provider, label, last4, priority, always_use, disabled, seq, master_key_id, \
     nonce, ciphertext, created_at, updated_at, workspace_id";

fn record_from_row(row: &sqlx::any::AnyRow) -> Result<ByokRecord, StoreError> {
    let priority: String = row.try_get("priority")?;
    Ok(ByokRecord {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        provider: row.try_get("provider")?,
        label: row.try_get("label")?,
        last4: row.try_get("last4")?,
        priority: priority.parse().map_err(StoreError::Corrupt)?,
        always_use: row.try_get::<i64, _>("always_use")? != 0,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        seq: row.try_get("seq")?,
        sealed: Sealed {
            master_key_id: row.try_get("master_key_id")?,
            nonce: row.try_get("nonce")?,
            ciphertext: row.try_get("ciphertext")?,
        },
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        workspace_id: row.try_get("workspace_id")?,
    })
}

impl Store {
    /// Stores a new BYOK key for an account, sealed under `master`.
    pub async fn create_byok(
        &self,
        account_id: &str,
        new: &NewByok,
        master: &MasterKey,
    ) -> Result<ByokRecord, StoreError> {
        let id = new_id();
        let sealed = master
            .seal(&new.api_key, &aad(account_id, &id, &new.provider))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let now = now_ms();
        let sql = format!(
            "INSERT INTO byok_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, \
             (SELECT COALESCE(MAX(seq), 0) + 1 FROM byok_keys WHERE account_id = $8), $9, $10, $11, $12, $13, $14) \
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(&id)
            .bind(account_id)
            .bind(&new.provider)
            .bind(new.label.clone())
            .bind(new.api_key.last4())
            .bind(new.priority.as_str())
            .bind(i64::from(new.always_use))
            .bind(account_id)
            .bind(&sealed.master_key_id)
            .bind(&sealed.nonce)
            .bind(&sealed.ciphertext)
            .bind(now)
            .bind(now)
            .bind(new.workspace_id.clone())
            .fetch_one(self.pool())
            .await?;
        record_from_row(&row)
    }

    /// The account's BYOK keys, in the order they are tried.
    pub async fn byok_keys(&self, account_id: &str) -> Result<Vec<ByokRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM byok_keys WHERE account_id = $1 ORDER BY seq, id");
        let rows = sqlx::query(&sql).bind(account_id).fetch_all(self.pool()).await?;
        rows.iter().map(record_from_row).collect()
    }

    /// The account's BYOK key `id`, if it has one by that id.
    pub async fn byok_key(&self, account_id: &str, id: &str) -> Result<Option<ByokRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM byok_keys WHERE account_id = $1 AND id = $2");
        let row = sqlx::query(&sql).bind(account_id).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(record_from_row).transpose()
    }

    /// Applies a change to the account's key `id`; `None` if it has none.
    pub async fn update_byok(
        &self,
        account_id: &str,
        id: &str,
        patch: &ByokPatch,
    ) -> Result<Option<ByokRecord>, StoreError> {
        let Some(mut rec) = self.byok_key(account_id, id).await? else {
            return Ok(None);
        };
        if let Some(label) = &patch.label {
            rec.label.clone_from(label);
        }
        rec.priority = patch.priority.unwrap_or(rec.priority);
        rec.always_use = patch.always_use.unwrap_or(rec.always_use);
        rec.disabled = patch.disabled.unwrap_or(rec.disabled);
        rec.updated_at = now_ms().max(rec.updated_at);
        let done = sqlx::query(
            "UPDATE byok_keys SET label = $1, priority = $2, always_use = $3, disabled = $4, updated_at = $5 \
             WHERE account_id = $6 AND id = $7",
        )
        .bind(rec.label.clone())
        .bind(rec.priority.as_str())
        .bind(i64::from(rec.always_use))
        .bind(i64::from(rec.disabled))
        .bind(rec.updated_at)
        .bind(account_id)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok((done.rows_affected() > 0).then_some(rec))
    }

    /// Deletes the account's key `id` (the ciphertext goes too); false if
    /// it had none.
    pub async fn delete_byok(&self, account_id: &str, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM byok_keys WHERE account_id = $1 AND id = $2")
            .bind(account_id)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open_round_trips_with_fresh_nonces() {
        let mk = MasterKey::generate();
        let secret = Secret::new("sk-live-abcdefghijklmnop");
        let a = mk.seal(&secret, "ctx").unwrap();
        let b = mk.seal(&secret, "ctx").unwrap();
        assert_ne!(a.nonce, b.nonce, "a fresh nonce per seal");
        assert_ne!(a.ciphertext, b.ciphertext);
        assert!(!a.ciphertext.contains("abcdefghijklmnop"));
        assert_eq!(mk.open(&a, "ctx").unwrap(), secret);
        assert_eq!(mk.open(&b, "ctx").unwrap(), secret);
        assert_eq!(a.master_key_id, mk.id());
    }

    #[test]
    fn wrong_master_key_or_context_fails_cleanly() {
        let mk = MasterKey::generate();
        let other = MasterKey::generate();
        let sealed = mk.seal(&Secret::new("sk-live-abcdefghijklmnop"), "ctx").unwrap();
        let err = other.open(&sealed, "ctx").unwrap_err();
        assert!(matches!(err, CryptoError::WrongMasterKey { .. }), "{err:?}");
        // Same id claimed, other key material: authentication fails.
        let forged = Sealed { master_key_id: other.id().to_owned(), ..sealed.clone() };
        assert_eq!(other.open(&forged, "ctx").unwrap_err(), CryptoError::Decrypt);
        // Moved to another account or provider: authentication fails.
        assert_eq!(mk.open(&sealed, "other").unwrap_err(), CryptoError::Decrypt);
        // Altered ciphertext.
        let mut ct = base64::engine::general_purpose::STANDARD.decode(&sealed.ciphertext).unwrap();
        ct[0] ^= 1;
        let altered = Sealed { ciphertext: base64::engine::general_purpose::STANDARD.encode(ct), ..sealed.clone() };
        assert_eq!(mk.open(&altered, "ctx").unwrap_err(), CryptoError::Decrypt);
        let garbage = Sealed { nonce: "zz".into(), ..sealed };
        assert_eq!(mk.open(&garbage, "ctx").unwrap_err(), CryptoError::Decrypt);
        // No message carries key material.
        assert!(!format!("{err} {err:?}").contains("abcdefghijklmnop"));
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let s = Secret::new("sk-live-abcdefghijklmnop");
        assert_eq!(format!("{s:?}"), "***");
        let new = NewByok {
            provider: "openai".into(),
            api_key: s.clone(),
            label: None,
            priority: ByokPriority::Prioritized,
            always_use: false,
            workspace_id: None,
        };
        assert!(!format!("{new:?}").contains("abcdefghijklmnop"));
        let mk = MasterKey::parse(&"ab".repeat(32)).unwrap();
        let shown = format!("{mk:?}");
        assert!(shown.contains(mk.id()) && !shown.contains("abab"), "{shown}");
        assert_eq!(s.last4(), "…mnop");
        assert_eq!(Secret::new("short-key").last4(), "…");
    }

    #[test]
    fn master_keys_parse_from_hex_or_base64() {
        let mk = MasterKey::generate();
        let b64 = mk.encode();
        let again = MasterKey::parse(b64.expose()).unwrap();
        assert_eq!(again.id(), mk.id());
        let hex_text = hex::encode(again.key);
        assert_eq!(MasterKey::parse(&format!(" {hex_text}\n")).unwrap().id(), mk.id());
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mk.key);
        assert_eq!(MasterKey::parse(&url).unwrap().id(), mk.id());
        assert!(matches!(MasterKey::parse("c2hvcnQ="), Err(CryptoError::BadMasterKey(_))));
        assert!(matches!(MasterKey::parse("not a key!"), Err(CryptoError::BadMasterKey(_))));
        assert!(MasterKey::parse(&"g".repeat(64)).is_err());
        assert!(new_id().len() == 36 && new_id() != new_id());
    }
}
