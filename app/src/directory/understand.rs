//! What a resident's words ask for. "i need help with childcare" is one need (child care);
//! "free baby formula" is formula with the free filter on; "cuidado de niños" is child care in
//! Spanish. The search then looks for each need by any of its words (synonyms) and ranks
//! programs that meet every need first, without requiring every word to match.
//!
//! Pure and synchronous: the rules are data (`synonyms.toml`) and short word lists here, so they
//! are tested without a database.

use serde::Deserialize;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The resident's words, understood.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Understood {
    /// Each need, as the phrases that find it (the first is what the resident typed).
    pub needs: Vec<Vec<String>>,
    /// They asked for free programs ("free", "gratis", "no cost"): the free filter goes on.
    pub free: bool,
    /// Spanish words in the query: never "corrected" towards English.
    pub spanish: bool,
    /// The words kept as typed (neither filler nor a known phrase): what typo correction may
    /// look at.
    pub plain_words: Vec<String>,
    /// Help next to the needs (general legal help for an eviction, older adults' programs for
    /// "my mom"), one entry per kind, each once: shown after the programs that meet a need.
    pub related: Vec<Related>,
    /// Every need asks for a kind of help in general ("abogado gratis", "i need a lawyer"),
    /// not for help with one problem: the programs that are anyone's way in (an intake line, a
    /// hotline) come before those for one problem, person or place.
    pub front_doors: bool,
}

/// One kind of help next to a need (a `[related]` list of synonyms.toml).
#[derive(Clone, Debug, PartialEq)]
pub struct Related {
    pub name: &'static str,
    /// Phrases that find it.
    pub phrases: &'static [String],
    /// The subcategory of programs that offer this help in general ("legal-aid"): a program
    /// in another subcategory of the same category (immigration, family law) is about one
    /// other problem, and is no help next to this one (`[general]`).
    pub general: Option<&'static str>,
}

impl Understood {
    /// Nothing left to search for by words (only filler, or only "free").
    pub fn is_empty(&self) -> bool {
        self.needs.is_empty()
    }
}

/// Words that carry no need, in English and Spanish. "help" and "ayuda" are among them: every
/// query to a help directory asks for help.
const FILLER: &[&str] = &[
    // English
    "i",
    "im",
    "i'm",
    "ive",
    "me",
    "my",
    "mine",
    "myself",
    "we",
    "our",
    "us",
    "you",
    "your",
    "need",
    "needs",
    "needed",
    "needing",
    "want",
    "wants",
    "looking",
    "look",
    "find",
    "finding",
    "get",
    "getting",
    "some",
    "any",
    "a",
    "an",
    "the",
    "to",
    "for",
    "of",
    "in",
    "on",
    "at",
    "with",
    "and",
    "or",
    "please",
    "pls",
    "can",
    "could",
    "where",
    "how",
    "what",
    "who",
    "do",
    "does",
    "is",
    "are",
    "am",
    "be",
    "there",
    "help",
    "helping",
    "assistance",
    "near",
    "nearby",
    "around",
    "close",
    "closest",
    "here",
    "today",
    "now",
    "asap",
    "urgent",
    "urgently",
    // "i feel depressed": how they feel is the need, not the feeling.
    "feel",
    "feels",
    "feeling",
    "someone",
    "somebody",
    "somewhere",
    "place",
    "places",
    "program",
    "programs",
    "services",
    "service",
    "info",
    "information",
    "that",
    "this",
    "it",
    "from",
    "about",
    "by",
    "so",
    "if",
    // "fired because of my disability": the reason is in the words around it.
    "because",
    "since",
    "just",
    "really",
    "bad",
    "badly",
    // Words around a need that are not the need ("can't pay my water bill", "nursing home
    // problem", "thinking about killing myself"): as needs they match unrelated programs
    // ("pay" → "Help Paying for Child Care") and outrank the right ones. Phrases that hold
    // them ("paying rent", "fix my car") are matched before filler.
    "cant",
    "cannot",
    "unable",
    "afford",
    "pay",
    "paying",
    "wont",
    "dont",
    "tomorrow",
    "tonight",
    "problem",
    "problems",
    "issue",
    "issues",
    "thinking",
    "fix",
    "fixing",
    "will",
    "would",
    "should",
    "have",
    "has",
    "had",
    "got",
    "go",
    "going",
    "un",
    // Spanish
    "yo",
    "necesito",
    "necesita",
    "necesitamos",
    "quiero",
    "busco",
    "porque",
    "buscando",
    "ayuda",
    "ayudar",
    "de",
    "del",
    "la",
    "el",
    "los",
    "las",
    "una",
    "unos",
    "unas",
    "y",
    "o",
    "con",
    "para",
    "por",
    "mi",
    "mis",
    "en",
    "al",
    "que",
    "como",
    "donde",
    "dónde",
    "cerca",
    "aqui",
    "aquí",
    "hoy",
    "favor",
    "alguien",
    "algun",
    "algún",
    "alguna",
    "lugar",
    "servicios",
    "servicio",
    "programa",
];

