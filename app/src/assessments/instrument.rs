//! Assessment instruments as data. Each instrument (the AHC HRSN core and supplemental screenings,
//! the resident self-assessment) is a TOML file in `app/assessments/`: its pages, items, answer
//! options with their codes, skip logic, computed scores and the rules that turn answers into
//! needs. This module loads and checks them and answers "which questions are asked, given the
//! answers so far". Scoring is in `scoring.rs`, the FHIR mapping in `fhir.rs`.
//!
//! Answers are kept by item code ([`Answers`]); "declined" and "don't know" are their own
//! variants of [`Answer`], never a "no".

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::OnceLock;

/// LOINC's FHIR system URI.
pub const LOINC: &str = "http://loinc.org";

/// The instrument files, embedded: the app needs no file system to screen anyone.
const SOURCES: [(&str, &str); 3] = [
    (
        "ahc-hrsn-core.toml",
        include_str!("../../assessments/ahc-hrsn-core.toml"),
    ),
    (
        "ahc-hrsn-supplemental.toml",
        include_str!("../../assessments/ahc-hrsn-supplemental.toml"),
    ),
    (
        "self-assessment.toml",
        include_str!("../../assessments/self-assessment.toml"),
    ),
];

// ── Types read from the files ────────────────────────────────────────────────────────────────

/// A reader's language (the app's locale maps onto it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Es,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Es];

    /// BCP 47 code, as FHIR's `language` wants it.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }
}

/// Text in both languages: every text an instrument shows has both.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub en: String,
    pub es: String,
}

impl Text {
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Es => &self.es,
        }
    }
}

/// Who may take an instrument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    /// Signed-in hospital users screening a patient (the AHC tool is licensed for clinical use).
    Hospital,
    /// Anyone, without an account.
    Anyone,
}

/// Which of the two answers that are not an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotAnsweredKind {
    Declined,
    DontKnow,
}

/// "I'd rather not answer" or "I don't know": offered on every item, coded, kept apart from "no".
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotAnsweredOption {
    pub kind: NotAnsweredKind,
    pub code: String,
    #[serde(default = "loinc_system")]
    pub system: String,
    /// The code's own display in its code system (the text shown may be friendlier).
    pub display: String,
    pub text: Text,
}

fn loinc_system() -> String {
    LOINC.to_string()
}

/// One instrument, as its file says.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instrument {
    /// Stable id, stored with every response.
    pub id: String,
    /// Stored with every response; changes whenever wording, answers or rules change.
    pub version: String,
    /// The LOINC panel code (AHC only).
    #[serde(default)]
    pub loinc: Option<String>,
    /// The FHIR Questionnaire canonical a QuestionnaireResponse points at.
    pub questionnaire: String,
    /// The system of the item and answer codes.
    #[serde(default = "loinc_system")]
    pub code_system: String,
    pub audience: Audience,
    pub title: Text,
    #[serde(default)]
    pub intro: Option<Text>,
    pub not_answered: Vec<NotAnsweredOption>,
    #[serde(rename = "page")]
    pub pages: Vec<Page>,
    #[serde(rename = "score", default)]
    pub scores: Vec<Score>,
    #[serde(rename = "rule", default)]
    pub rules: Vec<Rule>,
}

/// One question group: one page on a phone.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    pub id: String,
    pub title: Text,
    /// Interpersonal safety: show `note` as a safety note and offer a quick exit.
    #[serde(default)]
    pub safety: bool,
    #[serde(default)]
    pub note: Option<Text>,
    #[serde(rename = "item")]
    pub items: Vec<Item>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    /// One answer option.
    Single,
    /// Any number of answer options ("choose all that apply").
    Multi,
    /// A whole number between `min` and `max`.
    Integer,
}

/// One question.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// The question code in the instrument's code system (a LOINC code for AHC).
    pub code: String,
    /// The LOINC question this item asks the same thing as (our own instruments).
    #[serde(default)]
    pub loinc: Option<String>,
    pub kind: ItemKind,
    pub text: Text,
    #[serde(default)]
    pub help: Option<Text>,
    #[serde(default)]
    pub enable_when: Option<EnableWhen>,
    #[serde(rename = "answer", default)]
    pub answers: Vec<AnswerOption>,
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
}

impl Item {
    pub fn answer(&self, code: &str) -> Option<&AnswerOption> {
        self.answers.iter().find(|a| a.code == code)
    }

    fn is_choice(&self) -> bool {
        matches!(self.kind, ItemKind::Single | ItemKind::Multi)
    }
}

/// One answer option.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerOption {
    pub code: String,
    /// The LOINC answer code this option stands for (our own instruments).
    #[serde(default)]
    pub loinc: Option<String>,
    pub text: Text,
    /// The number a [`Score`] counts for this answer.
    #[serde(default)]
    pub value: Option<i64>,
    /// A multi-select answer that stands alone ("none of the above").
    #[serde(default)]
    pub exclusive: bool,
}

/// Skip logic: the item is asked only when an earlier item got one of these answers.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnableWhen {
    pub item: String,
    pub any_of: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Sum,
    Product,
}

/// A computed total over items' answer values (the safety score, PHQ-2, weekly minutes).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Score {
    pub code: String,
    pub text: Text,
    pub method: Method,
    pub items: Vec<String>,
    /// UCUM unit, when the total is a quantity ("min/wk").
    #[serde(default)]
    pub unit: Option<String>,
}

/// One need: positive when any condition holds.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The need, stable across instruments ("food", "safety").
    pub id: String,
    pub domain: Domain,
    /// The need's name for a resident.
    pub title: Text,
    /// Directory subcategory ids that meet this need.
    pub categories: Vec<String>,
    /// Sealed on partner screens.
    pub sensitive: bool,
    #[serde(rename = "when")]
    pub conditions: Vec<Condition>,
}

/// When a rule's need is positive.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawCondition")]
pub enum Condition {
    /// The item was answered with one of these codes (any of them, for a multi-select).
    Answer { item: String, any_of: Vec<String> },
    /// The score passes the threshold.
    Score { score: String, threshold: Threshold },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threshold {
    /// Greater than.
    Above(i64),
    /// Greater than or equal.
    AtLeast(i64),
    /// Less than.
    Below(i64),
}

impl Threshold {
    pub fn holds(self, value: i64) -> bool {
        match self {
            Threshold::Above(n) => value > n,
            Threshold::AtLeast(n) => value >= n,
            Threshold::Below(n) => value < n,
        }
    }
}

/// The file's spelling of a condition, checked into a [`Condition`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    item: Option<String>,
    any_of: Option<Vec<String>>,
    score: Option<String>,
    above: Option<i64>,
    at_least: Option<i64>,
    below: Option<i64>,
}

impl TryFrom<RawCondition> for Condition {
    type Error = String;

    fn try_from(raw: RawCondition) -> Result<Self, Self::Error> {
        let thresholds: Vec<Threshold> = [
            raw.above.map(Threshold::Above),
            raw.at_least.map(Threshold::AtLeast),
            raw.below.map(Threshold::Below),
        ]
        .into_iter()
        .flatten()
        .collect();
        match (raw.item, raw.any_of, raw.score, thresholds.as_slice()) {
            (Some(item), Some(any_of), None, []) => Ok(Condition::Answer { item, any_of }),
            (None, None, Some(score), [threshold]) => {
                Ok(Condition::Score { score, threshold: *threshold })
            }
            _ => Err("a condition is either { item, any_of } or { score, and one of above, at_least, below }"
                .to_string()),
        }
    }
}

/// An SDOH category (domain) code of the HL7 SDOH Clinical Care code system.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Domain(String);

/// SDOHCC 2.3.0 `SDOHCC-CodeSystemTemporaryCodes`: its SDOH category codes and displays.
/// language-access, incarceration-status and protective-factor are new in 2.3.0.
pub const SDOHCC_DOMAINS: &[(&str, &str)] = &[
    ("sdoh-category-unspecified", "SDOH Category Unspecified"),
    ("food-insecurity", "Food Insecurity"),
    ("housing-instability", "Housing Instability"),
    ("homelessness", "Homelessness"),
    ("inadequate-housing", "Inadequate Housing"),
    ("transportation-insecurity", "Transportation Insecurity"),
    ("financial-insecurity", "Financial Insecurity"),
    ("material-hardship", "Material Hardship"),
    ("educational-attainment", "Educational Attainment"),
    ("employment-status", "Employment Status"),
    ("veteran-status", "Veteran Status"),
    ("stress", "Stress"),
    ("social-connection", "Social Connection"),
    ("intimate-partner-violence", "Intimate Partner Violence"),
    ("elder-abuse", "Elder Abuse"),
    ("personal-health-literacy", "Personal Health Literacy"),
    (
        "health-insurance-coverage-status",
        "Health Insurance Coverage Status",
    ),
    ("medical-cost-burden", "Medical Cost Burden"),
    ("digital-literacy", "Digital Literacy"),
    ("digital-access", "Digital Access"),
    ("utility-insecurity", "Utility Insecurity"),
    ("language-access", "Language Status"),
    ("incarceration-status", "Incarceration Status"),
    ("protective-factor", "Protective Factor"),
];

