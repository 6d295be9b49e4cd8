//! Community Partners: claiming an organization's listing, United Way review, invitations, final
//! onboarding (MFA, training, user agreement), the partner dashboard and the team page.
//! Server-rendered forms throughout; each form posts to a thin server function here that asks
//! the domain code in `store` and redirects (so everything works without JavaScript).

pub mod claims;
pub mod dashboard;
pub mod onboarding;
pub mod store;
pub mod team;

use crate::audit::{self, Actor, Outcome};
use crate::i18n::*;
use crate::policy::{Action, Role, Scope};
use crate::state::AppState;
use crate::web::{finish, Problem};
use leptos::prelude::*;
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrgType {
    Nonprofit,
    StateAgency,
    ForProfit,
    Hospital,
}

impl OrgType {
    pub const ALL: [OrgType; 4] = [
        OrgType::Nonprofit,
        OrgType::StateAgency,
        OrgType::ForProfit,
        OrgType::Hospital,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgType::Nonprofit => "nonprofit",
            OrgType::StateAgency => "state_agency",
            OrgType::ForProfit => "for_profit",
            OrgType::Hospital => "hospital",
        }
    }

    pub fn parse(s: &str) -> Option<OrgType> {
        OrgType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn label(self, locale: Locale) -> String {
        match self {
            OrgType::Nonprofit => tr!(locale, org_type_nonprofit),
            OrgType::StateAgency => tr!(locale, org_type_state_agency),
            OrgType::ForProfit => tr!(locale, org_type_for_profit),
            OrgType::Hospital => tr!(locale, org_type_hospital),
        }
    }
}

/// Roles a partner admin may give people of their organization (hospital staff only in
/// hospitals, where the health-related social needs screening applies).
pub fn assignable_roles(org_type: Option<&str>) -> Vec<Role> {
    let mut roles = vec![Role::PartnerStaff, Role::PartnerAdmin];
    if org_type == Some(OrgType::Hospital.as_str()) {
        roles.push(Role::HospitalStaff);
    }
    roles
}

fn required(s: &str, max: usize) -> Result<String, Problem> {
    crate::text::required(s, max).map_err(Problem::from)
}

/// The e-mail inviting someone to create their account: two links, one for a password and one
/// for people who sign in with the state identity provider.
fn invitation_email(
    state: &AppState,
    to: &str,
    name: &str,
    organization: &str,
    token: &str,
) -> crate::mail::Message {
    let d = &state.deployment;
    let locale = Locale::en;
    // The token is the secret: the body holds a placeholder, the outbox drops the link once
    // the message is delivered.
    let link = format!("{}/invitations/{token}", d.site.public_url);
    // With the state identity provider, the two links the seed describes: create a state
    // account, or use the one you have.
    let idp = if d.identity.oidc_issuer.is_empty() {
        String::new()
    } else {
        let register = if d.identity.registration_url.is_empty() {
            d.identity.oidc_issuer.clone()
        } else {
            d.identity.registration_url.clone()
        };
        tr!(
            locale,
            mail_invitation_idp,
            provider = d.identity.provider_name.clone(),
            register = register,
            link = format!("{}?via=idp", crate::mail::SECRET)
        )
    };
    crate::mail::Message::new(
        to,
        tr!(locale, mail_invitation_subject, site = d.site.name.clone()),
        tr!(
            locale,
            mail_invitation_body,
            name = name,
            organization = organization,
            link = crate::mail::SECRET,
            idp = idp,
            days = d.onboarding.invitation_valid_days,
            site = d.site.name.clone()
        ),
    )
    .with_secret(link)
}

