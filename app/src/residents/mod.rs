//! Residents and their data: one statewide record per person, households, notes, the consent
//! ledger the resident controls, resident accounts and My Plan, the Resident Detail Screen.
//!
//! **One gate.** Every read or write of resident data, by a person or by a system client,
//! passes [`gate::open`] (or [`gate::open_many`] for a list): it decides access in one query
//! from the consent ledger alone and writes one audit entry with a typed [`Purpose`]. Nothing
//! outside this module runs SQL on resident tables; other domains (referrals, assessments) ask
//! the gate and get a [`ResidentAccess`].

pub mod actions;
pub mod consent;
pub mod gate;
pub mod pages;
pub mod store;
pub mod views;

use crate::i18n::*;
use crate::identity::Viewer;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How a resident asked to be reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ContactMethod {
    Phone,
    Text,
    Email,
}

impl ContactMethod {
    pub const ALL: [ContactMethod; 3] = [
        ContactMethod::Phone,
        ContactMethod::Text,
        ContactMethod::Email,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactMethod::Phone => "phone",
            ContactMethod::Text => "text",
            ContactMethod::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<ContactMethod> {
        ContactMethod::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn label(self, locale: Locale) -> String {
        match self {
            ContactMethod::Phone => tr!(locale, contact_method_phone),
            ContactMethod::Text => tr!(locale, contact_method_text),
            ContactMethod::Email => tr!(locale, contact_method_email),
        }
    }
}

/// A resident's record as the gate hands it over with full access.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resident {
    pub id: Uuid,
    pub name: String,
    pub preferred_name: Option<String>,
    pub date_of_birth: Option<chrono::NaiveDate>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub preferred_contact: ContactMethod,
    pub preferred_language: String,
    /// Hidden (`None`) when the resident is at risk from someone.
    pub address: Option<String>,
    pub at_risk: bool,
}

impl Resident {
    pub fn first_name(&self) -> String {
        first_name(&self.name)
    }

