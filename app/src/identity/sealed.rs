//! TOTP secrets at rest. Whoever holds a secret can make sign-in codes, so the database keeps
//! them sealed (XChaCha20-Poly1305) under a key that lives outside it, in the file
//! `identity.secrets_key_file` names: a database backup or dump alone cannot mint codes.
//!
//! The key file is created (32 random bytes, hex, mode 0600) at the first start-up, and never
//! again while the database holds secrets sealed with a key (see [`prepare`]). Losing it means
//! every partner re-enrols their authenticator with a recovery code; rotating it is not built
//! yet.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::path::Path;
use std::sync::OnceLock;

/// What a sealed value starts with; anything else in the column is a secret from before sealing.
const PREFIX: &str = "v1.";

pub struct SealingKey(XChaCha20Poly1305);

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or create the secrets key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the secrets key file {0} does not hold 64 hexadecimal digits")]
    Invalid(String),
    #[error(
        "the secrets key file {path} is missing, but {sealed} sign-in secrets in the database were \
         sealed with a key: refusing to create a new key (it would open none of them). Restore the \
         key file, or fix identity.secrets_key_file / $WRAPAROUND_SECRETS_KEY_FILE"
    )]
    MissingWithSealedSecrets { path: String, sealed: i64 },
    #[error(
        "the secrets key file {path} opens none of the {sealed} sign-in secrets in the database: \
         it is not the key they were sealed with. Restore the right key file"
    )]
    WrongKey { path: String, sealed: i64 },
    #[error("the secrets key file {0} does not exist (the server creates it at start-up)")]
    NotFound(String),
    #[error("reading the database for sealed secrets failed: {0}")]
    Database(#[from] sqlx::Error),
}

impl SealingKey {
    /// Reads the key file; `None` when there is none.
    pub fn load(path: &Path) -> Result<Option<Self>, KeyError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(KeyError::Io {
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        let bytes = hex::decode(text.trim())
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| KeyError::Invalid(path.display().to_string()))?;
        Ok(Some(SealingKey(XChaCha20Poly1305::new(
            bytes.as_slice().into(),
        ))))
    }

    /// Creates the key file (32 random bytes, hex, mode 0600) unless one appeared meanwhile, and
    /// reads it back.
    fn create(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        // Written aside, then linked into place: two processes starting at once agree on one
        // key, and nobody reads a half-written file.
        let unique = hex::encode(&XChaCha20Poly1305::generate_nonce(&mut OsRng)[..8]);
        let aside = path.with_extension(format!("new-{unique}"));
        write_private(&aside, hex::encode(key).as_bytes()).map_err(io)?;
        let linked = std::fs::hard_link(&aside, path);
        let _ = std::fs::remove_file(&aside);
        match linked {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(io(e)),
            Ok(()) => {
                tracing::warn!(path = %path.display(), "created a new secrets key file; keep it safe and out of database backups")
            }
            Err(_) => {}
        }
        Self::load(path)?.ok_or_else(|| KeyError::NotFound(path.display().to_string()))
    }

    pub fn seal(&self, secret: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .0
            .encrypt(&nonce, secret.as_bytes())
            .expect("sealing a short secret cannot fail");
        format!("{PREFIX}{}{}", hex::encode(nonce), hex::encode(sealed))
    }