/// "Claim this site": anyone may ask. The claim waits until the claimant confirms their e-mail
/// address through a link sent to it; only then does it reach the chapter for the organization's
/// county. Nothing the claimant typed is put in an e-mail to an address not yet confirmed.
#[server(prefix = "/fn", endpoint = "claim_site")]
pub async fn claim_site(
    organization_id: String,
    name: String,
    email: String,
    phone: String,
    job_title: String,
    org_type: String,
    idempotency_key: Option<String>,
) -> Result<(), ServerFnError> {
    let back = format!(
        "/organizations/{}/claim",
        crate::identity::urlencode(&organization_id)
    );
    let (name_typed, email_typed, phone_typed, job_typed, type_typed) = (
        name.clone(),
        email.clone(),
        phone.clone(),
        job_title.clone(),
        org_type.clone(),
    );
    let outcome = async {
        let state = AppState::get();
        let locale = Locale::en;
        // Normalised first, so "A@x.org" and "a@x.org " share one rate limit.
        let email =
            crate::contact::Email::parse(&email).ok_or(Problem::at("email", "bad_email"))?;
        let actor = Actor::current().with_email(email.as_str());
        let organization_id =
            Uuid::parse_str(&organization_id).map_err(|_| Problem::new("not_found"))?;
        let target = store::claim_target(&state.pool, organization_id)
            .await?
            .ok_or(Problem::new("not_found"))?;
        if !crate::rate_limit::allow(&state.pool, crate::rate_limit::CLAIMS_PER_IP, &actor.ip)
            .await?
            || !crate::rate_limit::allow(
                &state.pool,
                crate::rate_limit::CLAIMS_PER_EMAIL,
                email.as_str(),
            )
            .await?
        {
            audit::record_refusal(
                &state.pool,
                &actor,
                "claim.filed",
                None,
                Outcome::Denied,
                serde_json::json!({ "reason": "rate limited" }),
            )
            .await;
            return Err(Problem::new("rate_limited"));
        }
        if target.is_partner {
            return Err(Problem::new("already_partner"));
        }
        let name = required(&name, crate::text::limits::NAME).map_err(|p| p.with_field("name"))?;
        let job_title = required(&job_title, crate::text::limits::NAME)
            .map_err(|p| p.with_field("job_title"))?;
        let phone =
            crate::contact::Phone::parse(&phone).ok_or(Problem::at("phone", "bad_phone"))?;
        let org_type =
            OrgType::parse(&org_type).ok_or(Problem::at("org_type", "missing_fields"))?;
        let chapter = state
            .deployment
            .onboarding
            .chapter_for_county(target.county.as_deref())
            .clone();
        let claim = store::NewClaim {
            organization_id,
            name,
            email: email.to_string(),
            phone: phone.display(),
            job_title,
            org_type,
            county: target.county.clone(),
            chapter: chapter.id.clone(),
        };
        let mut tx = state.pool.begin().await?;
        let key = crate::idempotency::parse(idempotency_key.as_deref());
        if let Some(done) = crate::idempotency::take(&mut tx, key, None, "claim_site").await? {
            return Ok(done);
        }
        if let Some((id, token)) = store::file_claim(&mut tx, &claim).await? {
            audit::record(
                &mut *tx,
                &actor,
                "claim.filed",
                Some(&format!("claim:{id}")),
                Outcome::Ok,
                serde_json::json!({ "organization": organization_id, "chapter": chapter.id }),
            )
            .await?;
            let link = format!(
                "{}/claims/confirm/{token}",
                state.deployment.site.public_url
            );
            crate::mail::enqueue(
                &mut *tx,
                &crate::mail::Message::new(
                    email.as_str(),
                    tr!(
                        locale,
                        mail_claim_confirm_subject,
                        organization = target.name.clone()
                    ),
                    tr!(
                        locale,
                        mail_claim_confirm_body,
                        organization = target.name.clone(),
                        site = state.deployment.site.name.clone(),
                        link = crate::mail::SECRET,
                        days = store::CONFIRM_WITHIN_DAYS
                    ),
                )
                .with_secret(link),
            )
            .await?;
        }
        let next = "/claim-sent".to_string();
        crate::idempotency::complete(&mut tx, key, &next).await?;
        tx.commit().await?;
        crate::mail::nudge(&state.pool).await;
        Ok(next)
    }
    .await;
    crate::web::finish_keeping(
        &back,
        "claim",
        vec![
            ("name", name_typed),
            ("email", email_typed),
            ("phone", phone_typed),
            ("job_title", job_typed),
            ("org_type", type_typed),
        ],
        outcome,
    )
    .await
}