impl Domain {
    pub fn parse(code: &str) -> Result<Domain, String> {
        if SDOHCC_DOMAINS.iter().any(|(c, _)| *c == code) {
            Ok(Domain(code.to_string()))
        } else {
            Err(format!("{code:?} is not an SDOHCC SDOH category code"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The code system's display for this code.
    pub fn display(&self) -> &'static str {
        SDOHCC_DOMAINS
            .iter()
            .find(|(c, _)| *c == self.0)
            .map(|(_, d)| *d)
            .unwrap_or("SDOH Category Unspecified")
    }
}

impl TryFrom<String> for Domain {
    type Error = String;
    fn try_from(code: String) -> Result<Self, Self::Error> {
        Domain::parse(&code)
    }
}

impl From<Domain> for String {
    fn from(domain: Domain) -> String {
        domain.0
    }
}

// ── Answers ──────────────────────────────────────────────────────────────────────────────────

/// One item's answer. Stored as JSON: `{"choice": ["LA28397-0"]}`, `{"integer": 3}`,
/// `"declined"`, `"dont-know"`; the codes of the last two are the instrument's
/// [`NotAnsweredOption`]s.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Answer {
    /// Answer option codes of the item: one for a single-choice item.
    Choice(Vec<String>),
    Integer(i64),
    /// "I'd rather not answer".
    Declined,
    /// "I don't know".
    DontKnow,
}

/// A response's answers, by item code. An item without an entry was not answered (yet).
pub type Answers = BTreeMap<String, Answer>;

/// Why something has no answer. Ordered from least to most deliberate: when several reasons
/// meet, the most deliberate one is reported (a declined item is the person's choice).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Absent {
    /// Asked (or to be asked) and left blank.
    Missing,
    DontKnow,
    Declined,
}

impl Absent {
    pub fn as_str(self) -> &'static str {
        match self {
            Absent::Missing => "missing",
            Absent::DontKnow => "dont-know",
            Absent::Declined => "declined",
        }
    }
}

/// Whether an item is asked, given the answers so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enablement {
    Enabled,
    /// Skipped: its earlier item was answered, with an answer that does not lead here.
    Disabled,
    /// Not asked because its earlier item has no answer: we cannot tell whether it applies.
    Undecided(Absent),
}

/// What is wrong with a submitted answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnswerError {
    UnknownItem {
        item: String,
    },
    UnknownAnswer {
        item: String,
        answer: String,
    },
    NoChoice {
        item: String,
    },
    TooManyChoices {
        item: String,
    },
    RepeatedChoice {
        item: String,
        answer: String,
    },
    /// "None of the above" (or "declined", "don't know") chosen with other answers.
    NotAlone {
        item: String,
        answer: String,
    },
    NotAChoiceItem {
        item: String,
    },
    NotAnIntegerItem {
        item: String,
    },
    NotAnInteger {
        item: String,
        value: String,
    },
    OutOfRange {
        item: String,
        min: i64,
        max: i64,
    },
}

impl fmt::Display for AnswerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnswerError::UnknownItem { item } => write!(f, "no item {item}"),
            AnswerError::UnknownAnswer { item, answer } => {
                write!(f, "{item} has no answer {answer}")
            }
            AnswerError::NoChoice { item } => write!(f, "{item}: nothing chosen"),
            AnswerError::TooManyChoices { item } => write!(f, "{item} takes one answer"),
            AnswerError::RepeatedChoice { item, answer } => {
                write!(f, "{item}: {answer} chosen twice")
            }
            AnswerError::NotAlone { item, answer } => write!(f, "{item}: {answer} stands alone"),
            AnswerError::NotAChoiceItem { item } => write!(f, "{item} takes a number"),
            AnswerError::NotAnIntegerItem { item } => write!(f, "{item} takes a choice"),
            AnswerError::NotAnInteger { item, value } => {
                write!(f, "{item}: {value:?} is not a number")
            }
            AnswerError::OutOfRange { item, min, max } => write!(f, "{item} takes {min} to {max}"),
        }
    }
}

// ── Loading and checking ─────────────────────────────────────────────────────────────────────

/// Why an instrument file was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// Not valid TOML or not the instrument shape (unknown keys, an unknown SDOHCC domain...).
    Toml(String),
    /// Well-formed but inconsistent: every problem found, at once.
    Invalid(Vec<InstrumentError>),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Toml(e) => write!(f, "{e}"),
            LoadError::Invalid(errors) => {
                let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
                write!(f, "{}", list.join("; "))
            }
        }
    }
}

/// One inconsistency in an instrument file. `at` names the place ("page food", "rule safety").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstrumentError {
    Empty {
        what: &'static str,
        at: String,
    },
    MissingText {
        at: String,
        lang: Lang,
    },
    Duplicate {
        what: &'static str,
        code: String,
    },
    /// There must be exactly one "declined" and one "don't know" option.
    NotAnsweredOptions,
    /// A regular answer reuses a "declined" or "don't know" code.
    NotAnsweredCodeReused {
        item: String,
        code: String,
    },
    UnknownItem {
        at: String,
        item: String,
    },
    UnknownAnswer {
        at: String,
        item: String,
        answer: String,
    },
    UnknownScore {
        at: String,
        score: String,
    },
    /// Skip logic may only look back: no cycles, and a page never depends on a later one.
    GateNotEarlier {
        item: String,
        gate: String,
    },
    /// Skip logic and answer conditions need a choice item.
    NotAChoice {
        at: String,
        item: String,
    },
    /// Scores count single-choice or integer items.
    NotScorable {
        score: String,
        item: String,
    },
    MissingValue {
        score: String,
        item: String,
        answer: String,
    },
    IntegerRange {
        item: String,
    },
    /// Only a multi-select answer can stand alone.
    ExclusiveOnSingle {
        item: String,
        answer: String,
    },
    SafetyPageWithoutNote {
        page: String,
    },
    BadCategory {
        rule: String,
        category: String,
    },
}

impl fmt::Display for InstrumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use InstrumentError as E;
        match self {
            E::Empty { what, at } => write!(f, "{at}: no {what}"),
            E::MissingText { at, lang } => write!(f, "{at}: no {} text", lang.code()),
            E::Duplicate { what, code } => write!(f, "{what} {code} appears twice"),
            E::NotAnsweredOptions => {
                write!(
                    f,
                    "needs exactly one \"declined\" and one \"dont-know\" option"
                )
            }
            E::NotAnsweredCodeReused { item, code } => {
                write!(
                    f,
                    "item {item}: answer {code} is a declined/don't-know code"
                )
            }
            E::UnknownItem { at, item } => write!(f, "{at}: no item {item}"),
            E::UnknownAnswer { at, item, answer } => {
                write!(f, "{at}: item {item} has no answer {answer}")
            }
            E::UnknownScore { at, score } => write!(f, "{at}: no score {score}"),
            E::GateNotEarlier { item, gate } => {
                write!(
                    f,
                    "item {item}: enable_when item {gate} must come before it"
                )
            }
            E::NotAChoice { at, item } => write!(f, "{at}: item {item} is not a choice item"),
            E::NotScorable { score, item } => {
                write!(
                    f,
                    "score {score}: item {item} is neither single-choice nor integer"
                )
            }
            E::MissingValue {
                score,
                item,
                answer,
            } => {
                write!(
                    f,
                    "score {score}: answer {answer} of item {item} has no value"
                )
            }
            E::IntegerRange { item } => {
                write!(
                    f,
                    "integer item {item} needs min <= max and no answer options"
                )
            }
            E::ExclusiveOnSingle { item, answer } => {
                write!(
                    f,
                    "item {item}: exclusive answer {answer} on a single-choice item"
                )
            }
            E::SafetyPageWithoutNote { page } => write!(f, "safety page {page} needs a note"),
            E::BadCategory { rule, category } => {
                write!(f, "rule {rule}: {category:?} is not a category id")
            }
        }
    }
}

