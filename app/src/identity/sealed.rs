//! TOTP secrets at rest. Whoever holds a secret can make sign-in codes, so the database keeps
//! them sealed (XChaCha20-Poly1305) under a key that lives outside it, in the file
//! `identity.secrets_key_file` names: a database backup or dump alone cannot mint codes.
//!
//! The key file is created (32 random bytes, hex, mode 0600) the first time it is needed. Losing
//! it means every partner re-enrols their authenticator with a recovery code; rotating it is
//! not built yet.

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
}

impl SealingKey {
    /// Reads the key file, creating it first when there is none.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        if !path.exists() {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            let key = XChaCha20Poly1305::generate_key(&mut OsRng);
            // Written aside, then linked into place: two processes starting at once agree on
            // one key, and nobody reads a half-written file.
            let unique = hex::encode(&XChaCha20Poly1305::generate_nonce(&mut OsRng)[..8]);
            let aside = path.with_extension(format!("new-{unique}"));
            write_private(&aside, hex::encode(key).as_bytes()).map_err(io)?;
            let linked = std::fs::hard_link(&aside, path);
            let _ = std::fs::remove_file(&aside);
            match linked {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(io(e)),
                _ => {}
            }
            tracing::warn!(path = %path.display(), "created a new secrets key file; keep it safe and out of database backups");
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        let bytes = hex::decode(text.trim())
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| KeyError::Invalid(path.display().to_string()))?;
        Ok(SealingKey(XChaCha20Poly1305::new(bytes.as_slice().into())))
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

/// The process's key, loaded once from the deployment's key file.
pub fn key(deployment: &crate::config::Deployment) -> Result<&'static SealingKey, KeyError> {
    if let Some(k) = KEY.get() {
        return Ok(k);
    }
    let k = SealingKey::load_or_create(Path::new(&deployment.identity.secrets_key_file))?;
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
        let key = SealingKey::load_or_create(&path).unwrap();
        let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        let sealed = key.seal(secret);
        assert!(sealed.starts_with(PREFIX) && !sealed.contains(secret));
        assert_ne!(sealed, key.seal(secret), "a fresh nonce every time");
        assert_eq!(key.open(&sealed).as_deref(), Some(secret));

        // The same file gives the same key (the server restarts)...
        let again = SealingKey::load_or_create(&path).unwrap();
        assert_eq!(again.open(&sealed).as_deref(), Some(secret));
        // ...another file does not, and neither tampering nor plaintext gets through.
        let other = SealingKey::load_or_create(&fresh_path("other")).unwrap();
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
        SealingKey::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(&path, "not a key").unwrap();
        assert!(matches!(
            SealingKey::load_or_create(&path),
            Err(KeyError::Invalid(_))
        ));
    }
}
