//! Time-based one-time codes (RFC 6238: 6 digits, 30 seconds, SHA-1, as every authenticator app
//! expects) and one-time recovery codes.

use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Secret, TOTP};

const STEP: u64 = 30;

/// A new random secret, base32 (what the QR code and the "enter this key" text carry).
pub fn new_secret() -> String {
    Secret::generate_secret().to_encoded().to_string()
}

/// RFC 4226 asks for at least 128 bits; anything shorter (an empty secret above all) is refused,
/// never used to check a code.
pub const MIN_SECRET_BYTES: usize = 16;

fn totp(secret_b32: &str, issuer: &str, account: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret_b32.to_string()).to_bytes().ok()?;
    if bytes.len() < MIN_SECRET_BYTES {
        return None;
    }
    // `new_unchecked` allows issuers with spaces and any account name.
    Some(TOTP::new_unchecked(
        Algorithm::SHA1,
        6,
        1,
        STEP,
        bytes,
        Some(issuer.to_string()),
        account.to_string(),
    ))
}

/// The `otpauth://` URL an authenticator app scans.
pub fn enrolment_url(secret_b32: &str, issuer: &str, account: &str) -> String {
    totp(secret_b32, issuer, account)
        .map(|t| t.get_url())
        .unwrap_or_default()
}

/// Checks `code` at time `now` (one step of clock drift either way) and returns the time step it
/// matched, which must be later than `last_step`: a code works once.
pub fn check(secret_b32: &str, code: &str, now: u64, last_step: Option<i64>) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let t = totp(secret_b32, "", "")?;
    let current = now / STEP;
    [current.saturating_sub(1), current, current + 1]
        .into_iter()
        .find(|step| {
            let expected = t.generate(step * STEP);
            constant_time_eq(expected.as_bytes(), code.as_bytes())
        })
        .map(|step| step as i64)
        .filter(|step| last_step.is_none_or(|last| *step > last))
}

/// The code an authenticator shows at `now` (tests and the demo use it).
pub fn code_at(secret_b32: &str, now: u64) -> String {
    totp(secret_b32, "", "")
        .map(|t| t.generate(now))
        .unwrap_or_default()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Ten recovery codes, each 10 characters from an alphabet without look-alikes (xxxxx-xxxxx).
pub fn new_recovery_codes() -> Vec<String> {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..10)
        .map(|_| {
            let s: String = (0..10)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect();
            format!("{}-{}", &s[..5], &s[5..])
        })
        .collect()
}

/// Recovery codes are random, so a plain SHA-256 is enough to store them.
pub fn recovery_code_hash(code: &str) -> Vec<u8> {
    let normalized: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Sha256::digest(normalized.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_works_once_and_only_near_its_time() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let code = code_at(&secret, now);
        let step = check(&secret, &code, now, None).expect("current code");
        assert_eq!(check(&secret, &code, now, Some(step)), None, "replayed");
        assert!(
            check(&secret, &code, now + 30, None).is_some(),
            "one step of drift"
        );
        assert_eq!(check(&secret, &code, now + 120, None), None, "too late");
        assert_eq!(check(&secret, "12345", now, None), None);
        assert_eq!(check(&secret, "abcdef", now, None), None);
    }

    #[test]
    fn short_or_empty_secrets_check_no_code() {
        let now = 1_800_000_000;
        // The code an empty key would give is easy to compute; it must never be accepted.
        let empty = TOTP::new_unchecked(Algorithm::SHA1, 6, 1, STEP, vec![], None, String::new());
        let public_code = empty.generate(now);
        assert_eq!(check("", &public_code, now, None), None);
        // 15 bytes (24 base32 characters) is one byte short.
        let short = "JBSWY3DPEHPK3PXPJBSWY3DP";
        assert_eq!(Secret::Encoded(short.into()).to_bytes().unwrap().len(), 15);
        let short_code = TOTP::new_unchecked(
            Algorithm::SHA1,
            6,
            1,
            STEP,
            Secret::Encoded(short.into()).to_bytes().unwrap(),
            None,
            String::new(),
        )
        .generate(now);
        assert_eq!(check(short, &short_code, now, None), None);
        assert_eq!(code_at("", now), "");
        assert!(Secret::Encoded(new_secret()).to_bytes().unwrap().len() >= MIN_SECRET_BYTES);
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_the_same_however_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), 10);
        assert_eq!(
            recovery_code_hash(&codes[0]),
            recovery_code_hash(&codes[0].to_uppercase().replace('-', " "))
        );
    }
}