impl Instrument {
    /// The three instruments shipped with the app.
    pub fn all() -> &'static [Instrument] {
        static ALL: OnceLock<Vec<Instrument>> = OnceLock::new();
        ALL.get_or_init(|| {
            SOURCES
                .iter()
                .map(|(file, source)| {
                    Instrument::from_toml(source)
                        .unwrap_or_else(|e| panic!("{file} is checked by a unit test: {e}"))
                })
                .collect()
        })
    }

    pub fn get(id: &str) -> Option<&'static Instrument> {
        Instrument::all().iter().find(|i| i.id == id)
    }

    /// Parses and checks one instrument file.
    pub fn from_toml(source: &str) -> Result<Instrument, LoadError> {
        let instrument: Instrument =
            toml::from_str(source).map_err(|e| LoadError::Toml(e.to_string()))?;
        let errors = instrument.problems();
        if errors.is_empty() {
            Ok(instrument)
        } else {
            Err(LoadError::Invalid(errors))
        }
    }

    /// Every inconsistency in the instrument.
    fn problems(&self) -> Vec<InstrumentError> {
        use InstrumentError as E;
        let mut errors = Vec::new();
        let at_top = format!("instrument {}", self.id);
        for (what, value) in [
            ("id", &self.id),
            ("version", &self.version),
            ("questionnaire", &self.questionnaire),
        ] {
            if value.trim().is_empty() {
                errors.push(E::Empty {
                    what,
                    at: at_top.clone(),
                });
            }
        }
        let mut texts: Vec<(String, &Text)> = vec![(at_top.clone(), &self.title)];
        if let Some(intro) = &self.intro {
            texts.push((format!("{at_top} intro"), intro));
        }

        // Declined and don't know: one each, codes of their own.
        let kinds: Vec<NotAnsweredKind> = self.not_answered.iter().map(|o| o.kind).collect();
        if kinds.len() != 2
            || !kinds.contains(&NotAnsweredKind::Declined)
            || !kinds.contains(&NotAnsweredKind::DontKnow)
        {
            errors.push(E::NotAnsweredOptions);
        }
        for option in &self.not_answered {
            texts.push((format!("not_answered {}", option.code), &option.text));
        }
        let not_answered_codes: BTreeSet<&str> =
            self.not_answered.iter().map(|o| o.code.as_str()).collect();

        // Pages and items, in order: `seen` holds the items before the one being checked.
        if self.pages.is_empty() {
            errors.push(E::Empty {
                what: "pages",
                at: at_top.clone(),
            });
        }
        let mut page_ids = BTreeSet::new();
        let mut seen: BTreeMap<&str, &Item> = BTreeMap::new();
        for page in &self.pages {
            let at_page = format!("page {}", page.id);
            if !page_ids.insert(page.id.as_str()) {
                errors.push(E::Duplicate {
                    what: "page",
                    code: page.id.clone(),
                });
            }
            texts.push((at_page.clone(), &page.title));
            if let Some(note) = &page.note {
                texts.push((format!("{at_page} note"), note));
            }
            if page.safety && page.note.is_none() {
                errors.push(E::SafetyPageWithoutNote {
                    page: page.id.clone(),
                });
            }
            if page.items.is_empty() {
                errors.push(E::Empty {
                    what: "items",
                    at: at_page.clone(),
                });
            }
            for item in &page.items {
                let at_item = format!("item {}", item.code);
                texts.push((at_item.clone(), &item.text));
                if let Some(help) = &item.help {
                    texts.push((format!("{at_item} help"), help));
                }
                if let Some(gate) = &item.enable_when {
                    match seen.get(gate.item.as_str()) {
                        None if self.item(&gate.item).is_some() => errors.push(E::GateNotEarlier {
                            item: item.code.clone(),
                            gate: gate.item.clone(),
                        }),
                        None => errors.push(E::UnknownItem {
                            at: at_item.clone(),
                            item: gate.item.clone(),
                        }),
                        Some(target) => {
                            check_answer_codes(&mut errors, &at_item, target, &gate.any_of);
                        }
                    }
                }
                match item.kind {
                    ItemKind::Integer => {
                        let ordered =
                            matches!((item.min, item.max), (Some(lo), Some(hi)) if lo <= hi);
                        if !ordered || !item.answers.is_empty() {
                            errors.push(E::IntegerRange {
                                item: item.code.clone(),
                            });
                        }
                    }
                    ItemKind::Single | ItemKind::Multi => {
                        if item.answers.is_empty() {
                            errors.push(E::Empty {
                                what: "answers",
                                at: at_item.clone(),
                            });
                        }
                    }
                }
                let mut answer_codes = BTreeSet::new();
                for answer in &item.answers {
                    if !answer_codes.insert(answer.code.as_str()) {
                        errors.push(E::Duplicate {
                            what: "answer",
                            code: format!("{}/{}", item.code, answer.code),
                        });
                    }
                    if not_answered_codes.contains(answer.code.as_str()) {
                        errors.push(E::NotAnsweredCodeReused {
                            item: item.code.clone(),
                            code: answer.code.clone(),
                        });
                    }
                    if answer.exclusive && item.kind != ItemKind::Multi {
                        errors.push(E::ExclusiveOnSingle {
                            item: item.code.clone(),
                            answer: answer.code.clone(),
                        });
                    }
                    texts.push((format!("{at_item} answer {}", answer.code), &answer.text));
                }
                if seen.insert(item.code.as_str(), item).is_some() {
                    errors.push(E::Duplicate {
                        what: "item",
                        code: item.code.clone(),
                    });
                }
            }
        }

        // Scores: over known single-choice or integer items whose every answer has a value.
        let mut score_codes = BTreeSet::new();
        for score in &self.scores {
            let at_score = format!("score {}", score.code);
            texts.push((at_score.clone(), &score.text));
            if !score_codes.insert(score.code.as_str()) || seen.contains_key(score.code.as_str()) {
                errors.push(E::Duplicate {
                    what: "item",
                    code: score.code.clone(),
                });
            }
            if score.items.is_empty() {
                errors.push(E::Empty {
                    what: "items",
                    at: at_score.clone(),
                });
            }
            for code in &score.items {
                match seen.get(code.as_str()) {
                    None => errors.push(E::UnknownItem {
                        at: at_score.clone(),
                        item: code.clone(),
                    }),
                    Some(item) if item.kind == ItemKind::Multi => errors.push(E::NotScorable {
                        score: score.code.clone(),
                        item: code.clone(),
                    }),
                    Some(item) => {
                        for answer in item.answers.iter().filter(|a| a.value.is_none()) {
                            errors.push(E::MissingValue {
                                score: score.code.clone(),
                                item: code.clone(),
                                answer: answer.code.clone(),
                            });
                        }
                    }
                }
            }
        }

        // Rules.
        let mut rule_ids = BTreeSet::new();
        for rule in &self.rules {
            let at_rule = format!("rule {}", rule.id);
            texts.push((at_rule.clone(), &rule.title));
            if !rule_ids.insert(rule.id.as_str()) {
                errors.push(E::Duplicate {
                    what: "rule",
                    code: rule.id.clone(),
                });
            }
            if rule.conditions.is_empty() {
                errors.push(E::Empty {
                    what: "conditions",
                    at: at_rule.clone(),
                });
            }
            if rule.categories.is_empty() {
                errors.push(E::Empty {
                    what: "categories",
                    at: at_rule.clone(),
                });
            }
            for category in &rule.categories {
                if !is_category_id(category) {
                    errors.push(E::BadCategory {
                        rule: rule.id.clone(),
                        category: category.clone(),
                    });
                }
            }
            for condition in &rule.conditions {
                match condition {
                    Condition::Answer { item, any_of } => match seen.get(item.as_str()) {
                        None => errors.push(E::UnknownItem {
                            at: at_rule.clone(),
                            item: item.clone(),
                        }),
                        Some(target) => check_answer_codes(&mut errors, &at_rule, target, any_of),
                    },
                    Condition::Score { score, .. } => {
                        if !score_codes.contains(score.as_str()) {
                            errors.push(E::UnknownScore {
                                at: at_rule.clone(),
                                score: score.clone(),
                            });
                        }
                    }
                }
            }
        }

        for (at, text) in texts {
            for lang in Lang::ALL {
                if text.get(lang).trim().is_empty() {
                    errors.push(E::MissingText {
                        at: at.clone(),
                        lang,
                    });
                }
            }
        }
        errors
    }

    /// Problems with rule categories the directory does not have (`exists` is the app's
    /// category tree lookup); call it once at start-up.
    pub fn unknown_categories(&self, exists: impl Fn(&str) -> bool) -> Vec<InstrumentError> {
        self.rules
            .iter()
            .flat_map(|rule| {
                rule.categories.iter().filter(|c| !exists(c)).map(|c| {
                    InstrumentError::BadCategory {
                        rule: rule.id.clone(),
                        category: c.clone(),
                    }
                })
            })
            .collect()
    }

    // ── Look-ups ──

    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.pages.iter().flat_map(|p| p.items.iter())
    }

    pub fn item(&self, code: &str) -> Option<&Item> {
        self.items().find(|i| i.code == code)
    }

    pub fn page(&self, id: &str) -> Option<&Page> {
        self.pages.iter().find(|p| p.id == id)
    }

    /// The page an item is on.
    pub fn page_of(&self, item: &str) -> Option<&Page> {
        self.pages
            .iter()
            .find(|p| p.items.iter().any(|i| i.code == item))
    }

    pub fn score(&self, code: &str) -> Option<&Score> {
        self.scores.iter().find(|s| s.code == code)
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    pub fn not_answered(&self, kind: NotAnsweredKind) -> &NotAnsweredOption {
        self.not_answered
            .iter()
            .find(|o| o.kind == kind)
            .expect("a checked instrument has both not-answered options")
    }

    // ── Skip logic ──

    /// Whether `item` is asked, given the answers so far. An item whose earlier item is itself
    /// skipped is skipped too.
    pub fn enablement(&self, item: &str, answers: &Answers) -> Enablement {
        let Some(gate) = self.item(item).and_then(|i| i.enable_when.as_ref()) else {
            return Enablement::Enabled;
        };
        match self.enablement(&gate.item, answers) {
            Enablement::Enabled => {}
            other => return other,
        }
        match answers.get(&gate.item) {
            None => Enablement::Undecided(Absent::Missing),
            Some(Answer::Declined) => Enablement::Undecided(Absent::Declined),
            Some(Answer::DontKnow) => Enablement::Undecided(Absent::DontKnow),
            Some(Answer::Choice(codes)) if codes.iter().any(|c| gate.any_of.contains(c)) => {
                Enablement::Enabled
            }
            Some(_) => Enablement::Disabled,
        }
    }

    pub fn is_enabled(&self, item: &str, answers: &Answers) -> bool {
        self.enablement(item, answers) == Enablement::Enabled
    }

    /// The items asked on `page`, given the answers so far. An item that depends on an earlier
    /// item on the same page appears once that item is answered.
    pub fn enabled_items<'a>(&'a self, page: &'a Page, answers: &Answers) -> Vec<&'a Item> {
        page.items
            .iter()
            .filter(|i| self.is_enabled(&i.code, answers))
            .collect()
    }

    /// A page is shown when at least one of its items is asked.
    pub fn is_page_enabled(&self, page: &Page, answers: &Answers) -> bool {
        !self.enabled_items(page, answers).is_empty()
    }

    pub fn enabled_pages(&self, answers: &Answers) -> Vec<&Page> {
        self.pages
            .iter()
            .filter(|p| self.is_page_enabled(p, answers))
            .collect()
    }

    /// The page to show after `current` (`None`: the first page); `None` when done.
    pub fn next_page(&self, current: Option<&str>, answers: &Answers) -> Option<&Page> {
        let start = match current {
            None => 0,
            Some(id) => self.pages.iter().position(|p| p.id == id)? + 1,
        };
        self.pages[start..]
            .iter()
            .find(|p| self.is_page_enabled(p, answers))
    }

    /// The page to go back to from `current`.
    pub fn previous_page(&self, current: &str, answers: &Answers) -> Option<&Page> {
        let end = self.pages.iter().position(|p| p.id == current)?;
        self.pages[..end]
            .iter()
            .rev()
            .find(|p| self.is_page_enabled(p, answers))
    }

    /// The answers without those to items no longer asked (after an earlier answer changed).
    pub fn prune(&self, answers: &Answers) -> Answers {
        answers
            .iter()
            .filter(|(code, _)| self.is_enabled(code, answers))
            .map(|(code, answer)| (code.clone(), answer.clone()))
            .collect()
    }

    // ── Answers ──

    /// An answer from what a form sent for `item`: answer codes (a not-answered code alone
    /// means declined or don't know) or, for an integer item, one number.
    pub fn parse_answer(&self, item: &str, values: &[&str]) -> Result<Answer, AnswerError> {
        let question = self.item(item).ok_or_else(|| AnswerError::UnknownItem {
            item: item.to_string(),
        })?;
        for option in &self.not_answered {
            if values.contains(&option.code.as_str()) {
                if values.len() > 1 {
                    return Err(AnswerError::NotAlone {
                        item: item.to_string(),
                        answer: option.code.clone(),
                    });
                }
                return Ok(match option.kind {
                    NotAnsweredKind::Declined => Answer::Declined,
                    NotAnsweredKind::DontKnow => Answer::DontKnow,
                });
            }
        }
        let answer = match question.kind {
            ItemKind::Integer => match values {
                [value] => Answer::Integer(value.trim().parse().map_err(|_| {
                    AnswerError::NotAnInteger {
                        item: item.to_string(),
                        value: value.to_string(),
                    }
                })?),
                [] => {
                    return Err(AnswerError::NoChoice {
                        item: item.to_string(),
                    })
                }
                _ => {
                    return Err(AnswerError::TooManyChoices {
                        item: item.to_string(),
                    })
                }
            },
            ItemKind::Single | ItemKind::Multi => {
                Answer::Choice(values.iter().map(|v| v.to_string()).collect())
            }
        };
        self.check_answer(item, &answer)?;
        Ok(answer)
    }

    /// Checks one answer against its item.
    pub fn check_answer(&self, item: &str, answer: &Answer) -> Result<(), AnswerError> {
        let question = self.item(item).ok_or_else(|| AnswerError::UnknownItem {
            item: item.to_string(),
        })?;
        let item = item.to_string();
        match (question.kind, answer) {
            (_, Answer::Declined | Answer::DontKnow) => Ok(()),
            (ItemKind::Integer, Answer::Integer(n)) => {
                let (min, max) = (
                    question.min.unwrap_or(i64::MIN),
                    question.max.unwrap_or(i64::MAX),
                );
                if (min..=max).contains(n) {
                    Ok(())
                } else {
                    Err(AnswerError::OutOfRange { item, min, max })
                }
            }
            (ItemKind::Integer, Answer::Choice(_)) => Err(AnswerError::NotAChoiceItem { item }),
            (_, Answer::Integer(_)) => Err(AnswerError::NotAnIntegerItem { item }),
            (kind, Answer::Choice(codes)) => {
                if codes.is_empty() {
                    return Err(AnswerError::NoChoice { item });
                }
                if kind == ItemKind::Single && codes.len() > 1 {
                    return Err(AnswerError::TooManyChoices { item });
                }
                let mut chosen = BTreeSet::new();
                for code in codes {
                    let option =
                        question
                            .answer(code)
                            .ok_or_else(|| AnswerError::UnknownAnswer {
                                item: item.clone(),
                                answer: code.clone(),
                            })?;
                    if !chosen.insert(code) {
                        return Err(AnswerError::RepeatedChoice {
                            item,
                            answer: code.clone(),
                        });
                    }
                    if option.exclusive && codes.len() > 1 {
                        return Err(AnswerError::NotAlone {
                            item,
                            answer: code.clone(),
                        });
                    }
                }
                Ok(())
            }
        }
    }

    /// Every problem with a set of answers.
    pub fn check_answers(&self, answers: &Answers) -> Vec<AnswerError> {
        answers
            .iter()
            .filter_map(|(item, answer)| self.check_answer(item, answer).err())
            .collect()
    }
}

