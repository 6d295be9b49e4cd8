//! An English dictionary for spelling correction: a word in it is never "corrected" into a
//! directory word ("finish" is not a misspelling of "find"). The list is SCOWL's American
//! English (Debian's `wamerican` 2020.12.07), words of four or more lower-case letters;
//! `words-en.COPYRIGHT` carries its notice.

use std::collections::HashSet;
use std::sync::OnceLock;

fn words() -> &'static HashSet<&'static str> {
    static WORDS: OnceLock<HashSet<&'static str>> = OnceLock::new();
    WORDS.get_or_init(|| include_str!("words-en.txt").lines().collect())
}

/// Whether `word` (lower case) is an English word.
pub fn is_word(word: &str) -> bool {
    words().contains(word)
}

#[cfg(test)]
mod tests {
    use super::is_word;

    #[test]
    fn common_words_are_words_and_typos_are_not() {
        for w in ["finish", "formula", "diapers", "school", "rent"] {
            assert!(is_word(w), "{w}");
        }
        for w in ["formla", "diapres", "daycre"] {
            assert!(!is_word(w), "{w}");
        }
    }
}