    /// The secret, or `None` for a value this key did not seal (tampered with, another key).
    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = hex::decode(sealed.strip_prefix(PREFIX)?).ok()?;
        if bytes.len() < 24 {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        let plain = self.0.decrypt(XNonce::from_slice(nonce), ciphertext).ok()?;
        String::from_utf8(plain).ok()
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

static KEY: OnceLock<SealingKey> = OnceLock::new();

fn key_path(deployment: &crate::config::Deployment) -> &Path {
    Path::new(&deployment.identity.secrets_key_file)
}

/// The process's key, checked against the database once at start-up (and by commands that seal
/// secrets): see [`open_checked`].
pub async fn prepare(
    pool: &sqlx::PgPool,
    deployment: &crate::config::Deployment,
) -> Result<&'static SealingKey, KeyError> {
    if let Some(k) = KEY.get() {
        return Ok(k);
    }
    let key = open_checked(pool, key_path(deployment)).await?;
    Ok(KEY.get_or_init(|| key))
}

/// The key in `path`, checked against the secrets in the database: a missing key file is created
/// only while no secret in the database is sealed, and a key that opens none of the stored
/// secrets is refused. Either mistake (a redeploy without the file, a typo in its path) would
/// otherwise lock every partner out, or worse.
pub async fn open_checked(pool: &sqlx::PgPool, path: &Path) -> Result<SealingKey, KeyError> {
    let sealed: Vec<String> = sqlx::query_scalar(
        "SELECT totp_secret FROM users WHERE totp_secret LIKE 'v1.%' ORDER BY id LIMIT 50",
    )
    .fetch_all(pool)
    .await?;
    let count = sealed.len() as i64;
    let key = match SealingKey::load(path)? {
        Some(k) => k,
        None if count > 0 => {
            return Err(KeyError::MissingWithSealedSecrets {
                path: path.display().to_string(),
                sealed: count,
            })
        }
        None => SealingKey::create(path)?,
    };
    let unopenable = sealed.iter().filter(|s| key.open(s).is_none()).count();
    if count > 0 && unopenable as i64 == count {
        return Err(KeyError::WrongKey {
            path: path.display().to_string(),
            sealed: count,
        });
    }
    if unopenable > 0 {
        tracing::error!(
            unopenable,
            "some stored sign-in secrets cannot be opened with the secrets key; those people cannot sign in until they re-enrol"
        );
    }
    Ok(key)
}

/// The key [`prepare`] checked, or (for commands that only open secrets) the key file as it is.
/// Never creates one.
pub fn key(deployment: &crate::config::Deployment) -> Result<&'static SealingKey, KeyError> {
    if let Some(k) = KEY.get() {
        return Ok(k);
    }
    let path = key_path(deployment);
    let k =
        SealingKey::load(path)?.ok_or_else(|| KeyError::NotFound(path.display().to_string()))?;
    Ok(KEY.get_or_init(|| k))
}

/// Seals the TOTP secrets stored before sealing existed (run at start-up; a no-op after).
pub async fn seal_stored_secrets(
    pool: &sqlx::PgPool,
    key: &SealingKey,
) -> Result<u64, sqlx::Error> {
    let plain: Vec<(uuid::Uuid, String)> = sqlx::query_as(
        "SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL AND totp_secret NOT LIKE 'v1.%'",
    )
    .fetch_all(pool)
    .await?;
    for (id, secret) in &plain {
        // Only if unchanged meanwhile: a secret enrolled at this moment is sealed already.
        sqlx::query("UPDATE users SET totp_secret = $2 WHERE id = $1 AND totp_secret = $3")
            .bind(id)
            .bind(key.seal(secret))
            .bind(secret)
            .execute(pool)
            .await?;
    }
    Ok(plain.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh_path(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("wraparound-sealed-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("keys/secrets.key")
    }

    #[test]
    fn a_sealed_secret_opens_with_its_key_only() {
        let path = fresh_path("roundtrip");
        let key = SealingKey::create(&path).unwrap();
        let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        let sealed = key.seal(secret);
        assert!(sealed.starts_with(PREFIX) && !sealed.contains(secret));
        assert_ne!(sealed, key.seal(secret), "a fresh nonce every time");
        assert_eq!(key.open(&sealed).as_deref(), Some(secret));

        // The same file gives the same key (the server restarts), and creating again keeps it...
        let again = SealingKey::load(&path).unwrap().unwrap();
        assert_eq!(again.open(&sealed).as_deref(), Some(secret));
        let raced = SealingKey::create(&path).unwrap();
        assert_eq!(raced.open(&sealed).as_deref(), Some(secret));
        // ...another file does not, and neither tampering nor plaintext gets through.
        let other = SealingKey::create(&fresh_path("other")).unwrap();
        assert_eq!(other.open(&sealed), None);
        // One changed digit of the authentication tag.
        let mut tampered = sealed.clone();
        let last = if sealed.ends_with('0') { "1" } else { "0" };
        tampered.replace_range(sealed.len() - 1.., last);
        assert_eq!(key.open(&tampered), None);
        assert_eq!(key.open(secret), None);
        assert_eq!(key.open("v1.zz"), None);
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_private_and_a_bad_one_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let path = fresh_path("private");
        assert!(SealingKey::load(&path).unwrap().is_none());
        SealingKey::create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(&path, "not a key").unwrap();
        assert!(matches!(SealingKey::load(&path), Err(KeyError::Invalid(_))));
    }
}