fn check_answer_codes(
    errors: &mut Vec<InstrumentError>,
    at: &str,
    target: &Item,
    codes: &[String],
) {
    if !target.is_choice() {
        errors.push(InstrumentError::NotAChoice {
            at: at.to_string(),
            item: target.code.clone(),
        });
        return;
    }
    if codes.is_empty() {
        errors.push(InstrumentError::Empty {
            what: "answers",
            at: at.to_string(),
        });
    }
    for code in codes.iter().filter(|c| target.answer(c).is_none()) {
        errors.push(InstrumentError::UnknownAnswer {
            at: at.to_string(),
            item: target.code.clone(),
            answer: code.clone(),
        });
    }
}

/// Directory category ids are lower-case words joined by hyphens ("rent-help").
fn is_category_id(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core() -> &'static Instrument {
        Instrument::get("ahc-hrsn-core").unwrap()
    }
    fn supplemental() -> &'static Instrument {
        Instrument::get("ahc-hrsn-supplemental").unwrap()
    }
    fn self_assessment() -> &'static Instrument {
        Instrument::get("self-assessment").unwrap()
    }

    fn choice(code: &str) -> Answer {
        Answer::Choice(vec![code.to_string()])
    }

    fn answers(pairs: &[(&str, Answer)]) -> Answers {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    /// Shared reference files: from the app crate's manifest dir, or from the shared folder.
    fn shared_file(path: &str) -> String {
        let candidates = [
            format!("{}/../../shared/{path}", env!("CARGO_MANIFEST_DIR")),
            format!("/work/shared/{path}"),
        ];
        candidates
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_else(|| panic!("shared file {path} not found in {candidates:?}"))
    }

    // ── The shipped files ──

    #[test]
    fn the_three_instruments_load_and_check() {
        let ids: Vec<&str> = Instrument::all().iter().map(|i| i.id.as_str()).collect();
        assert_eq!(
            ids,
            ["ahc-hrsn-core", "ahc-hrsn-supplemental", "self-assessment"]
        );
        for (file, source) in SOURCES {
            Instrument::from_toml(source).unwrap_or_else(|e| panic!("{file}: {e}"));
        }
        assert!(Instrument::get("phq-9").is_none());
    }

    #[test]
    fn ahc_is_for_hospital_users_and_the_self_assessment_for_anyone() {
        assert_eq!(core().audience, Audience::Hospital);
        assert_eq!(supplemental().audience, Audience::Hospital);
        assert_eq!(self_assessment().audience, Audience::Anyone);
        assert_eq!(core().loinc.as_deref(), Some("96777-8"));
        assert_eq!(supplemental().loinc.as_deref(), Some("97023-6"));
        assert_eq!(self_assessment().loinc, None);
    }

    #[test]
    fn ahc_core_has_the_ten_items_and_the_safety_total() {
        let codes: Vec<&str> = core().items().map(|i| i.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "71802-3", "96778-6", "88122-7", "88123-5", "93030-5", "96779-4", "95618-5",
                "95617-7", "95616-9", "95615-1"
            ]
        );
        assert_eq!(core().item("96778-6").unwrap().kind, ItemKind::Multi);
        let safety = core().score("95614-4").unwrap();
        assert_eq!(safety.method, Method::Sum);
        assert_eq!(safety.items, ["95618-5", "95617-7", "95616-9", "95615-1"]);
        for code in &safety.items {
            let values: Vec<i64> = core()
                .item(code)
                .unwrap()
                .answers
                .iter()
                .filter_map(|a| a.value)
                .collect();
            assert_eq!(values, [1, 2, 3, 4, 5], "{code} counts 1-5");
        }
    }

    #[test]
    fn ahc_supplemental_has_its_items_and_scores() {
        let codes: BTreeSet<&str> = supplemental().items().map(|i| i.code.as_str()).collect();
        let expected: BTreeSet<&str> = [
            "76513-1", "96780-2", "96781-0", "93159-2", "97027-7", "96782-8", "89555-7", "68516-4",
            "68517-2", "96842-0", "95530-2", "68524-8", "44250-9", "44255-8", "93038-8", "69858-9",
            "69861-3",
        ]
        .into_iter()
        .collect();
        assert_eq!(codes, expected);
        assert_eq!(
            supplemental().score("77594-0").unwrap().method,
            Method::Product
        );
        assert_eq!(
            supplemental().score("77594-0").unwrap().unit.as_deref(),
            Some("min/wk")
        );
        assert_eq!(
            supplemental().score("55757-9").unwrap().items,
            ["44250-9", "44255-8"]
        );
        let phq: Vec<i64> = supplemental()
            .item("44250-9")
            .unwrap()
            .answers
            .iter()
            .filter_map(|a| a.value)
            .collect();
        assert_eq!(phq, [0, 1, 2, 3]);
    }

    /// The core items use the LOINC Questionnaire's English wording and answer codes exactly.
    #[test]
    fn ahc_core_wording_and_codes_match_the_loinc_questionnaire() {
        let q: serde_json::Value = serde_json::from_str(&shared_file(
            "data/fhir/ahc-hrsn/Questionnaire-96777-8-AHC.json",
        ))
        .unwrap();
        let mut questions = Vec::new();
        fn walk<'a>(items: &'a serde_json::Value, out: &mut Vec<&'a serde_json::Value>) {
            for item in items.as_array().into_iter().flatten() {
                if item["type"] == "group" {
                    walk(&item["item"], out);
                } else {
                    out.push(item);
                }
            }
        }
        walk(&q["item"], &mut questions);
        assert_eq!(questions.len(), 10);
        for question in questions {
            let code = question["code"][0]["code"].as_str().unwrap();
            let item = core()
                .item(code)
                .unwrap_or_else(|| panic!("no item {code}"));
            assert_eq!(
                item.text.en,
                question["text"].as_str().unwrap(),
                "{code} wording"
            );
            assert_eq!(
                item.kind == ItemKind::Multi,
                question["repeats"] == true,
                "{code} repeats"
            );
            let theirs: Vec<(&str, &str)> = question["answerOption"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| {
                    (
                        o["valueCoding"]["code"].as_str().unwrap(),
                        o["valueCoding"]["display"].as_str().unwrap(),
                    )
                })
                .collect();
            let ours: Vec<(&str, &str)> = item
                .answers
                .iter()
                .map(|a| (a.code.as_str(), a.text.en.as_str()))
                .collect();
            assert_eq!(ours, theirs, "{code} answers");
        }
    }

    #[test]
    fn every_item_offers_declined_and_dont_know_with_fixed_codes() {
        for instrument in Instrument::all() {
            let declined = instrument.not_answered(NotAnsweredKind::Declined);
            let dont_know = instrument.not_answered(NotAnsweredKind::DontKnow);
            assert_eq!(
                (declined.system.as_str(), declined.code.as_str()),
                (LOINC, "LA30122-8")
            );
            assert_eq!(
                (dont_know.system.as_str(), dont_know.code.as_str()),
                (LOINC, "LA12688-0")
            );
            assert_eq!(declined.display, "I choose not to answer this question");
            assert_eq!(dont_know.display, "Don't know");
            for item in instrument.items() {
                assert_eq!(
                    instrument.parse_answer(&item.code, &["LA30122-8"]),
                    Ok(Answer::Declined)
                );
                assert_eq!(
                    instrument.parse_answer(&item.code, &["LA12688-0"]),
                    Ok(Answer::DontKnow)
                );
            }
        }
    }

    /// Every text has English and Spanish, and the Spanish is a translation, not a copy (numbers
    /// and "No" read the same in both).
    #[test]
    fn every_text_is_in_english_and_spanish() {
        let mut count = 0;
        for (_, source) in SOURCES {
            let instrument: Instrument = toml::from_str(source).unwrap();
            let mut texts: Vec<(String, &Text)> = vec![("title".into(), &instrument.title)];
            texts.extend(instrument.intro.iter().map(|t| ("intro".to_string(), t)));
            texts.extend(
                instrument
                    .not_answered
                    .iter()
                    .map(|o| (o.code.clone(), &o.text)),
            );
            for page in &instrument.pages {
                texts.push((page.id.clone(), &page.title));
                texts.extend(page.note.iter().map(|t| (format!("{} note", page.id), t)));
                for item in &page.items {
                    texts.push((item.code.clone(), &item.text));
                    texts.extend(item.help.iter().map(|t| (format!("{} help", item.code), t)));
                    for answer in &item.answers {
                        texts.push((format!("{}/{}", item.code, answer.code), &answer.text));
                    }
                }
            }
            texts.extend(instrument.scores.iter().map(|s| (s.code.clone(), &s.text)));
            texts.extend(instrument.rules.iter().map(|r| (r.id.clone(), &r.title)));
            for (at, text) in texts {
                count += 1;
                assert!(
                    !text.en.trim().is_empty(),
                    "{}: {at} has no English",
                    instrument.id
                );
                assert!(
                    !text.es.trim().is_empty(),
                    "{}: {at} has no Spanish",
                    instrument.id
                );
                let same_in_both = text.en == "No" || text.en.chars().all(|c| c.is_ascii_digit());
                assert!(
                    text.en != text.es || same_in_both,
                    "{}: {at} is not translated",
                    instrument.id
                );
            }
        }
        assert!(count > 250, "{count} texts checked");
    }

    /// Flesch-Kincaid grade of the self-assessment's English questions and answers: plain
    /// language, about 6th grade.
    #[test]
    fn the_self_assessment_reads_at_about_a_sixth_grade_level() {
        fn syllables(word: &str) -> usize {
            let w: Vec<char> = word
                .to_lowercase()
                .chars()
                .filter(|c| c.is_ascii_alphabetic())
                .collect();
            if w.is_empty() {
                return 0;
            }
            let vowel = |c: char| "aeiouy".contains(c);
            let mut count = 0;
            let mut previous = false;
            for &c in &w {
                let v = vowel(c);
                if v && !previous {
                    count += 1;
                }
                previous = v;
            }
            if w.ends_with(&['e']) && !w.ends_with(&['l', 'e']) && count > 1 {
                count -= 1;
            }
            count.max(1)
        }
        fn grade(text: &str) -> f64 {
            let sentences = text
                .split(['.', '?', '!'])
                .filter(|s| !s.trim().is_empty())
                .count()
                .max(1) as f64;
            let words: Vec<&str> = text
                .split_whitespace()
                .filter(|w| w.chars().any(|c| c.is_alphabetic()))
                .collect();
            let n = words.len().max(1) as f64;
            let s: usize = words.iter().map(|w| syllables(w)).sum();
            0.39 * (n / sentences) + 11.8 * (s as f64 / n) - 15.59
        }
        let instrument = self_assessment();
        let questions: Vec<&str> = instrument.items().map(|i| i.text.en.as_str()).collect();
        let average = questions.iter().map(|q| grade(q)).sum::<f64>() / questions.len() as f64;
        assert!(average <= 6.0, "average grade {average:.1}");
        for question in &questions {
            assert!(
                grade(question) <= 8.0,
                "{question:?} reads at grade {:.1}",
                grade(question)
            );
        }
        assert!(grade(&instrument.intro.as_ref().unwrap().en) <= 6.5);
        assert_eq!(instrument.pages.len(), 6, "about six short pages");
        for page in &instrument.pages {
            assert!(page.items.len() <= 4, "page {} is short", page.id);
        }
    }

    /// Every category a need points at exists in the directory's tree, and a need that points
    /// at one of the app's sensitive needs (or a subcategory of one) is sealed.
    #[test]
    fn needs_point_at_real_categories_and_sensitive_ones_are_sealed() {
        let tree: toml::Value =
            toml::from_str(include_str!("../directory/categories.toml")).unwrap();
        let mut parent_of: BTreeMap<String, String> = BTreeMap::new();
        for category in tree["category"].as_array().unwrap() {
            let top = category["id"].as_str().unwrap().to_string();
            for sub in category["sub"].as_array().unwrap() {
                parent_of.insert(sub["id"].as_str().unwrap().to_string(), top.clone());
            }
        }
        let config: toml::Value = toml::from_str(include_str!("../../../Leptos.toml")).unwrap();
        let sensitive: Vec<String> = config["residents"]["sensitive_needs"]
            .as_array()
            .expect("Leptos.toml lists residents.sensitive_needs")
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        for instrument in Instrument::all() {
            assert!(
                instrument
                    .unknown_categories(|c| parent_of.contains_key(c))
                    .is_empty(),
                "{}",
                instrument.id
            );
            for rule in &instrument.rules {
                let touches_sensitive = rule
                    .categories
                    .iter()
                    .any(|c| sensitive.contains(c) || sensitive.contains(&parent_of[c]));
                if touches_sensitive {
                    assert!(
                        rule.sensitive,
                        "{}: rule {} points at a sealed need",
                        instrument.id, rule.id
                    );
                }
            }
        }
        for need in ["safety", "substance-use", "depression", "stress"] {
            assert!(
                supplemental()
                    .rule(need)
                    .or(core().rule(need))
                    .unwrap()
                    .sensitive,
                "{need}"
            );
        }
        assert!(core()
            .rule("safety")
            .unwrap()
            .categories
            .contains(&"domestic-violence".to_string()));
        assert!(!core().rule("food").unwrap().sensitive);
    }

    /// A need id means the same need in every instrument: same domain, same sealing.
    #[test]
    fn the_self_assessment_shares_need_ids_and_domains_with_ahc() {
        let mut by_id: BTreeMap<&str, (&Domain, bool)> = BTreeMap::new();
        for instrument in Instrument::all() {
            for rule in &instrument.rules {
                let entry = by_id
                    .entry(rule.id.as_str())
                    .or_insert((&rule.domain, rule.sensitive));
                assert_eq!(
                    *entry,
                    (&rule.domain, rule.sensitive),
                    "{} in {}",
                    rule.id,
                    instrument.id
                );
            }
        }
        let ahc: BTreeSet<&str> = core()
            .rules
            .iter()
            .chain(&supplemental().rules)
            .map(|r| r.id.as_str())
            .collect();
        let own_only = [
            "shelter-tonight",
            "child-care",
            "health-insurance",
            "health-care",
        ];
        for rule in &self_assessment().rules {
            assert!(
                ahc.contains(rule.id.as_str()) || own_only.contains(&rule.id.as_str()),
                "{}",
                rule.id
            );
        }
        for need in [
            "housing-instability",
            "homelessness",
            "inadequate-housing",
            "food",
            "transportation",
            "utilities",
            "safety",
            "financial-strain",
            "employment",
            "school",
            "loneliness",
            "stress",
        ] {
            assert!(
                self_assessment().rule(need).is_some(),
                "self-assessment covers {need}"
            );
        }
    }

    #[test]
    fn interpersonal_safety_pages_carry_the_safety_flag_and_a_note() {
        for instrument in [core(), self_assessment()] {
            let safety: Vec<&Page> = instrument.pages.iter().filter(|p| p.safety).collect();
            assert_eq!(safety.len(), 1, "{}", instrument.id);
            assert!(safety[0].note.is_some());
            let rule = instrument.rule("safety").unwrap();
            for condition in &rule.conditions {
                let items: Vec<&str> = match condition {
                    Condition::Answer { item, .. } => vec![item.as_str()],
                    Condition::Score { score, .. } => instrument
                        .score(score)
                        .unwrap()
                        .items
                        .iter()
                        .map(String::as_str)
                        .collect(),
                };
                for item in items {
                    assert!(
                        instrument.page_of(item).unwrap().safety,
                        "{item} sits on the safety page"
                    );
                }
            }
        }
        assert!(supplemental().pages.iter().all(|p| !p.safety));
    }

    #[test]
    fn domains_are_sdohcc_codes() {
        assert_eq!(
            Domain::parse("food-insecurity").unwrap().display(),
            "Food Insecurity"
        );
        assert_eq!(
            Domain::parse("language-access").unwrap().as_str(),
            "language-access"
        );
        assert!(Domain::parse("depression").is_err());
        assert!(Domain::parse("Food-Insecurity").is_err());
        let json = serde_json::to_string(&Domain::parse("stress").unwrap()).unwrap();
        assert_eq!(json, "\"stress\"");
        assert!(serde_json::from_str::<Domain>("\"mental-health\"").is_err());
    }

    // ── Skip logic ──

    #[test]
    fn minutes_of_exercise_are_asked_only_after_some_days() {
        let s = supplemental();
        assert_eq!(
            s.enablement("68516-4", &Answers::new()),
            Enablement::Undecided(Absent::Missing)
        );
        assert_eq!(
            s.enablement("68516-4", &answers(&[("89555-7", choice("LA6111-4"))])),
            Enablement::Disabled
        );
        for days in ["LA6112-2", "LA6114-8", "LA10139-6"] {
            assert!(
                s.is_enabled("68516-4", &answers(&[("89555-7", choice(days))])),
                "{days}"
            );
        }
        assert_eq!(
            s.enablement("68516-4", &answers(&[("89555-7", Answer::Declined)])),
            Enablement::Undecided(Absent::Declined)
        );
        assert_eq!(
            s.enablement("68516-4", &answers(&[("89555-7", Answer::DontKnow)])),
            Enablement::Undecided(Absent::DontKnow)
        );
        assert!(
            s.is_enabled("89555-7", &Answers::new()),
            "an item without skip logic is always asked"
        );
    }

    #[test]
    fn a_safe_place_tonight_is_asked_only_without_a_steady_home() {
        let s = self_assessment();
        assert!(s.is_enabled("self-tonight", &answers(&[("self-home", choice("none"))])));
        for home in ["steady", "worried"] {
            assert_eq!(
                s.enablement("self-tonight", &answers(&[("self-home", choice(home))])),
                Enablement::Disabled
            );
        }
        assert_eq!(
            s.enablement("self-tonight", &answers(&[("self-home", Answer::Declined)])),
            Enablement::Undecided(Absent::Declined)
        );
    }

    #[test]
    fn home_problems_are_asked_only_of_people_with_a_home() {
        let s = self_assessment();
        for home in ["steady", "worried"] {
            assert!(s.is_enabled(
                "self-home-problems",
                &answers(&[("self-home", choice(home))])
            ));
        }
        assert_eq!(
            s.enablement(
                "self-home-problems",
                &answers(&[("self-home", choice("none"))])
            ),
            Enablement::Disabled
        );
    }

    #[test]
    fn child_care_is_asked_only_of_people_caring_for_children() {
        let s = self_assessment();
        assert!(s.is_enabled("self-child-care", &answers(&[("self-kids", choice("yes"))])));
        assert_eq!(
            s.enablement("self-child-care", &answers(&[("self-kids", choice("no"))])),
            Enablement::Disabled
        );
        assert_eq!(
            s.enablement(
                "self-child-care",
                &answers(&[("self-kids", Answer::DontKnow)])
            ),
            Enablement::Undecided(Absent::DontKnow)
        );
    }

    /// A small instrument whose second page depends on the first, two levels deep.
    const CHAINED: &str = r#"
        id = "chained"
        version = "1"
        questionnaire = "urn:test:chained"
        code_system = "urn:test"
        audience = "anyone"
        title = { en = "Chained", es = "Encadenado" }
        [[not_answered]]
        kind = "declined"
        code = "declined"
        display = "Declined"
        text = { en = "Rather not say", es = "Prefiero no decirlo" }
        [[not_answered]]
        kind = "dont-know"
        code = "dont-know"
        display = "Don't know"
        text = { en = "Don't know", es = "No sé" }
        [[page]]
        id = "first"
        title = { en = "First", es = "Primera" }
        [[page.item]]
        code = "a"
        kind = "single"
        text = { en = "A?", es = "¿A?" }
        [[page.item.answer]]
        code = "yes"
        text = { en = "Yes", es = "Sí" }
        [[page.item.answer]]
        code = "no"
        text = { en = "No", es = "No" }
        [[page]]
        id = "second"
        title = { en = "Second", es = "Segunda" }
        [[page.item]]
        code = "b"
        kind = "single"
        text = { en = "B?", es = "¿B?" }
        enable_when = { item = "a", any_of = ["yes"] }
        [[page.item.answer]]
        code = "yes"
        text = { en = "Yes", es = "Sí" }
        [[page.item.answer]]
        code = "no"
        text = { en = "No", es = "No" }
        [[page.item]]
        code = "c"
        kind = "integer"
        min = 0
        max = 10
        text = { en = "How many?", es = "¿Cuántos?" }
        enable_when = { item = "b", any_of = ["yes"] }
        [[page]]
        id = "third"
        title = { en = "Third", es = "Tercera" }
        [[page.item]]
        code = "d"
        kind = "multi"
        text = { en = "D?", es = "¿D?" }
        [[page.item.answer]]
        code = "x"
        text = { en = "X", es = "Equis" }
        [[page.item.answer]]
        code = "y"
        text = { en = "Y", es = "I griega" }
        [[page.item.answer]]
        code = "none"
        text = { en = "None", es = "Ninguna" }
        exclusive = true
        [[rule]]
        id = "need"
        domain = "sdoh-category-unspecified"
        title = { en = "Need", es = "Necesidad" }
        categories = ["shelter"]
        sensitive = false
        [[rule.when]]
        item = "d"
        any_of = ["x"]
    "#;

    fn chained() -> Instrument {
        Instrument::from_toml(CHAINED).unwrap()
    }

    #[test]
    fn skipped_items_skip_the_items_that_depend_on_them() {
        let i = chained();
        let no = answers(&[("a", choice("no")), ("b", choice("yes"))]);
        assert_eq!(i.enablement("b", &no), Enablement::Disabled);
        assert_eq!(
            i.enablement("c", &no),
            Enablement::Disabled,
            "b is skipped, so c is too"
        );
        let yes = answers(&[("a", choice("yes")), ("b", choice("yes"))]);
        assert!(i.is_enabled("c", &yes));
        let declined = answers(&[("a", Answer::Declined)]);
        assert_eq!(
            i.enablement("c", &declined),
            Enablement::Undecided(Absent::Declined)
        );
    }

    #[test]
    fn pages_without_an_asked_item_are_skipped_both_ways() {
        let i = chained();
        let no = answers(&[("a", choice("no"))]);
        let pages: Vec<&str> = i.enabled_pages(&no).iter().map(|p| p.id.as_str()).collect();
        assert_eq!(pages, ["first", "third"]);
        assert_eq!(i.next_page(None, &no).unwrap().id, "first");
        assert_eq!(i.next_page(Some("first"), &no).unwrap().id, "third");
        assert_eq!(i.previous_page("third", &no).unwrap().id, "first");
        assert!(
            i.next_page(Some("third"), &no).is_none(),
            "done after the last page"
        );
        assert!(i.previous_page("first", &no).is_none());
        assert!(i.next_page(Some("nowhere"), &no).is_none());

        let yes = answers(&[("a", choice("yes"))]);
        assert_eq!(i.next_page(Some("first"), &yes).unwrap().id, "second");
        let items: Vec<&str> = i
            .enabled_items(i.page("second").unwrap(), &yes)
            .iter()
            .map(|i| i.code.as_str())
            .collect();
        assert_eq!(items, ["b"], "c waits for b");
        let unanswered = Answers::new();
        assert_eq!(
            i.next_page(Some("first"), &unanswered).unwrap().id,
            "third",
            "b waits for a"
        );
    }

    #[test]
    fn changing_an_earlier_answer_prunes_answers_no_longer_asked() {
        let i = chained();
        let changed = answers(&[
            ("a", choice("no")),
            ("b", choice("yes")),
            ("c", Answer::Integer(3)),
            ("d", choice("x")),
        ]);
        let kept = i.prune(&changed);
        assert_eq!(kept, answers(&[("a", choice("no")), ("d", choice("x"))]));
    }

    // ── Answers ──

    #[test]
    fn form_values_become_answers() {
        let i = chained();
        assert_eq!(i.parse_answer("a", &["yes"]), Ok(choice("yes")));
        assert_eq!(
            i.parse_answer("d", &["x", "y"]),
            Ok(Answer::Choice(vec!["x".into(), "y".into()]))
        );
        assert_eq!(i.parse_answer("c", &[" 7 "]), Ok(Answer::Integer(7)));
        assert_eq!(i.parse_answer("c", &["declined"]), Ok(Answer::Declined));
        assert_eq!(i.parse_answer("d", &["dont-know"]), Ok(Answer::DontKnow));
    }

    #[test]
    fn wrong_answers_are_refused() {
        let i = chained();
        let err = |item: &str, values: &[&str]| i.parse_answer(item, values).unwrap_err();
        assert_eq!(
            err("zz", &["yes"]),
            AnswerError::UnknownItem { item: "zz".into() }
        );
        assert_eq!(
            err("a", &["maybe"]),
            AnswerError::UnknownAnswer {
                item: "a".into(),
                answer: "maybe".into()
            }
        );
        assert_eq!(err("a", &[]), AnswerError::NoChoice { item: "a".into() });
        assert_eq!(
            err("a", &["yes", "no"]),
            AnswerError::TooManyChoices { item: "a".into() }
        );
        assert_eq!(
            err("d", &["x", "x"]),
            AnswerError::RepeatedChoice {
                item: "d".into(),
                answer: "x".into()
            }
        );
        assert_eq!(
            err("d", &["x", "none"]),
            AnswerError::NotAlone {
                item: "d".into(),
                answer: "none".into()
            }
        );
        assert_eq!(
            err("d", &["x", "declined"]),
            AnswerError::NotAlone {
                item: "d".into(),
                answer: "declined".into()
            }
        );
        assert_eq!(
            err("c", &["seven"]),
            AnswerError::NotAnInteger {
                item: "c".into(),
                value: "seven".into()
            }
        );
        assert_eq!(
            err("c", &["11"]),
            AnswerError::OutOfRange {
                item: "c".into(),
                min: 0,
                max: 10
            }
        );
        assert_eq!(
            err("c", &["-1"]),
            AnswerError::OutOfRange {
                item: "c".into(),
                min: 0,
                max: 10
            }
        );
        assert_eq!(
            err("c", &["1", "2"]),
            AnswerError::TooManyChoices { item: "c".into() }
        );
        assert_eq!(err("c", &[]), AnswerError::NoChoice { item: "c".into() });
        assert_eq!(
            i.check_answer("c", &choice("yes")),
            Err(AnswerError::NotAChoiceItem { item: "c".into() })
        );
        assert_eq!(
            i.check_answer("a", &Answer::Integer(1)),
            Err(AnswerError::NotAnIntegerItem { item: "a".into() })
        );
        let all = answers(&[
            ("a", choice("maybe")),
            ("c", Answer::Integer(99)),
            ("d", choice("x")),
        ]);
        assert_eq!(i.check_answers(&all).len(), 2, "every problem at once");
        assert!(core()
            .check_answer(
                "96778-6",
                &Answer::Choice(vec!["LA28580-1".into(), "LA9-3".into()])
            )
            .is_err());
        assert!(core()
            .check_answer(
                "96778-6",
                &Answer::Choice(vec!["LA28580-1".into(), "LA31998-0".into()])
            )
            .is_ok());
    }

    #[test]
    fn answers_are_stored_as_plain_json() {
        let stored = answers(&[
            ("71802-3", choice("LA31993-1")),
            ("95618-5", Answer::Declined),
            ("95617-7", Answer::DontKnow),
            ("c", Answer::Integer(4)),
        ]);
        let json = serde_json::to_value(&stored).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"71802-3": {"choice": ["LA31993-1"]}, "95618-5": "declined", "95617-7": "dont-know", "c": {"integer": 4}})
        );
        assert_eq!(serde_json::from_value::<Answers>(json).unwrap(), stored);
    }

    // ── Refused files: one test per kind of problem ──

    fn refused(from: &str, to: &str) -> Vec<InstrumentError> {
        assert!(CHAINED.contains(from), "fixture lacks {from:?}");
        match Instrument::from_toml(&CHAINED.replacen(from, to, 1)) {
            Err(LoadError::Invalid(errors)) => errors,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    fn refused_toml(from: &str, to: &str) -> String {
        match Instrument::from_toml(&CHAINED.replacen(from, to, 1)) {
            Err(LoadError::Toml(message)) => message,
            other => panic!("expected a TOML error, got {other:?}"),
        }
    }

    #[test]
    fn missing_text_is_refused() {
        assert!(refused(r#"es = "Primera""#, r#"es = """#).contains(
            &InstrumentError::MissingText {
                at: "page first".into(),
                lang: Lang::Es
            }
        ));
        assert!(refused(
            r#"text = { en = "A?", es = "¿A?" }"#,
            r#"text = { en = " ", es = "¿A?" }"#
        )
        .contains(&InstrumentError::MissingText {
            at: "item a".into(),
            lang: Lang::En
        }));
        assert!(refused_toml(
            r#"title = { en = "Chained", es = "Encadenado" }"#,
            r#"title = { en = "Chained" }"#
        )
        .contains("es"));
    }

    #[test]
    fn duplicate_codes_are_refused() {
        assert!(
            refused(r#"code = "b""#, r#"code = "a""#).contains(&InstrumentError::Duplicate {
                what: "item",
                code: "a".into()
            })
        );
        assert!(refused(r#"id = "second""#, r#"id = "first""#).contains(
            &InstrumentError::Duplicate {
                what: "page",
                code: "first".into()
            }
        ));
        assert!(
            refused(r#"code = "y""#, r#"code = "x""#).contains(&InstrumentError::Duplicate {
                what: "answer",
                code: "d/x".into()
            })
        );
        let twice = CHAINED.to_string() + &CHAINED[CHAINED.find("[[rule]]").unwrap()..];
        match Instrument::from_toml(&twice) {
            Err(LoadError::Invalid(e)) => {
                assert!(e.contains(&InstrumentError::Duplicate {
                    what: "rule",
                    code: "need".into()
                }))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn both_not_answered_options_are_required_and_keep_their_codes() {
        assert!(refused(r#"kind = "dont-know""#, r#"kind = "declined""#)
            .contains(&InstrumentError::NotAnsweredOptions));
        assert!(
            refused(r#"code = "none""#, r#"code = "declined""#).contains(
                &InstrumentError::NotAnsweredCodeReused {
                    item: "d".into(),
                    code: "declined".into()
                }
            )
        );
        assert!(refused_toml(r#"kind = "declined""#, r#"kind = "refused""#).contains("refused"));
    }

    #[test]
    fn references_to_missing_items_answers_and_scores_are_refused() {
        assert!(refused(
            r#"item = "a", any_of = ["yes"]"#,
            r#"item = "zz", any_of = ["yes"]"#
        )
        .contains(&InstrumentError::UnknownItem {
            at: "item b".into(),
            item: "zz".into()
        }));
        assert!(refused(
            r#"item = "a", any_of = ["yes"]"#,
            r#"item = "a", any_of = ["maybe"]"#
        )
        .contains(&InstrumentError::UnknownAnswer {
            at: "item b".into(),
            item: "a".into(),
            answer: "maybe".into()
        }));
        assert!(refused(
            "item = \"d\"\n        any_of = [\"x\"]",
            "item = \"d\"\n        any_of = [\"w\"]"
        )
        .contains(&InstrumentError::UnknownAnswer {
            at: "rule need".into(),
            item: "d".into(),
            answer: "w".into()
        }));
        assert!(refused(
            "item = \"d\"\n        any_of = [\"x\"]",
            "item = \"e\"\n        any_of = [\"x\"]"
        )
        .contains(&InstrumentError::UnknownItem {
            at: "rule need".into(),
            item: "e".into()
        }));
        assert!(refused(
            "item = \"d\"\n        any_of = [\"x\"]",
            "score = \"total\"\n        above = 1"
        )
        .contains(&InstrumentError::UnknownScore {
            at: "rule need".into(),
            score: "total".into()
        }));
    }

    #[test]
    fn skip_logic_may_only_look_back_at_a_choice_item() {
        assert!(refused(
            r#"item = "a", any_of = ["yes"]"#,
            r#"item = "d", any_of = ["x"]"#
        )
        .contains(&InstrumentError::GateNotEarlier {
            item: "b".into(),
            gate: "d".into()
        }));
        assert!(refused(
            r#"item = "a", any_of = ["yes"]"#,
            r#"item = "b", any_of = ["yes"]"#
        )
        .contains(&InstrumentError::GateNotEarlier {
            item: "b".into(),
            gate: "b".into()
        }));
        // An item on the third page that looks back at the integer item c.
        let third = r#"title = { en = "Third", es = "Tercera" }"#;
        let item_e = r#"
        [[page.item]]
        code = "e"
        kind = "single"
        text = { en = "E?", es = "¿E?" }
        enable_when = { item = "c", any_of = ["1"] }
        [[page.item.answer]]
        code = "ok"
        text = { en = "OK", es = "Bien" }"#;
        let on_integer = CHAINED.replacen(third, &format!("{third}{item_e}"), 1);
        match Instrument::from_toml(&on_integer) {
            Err(LoadError::Invalid(e)) => {
                assert!(
                    e.contains(&InstrumentError::NotAChoice {
                        at: "item e".into(),
                        item: "c".into()
                    }),
                    "{e:?}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn integer_items_need_a_range_and_no_options() {
        assert!(refused("min = 0", "min = 11")
            .contains(&InstrumentError::IntegerRange { item: "c".into() }));
        assert!(
            refused("min = 0\n", "").contains(&InstrumentError::IntegerRange { item: "c".into() })
        );
    }

    #[test]
    fn choice_items_need_answers_and_exclusive_answers_need_a_multi_select() {
        assert!(refused(r#"kind = "multi""#, r#"kind = "single""#).contains(
            &InstrumentError::ExclusiveOnSingle {
                item: "d".into(),
                answer: "none".into()
            }
        ));
        let bare = CHAINED.replacen("[[page.item]]\n        code = \"c\"", "[[page.item]]\n        code = \"bare\"\n        kind = \"single\"\n        text = { en = \"Bare?\", es = \"¿Sola?\" }\n        [[page.item]]\n        code = \"c\"", 1);
        match Instrument::from_toml(&bare) {
            Err(LoadError::Invalid(e)) => {
                assert!(e.contains(&InstrumentError::Empty {
                    what: "answers",
                    at: "item bare".into()
                }))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn scores_need_scorable_items_with_values() {
        let with_score = |items: &str| {
            CHAINED.replacen(
                "[[rule]]",
                &format!("[[score]]\n        code = \"total\"\n        method = \"sum\"\n        items = {items}\n        text = {{ en = \"Total\", es = \"Total\" }}\n        [[rule]]"),
                1,
            )
        };
        let problems = |source: String| match Instrument::from_toml(&source) {
            Err(LoadError::Invalid(e)) => e,
            other => panic!("{other:?}"),
        };
        assert!(
            problems(with_score(r#"["a"]"#)).contains(&InstrumentError::MissingValue {
                score: "total".into(),
                item: "a".into(),
                answer: "yes".into()
            })
        );
        assert!(
            problems(with_score(r#"["d"]"#)).contains(&InstrumentError::NotScorable {
                score: "total".into(),
                item: "d".into()
            })
        );
        assert!(
            problems(with_score(r#"["zz"]"#)).contains(&InstrumentError::UnknownItem {
                at: "score total".into(),
                item: "zz".into()
            })
        );
        assert!(
            problems(with_score("[]")).contains(&InstrumentError::Empty {
                what: "items",
                at: "score total".into()
            })
        );
        assert!(
            problems(with_score(r#"["c"]"#).replacen("code = \"total\"", "code = \"a\"", 1))
                .contains(&InstrumentError::Duplicate {
                    what: "item",
                    code: "a".into()
                })
        );
        assert!(
            Instrument::from_toml(&with_score(r#"["c"]"#)).is_ok(),
            "an integer item counts its number"
        );
    }

    #[test]
    fn rules_need_conditions_real_categories_and_a_known_domain() {
        assert!(refused(
            r#"categories = ["shelter"]"#,
            r#"categories = ["Rent Help"]"#
        )
        .contains(&InstrumentError::BadCategory {
            rule: "need".into(),
            category: "Rent Help".into()
        }));
        assert!(
            refused(r#"categories = ["shelter"]"#, "categories = []").contains(
                &InstrumentError::Empty {
                    what: "categories",
                    at: "rule need".into()
                }
            )
        );
        let no_conditions = &CHAINED[..CHAINED.find("[[rule.when]]").unwrap()];
        match Instrument::from_toml(&format!("{no_conditions}when = []")) {
            Err(LoadError::Invalid(e)) => assert!(e.contains(&InstrumentError::Empty {
                what: "conditions",
                at: "rule need".into()
            })),
            other => panic!("{other:?}"),
        }
        assert!(refused_toml(
            r#"domain = "sdoh-category-unspecified""#,
            r#"domain = "depression""#
        )
        .contains("depression"));
        assert!(
            refused_toml("any_of = [\"x\"]", "any_of = [\"x\"]\n        above = 3")
                .contains("a condition is either")
        );
        assert!(refused_toml(
            "item = \"d\"\n        any_of = [\"x\"]",
            "score = \"t\"\n        above = 1\n        below = 5"
        )
        .contains("a condition is either"));
        assert_eq!(
            chained().unknown_categories(|c| c == "food-pantries"),
            [InstrumentError::BadCategory {
                rule: "need".into(),
                category: "shelter".into()
            }]
        );
    }

    #[test]
    fn safety_pages_need_a_note_and_unknown_keys_are_refused() {
        assert!(refused(
            r#"title = { en = "First", es = "Primera" }"#,
            "title = { en = \"First\", es = \"Primera\" }\n        safety = true"
        )
        .contains(&InstrumentError::SafetyPageWithoutNote {
            page: "first".into()
        }));
        assert!(refused_toml(
            r#"version = "1""#,
            "version = \"1\"\n        colour = \"red\""
        )
        .contains("colour"));
        assert!(refused_toml(r#"kind = "multi""#, r#"kind = "checkbox""#).contains("checkbox"));
        assert!(
            refused(r#"version = "1""#, r#"version = """#).contains(&InstrumentError::Empty {
                what: "version",
                at: "instrument chained".into()
            })
        );
    }

    #[test]
    fn refusals_read_as_one_line_each() {
        let message = Instrument::from_toml(&CHAINED.replacen("min = 0", "min = 11", 1))
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "integer item c needs min <= max and no answer options"
        );
        let err = AnswerError::OutOfRange {
            item: "c".into(),
            min: 0,
            max: 10,
        };
        assert_eq!(err.to_string(), "c takes 0 to 10");
    }

    #[test]
    fn thresholds_hold_on_the_right_side_of_their_number() {
        assert!(Threshold::Above(10).holds(11) && !Threshold::Above(10).holds(10));
        assert!(Threshold::AtLeast(3).holds(3) && !Threshold::AtLeast(3).holds(2));
        assert!(Threshold::Below(150).holds(149) && !Threshold::Below(150).holds(150));
    }
}