/// Words that ask for free programs.
const FREE: &[&str] = &[
    "free",
    "gratis",
    "gratuito",
    "gratuita",
    "gratuitos",
    "gratuitas",
];
/// Phrases that ask for free programs.
const FREE_PHRASES: &[&[&str]] = &[
    &["no", "cost"],
    &["free", "of", "charge"],
    &["sin", "costo"],
];

/// Phrases that carry no need: how people ask, not what for ("sign up for medicaid": "sign"
/// alone would match every "Sign-Up" program; "sign" cannot be filler: "sign language").
const FILLER_PHRASES: &[&[&str]] = &[
    &["sign", "up", "for"],
    &["sign", "up"],
    &["signing", "up", "for"],
    &["apply", "for"],
    &["applying", "for"],
    &["enroll", "in"],
    &["what", "do", "i", "do"],
    &["what", "can", "i", "do"],
];

/// Parents and grandparents: after "my" ("meals on wheels for my mom", "a will for my elderly
/// dad", "para mi mamá") they say whom the help is for, not what it is, and as a need "mom"
/// finds prenatal programs. Other people stay needs: "formula for my baby", "my husband hits
/// me", "winter coats for my kids" are about them.
const RELATIVES: &[&str] = &[
    "mom",
    "mum",
    "mother",
    "mama",
    "dad",
    "father",
    "papa",
    "parent",
    "parents",
    "grandma",
    "grandmother",
    "grandpa",
    "grandfather",
    "grandparent",
    "grandparents",
    "mamá",
    "madre",
    "papá",
    "padre",
    "padres",
    "abuela",
    "abuelo",
    "abuelos",
];
/// "my" in both languages.
const MY: &[&str] = &["my", "our", "mi", "mis", "nuestra", "nuestro"];

/// Whether the `i`th word is a parent or grandparent of the resident's (right after "my", or
/// with one word between: "my elderly mom").
fn whom_for(w: &[String], i: usize) -> bool {
    RELATIVES.contains(&w[i].as_str())
        && (1..=2).any(|back| i >= back && MY.contains(&w[i - back].as_str()))
}

/// Words only Spanish queries use (beyond accents).
const SPANISH: &[&str] = &[
    "necesito", "quiero", "busco", "ayuda", "de", "del", "la", "los", "las", "con", "para", "por",
    "niños", "ninos", "comida", "renta", "leche", "cuidado", "clases", "abogado", "trabajo",
    "desalojo", "gratis", "dientes", "ropa", "seguro", "medico", "médico",
];

#[derive(Deserialize)]
struct Synonyms {
    related: HashMap<String, Vec<String>>,
    #[serde(default)]
    general: HashMap<String, String>,
    synonym: Vec<Synonym>,
}

#[derive(Deserialize)]
struct Synonym {
    phrases: Vec<String>,
    search: Vec<String>,
    /// Names of `[related]` lists.
    #[serde(default)]
    related: Vec<String>,
    /// Asking for it is asking for a kind of help in general (`Understood::front_doors`).
    #[serde(default)]
    front_door: bool,
}