/// The claimant confirms their address (a button on the page the e-mailed link opens: a link
/// scanner fetching the page confirms nothing). The claim then goes to its chapter's reviewers.
#[server(prefix = "/fn", endpoint = "confirm_claim")]
pub async fn confirm_claim(token: String) -> Result<(), ServerFnError> {
    let back = format!("/claims/confirm/{}", crate::identity::urlencode(&token));
    let outcome = async {
        let state = AppState::get();
        let locale = Locale::en;
        let mut tx = state.pool.begin().await?;
        let Some(claim) = store::confirm_claim(&mut tx, token.trim()).await? else {
            return Err(Problem::new("invitation_invalid"));
        };
        let chapter = state
            .deployment
            .onboarding
            .chapter(&claim.chapter)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        audit::record(
            &mut *tx,
            &Actor::current().with_email(&claim.email),
            "claim.confirmed",
            Some(&format!("claim:{}", claim.id)),
            Outcome::Ok,
            serde_json::json!({ "organization": claim.organization_id }),
        )
        .await?;
        crate::mail::enqueue(
            &mut *tx,
            &crate::mail::Message::new(
                &claim.email,
                tr!(
                    locale,
                    mail_claim_received_subject,
                    organization = claim.organization_name.clone()
                ),
                tr!(
                    locale,
                    mail_claim_received_body,
                    organization = claim.organization_name.clone(),
                    chapter = chapter.clone(),
                    site = state.deployment.site.name.clone()
                ),
            ),
        )
        .await?;
        for reviewer in store::reviewer_emails(&state.pool, &claim.chapter).await? {
            crate::mail::enqueue(
                &mut *tx,
                &crate::mail::Message::new(
                    &reviewer,
                    tr!(
                        locale,
                        mail_claim_to_review_subject,
                        organization = claim.organization_name.clone()
                    ),
                    tr!(
                        locale,
                        mail_claim_to_review_body,
                        organization = claim.organization_name.clone(),
                        link = format!(
                            "{}/united-way/claims/{}",
                            state.deployment.site.public_url, claim.id
                        )
                    ),
                ),
            )
            .await?;
        }
        tx.commit().await?;
        crate::mail::nudge(&state.pool).await;
        Ok(format!(
            "/claim-sent?confirmed=1&chapter={}",
            crate::identity::urlencode(&claim.chapter)
        ))
    }
    .await;
    finish(&back, outcome)
}

/// A chapter reviewer approves or denies a claim. Approval makes the organization a partner and
/// e-mails the claimant an invitation; denial e-mails the reason. One decision per claim: a
/// second reviewer deciding at the same moment is told it was already decided.
#[server(prefix = "/fn", endpoint = "decide_claim")]
pub async fn decide_claim(
    claim_id: String,
    decision: String,
    reason: Option<String>,
) -> Result<(), ServerFnError> {
    let back = format!(
        "/united-way/claims/{}",
        crate::identity::urlencode(&claim_id)
    );
    let outcome = async {
        let state = AppState::get();
        let locale = Locale::en;
        let viewer = crate::web::authorize(crate::policy::Action::ReviewClaims)?;
        let actor = Actor::current();
        let id = Uuid::parse_str(&claim_id).map_err(|_| Problem::new("not_found"))?;
        let claim = store::claim(&state.pool, id)
            .await?
            .ok_or(Problem::new("not_found"))?;
        if !claims::may_review(&viewer, &claim.chapter) {
            audit::record_refusal(
                &state.pool,
                &actor,
                "claim.decide",
                Some(&format!("claim:{id}")),
                Outcome::Denied,
                serde_json::json!({ "reason": "another chapter's claim" }),
            )
            .await;
            return Err(Problem::new("denied"));
        }
        let approve = match decision.as_str() {
            "approve" => true,
            "deny" => false,
            _ => return Err(Problem::new("missing_fields")),
        };
        let reason = crate::text::field(reason.as_deref(), crate::text::limits::REASON)?;
        if !approve && reason.is_none() {
            return Err(Problem::new("reason_needed"));
        }
        let mut tx = state.pool.begin().await?;
        let Some(claim) =
            store::decide_claim(&mut tx, id, approve, reason.as_deref(), viewer.user_id).await?
        else {
            return Err(Problem::new("already_decided"));
        };
        audit::record(
            &mut *tx,
            &actor,
            if approve {
                "claim.approved"
            } else {
                "claim.denied"
            },
            Some(&format!("claim:{id}")),
            Outcome::Ok,
            serde_json::json!({ "organization": claim.organization_id, "reason": reason }),
        )
        .await?;
        if approve {
            let token = store::invite(
                &mut tx,
                &store::NewInvitation {
                    email: &claim.email,
                    name: &claim.claimant_name,
                    role: Role::PartnerAdmin,
                    organization_id: Some(claim.organization_id),
                    chapter: None,
                    claim_id: Some(claim.id),
                    invited_by: Some(viewer.user_id),
                    valid_days: state.deployment.onboarding.invitation_valid_days,
                },
            )
            .await?;
            crate::mail::enqueue(
                &mut *tx,
                &invitation_email(
                    &state,
                    &claim.email,
                    &claim.claimant_name,
                    &claim.organization_name,
                    &token,
                ),
            )
            .await?;
        } else {
            crate::mail::enqueue(
                &mut *tx,
                &crate::mail::Message::new(
                    &claim.email,
                    tr!(
                        locale,
                        mail_claim_denied_subject,
                        organization = claim.organization_name.clone()
                    ),
                    tr!(
                        locale,
                        mail_claim_denied_body,
                        name = claim.claimant_name.clone(),
                        organization = claim.organization_name.clone(),
                        reason = reason.clone().unwrap_or_default(),
                        site = state.deployment.site.name.clone()
                    ),
                ),
            )
            .await?;
        }
        tx.commit().await?;
        crate::mail::nudge(&state.pool).await;
        Ok(format!(
            "/united-way/claims?done={}",
            if approve { "approved" } else { "denied" }
        ))
    }
    .await;
    finish(&back, outcome)
}