    /// The phone or e-mail for the way they asked to be reached.
    pub fn preferred_address(&self) -> Option<String> {
        match self.preferred_contact {
            ContactMethod::Email => self.email.clone().or_else(|| self.phone.clone()),
            _ => self.phone.clone().or_else(|| self.email.clone()),
        }
    }
}

pub fn first_name(name: &str) -> String {
    name.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// "Maria L." — how a possible match is shown before the resident consents.
pub fn initial_form(name: &str) -> String {
    let mut words = name.split_whitespace();
    let first = words.next().unwrap_or_default();
    match words.last().and_then(|l| l.chars().next()) {
        Some(i) => format!("{first} {i}."),
        None => first.to_string(),
    }
}

/// What the gate lets someone see of a resident.
#[derive(Clone, Debug, PartialEq)]
pub enum ResidentAccess {
    /// With consent (or the resident themselves): the record. `sensitive` says whether sealed
    /// needs may be opened (consent to them was given separately).
    Full { resident: Resident, sensitive: bool },
    /// Without consent, for an organization helping them (a referral to or from it), or United
    /// Way following up: what helping needs — the first name and how they asked to be reached.
    Limited(LimitedView),
    /// A partner's search found a record it holds no consent for: enough to ask the resident
    /// whether it is theirs ("Maria L., born 1994"), nothing to reach or identify them by.
    Glimpse(Glimpse),
}

impl ResidentAccess {
    pub fn id(&self) -> Uuid {
        match self {
            ResidentAccess::Full { resident, .. } => resident.id,
            ResidentAccess::Limited(l) => l.id,
            ResidentAccess::Glimpse(g) => g.id,
        }
    }

    pub fn first_name(&self) -> String {
        match self {
            ResidentAccess::Full { resident, .. } => resident.first_name(),
            ResidentAccess::Limited(l) => l.first_name.clone(),
            ResidentAccess::Glimpse(g) => first_name(&g.initial_name),
        }
    }

    pub fn language(&self) -> &str {
        match self {
            ResidentAccess::Full { resident, .. } => &resident.preferred_language,
            ResidentAccess::Limited(l) => &l.language,
            ResidentAccess::Glimpse(_) => "en",
        }
    }

    /// How they asked to be reached (`None` when this view may not say).
    pub fn contact(&self) -> Option<ContactMethod> {
        match self {
            ResidentAccess::Full { resident, .. } => Some(resident.preferred_contact),
            ResidentAccess::Limited(l) => Some(l.contact),
            ResidentAccess::Glimpse(_) => None,
        }
    }

    /// The phone or e-mail for the way they asked to be reached, when this view may say.
    pub fn reach(&self) -> Option<String> {
        match self {
            ResidentAccess::Full { resident, .. } => resident.preferred_address(),
            ResidentAccess::Limited(l) => l.address.clone(),
            ResidentAccess::Glimpse(_) => None,
        }
    }

    pub fn is_full(&self) -> bool {
        matches!(self, ResidentAccess::Full { .. })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct LimitedView {
    pub id: Uuid,
    pub first_name: String,
    pub contact: ContactMethod,
    /// The phone or e-mail for that method.
    pub address: Option<String>,
    pub language: String,
}

/// A possible match as a search shows it before consent.
#[derive(Clone, Debug, PartialEq)]
pub struct Glimpse {
    pub id: Uuid,
    pub initial_name: String,
    pub birth_year: Option<i32>,
}

/// Why someone opens a resident's data. Recorded with every opening and shown to the resident
/// in My Plan ("who opened my data").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Purpose {
    /// Working or following a referral.
    Referral(Uuid),
    /// An inbox or outbox naming the residents of its referrals (first names).
    ReferralList,
    /// Putting a new referral together for them.
    NewReferral,
    /// The summary of referrals sent for them.
    ReferralSummary(Uuid),
    /// Asking them for consent (the request goes to the phone or e-mail on their record; the
    /// partner is shown neither).
    RequestConsent,
    /// The Resident Detail Screen.
    DetailScreen,
    /// A partner's search for the people they help.
    Search,
    /// Sending the resident something of their own (their summary, a consent request).
    ContactResident,
    /// United Way following up on a referral with the resident.
    FollowUp(Uuid),
    /// United Way or the state reviewing two records that may be one person.
    DuplicateReview,
    /// Recording something on their record (a note, a household member, a consent).
    Record,
    /// The resident's own plan.
    OwnPlan,
    /// Taking an assessment with them, or reading one (the assessments tab).
    Assessment,
    /// The state eligibility system's feed.
    EligibilityFeed,
    /// The health information exchange.
    HealthExchange,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Referral(_) => "referral",
            Purpose::ReferralList => "referral_list",
            Purpose::NewReferral => "new_referral",
            Purpose::ReferralSummary(_) => "referral_summary",
            Purpose::RequestConsent => "request_consent",
            Purpose::DetailScreen => "detail_screen",
            Purpose::Search => "search",
            Purpose::ContactResident => "contact_resident",
            Purpose::FollowUp(_) => "follow_up",
            Purpose::DuplicateReview => "duplicate_review",
            Purpose::Record => "record",
            Purpose::OwnPlan => "own_plan",
            Purpose::Assessment => "assessment",
            Purpose::EligibilityFeed => "eligibility_feed",
            Purpose::HealthExchange => "health_exchange",
        }
    }

    /// The record the purpose is about, when there is one.
    pub fn about(self) -> Option<Uuid> {
        match self {
            Purpose::Referral(id) | Purpose::ReferralSummary(id) | Purpose::FollowUp(id) => {
                Some(id)
            }
            _ => None,
        }
    }

    /// Why, in the resident's words.
    pub fn label(code: &str, locale: Locale) -> String {
        match code {
            "referral" | "referral_list" | "new_referral" => tr!(locale, purpose_referral),
            "referral_summary" => tr!(locale, purpose_referral_summary),
            "request_consent" => tr!(locale, purpose_request_consent),
            "detail_screen" => tr!(locale, purpose_detail_screen),
            "search" => tr!(locale, purpose_search),
            "contact_resident" => tr!(locale, purpose_contact_resident),
            "follow_up" => tr!(locale, purpose_follow_up),
            "duplicate_review" => tr!(locale, purpose_duplicate_review),
            "record" => tr!(locale, purpose_record),
            "assessment" => tr!(locale, purpose_assessment),
            "seal_broken" => tr!(locale, purpose_seal_broken),
            "eligibility_feed" => tr!(locale, purpose_eligibility_feed),
            "health_exchange" => tr!(locale, purpose_health_exchange),
            _ => tr!(locale, purpose_other),
        }
    }
}

/// A system that reads or writes resident data without a person (next turn's interfaces).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemClient {
    /// The state eligibility system (IEES): households, programs, status.
    EligibilityFeed,
    /// The health information exchange (KHIE): SDoH observations, referrals as FHIR tasks.
    HealthExchange,
}

