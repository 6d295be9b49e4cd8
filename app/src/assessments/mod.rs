//! Assessments: instruments as data (`app/assessments/*.toml`), pure scoring into SDoH
//! indicators, the FHIR shapes a completed response is shared in, and taking one — alone and
//! without an account (the self-assessment), or with a partner or a hospital on the resident's
//! record after consent (through the residents gate, purpose [`Purpose::Assessment`]).
//!
//! [`Purpose::Assessment`]: crate::residents::Purpose::Assessment

pub mod actions;
pub mod fhir;
pub mod instrument;
pub mod pages;
pub mod scoring;
pub mod store;

use crate::i18n::*;
use crate::policy::{Action, Role};
use instrument::{Audience, Instrument, Lang};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Who answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// The resident alone (the self-assessment).
    SelfReport,
    /// With a Community Partner, after consent.
    Partner,
    /// A hospital's screening (AHC HRSN).
    Hospital,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::SelfReport => "self",
            Mode::Partner => "partner",
            Mode::Hospital => "hospital",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        [Mode::SelfReport, Mode::Partner, Mode::Hospital]
            .into_iter()
            .find(|m| m.as_str() == s)
    }

    pub fn label(code: &str, locale: Locale) -> String {
        match Mode::parse(code) {
            Some(Mode::SelfReport) => tr!(locale, assessment_mode_self),
            Some(Mode::Partner) => tr!(locale, assessment_mode_partner),
            Some(Mode::Hospital) => tr!(locale, assessment_mode_hospital),
            None => code.to_string(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    InProgress,
    Completed,
}

/// Where an assessment or indicator came from, in people's words.
pub fn source_label(code: &str, locale: Locale) -> String {
    match code {
        "wraparound" => tr!(locale, source_wraparound),
        "health_exchange" => tr!(locale, source_health_exchange),
        "medicaid" => tr!(locale, source_medicaid),
        other => other.to_string(),
    }
}

/// The instrument text's language for a page's locale.
pub fn lang(locale: Locale) -> Lang {
    match locale {
        Locale::es => Lang::Es,
        _ => Lang::En,
    }
}

/// The self-assessment anyone may take.
pub const SELF_ASSESSMENT: &str = "self-assessment";

/// May someone with this role administer this instrument? The AHC screening is for hospital
/// users only (the policy table's [`Action::ScreenWithAhc`]); the self-assessment for every
/// partner.
pub fn may_administer(role: Role, instrument: &Instrument) -> bool {
    crate::policy::allows(role, Action::AdministerAssessments)
        && match instrument.audience {
            Audience::Anyone => true,
            Audience::Hospital => crate::policy::allows(role, Action::ScreenWithAhc),
        }
}

/// The need's name for a person ("Food", "Safety at home"), from whichever instrument names it.
pub fn need_title(need: &str, locale: Locale) -> String {
    Instrument::all()
        .iter()
        .find_map(|i| i.rule(need))
        .map(|r| r.title.get(lang(locale)).to_string())
        .unwrap_or_else(|| need.to_string())
}

/// Items whose answers are sealed from partners other than the one that asked: those on a
/// safety page, and every item a sensitive need is decided from.
pub fn sealed_items(instrument: &Instrument) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = instrument
        .pages
        .iter()
        .filter(|p| p.safety)
        .flat_map(|p| p.items.iter().map(|i| i.code.clone()))
        .collect();
    for rule in instrument.rules.iter().filter(|r| r.sensitive) {
        for condition in &rule.conditions {
            match condition {
                instrument::Condition::Answer { item, .. } => {
                    out.insert(item.clone());
                }
                instrument::Condition::Score { score, .. } => {
                    if let Some(s) = instrument.score(score) {
                        out.extend(s.items.iter().cloned());
                    }
                }
            }
        }
    }
    out
}

/// What can go wrong with an assessment, as the pages tell it apart. The words are an
/// exhaustive match ([`AssessmentError::message`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AssessmentError {
    #[error("no such assessment")]
    NotFound,
    #[error("not allowed")]
    Denied,
    /// The resident has not given this organization consent.
    #[error("no consent")]
    NoConsent,
    /// The AHC screening is for hospital users.
    #[error("hospital users only")]
    HospitalOnly,
    #[error("already completed")]
    AlreadyCompleted,
    /// An answer that is not one of the question's choices, or a number out of range.
    #[error("not an answer to this question")]
    BadAnswer,
    /// Nothing to save: the assessment was not finished in this browser.
    #[error("nothing to save")]
    NothingToSave,
    #[error("try again in a minute")]
    Unavailable,
}

