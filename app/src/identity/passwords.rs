//! Local passwords, per NIST SP 800-63B: length over composition rules, a check against
//! commonly breached passwords, no hints and no forced rotation. Stored as argon2id hashes.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use std::sync::OnceLock;

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 128;

/// Why a new password is refused (each has a message for the person choosing it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weakness {
    TooShort,
    TooLong,
    Common,
    ContainsEmail,
    Repetitive,
}

impl Weakness {
    pub fn code(self) -> &'static str {
        match self {
            Weakness::TooShort => "password_short",
            Weakness::TooLong => "password_long",
            Weakness::Common => "password_common",
            Weakness::ContainsEmail => "password_has_email",
            Weakness::Repetitive => "password_repetitive",
        }
    }
}

fn common() -> &'static std::collections::HashSet<String> {
    static LIST: OnceLock<std::collections::HashSet<String>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("common-passwords.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(str::to_lowercase)
            .collect()
    })
}

/// Checks a new password for `email`. Any characters are allowed, spaces included.
pub fn check_new(password: &str, email: &str) -> Result<(), Weakness> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(Weakness::TooShort);
    }
    if length > MAX_LENGTH {
        return Err(Weakness::TooLong);
    }
    let lower = password.to_lowercase();
    if common().contains(&lower) || lower.contains("wraparound") {
        return Err(Weakness::Common);
    }
    let local = email.split('@').next().unwrap_or("").to_lowercase();
    if local.len() >= 4 && lower.contains(&local) {
        return Err(Weakness::ContainsEmail);
    }
    let distinct: std::collections::HashSet<char> = lower.chars().collect();
    if distinct.len() < 4 {
        return Err(Weakness::Repetitive);
    }
    Ok(())
}

/// Hashes a password with argon2id and a random salt (CPU-heavy: call from a blocking task).
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters cannot fail")
        .to_string()
}

/// Does `password` match the stored hash? A missing hash is checked against a dummy so the
/// answer takes as long whether or not the account exists.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("not a real password, only for timing"));
    let (hash, real) = match stored {
        Some(h) => (h, true),
        None => (dummy.as_str(), false),
    };
    let ok = PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false);
    ok && real
}

pub async fn hash_blocking(password: String) -> String {
    tokio::task::spawn_blocking(move || hash(&password))
        .await
        .expect("hashing task")
}

pub async fn verify_blocking(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || verify(&password, stored.as_deref()))
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_matters_more_than_symbols() {
        assert_eq!(check_new("Tr0ub4dor&3", "a@b.org"), Err(Weakness::TooShort));
        assert_eq!(check_new("river otter kettle maple", "a@b.org"), Ok(()));
        assert_eq!(
            check_new(&"ab1!".repeat(40), "a@b.org"),
            Err(Weakness::TooLong)
        );
    }

    #[test]
    fn breached_and_guessable_passwords_are_refused() {
        assert_eq!(check_new("Password12345", "a@b.org"), Err(Weakness::Common));
        assert_eq!(check_new("1q2w3e4r5t6y", "a@b.org"), Err(Weakness::Common));
        assert_eq!(
            check_new("MyWraparound2026", "a@b.org"),
            Err(Weakness::Common)
        );
        assert_eq!(
            check_new("aaaaaaaaaaaaaaa", "a@b.org"),
            Err(Weakness::Repetitive)
        );
        assert_eq!(
            check_new("dana.jones-secret-words", "dana.jones@agency.ky.gov"),
            Err(Weakness::ContainsEmail)
        );
    }

    #[test]
    fn a_hash_verifies_only_its_password() {
        let h = hash("river otter kettle maple");
        assert!(verify("river otter kettle maple", Some(&h)));
        assert!(!verify("river otter kettle maples", Some(&h)));
        assert!(!verify("anything", None));
    }
}