impl SystemClient {
    pub fn as_str(self) -> &'static str {
        match self {
            SystemClient::EligibilityFeed => "eligibility_feed",
            SystemClient::HealthExchange => "health_exchange",
        }
    }
}

/// Who is asking the gate.
#[derive(Clone, Debug)]
pub enum Principal {
    Person(Viewer),
    System(SystemClient),
}

/// What can go wrong with resident data, as the pages need to tell it apart. The pages' words
/// are an exhaustive match on it ([`ResidentError::message`]): a new case without words does
/// not compile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ResidentError {
    #[error("no such resident")]
    NotFound,
    #[error("not allowed")]
    Denied,
    /// The record was merged into another; open that one.
    #[error("merged into another record")]
    Merged(Uuid),
    #[error("a field is missing")]
    Missing,
    #[error("a field is too long")]
    TooLong,
    #[error("not an e-mail address")]
    BadEmail,
    #[error("not a phone number")]
    BadPhone,
    #[error("not a date of birth")]
    BadDate,
    #[error("a phone or e-mail is needed")]
    ContactNeeded,
    #[error("the resident has no phone or e-mail for that")]
    NoAddress,
    /// The number replied STOP.
    #[error("the number asked not to be texted")]
    OptedOut,
    #[error("the code does not match")]
    WrongCode,
    #[error("the link or code expired")]
    Expired,
    #[error("tick the box to confirm")]
    ConfirmNeeded,
    #[error("no consent for that")]
    NoConsent,
    #[error("the same record")]
    SameRecord,
    #[error("already done")]
    AlreadyDone,
    /// Records like this one exist: look at them before making another.
    #[error("possible match")]
    PossibleMatch,
    /// A code was sent moments ago.
    #[error("too soon")]
    TooSoon,
    #[error("try again in a minute")]
    Unavailable,
}

impl ResidentError {
    /// The code a form carries back (`?error=`).
    pub fn code(self) -> &'static str {
        match self {
            ResidentError::NotFound => "not_found",
            ResidentError::Denied => "denied",
            ResidentError::Merged(_) => "merged",
            ResidentError::Missing => "missing_fields",
            ResidentError::TooLong => "too_long",
            ResidentError::BadEmail => "bad_email",
            ResidentError::BadPhone => "bad_phone",
            ResidentError::BadDate => "bad_date",
            ResidentError::ContactNeeded => "contact_needed",
            ResidentError::NoAddress => "no_address",
            ResidentError::OptedOut => "opted_out",
            ResidentError::WrongCode => "wrong_code",
            ResidentError::Expired => "link_expired",
            ResidentError::ConfirmNeeded => "confirm_needed",
            ResidentError::NoConsent => "no_consent",
            ResidentError::SameRecord => "same_record",
            ResidentError::AlreadyDone => "already_decided",
            ResidentError::PossibleMatch => "possible_match",
            ResidentError::TooSoon => "too_soon",
            ResidentError::Unavailable => "unavailable",
        }
    }

    pub fn parse(code: &str) -> Option<ResidentError> {
        [
            ResidentError::NotFound,
            ResidentError::Denied,
            ResidentError::Missing,
            ResidentError::TooLong,
            ResidentError::BadEmail,
            ResidentError::BadPhone,
            ResidentError::BadDate,
            ResidentError::ContactNeeded,
            ResidentError::NoAddress,
            ResidentError::OptedOut,
            ResidentError::WrongCode,
            ResidentError::Expired,
            ResidentError::ConfirmNeeded,
            ResidentError::NoConsent,
            ResidentError::SameRecord,
            ResidentError::AlreadyDone,
            ResidentError::PossibleMatch,
            ResidentError::TooSoon,
            ResidentError::Unavailable,
        ]
        .into_iter()
        .find(|e| e.code() == code)
    }

    /// What the person reads.
    pub fn message(self, locale: Locale) -> String {
        match self {
            ResidentError::NotFound | ResidentError::Merged(_) => tr!(locale, not_found_body),
            ResidentError::Denied => tr!(locale, err_denied),
            ResidentError::Missing => tr!(locale, err_missing_fields),
            ResidentError::TooLong => tr!(locale, err_too_long),
            ResidentError::BadEmail => tr!(locale, err_bad_email),
            ResidentError::BadPhone => tr!(locale, err_bad_phone),
            ResidentError::BadDate => tr!(locale, err_bad_date),
            ResidentError::ContactNeeded => tr!(locale, err_contact_needed),
            ResidentError::NoAddress => tr!(locale, err_no_address),
            ResidentError::OptedOut => tr!(locale, err_opted_out),
            ResidentError::WrongCode => tr!(locale, err_wrong_code),
            ResidentError::Expired => tr!(locale, err_link_expired),
            ResidentError::ConfirmNeeded => tr!(locale, err_confirm_needed),
            ResidentError::NoConsent => tr!(locale, err_no_consent),
            ResidentError::SameRecord => tr!(locale, err_same_record),
            ResidentError::AlreadyDone => tr!(locale, err_already_decided),
            ResidentError::PossibleMatch => tr!(locale, err_possible_match),
            ResidentError::TooSoon => tr!(locale, err_too_soon),
            ResidentError::Unavailable => tr!(locale, err_unavailable),
        }
    }
}