/// One phrase a resident may type: its words, what finds it, and the help next to it.
struct Known {
    words: Vec<String>,
    search: Vec<String>,
    related: Vec<Related>,
    front_door: bool,
}

/// Older adults' programs: the help next to any need that is for a parent ("for my mom").
const FOR_A_PARENT: &str = "seniors";

fn parsed() -> &'static Synonyms {
    static PARSED: OnceLock<Synonyms> = OnceLock::new();
    PARSED.get_or_init(|| {
        toml::from_str(include_str!("synonyms.toml")).expect("synonyms.toml parses")
    })
}

/// A `[related]` list.
fn related_list(name: &str) -> Related {
    let parsed = parsed();
    let (name, phrases) = parsed
        .related
        .get_key_value(name)
        .unwrap_or_else(|| panic!("synonyms.toml has no related list {name}"));
    Related {
        name,
        phrases,
        general: parsed.general.get(name).map(String::as_str),
    }
}

/// Every known phrase, longest first.
fn synonyms() -> &'static [Known] {
    static TABLE: OnceLock<Vec<Known>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table: Vec<Known> = parsed()
            .synonym
            .iter()
            .flat_map(|syn| {
                let related: Vec<Related> = syn.related.iter().map(|n| related_list(n)).collect();
                syn.phrases.iter().map(move |p| Known {
                    words: words(p),
                    search: syn.search.clone(),
                    related: related.clone(),
                    front_door: syn.front_door,
                })
            })
            .collect();
        table.sort_by(|a, b| b.words.len().cmp(&a.words.len()));
        table
    })
}

/// Adds kinds of related help, each once.
fn add_related(out: &mut Understood, related: &[Related]) {
    for r in related {
        if !out.related.iter().any(|o| o.name == r.name) {
            out.related.push(r.clone());
        }
    }
}

/// Lower-case words: letters and digits (accents kept), apostrophes dropped ("don't" → "dont"),
/// everything else a space.
pub fn words(s: &str) -> Vec<String> {
    let mut cleaned = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            cleaned.push(c);
        } else if c != '\'' && c != '’' {
            cleaned.push(' ');
        }
    }
    cleaned.split_whitespace().map(str::to_string).collect()
}

/// Reads the resident's words.
pub fn understand(q: &str) -> Understood {
    let w = words(q);
    let mut out = Understood {
        spanish: w
            .iter()
            .any(|x| SPANISH.contains(&x.as_str()) || x.chars().any(|c| "áéíóúñü¿¡".contains(c))),
        ..Understood::default()
    };
    let table = synonyms();
    // Whether every need so far asks for help in general.
    let mut front_doors = true;
    let mut i = 0;
    'words: while i < w.len() {
        for phrase in FREE_PHRASES {
            if w[i..].starts_with(&phrase.iter().map(|p| p.to_string()).collect::<Vec<_>>()) {
                out.free = true;
                i += phrase.len();
                continue 'words;
            }
        }
        for phrase in FILLER_PHRASES {
            if w[i..]
                .iter()
                .zip(phrase.iter())
                .filter(|(a, b)| a == *b)
                .count()
                == phrase.len()
            {
                i += phrase.len();
                continue 'words;
            }
        }
        for known in table {
            if w[i..].starts_with(&known.words) {
                let typed = known.words.join(" ");
                let mut alternatives = vec![typed.clone()];
                alternatives.extend(known.search.iter().filter(|s| **s != typed).cloned());
                if !out.needs.contains(&alternatives) {
                    out.needs.push(alternatives);
                }
                front_doors &= known.front_door;
                add_related(&mut out, &known.related);
                i += known.words.len();
                continue 'words;
            }
        }
        let word = w[i].as_str();
        if whom_for(&w, i) {
            add_related(&mut out, &[related_list(FOR_A_PARENT)]);
        } else if FREE.contains(&word) {
            out.free = true;
        } else if !FILLER.contains(&word) {
            out.needs.push(vec![word.to_string()]);
            out.plain_words.push(word.to_string());
            front_doors = false;
        }
        i += 1;
    }
    out.front_doors = front_doors && !out.needs.is_empty();
    out
}

