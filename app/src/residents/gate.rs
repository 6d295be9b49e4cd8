//! The one gate to resident data. [`open`] decides, in one query, what a principal may see of a
//! resident for a purpose — from the consent ledger alone — and writes one audit entry saying
//! who, why, and what was shown. [`open_many`] does the same for a list, with one entry.
//! [`decide`] is the rule, a pure function with a test for every role and consent state.

use super::consent::{granted_sql, Scope};
use super::{
    ContactMethod, Glimpse, LimitedView, Principal, Purpose, Resident, ResidentAccess,
    ResidentError, SystemClient,
};
use crate::audit::{self, Actor, Outcome};
use crate::policy::Role;
use sqlx::PgPool;
use std::collections::HashMap;
use uuid::Uuid;

/// What the one query finds out about a resident, for one principal.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    /// The principal is this resident (their linked account).
    pub own: bool,
    /// The principal's organization holds consent to the profile / to sensitive needs.
    pub profile_consent: bool,
    pub sensitive_consent: bool,
    /// The principal's organization is helping this resident: a referral for them was sent by
    /// or to it, or it made their record.
    pub referral_with_org: bool,
    /// The resident has any referral (United Way follows those up).
    pub any_referral: bool,
}

/// What the gate lets through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Full {
        sensitive: bool,
    },
    Limited,
    /// A possible match in a search: first name, initial, year of birth.
    Glimpse,
    Denied,
}

impl Decision {
    fn shown(self) -> &'static str {
        match self {
            Decision::Full { sensitive: true } => "profile and sensitive needs",
            Decision::Full { sensitive: false } => "profile",
            Decision::Limited => "first name and contact",
            Decision::Glimpse => "first name, initial and year of birth",
            Decision::Denied => "nothing",
        }
    }
}