impl From<sqlx::Error> for ResidentError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error in the residents domain");
        ResidentError::Unavailable
    }
}

impl From<crate::text::FieldError> for ResidentError {
    fn from(e: crate::text::FieldError) -> Self {
        match e {
            crate::text::FieldError::Missing => ResidentError::Missing,
            crate::text::FieldError::TooLong { .. } => ResidentError::TooLong,
        }
    }
}

impl From<ResidentError> for crate::web::Problem {
    fn from(e: ResidentError) -> Self {
        crate::web::Problem::new(e.code())
    }
}

/// A checked new resident, from a partner's form (the referral form, "Add a resident").
#[derive(Clone, Debug)]
pub struct NewResident {
    pub name: String,
    pub date_of_birth: Option<chrono::NaiveDate>,
    pub phone: Option<crate::contact::Phone>,
    pub email: Option<crate::contact::Email>,
    pub preferred_contact: ContactMethod,
    pub preferred_language: String,
    pub address: Option<String>,
    /// At risk from someone: the address is hidden from every partner screen and printout.
    pub at_risk: bool,
}

impl NewResident {
    /// Checks a form's fields, every problem named by its field.
    pub fn check(
        name: Option<&str>,
        date_of_birth: Option<&str>,
        phone: Option<&str>,
        email: Option<&str>,
        preferred_contact: Option<&str>,
        preferred_language: Option<&str>,
    ) -> Result<NewResident, crate::web::Problem> {
        use crate::text::{field, limits, required};
        use crate::web::Problem;
        let name = required(name.unwrap_or(""), limits::NAME)
            .map_err(|e| Problem::from(e).with_field("name"))?;
        let email =
            match field(email, limits::EMAIL).map_err(|e| Problem::from(e).with_field("email"))? {
                Some(e) => Some(
                    crate::contact::Email::parse(&e).ok_or(Problem::at("email", "bad_email"))?,
                ),
                None => None,
            };
        let phone =
            match field(phone, limits::PHONE).map_err(|e| Problem::from(e).with_field("phone"))? {
                Some(p) => Some(
                    crate::contact::Phone::parse(&p).ok_or(Problem::at("phone", "bad_phone"))?,
                ),
                None => None,
            };
        if phone.is_none() && email.is_none() {
            return Err(Problem::at("contact", "contact_needed"));
        }
        let date_of_birth = match field(date_of_birth, 10)
            .map_err(|e| Problem::from(e).with_field("date_of_birth"))?
        {
            Some(d) => Some(parse_birth_date(&d).ok_or(Problem::at("date_of_birth", "bad_date"))?),
            None => None,
        };
        let preferred_contact = preferred_contact
            .and_then(ContactMethod::parse)
            .ok_or(Problem::at("preferred_contact", "missing_fields"))?;
        // Asked to be texted or e-mailed, they must have that.
        match (preferred_contact, &phone, &email) {
            (ContactMethod::Text | ContactMethod::Phone, None, _) => {
                return Err(Problem::at("phone", "contact_needed"))
            }
            (ContactMethod::Email, _, None) => return Err(Problem::at("email", "contact_needed")),
            _ => {}
        }
        let preferred_language = preferred_language
            .filter(|l| ["en", "es"].contains(l))
            .unwrap_or("en")
            .to_string();
        Ok(NewResident {
            name,
            date_of_birth,
            phone,
            email,
            preferred_contact,
            preferred_language,
            address: None,
            at_risk: false,
        })
    }
}