/// Creates a password account from an invitation and signs the person in to finish onboarding.
#[server(prefix = "/fn", endpoint = "accept_invitation")]
pub async fn accept_invitation(
    token: String,
    name: String,
    password: String,
    confirm: String,
) -> Result<(), ServerFnError> {
    let back = format!("/invitations/{}", crate::identity::urlencode(&token));
    let name_typed = name.clone();
    let mut auth: crate::identity::accounts::AuthSession = leptos_axum::extract().await?;
    let outcome = async {
        let state = AppState::get();
        let actor = Actor::current();
        let invitation = store::invitation(&state.pool, &token).await?;
        let Some(invitation) = invitation.filter(|i| !i.used && !i.expired) else {
            audit::record_refusal(
                &state.pool,
                &actor,
                "invitation.redeem",
                None,
                Outcome::Denied,
                serde_json::json!({ "reason": "unknown, expired or already used" }),
            )
            .await;
            return Err(Problem::new("invitation_invalid"));
        };
        let name = required(&name, crate::text::limits::NAME).map_err(|p| p.with_field("name"))?;
        if password != confirm {
            return Err(Problem::at("confirm", "password_mismatch"));
        }
        crate::identity::passwords::check_new(&password, &invitation.email)
            .map_err(|w| Problem::at("password", w.code()))?;
        let hash = crate::identity::passwords::hash_blocking(password).await;
        let user = store::redeem_invitation(
            &state.pool,
            &token,
            &name,
            store::Credential::Password(hash),
            &actor,
        )
        .await?;
        let record = crate::identity::accounts::by_id(&state.pool, user)
            .await?
            .ok_or(Problem::new("unavailable"))?;
        crate::identity::complete_sign_in(
            &state.pool,
            &actor.ip,
            &mut auth,
            &record,
            "password (new account)",
        )
        .await?;
        Ok("/onboarding/mfa".to_string())
    }
    .await;
    // The name comes back with the form; a password never does.
    crate::web::finish_keeping(&back, "invitation", vec![("name", name_typed)], outcome).await
}

/// Checks that a partner admin acts on a member of their own organization (the policy's
/// `OwnOrganization` scope), auditing a refusal.
async fn own_member(
    viewer: &crate::identity::Viewer,
    user: &str,
    action: &str,
) -> Result<(Uuid, String), Problem> {
    debug_assert_eq!(
        crate::policy::scope(Action::ManageTeam),
        Some(Scope::OwnOrganization)
    );
    let state = AppState::get();
    let id = Uuid::parse_str(user).map_err(|_| Problem::new("not_found"))?;
    let member = store::member(&state.pool, id).await?;
    match member {
        Some((Some(org), role, _)) if Some(org) == viewer.organization_id => Ok((id, role)),
        _ => {
            audit::record_refusal(
                &state.pool,
                &Actor::current(),
                action,
                Some(&format!("user:{id}")),
                Outcome::Denied,
                serde_json::json!({ "reason": "not a member of the admin's organization" }),
            )
            .await;
            Err(Problem::new("denied"))
        }
    }
}

