//! Our category tree (two levels, in the style of kynect resources) and how incoming taxonomy
//! codes land in it. The tree, its Spanish names and its code mappings live in
//! `categories.toml`: category names are directory data translated alongside the tree.

use crate::i18n::Locale;
use serde::Deserialize;
use std::sync::OnceLock;

#[derive(Debug, Deserialize)]
pub struct CategoryTree {
    #[serde(rename = "category")]
    pub categories: Vec<Category>,
}

#[derive(Debug, Deserialize)]
pub struct Category {
    pub id: String,
    pub en: String,
    pub es: String,
    pub en_description: String,
    pub es_description: String,
    pub sub: Vec<Subcategory>,
}

#[derive(Debug, Deserialize)]
pub struct Subcategory {
    pub id: String,
    pub en: String,
    pub es: String,
    /// 211/AIRS taxonomy code prefixes; the longest matching prefix wins.
    #[serde(default)]
    pub airs: Vec<String>,
    /// Open Eligibility term names (lower case).
    #[serde(default)]
    pub open_eligibility: Vec<String>,
    /// Used only for services that arrive without any taxonomy.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Curated "often needed together" suggestions (subcategory ids).
    #[serde(default)]
    pub often_with: Vec<String>,
}

/// A taxonomy term as a feed gives it: which vocabulary, its code and its name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TermRef<'a> {
    pub taxonomy: Option<&'a str>,
    pub code: Option<&'a str>,
    pub name: &'a str,
}

/// The taxonomy name under which we publish our own tree (and accept it back).
pub const OUR_TAXONOMY: &str = "wraparound";

impl CategoryTree {
    pub fn get() -> &'static CategoryTree {
        static TREE: OnceLock<CategoryTree> = OnceLock::new();
        TREE.get_or_init(|| {
            let tree: CategoryTree = toml::from_str(include_str!("categories.toml"))
                .expect("categories.toml is checked by a unit test");
            tree
        })
    }

    pub fn top(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    pub fn sub(&self, id: &str) -> Option<(&Category, &Subcategory)> {
        self.categories
            .iter()
            .find_map(|c| c.sub.iter().find(|s| s.id == id).map(|s| (c, s)))
    }

    pub fn exists(&self, id: &str) -> bool {
        self.top(id).is_some() || self.sub(id).is_some()
    }

    /// The name of a category or subcategory in the reader's language.
    pub fn name(&self, id: &str, locale: Locale) -> Option<&str> {
        let (en, es) = match (self.top(id), self.sub(id)) {
            (Some(c), _) => (&c.en, &c.es),
            (None, Some((_, s))) => (&s.en, &s.es),
            (None, None) => return None,
        };
        Some(match locale {
            Locale::es => es,
            Locale::en => en,
        })
    }

    /// Which subcategories a service belongs to, from its taxonomy terms; a service that
    /// carries no taxonomy at all falls back to keywords in its name.
    pub fn classify(&self, terms: &[TermRef<'_>], service_name: &str) -> Vec<&str> {
        let mut found: Vec<&str> = Vec::new();
        let matched = terms.iter().filter_map(|term| self.match_term(term));
        let by_keyword = self
            .categories
            .iter()
            .flat_map(|c| c.sub.iter())
            .filter(|s| {
                terms.is_empty()
                    && s.keywords
                        .iter()
                        .any(|k| contains_phrase(&service_name.to_lowercase(), k))
            })
            .map(|s| s.id.as_str());
        for id in matched.chain(by_keyword) {
            if !found.contains(&id) {
                found.push(id);
            }
        }
        found
    }

    fn match_term(&self, term: &TermRef<'_>) -> Option<&str> {
        let taxonomy = term.taxonomy.unwrap_or("").to_ascii_lowercase();
        if let Some(code) = term.code.map(str::trim).filter(|c| !c.is_empty()) {
            if taxonomy == OUR_TAXONOMY {
                return self.sub(code).map(|(_, s)| s.id.as_str());
            }
            let code = code.to_ascii_uppercase();
            let best = self
                .categories
                .iter()
                .flat_map(|c| c.sub.iter())
                .flat_map(|s| s.airs.iter().map(move |p| (s, p)))
                .filter(|(_, prefix)| code.starts_with(prefix.as_str()))
                .max_by_key(|(_, prefix)| prefix.len());
            if let Some((s, _)) = best {
                return Some(&s.id);
            }
        }
        let name = term.name.trim().to_lowercase();
        self.categories
            .iter()
            .flat_map(|c| c.sub.iter())
            .find(|s| s.open_eligibility.iter().any(|t| *t == name))
            .map(|s| s.id.as_str())
    }

    /// A subcategory id together with its parent's id: what the search index stores so a
    /// search by either level finds the service.
    pub fn with_parents(&self, subcategory_ids: &[String]) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        for id in subcategory_ids {
            if let Some((parent, sub)) = self.sub(id) {
                for x in [&parent.id, &sub.id] {
                    if !all.contains(x) {
                        all.push(x.clone());
                    }
                }
            }
        }
        all
    }
}