/// A date of birth: a real date, not in the future, after 1900.
pub fn parse_birth_date(s: &str) -> Option<chrono::NaiveDate> {
    use chrono::Datelike;
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| *d <= chrono::Utc::now().date_naive() && d.year() > 1900)
}

/// A note's kind, as partners say it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoteKind {
    Note,
    ContactAttempt,
    InPerson,
    Phone,
    Text,
}

impl NoteKind {
    pub const ALL: [NoteKind; 5] = [
        NoteKind::Note,
        NoteKind::ContactAttempt,
        NoteKind::InPerson,
        NoteKind::Phone,
        NoteKind::Text,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::Note => "note",
            NoteKind::ContactAttempt => "contact_attempt",
            NoteKind::InPerson => "in_person",
            NoteKind::Phone => "phone",
            NoteKind::Text => "text",
        }
    }

    pub fn parse(s: &str) -> Option<NoteKind> {
        NoteKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self, locale: Locale) -> String {
        match self {
            NoteKind::Note => tr!(locale, note_kind_note),
            NoteKind::ContactAttempt => tr!(locale, note_kind_contact_attempt),
            NoteKind::InPerson => tr!(locale, note_kind_in_person),
            NoteKind::Phone => tr!(locale, note_kind_phone),
            NoteKind::Text => tr!(locale, note_kind_text),
        }
    }
}

/// Is this need sealed (a sensitive category, or a subcategory of one)?
pub fn is_sensitive(need: &str, sensitive: &[String]) -> bool {
    if sensitive.iter().any(|s| s == need) {
        return true;
    }
    crate::directory::categories::CategoryTree::get()
        .sub(need)
        .is_some_and(|(parent, _)| sensitive.iter().any(|s| *s == parent.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn possible_matches_show_only_a_first_name_and_an_initial() {
        assert_eq!(initial_form("Amy Brand"), "Amy B.");
        assert_eq!(initial_form("María José López García"), "María G.");
        assert_eq!(initial_form("Cher"), "Cher");
    }

    #[test]
    fn needs_in_sensitive_categories_are_sealed() {
        let list = vec!["mental-health".to_string(), "domestic-violence".to_string()];
        assert!(
            is_sensitive("counseling", &list),
            "a subcategory of mental health"
        );
        assert!(is_sensitive("substance-use", &list));
        assert!(is_sensitive("domestic-violence", &list));
        assert!(!is_sensitive("baby-formula", &list));
    }

    #[test]
    fn every_error_code_reads_back() {
        for e in [
            ResidentError::NotFound,
            ResidentError::OptedOut,
            ResidentError::WrongCode,
            ResidentError::NoConsent,
        ] {
            assert_eq!(ResidentError::parse(e.code()), Some(e));
        }
    }

    #[test]
    fn a_new_resident_must_be_reachable_the_way_they_chose() {
        let ok = NewResident::check(
            Some("Amy Brand"),
            Some("1990-04-02"),
            Some("270-555-0142"),
            None,
            Some("text"),
            Some("en"),
        )
        .unwrap();
        assert_eq!(ok.preferred_contact, ContactMethod::Text);
        let no_phone = NewResident::check(
            Some("Amy Brand"),
            None,
            None,
            Some("amy@example.org"),
            Some("text"),
            None,
        )
        .unwrap_err();
        assert_eq!(
            (no_phone.field, no_phone.code),
            (Some("phone"), "contact_needed")
        );
        let future = NewResident::check(
            Some("Amy"),
            Some("2999-01-01"),
            Some("270-555-0142"),
            None,
            Some("phone"),
            None,
        )
        .unwrap_err();
        assert_eq!(future.field, Some("date_of_birth"));
    }
}