#[server(prefix = "/fn", endpoint = "invite_user")]
pub async fn invite_user(
    name: String,
    email: String,
    role: String,
    idempotency_key: Option<String>,
) -> Result<(), ServerFnError> {
    let outcome = async {
        let state = AppState::get();
        let viewer = crate::web::authorize(crate::policy::Action::ManageTeam)?;
        let actor = Actor::current();
        let organization = viewer.organization_id.ok_or(Problem::new("denied"))?;
        let name = required(&name, crate::text::limits::NAME)?;
        let email = crate::contact::Email::parse(&email)
            .ok_or(Problem::new("bad_email"))?
            .to_string();
        let role = Role::parse(&role)
            .filter(|r| assignable_roles(viewer.org_type.as_deref()).contains(r))
            .ok_or(Problem::new("bad_role"))?;
        // A hint only: the unique index decides when the invitation is redeemed.
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = $1)")
                .bind(&email)
                .fetch_one(&state.pool)
                .await?;
        if exists {
            return Err(Problem::new("account_exists"));
        }
        let mut tx = state.pool.begin().await?;
        let key = crate::idempotency::parse(idempotency_key.as_deref());
        if let Some(done) =
            crate::idempotency::take(&mut tx, key, Some(viewer.user_id), "invite_user").await?
        {
            return Ok(done);
        }
        let token = store::invite(
            &mut tx,
            &store::NewInvitation {
                email: &email,
                name: &name,
                role,
                organization_id: Some(organization),
                chapter: None,
                claim_id: None,
                invited_by: Some(viewer.user_id),
                valid_days: state.deployment.onboarding.invitation_valid_days,
            },
        )
        .await?;
        audit::record(
            &mut *tx,
            &actor,
            "user.invited",
            Some(&format!("email:{email}")),
            Outcome::Ok,
            serde_json::json!({ "role": role.as_str() }),
        )
        .await?;
        let org_name = viewer.organization_name.clone().unwrap_or_default();
        crate::mail::enqueue(
            &mut *tx,
            &invitation_email(&state, &email, &name, &org_name, &token),
        )
        .await?;
        let next = "/partner/team?done=invited".to_string();
        crate::idempotency::complete(&mut tx, key, &next).await?;
        tx.commit().await?;
        crate::mail::nudge(&state.pool).await;
        Ok(next)
    }
    .await;
    finish("/partner/team", outcome)
}

#[server(prefix = "/fn", endpoint = "change_user_role")]
pub async fn change_user_role(user_id: String, role: String) -> Result<(), ServerFnError> {
    let outcome = async {
        let state = AppState::get();
        let viewer = crate::web::authorize(crate::policy::Action::ManageTeam)?;
        let (id, _) = own_member(&viewer, &user_id, "user.role_changed").await?;
        if id == viewer.user_id {
            return Err(Problem::new("self_change"));
        }
        let role = Role::parse(&role)
            .filter(|r| assignable_roles(viewer.org_type.as_deref()).contains(r))
            .ok_or(Problem::new("bad_role"))?;
        store::change_role(&state.pool, id, role, &Actor::current()).await?;
        Ok("/partner/team?done=role".to_string())
    }
    .await;
    finish("/partner/team", outcome)
}

#[server(prefix = "/fn", endpoint = "deactivate_user")]
pub async fn deactivate_user(user_id: String) -> Result<(), ServerFnError> {
    let outcome = async {
        let state = AppState::get();
        let viewer = crate::web::authorize(crate::policy::Action::ManageTeam)?;
        let (id, _) = own_member(&viewer, &user_id, "user.deactivated").await?;
        if id == viewer.user_id {
            return Err(Problem::new("self_change"));
        }
        store::deactivate(&state.pool, id, &Actor::current()).await?;
        Ok("/partner/team?done=deactivated".to_string())
    }
    .await;
    finish("/partner/team", outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hospitals_get_the_hospital_role() {
        assert!(!assignable_roles(Some("nonprofit")).contains(&Role::HospitalStaff));
        assert!(assignable_roles(Some("hospital")).contains(&Role::HospitalStaff));
        assert!(!assignable_roles(Some("hospital")).contains(&Role::StateAdmin));
    }
}
