//! Text from outside — query strings, form posts, server-function arguments, JSON bodies,
//! imported feeds — is cleaned once, by [`clean`]: valid UTF-8, no control characters except
//! tab and line breaks, and Unicode NFC (so "é" typed as one character or as "e" + accent is one
//! word for search, sorting and duplicate matching). The HTTP edge (server/src/input.rs) and
//! the importer both call it; domain code then checks each field's own length with [`field`].

use std::borrow::Cow;
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("the text is not valid UTF-8")]
    InvalidUtf8,
    #[error("the text contains a control character (U+{0:04X})")]
    Control(u32),
}

/// Control characters we refuse: C0 except tab, line feed and carriage return; DEL; C1.
pub fn is_refused_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// `s` if it is clean and already NFC (no copy), its NFC form otherwise, or why it is refused.
pub fn clean(s: &str) -> Result<Cow<'_, str>, TextError> {
    if let Some(c) = s.chars().find(|c| is_refused_control(*c)) {
        return Err(TextError::Control(c as u32));
    }
    if is_nfc_quick(s.chars()) == IsNormalized::Yes {
        return Ok(Cow::Borrowed(s));
    }
    let normalized: String = s.nfc().collect();
    Ok(if normalized == s {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(normalized)
    })
}

/// [`clean`] for raw bytes (a percent-decoded query value, a CSV cell).
pub fn clean_bytes(bytes: &[u8]) -> Result<Cow<'_, str>, TextError> {
    let s = std::str::from_utf8(bytes).map_err(|_| TextError::InvalidUtf8)?;
    clean(s)
}

/// What is wrong with one form field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldError {
    Missing,
    TooLong { max: usize },
}

/// The longest each kind of free text may be, in characters. Every free-text field names one.
pub mod limits {
    /// A person's or organization's name, a job title.
    pub const NAME: usize = 200;
    /// Notes on referrals and residents, referral notes.
    pub const NOTE: usize = 4000;
    /// A decision or outcome reason, an outreach result.
    pub const REASON: usize = 2000;
    /// A search box.
    pub const SEARCH: usize = 200;
    pub const EMAIL: usize = 254;
    pub const PHONE: usize = 40;
    /// A street address on one line.
    pub const ADDRESS: usize = 300;
    /// Codes, ids and other short tokens.
    pub const TOKEN: usize = 200;
}

/// A free-text field, trimmed: `None` when empty, refused when longer than `max` characters.
pub fn field(value: Option<&str>, max: usize) -> Result<Option<String>, FieldError> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > max {
        return Err(FieldError::TooLong { max });
    }
    Ok(Some(v.to_string()))
}

/// A field that must be filled in.
pub fn required(value: &str, max: usize) -> Result<String, FieldError> {
    field(Some(value), max)?.ok_or(FieldError::Missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_but_tabs_and_line_breaks_pass() {
        assert_eq!(clean("a\u{0}b"), Err(TextError::Control(0)));
        assert_eq!(clean("a\u{1b}b"), Err(TextError::Control(0x1b)));
        assert_eq!(clean("a\u{7f}"), Err(TextError::Control(0x7f)));
        assert_eq!(clean("a\u{85}"), Err(TextError::Control(0x85)));
        assert_eq!(
            clean("line one\r\nline two\tend").unwrap(),
            "line one\r\nline two\tend"
        );
    }

    #[test]
    fn text_is_normalised_to_nfc() {
        let decomposed = "Jose\u{301}";
        let cleaned = clean(decomposed).unwrap();
        assert_eq!(cleaned, "José");
        assert!(matches!(cleaned, Cow::Owned(_)));
        assert!(matches!(clean("José").unwrap(), Cow::Borrowed(_)));
        assert!(matches!(clean("plain ascii").unwrap(), Cow::Borrowed(_)));
    }

    #[test]
    fn broken_utf8_is_refused() {
        assert_eq!(clean_bytes(b"caf\xc3"), Err(TextError::InvalidUtf8));
        assert_eq!(clean_bytes(b"\xff\xfe"), Err(TextError::InvalidUtf8));
        assert_eq!(clean_bytes("café".as_bytes()).unwrap(), "café");
    }

    #[test]
    fn fields_are_trimmed_and_limited_in_characters_not_bytes() {
        assert_eq!(field(Some("  hi "), 5), Ok(Some("hi".into())));
        assert_eq!(field(Some("   "), 5), Ok(None));
        assert_eq!(field(None, 5), Ok(None));
        assert_eq!(field(Some("ééééé"), 5), Ok(Some("ééééé".into())));
        assert_eq!(
            field(Some("éééééé"), 5),
            Err(FieldError::TooLong { max: 5 })
        );
        assert_eq!(required(" ", 5), Err(FieldError::Missing));
    }
}