impl AssessmentError {
    pub const ALL: [AssessmentError; 8] = [
        AssessmentError::NotFound,
        AssessmentError::Denied,
        AssessmentError::NoConsent,
        AssessmentError::HospitalOnly,
        AssessmentError::AlreadyCompleted,
        AssessmentError::BadAnswer,
        AssessmentError::NothingToSave,
        AssessmentError::Unavailable,
    ];

    pub fn code(self) -> &'static str {
        match self {
            AssessmentError::NotFound => "not_found",
            AssessmentError::Denied => "denied",
            AssessmentError::NoConsent => "no_consent",
            AssessmentError::HospitalOnly => "hospital_only",
            AssessmentError::AlreadyCompleted => "assessment_completed",
            AssessmentError::BadAnswer => "bad_answer",
            AssessmentError::NothingToSave => "nothing_to_save",
            AssessmentError::Unavailable => "unavailable",
        }
    }

    pub fn parse(code: &str) -> Option<AssessmentError> {
        AssessmentError::ALL.into_iter().find(|e| e.code() == code)
    }

    pub fn message(self, locale: Locale) -> String {
        match self {
            AssessmentError::NotFound => tr!(locale, not_found_body),
            AssessmentError::Denied => tr!(locale, err_denied),
            AssessmentError::NoConsent => tr!(locale, err_no_consent),
            AssessmentError::HospitalOnly => tr!(locale, err_hospital_only),
            AssessmentError::AlreadyCompleted => tr!(locale, err_assessment_completed),
            AssessmentError::BadAnswer => tr!(locale, err_bad_answer),
            AssessmentError::NothingToSave => tr!(locale, err_nothing_to_save),
            AssessmentError::Unavailable => tr!(locale, err_unavailable),
        }
    }
}

impl From<sqlx::Error> for AssessmentError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error in the assessments domain");
        AssessmentError::Unavailable
    }
}

impl From<crate::residents::ResidentError> for AssessmentError {
    fn from(e: crate::residents::ResidentError) -> Self {
        use crate::residents::ResidentError as R;
        match e {
            R::NotFound | R::Merged(_) => AssessmentError::NotFound,
            R::Denied | R::NoConsent => AssessmentError::NoConsent,
            _ => AssessmentError::Unavailable,
        }
    }
}

impl From<AssessmentError> for crate::web::Problem {
    fn from(e: AssessmentError) -> Self {
        crate::web::Problem::new(e.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ahc_is_for_hospital_users_and_the_self_assessment_for_every_partner() {
        let ahc = Instrument::get("ahc-hrsn-core").unwrap();
        let own = Instrument::get(SELF_ASSESSMENT).unwrap();
        for role in Role::ALL {
            assert_eq!(
                may_administer(role, ahc),
                role == Role::HospitalStaff,
                "{role:?}"
            );
            assert_eq!(may_administer(role, own), role.is_partner(), "{role:?}");
        }
    }

    #[test]
    fn safety_answers_are_sealed() {
        let ahc = Instrument::get("ahc-hrsn-core").unwrap();
        let sealed = sealed_items(ahc);
        for page in ahc.pages.iter().filter(|p| p.safety) {
            for item in &page.items {
                assert!(sealed.contains(&item.code));
            }
        }
        let food = ahc.rule("food").unwrap();
        for c in &food.conditions {
            if let instrument::Condition::Answer { item, .. } = c {
                assert!(!sealed.contains(item), "food answers are not sealed");
            }
        }
    }

    #[test]
    fn every_error_code_reads_back() {
        for e in AssessmentError::ALL {
            assert_eq!(AssessmentError::parse(e.code()), Some(e));
        }
    }
}
