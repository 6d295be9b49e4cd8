//! How people are reached: parsed e-mail addresses and U.S. phone numbers. Parse once at the
//! edge; everything past it holds an [`Email`] or a [`Phone`], never a string that might be one.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An e-mail address: something@something.tld, lower-cased, no spaces or mail-header
/// punctuation, at most 254 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Option<Email> {
        let s = s.trim().to_lowercase();
        let (local, domain) = s.split_once('@')?;
        let ok = s.chars().count() <= crate::text::limits::EMAIL
            && !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !s.chars().any(|c| {
                c.is_whitespace()
                    || c.is_control()
                    || matches!(c, '<' | '>' | ',' | ';' | '"' | '\\')
            });
        ok.then_some(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.split_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A U.S. phone number: ten digits once punctuation (and a leading 1) is dropped. Shown as
/// "(502) 555-0100"; dialled and texted as "+15025550100".
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Phone(String);

impl Phone {
    pub fn parse(s: &str) -> Option<Phone> {
        if s.chars().count() > crate::text::limits::PHONE {
            return None;
        }
        // Only what people type in phone numbers: digits and the usual punctuation.
        if !s
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '(' | ')' | '-' | '.' | '+'))
        {
            return None;
        }
        let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
        let digits = match digits.strip_prefix('1') {
            Some(rest) if rest.len() == 10 => rest.to_string(),
            _ => digits,
        };
        // North American numbers: area code and exchange never start with 0 or 1.
        let valid = digits.len() == 10
            && !digits.starts_with(['0', '1'])
            && !digits[3..].starts_with(['0', '1']);
        valid.then_some(Phone(digits))
    }

    /// "(502) 555-0100"
    pub fn display(&self) -> String {
        let d = &self.0;
        format!("({}) {}-{}", &d[..3], &d[3..6], &d[6..])
    }

    /// "+15025550100": for `tel:` and `sms:` links and the SMS provider.
    pub fn e164(&self) -> String {
        format!("+1{}", self.0)
    }

    pub fn digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_the_way_people_type_them() {
        assert_eq!(
            Email::parse(" Dana@Agency.KY.gov ").unwrap().as_str(),
            "dana@agency.ky.gov"
        );
        for bad in [
            "dana@agency",
            "dana agency@ky.gov",
            "<script>@x.org",
            "a@b@c.org",
            "a@x..org",
            "a@.x.org",
            "@x.org",
            "a\n@x.org",
            "a;b@x.org",
        ] {
            assert_eq!(Email::parse(bad), None, "{bad:?}");
        }
        let long = format!("{}@x.org", "a".repeat(250));
        assert_eq!(Email::parse(&long), None);
    }

    #[test]
    fn phones_are_ten_digit_us_numbers() {
        let p = Phone::parse("502.555.0100").unwrap();
        assert_eq!(p.display(), "(502) 555-0100");
        assert_eq!(p.e164(), "+15025550100");
        assert_eq!(Phone::parse("+1 (502) 555-0100"), Some(p));
        assert_eq!(Phone::parse("555-0100"), None);
        assert_eq!(Phone::parse("012-555-0100"), None);
        assert_eq!(Phone::parse("502-055-0100"), None);
        assert_eq!(Phone::parse("502-555-0100 ext 4"), None);
        assert_eq!(Phone::parse("5025550100x"), None);
    }
}