/// The rule. Deny by default; consent is the only thing that opens a profile to a partner.
pub fn decide(principal: &Principal, purpose: Purpose, f: &Facts) -> Decision {
    let viewer = match principal {
        Principal::System(SystemClient::EligibilityFeed) => {
            return match purpose {
                Purpose::EligibilityFeed => Decision::Full { sensitive: false },
                _ => Decision::Denied,
            }
        }
        Principal::System(SystemClient::HealthExchange) => {
            return match purpose {
                Purpose::HealthExchange => Decision::Full { sensitive: false },
                _ => Decision::Denied,
            }
        }
        Principal::Person(v) => v,
    };
    match viewer.effective_role() {
        Role::Resident if f.own => Decision::Full { sensitive: true },
        Role::PartnerStaff | Role::PartnerAdmin | Role::HospitalStaff => {
            if f.profile_consent {
                Decision::Full {
                    sensitive: f.sensitive_consent,
                }
            } else if purpose == Purpose::Search {
                // Enough to ask "is this you?", never enough to reach or identify them.
                Decision::Glimpse
            } else if purpose == Purpose::RequestConsent {
                // The request goes to the phone or e-mail on the record; the server function
                // that sends it shows the partner neither.
                Decision::Limited
            } else if f.referral_with_org
                && matches!(
                    purpose,
                    Purpose::Referral(_)
                        | Purpose::ReferralList
                        | Purpose::NewReferral
                        | Purpose::ReferralSummary(_)
                        | Purpose::ContactResident
                        | Purpose::DetailScreen
                        | Purpose::Record
                )
            {
                // No consent still gets help: what helping needs, nothing else.
                Decision::Limited
            } else {
                Decision::Denied
            }
        }
        Role::ReferralSpecialist => match purpose {
            Purpose::FollowUp(_) | Purpose::Referral(_) if f.any_referral => Decision::Limited,
            Purpose::DuplicateReview => Decision::Full { sensitive: false },
            _ => Decision::Denied,
        },
        Role::StateAdmin => match purpose {
            Purpose::DuplicateReview => Decision::Full { sensitive: false },
            _ => Decision::Denied,
        },
        _ => Decision::Denied,
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    name: String,
    preferred_name: Option<String>,
    date_of_birth: Option<chrono::NaiveDate>,
    phone: Option<String>,
    email: Option<String>,
    preferred_contact: String,
    preferred_language: String,
    address: Option<String>,
    at_risk: bool,
    merged_into: Option<Uuid>,
    retired_at: Option<chrono::DateTime<chrono::Utc>>,
    own: bool,
    profile_consent: bool,
    sensitive_consent: bool,
    referral_with_org: bool,
    any_referral: bool,
}

impl Row {
    fn facts(&self) -> Facts {
        Facts {
            own: self.own,
            profile_consent: self.profile_consent,
            sensitive_consent: self.sensitive_consent,
            referral_with_org: self.referral_with_org,
            any_referral: self.any_referral,
        }
    }
}

fn query_sql(one: bool) -> String {
    let filter = if one { "r.id = $1" } else { "r.id = ANY($1)" };
    format!(
        "SELECT r.id, r.name, r.preferred_name, r.date_of_birth, r.phone, r.email, r.preferred_contact,
                r.preferred_language, r.address, r.at_risk, r.merged_into, r.retired_at,
                coalesce(r.id = $3, false) AS own,
                ($2::uuid IS NOT NULL AND {profile}) AS profile_consent,
                ($2::uuid IS NOT NULL AND {sensitive}) AS sensitive_consent,
                ($2::uuid IS NOT NULL AND (coalesce(r.created_by_organization = $2, false)
                    OR EXISTS (SELECT 1 FROM referrals f WHERE f.resident_id = r.id
                                 AND (f.to_organization = $2 OR f.from_organization = $2)))) AS referral_with_org,
                EXISTS (SELECT 1 FROM referrals f WHERE f.resident_id = r.id) AS any_referral
           FROM residents r WHERE {filter}",
        profile = granted_sql("r.id", "$2", Scope::Profile),
        sensitive = granted_sql("r.id", "$2", Scope::Sensitive),
    )
}

fn organization_of(principal: &Principal) -> Option<Uuid> {
    match principal {
        Principal::Person(v) => v.organization_id,
        Principal::System(_) => None,
    }
}

fn own_record(principal: &Principal) -> Option<Uuid> {
    match principal {
        Principal::Person(v) => v.resident_id,
        Principal::System(_) => None,
    }
}

/// The audit trail's actor for a principal.
pub fn actor(principal: &Principal) -> Actor {
    match principal {
        Principal::Person(v) => Actor::from_viewer(Some(v), &crate::web::request().ip),
        Principal::System(s) => Actor {
            role: Some(format!("system:{}", s.as_str())),
            ..Actor::default()
        },
    }
}

fn access(row: Row, decision: Decision) -> Option<ResidentAccess> {
    let contact = ContactMethod::parse(&row.preferred_contact).unwrap_or(ContactMethod::Phone);
    let resident = Resident {
        id: row.id,
        name: row.name,
        preferred_name: row.preferred_name,
        date_of_birth: row.date_of_birth,
        phone: row.phone,
        email: row.email,
        preferred_contact: contact,
        preferred_language: row.preferred_language,
        // Someone at risk has their address hidden from everyone but themselves.
        address: row.address.filter(|_| !row.at_risk || row.own),
        at_risk: row.at_risk,
    };
    match decision {
        Decision::Full { sensitive } => Some(ResidentAccess::Full {
            resident,
            sensitive,
        }),
        Decision::Limited => Some(ResidentAccess::Limited(LimitedView {
            id: resident.id,
            first_name: resident.first_name(),
            address: resident.preferred_address(),
            contact,
            language: resident.preferred_language,
        })),
        Decision::Glimpse => Some(ResidentAccess::Glimpse(Glimpse {
            id: resident.id,
            initial_name: super::initial_form(&resident.name),
            birth_year: resident.date_of_birth.map(|d| chrono::Datelike::year(&d)),
        })),
        Decision::Denied => None,
    }
}

/// A resident's data for a principal and a purpose: the full record, the limited view, or a
/// refusal. One query decides; one audit entry records it (refusals too).
pub async fn open(
    pool: &PgPool,
    principal: &Principal,
    resident: Uuid,
    purpose: Purpose,
) -> Result<ResidentAccess, ResidentError> {
    let row: Option<Row> = sqlx::query_as(&query_sql(true))
        .bind(resident)
        .bind(organization_of(principal))
        .bind(own_record(principal))
        .fetch_optional(pool)
        .await?;
    let Some(row) = row else {
        return Err(ResidentError::NotFound);
    };
    if let (Some(into), Some(_)) = (row.merged_into, row.retired_at) {
        return Err(ResidentError::Merged(into));
    }
    let decision = decide(principal, purpose, &row.facts());
    audit::record(
        pool,
        &actor(principal),
        "resident.open",
        Some(&format!("resident:{resident}")),
        if decision == Decision::Denied {
            Outcome::Denied
        } else {
            Outcome::Ok
        },
        serde_json::json!({ "purpose": purpose.as_str(), "about": purpose.about(), "shown": decision.shown() }),
    )
    .await?;
    access(row, decision).ok_or(ResidentError::Denied)
}

/// [`open`] for a list of residents (an inbox, a queue, search results): what each may be seen
/// as; the ones refused are left out. One query, one audit entry naming who was shown.
pub async fn open_many(
    pool: &PgPool,
    principal: &Principal,
    residents: &[Uuid],
    purpose: Purpose,
) -> Result<HashMap<Uuid, ResidentAccess>, ResidentError> {
    if residents.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<Row> = sqlx::query_as(&query_sql(false))
        .bind(residents)
        .bind(organization_of(principal))
        .bind(own_record(principal))
        .fetch_all(pool)
        .await?;
    let mut out = HashMap::new();
    let mut shown = Vec::new();
    for row in rows {
        if row.retired_at.is_some() {
            continue;
        }
        let decision = decide(principal, purpose, &row.facts());
        let id = row.id;
        if let Some(a) = access(row, decision) {
            shown.push(serde_json::json!({ "resident": id, "shown": decision.shown() }));
            out.insert(id, a);
        }
    }
    audit::record(
        pool,
        &actor(principal),
        if purpose == Purpose::Search {
            "resident.search"
        } else {
            "resident.list"
        },
        None,
        Outcome::Ok,
        serde_json::json!({ "purpose": purpose.as_str(), "shown": shown }),
    )
    .await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Viewer;

    fn person(role: Role) -> Principal {
        Principal::Person(Viewer {
            user_id: Uuid::nil(),
            name: "x".into(),
            email: "x@y.org".into(),
            role,
            organization_id: Some(Uuid::nil()),
            organization_name: None,
            org_type: None,
            chapter: None,
            mfa_enrolled: true,
            training_passed: true,
            agreement_accepted: true,
            time_zone: None,
            resident_id: None,
        })
    }

    const NONE: Facts = Facts {
        own: false,
        profile_consent: false,
        sensitive_consent: false,
        referral_with_org: false,
        any_referral: false,
    };

    /// Every role against every consent state, for the purposes that matter.
    #[test]
    fn consent_alone_opens_a_profile() {
        let referral = Purpose::Referral(Uuid::nil());
        let consented = Facts {
            profile_consent: true,
            ..NONE
        };
        let sensitive = Facts {
            profile_consent: true,
            sensitive_consent: true,
            ..NONE
        };
        let related = Facts {
            referral_with_org: true,
            any_referral: true,
            ..NONE
        };
        let revoked_but_related = related.clone();
        for role in [Role::PartnerStaff, Role::PartnerAdmin, Role::HospitalStaff] {
            let p = person(role);
            assert_eq!(
                decide(&p, referral, &consented),
                Decision::Full { sensitive: false }
            );
            assert_eq!(
                decide(&p, Purpose::DetailScreen, &sensitive),
                Decision::Full { sensitive: true }
            );
            // Having sent or received a referral grants the minimum, never the profile.
            assert_eq!(decide(&p, referral, &related), Decision::Limited);
            assert_eq!(
                decide(&p, referral, &revoked_but_related),
                Decision::Limited
            );
            // A search shows a possible match only as a glimpse; asking for consent reaches them.
            assert_eq!(decide(&p, Purpose::Search, &related), Decision::Glimpse);
            assert_eq!(
                decide(&p, Purpose::Search, &consented),
                Decision::Full { sensitive: false }
            );
            assert_eq!(
                decide(&p, Purpose::RequestConsent, &NONE),
                Decision::Limited
            );
            assert_eq!(decide(&p, Purpose::DetailScreen, &NONE), Decision::Denied);
            assert_eq!(decide(&p, Purpose::OwnPlan, &NONE), Decision::Denied);
            // An assessment needs consent: helping with a referral is not enough.
            assert_eq!(decide(&p, Purpose::Assessment, &related), Decision::Denied);
            assert_eq!(
                decide(&p, Purpose::Assessment, &consented),
                Decision::Full { sensitive: false }
            );
            assert_eq!(decide(&p, referral, &NONE), Decision::Denied);
            assert_eq!(
                decide(&p, Purpose::DuplicateReview, &NONE),
                Decision::Denied
            );
        }
        // Someone still onboarding, residents who are not this one, reviewers: nothing.
        for role in [
            Role::Onboarding,
            Role::Anonymous,
            Role::ChapterReviewer,
            Role::Resident,
        ] {
            assert_eq!(
                decide(&person(role), referral, &sensitive),
                Decision::Denied,
                "{role:?}"
            );
        }
        assert_eq!(
            decide(
                &person(Role::Resident),
                Purpose::OwnPlan,
                &Facts { own: true, ..NONE }
            ),
            Decision::Full { sensitive: true }
        );
        // United Way follows up with the minimum; reviews duplicates in full; the state too.
        let uw = person(Role::ReferralSpecialist);
        assert_eq!(
            decide(&uw, Purpose::FollowUp(Uuid::nil()), &related),
            Decision::Limited
        );
        assert_eq!(
            decide(&uw, Purpose::FollowUp(Uuid::nil()), &NONE),
            Decision::Denied
        );
        assert_eq!(
            decide(&uw, Purpose::DetailScreen, &consented),
            Decision::Denied
        );
        assert_eq!(
            decide(&uw, Purpose::DuplicateReview, &NONE),
            Decision::Full { sensitive: false }
        );
        let state = person(Role::StateAdmin);
        assert_eq!(
            decide(&state, Purpose::DetailScreen, &consented),
            Decision::Denied
        );
        assert_eq!(
            decide(&state, Purpose::DuplicateReview, &NONE),
            Decision::Full { sensitive: false }
        );
        // System clients pass the same gate, each for its own purpose only.
        let feed = Principal::System(SystemClient::EligibilityFeed);
        assert_eq!(
            decide(&feed, Purpose::EligibilityFeed, &NONE),
            Decision::Full { sensitive: false }
        );
        assert_eq!(
            decide(&feed, Purpose::HealthExchange, &NONE),
            Decision::Denied
        );
        let hie = Principal::System(SystemClient::HealthExchange);
        assert_eq!(
            decide(&hie, Purpose::HealthExchange, &NONE),
            Decision::Full { sensitive: false }
        );
        assert_eq!(decide(&hie, Purpose::DetailScreen, &NONE), Decision::Denied);
    }
}