/// The ways the words may name a county ("legal help for seniors cook county", "comida
/// condado de fayette"): each reading's county name, longest first, with the rest of the
/// words. The store keeps the first that is a county of the deployment's state; the others
/// are words like any ("county fair").
///
/// `state` names the deployment's state ("Illinois", "IL"): said right after the county ("cook
/// county illinois", "condado de cook, il"), it is part of the place, not a need.
pub fn counties_named(q: &str, state: &[&str]) -> Vec<(String, String)> {
    /// Counties have at most three words before "County" ("Jo Daviess", "St. Clair").
    const LONGEST: usize = 3;
    let w = words(q);
    let state: Vec<Vec<String>> = state.iter().map(|s| words(s)).collect();
    // Where the place's words end: after the state's name if it follows at `at`.
    let end = |at: usize| {
        at + state
            .iter()
            .filter(|s| !s.is_empty() && w[at.min(w.len())..].starts_with(s))
            .map(Vec::len)
            .max()
            .unwrap_or(0)
    };
    let rest = |drop: std::ops::Range<usize>| {
        w.iter()
            .enumerate()
            .filter(|(i, _)| !drop.contains(i))
            .map(|(_, x)| x.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut out = Vec::new();
    for (i, word) in w.iter().enumerate() {
        match word.as_str() {
            "county" => {
                for k in (1..=LONGEST.min(i)).rev() {
                    out.push((w[i - k..i].join(" "), rest(i - k..end(i + 1))));
                }
            }
            "condado" => {
                let from = match w.get(i + 1).map(String::as_str) {
                    Some("de" | "del") => i + 2,
                    _ => i + 1,
                };
                for k in (1..=LONGEST.min(w.len().saturating_sub(from))).rev() {
                    out.push((w[from..from + k].join(" "), rest(i..end(from + k))));
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_county_among_the_words_is_read_every_way_longest_first() {
        let illinois = ["Illinois", "IL"];
        let readings = counties_named("free legal help for seniors cook county", &illinois);
        assert_eq!(readings[0].0, "for seniors cook");
        let cook = readings.iter().find(|(c, _)| c == "cook").unwrap();
        assert_eq!(cook.1, "free legal help for seniors");
        let spanish = counties_named("comida condado de St. Clair", &illinois);
        assert!(spanish.contains(&("st clair".to_string(), "comida".to_string())));
        assert!(counties_named("food pantry near 40601", &illinois).is_empty());
        assert!(counties_named("county", &illinois).is_empty());
        // The state after the county is part of the place; another state's name is words.
        for q in [
            "legal aid cook county illinois",
            "legal aid Cook County, IL",
        ] {
            let cook = counties_named(q, &illinois);
            assert!(
                cook.contains(&("cook".to_string(), "legal aid".to_string())),
                "{q}"
            );
        }
        let spanish = counties_named("abogado condado de cook illinois", &illinois);
        assert!(spanish.contains(&("cook".to_string(), "abogado".to_string())));
        let other = counties_named("legal aid cook county indiana", &illinois);
        assert!(other.contains(&("cook".to_string(), "legal aid indiana".to_string())));
    }

    fn needs(q: &str) -> Vec<String> {
        understand(q)
            .needs
            .into_iter()
            .map(|n| n[0].clone())
            .collect()
    }

    #[test]
    fn filler_never_makes_a_search_fail() {
        assert_eq!(needs("I need help with childcare"), vec!["childcare"]);
        assert_eq!(needs("i need diapers near me"), vec!["diapers"]);
        assert_eq!(needs("daycare help"), vec!["daycare"]);
        assert_eq!(needs("help paying rent"), vec!["paying rent"]);
        assert!(understand("help").needs.is_empty());
        assert_eq!(needs("sign up for medicaid")[0], "medicaid");
        assert_eq!(needs("cant pay my water bill"), vec!["water bill"]);
        assert_eq!(needs("sign language interpreter")[0], "sign");
    }

    #[test]
    fn a_parent_after_my_is_whom_the_help_is_for() {
        assert_eq!(needs("meals on wheels for my mom"), vec!["meals on wheels"]);
        assert_eq!(
            needs("need a will for my elderly mom"),
            vec!["a will", "elderly"]
        );
        assert_eq!(needs("comida para mi mamá"), vec!["comida"]);
        // Not after "my", or not a parent: still a need.
        assert_eq!(needs("help for new moms"), vec!["new", "moms"]);
        assert_eq!(needs("formula for my baby"), vec!["formula", "baby"]);
        assert_eq!(needs("my husband hits me"), vec!["husband", "hits me"]);
    }

    #[test]
    fn related_help_comes_from_the_needs_and_whom_they_are_for() {
        let phrases = |u: &Understood| -> Vec<String> {
            u.related
                .iter()
                .flat_map(|r| r.phrases.iter().cloned())
                .collect()
        };
        let evicted = understand("i got evicted");
        assert!(phrases(&evicted).contains(&"legal aid".to_string()));
        assert!(phrases(&evicted).contains(&"homelessness prevention".to_string()));
        let will = understand("need a will for my mom");
        assert!(phrases(&will).contains(&"legal advice".to_string()));
        assert_eq!(
            will.related.iter().map(|r| r.name).collect::<Vec<_>>(),
            vec!["legal", "seniors"],
            "each kind once, from the need and from the parent"
        );
        assert_eq!(will.related[0].general, Some("legal-aid"));
        assert!(phrases(&understand("comida para mi mamá")).contains(&"older adults".to_string()));
        // Naloxone is its own need (a kit now), with recovery programs next to it.
        let narcan = understand("narcan");
        assert!(narcan.needs[0].contains(&"naloxone".to_string()));
        assert!(!narcan.needs[0].contains(&"addiction".to_string()));
        assert_eq!(
            narcan.related.iter().map(|r| r.name).collect::<Vec<_>>(),
            vec!["recovery"]
        );
        // A need with nothing next to it, and words that are no known need.
        assert!(understand("doctor").related.is_empty());
        assert!(understand("sign language").related.is_empty());
        // Every list an entry names exists (a typo in synonyms.toml panics here, not in a search).
        assert!(!synonyms().is_empty());
        // Every general subcategory is one, of a list that exists.
        for (list, sub) in &parsed().general {
            assert!(parsed().related.contains_key(list), "[general] {list}");
            assert!(
                crate::directory::categories::CategoryTree::get()
                    .sub(sub)
                    .is_some(),
                "[general] {list} = {sub}"
            );
        }
    }

    #[test]
    fn a_free_lawyer_is_legal_aid_and_asks_for_its_front_doors() {
        for q in [
            "abogado gratis",
            "free lawyer",
            "I need a free attorney",
            "pro bono",
        ] {
            let u = understand(q);
            assert_eq!(u.needs.len(), 1, "{q}");
            assert!(u.needs[0].contains(&"legal aid".to_string()), "{q}");
            // A lawyer referral service finds a private lawyer, who charges.
            assert!(!u.needs[0].contains(&"lawyer".to_string()), "{q}");
            assert!(u.front_doors && !u.free, "{q}");
            assert_eq!(u.related[0].name, "legal", "{q}");
        }
        assert!(understand("i need a lawyer").front_doors);
        // Help with one problem is not help in general.
        for q in [
            "divorce lawyer free",
            "lawyer for my small business",
            "find a lawyer cheap",
        ] {
            assert!(!understand(q).front_doors, "{q}");
        }
        assert!(!understand("baby formula").front_doors);
    }

    #[test]
    fn a_water_bill_is_not_any_utility_bill() {
        // Energy assistance (heating, cooling, crisis energy) pays for power and heat, not
        // water: a program meets the need when it says water; utility crisis funds follow
        // as related help.
        for q in ["cant pay my water bill", "factura de agua"] {
            let u = understand(q);
            assert_eq!(u.needs.len(), 1, "{q}");
            assert!(u.needs[0].contains(&"water bill".to_string()), "{q}");
            assert!(!u.needs[0].iter().any(|w| w.contains("utility")), "{q}");
            assert_eq!(u.related[0].name, "utility_crisis", "{q}");
        }
        // A heating bill is an energy bill, which utility help pays.
        assert!(understand("heating bill").needs[0].contains(&"utility".to_string()));
    }

    #[test]
    fn a_lost_job_is_unemployment_and_a_firing_also_workers_rights() {
        let kinds = |u: &Understood| u.related.iter().map(|r| r.name).collect::<Vec<_>>();
        for q in ["i got laid off", "lost my job", "perdí mi trabajo"] {
            let u = understand(q);
            assert_eq!(u.needs.len(), 1, "{q}");
            assert!(u.needs[0].contains(&"unemployment".to_string()), "{q}");
            assert_eq!(kinds(&u), vec!["jobs"], "{q}");
        }
        for q in ["i got fired", "me despidieron"] {
            let u = understand(q);
            assert_eq!(u.needs.len(), 1, "{q}");
            assert!(u.needs[0].contains(&"unemployment".to_string()), "{q}");
            assert!(u.needs[0].contains(&"employment rights".to_string()), "{q}");
            assert_eq!(kinds(&u), vec!["civil_rights", "legal", "jobs"], "{q}");
        }
        // The reason is a need of its own; "because" is not.
        let u = understand("fired because of my disability");
        assert_eq!(u.needs.len(), 2);
        assert_eq!(u.needs[1], vec!["disability".to_string()]);
    }

    #[test]
    fn free_is_a_filter_not_a_word() {
        let u = understand("free baby formula");
        assert!(u.free);
        assert_eq!(u.needs[0][0], "baby formula");
        assert!(u.needs[0].contains(&"formula".to_string()));
        assert!(understand("groceries at no cost").free);
        assert!(!understand("baby formula").free);
    }

    #[test]
    fn synonyms_find_what_programs_call_it() {
        let u = understand("food stamps");
        assert!(u.needs[0].contains(&"snap".to_string()));
        let u = understand("finish high school");
        assert_eq!(u.needs.len(), 1, "one need, not 'find high school'");
        assert!(u.needs[0].contains(&"ged".to_string()));
        assert!(understand("headstart").needs[0].contains(&"head start".to_string()));
        assert!(understand("daycare").needs[0].contains(&"child care".to_string()));
    }

    #[test]
    fn the_forms_residents_use_find_the_same_need() {
        // "depression" was a need and "depressed" only a word: 65 programs against 3 near
        // Frankfort. Plurals and participles of a need's words are the need too.
        for (typed, finds) in [
            ("i feel depressed", "counseling"),
            ("need someone to talk to", "warmline"),
            ("anxious", "counseling"),
            ("evictions", "eviction"),
            ("lawyers", "legal aid"),
            ("foreclosures", "foreclosure"),
            ("addicted", "recovery"),
        ] {
            let u = understand(typed);
            assert_eq!(u.needs.len(), 1, "{typed}: one need, {:?}", u.needs);
            assert!(
                u.needs[0].contains(&finds.to_string()),
                "{typed}: {:?}",
                u.needs
            );
        }
    }

    #[test]
    fn spanish_reaches_the_same_needs() {
        let u = understand("leche de fórmula");
        assert!(u.spanish);
        assert_eq!(u.needs.len(), 1);
        assert!(u.needs[0].contains(&"formula".to_string()));
        let u = understand("cuidado de niños");
        assert!(u.needs[0].contains(&"child care".to_string()));
        let u = understand("necesito ayuda con la renta");
        assert_eq!(needs("necesito ayuda con la renta"), vec!["renta"]);
        assert!(u.needs[0].contains(&"rent".to_string()));
        assert!(understand("cupones de comida").needs[0].contains(&"snap".to_string()));
    }

    #[test]
    fn plain_words_are_kept_for_typo_correction() {
        let u = understand("formla for my baby");
        assert_eq!(u.plain_words, vec!["formla", "baby"]);
        assert!(understand("diapers").plain_words.is_empty());
    }
}