/// Whole-word phrase match ("legal aid" matches "Free legal aid clinic", "aid" does not match "maiden").
fn contains_phrase(haystack: &str, phrase: &str) -> bool {
    let bytes = haystack.as_bytes();
    haystack.match_indices(phrase).any(|(at, _)| {
        let before_ok = at == 0 || !bytes[at - 1].is_ascii_alphanumeric();
        let end = at + phrase.len();
        let after_ok = end >= bytes.len() || !bytes[end].is_ascii_alphanumeric();
        before_ok && after_ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> &'static CategoryTree {
        CategoryTree::get()
    }

    #[test]
    fn the_tree_is_well_formed() {
        let t = tree();
        assert_eq!(t.categories.len(), 16);
        let mut ids = std::collections::HashSet::new();
        for c in &t.categories {
            assert!(ids.insert(c.id.clone()), "duplicate id {}", c.id);
            for s in &c.sub {
                assert!(ids.insert(s.id.clone()), "duplicate id {}", s.id);
                // Every kind of help is found by a 211 code or an Open Eligibility term.
                assert!(
                    !s.airs.is_empty() || !s.open_eligibility.is_empty(),
                    "{} has no AIRS codes and no Open Eligibility terms",
                    s.id
                );
                for o in &s.often_with {
                    assert!(t.sub(o).is_some(), "{} pairs with unknown {}", s.id, o);
                }
            }
        }
    }

    #[test]
    fn the_issue_examples_are_where_people_look_for_them() {
        let t = tree();
        assert_eq!(t.sub("baby-formula").unwrap().0.id, "food");
        assert_eq!(t.sub("ged").unwrap().0.id, "education");
        assert_eq!(t.top("childcare").unwrap().en, "Childcare");
    }

    #[test]
    fn airs_codes_land_by_longest_prefix() {
        let t = tree();
        let term = TermRef {
            taxonomy: Some("AIRS"),
            code: Some("BD-1800.2000"),
            name: "Food Pantries",
        };
        assert_eq!(t.classify(&[term], "anything"), vec!["food-pantries"]);
    }

    #[test]
    fn our_own_taxonomy_round_trips() {
        let t = tree();
        let term = TermRef {
            taxonomy: Some("wraparound"),
            code: Some("ged"),
            name: "GED",
        };
        assert_eq!(t.classify(&[term], ""), vec!["ged"]);
    }

    #[test]
    fn services_without_taxonomy_fall_back_to_name_keywords() {
        let t = tree();
        let found = t.classify(&[], "North Lawndale Legal Aid Clinic");
        assert!(found.contains(&"legal-aid"), "{found:?}");
        // Family issues are family law, as a caseworker would file them.
        let found = t.classify(&[], "Free legal help for family issues in DuPage County");
        assert!(found.contains(&"family-law"), "{found:?}");
        assert!(t.classify(&[], "Bake sale").is_empty());
    }

    #[test]
    fn parents_are_added_for_the_index() {
        let t = tree();
        assert_eq!(
            t.with_parents(&["baby-formula".into()]),
            vec!["food".to_string(), "baby-formula".to_string()]
        );
    }

    #[test]
    fn phrase_matching_respects_word_boundaries() {
        assert!(contains_phrase("free legal aid clinic", "legal aid"));
        assert!(!contains_phrase("paralegal aide", "legal aid"));
    }
}
