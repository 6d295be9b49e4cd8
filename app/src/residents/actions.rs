//! What people do with resident data, as server functions behind the resident pages' forms.
//! Each one authorizes its action, opens the resident through the gate for its purpose, and
//! then asks the store to write — so nothing is written that the gate did not let through.

use super::consent::{self, Channel, ConsentGrant, Scope};
use super::{
    gate, store, NewResident, NoteKind, Principal, Purpose, ResidentAccess, ResidentError,
};
use crate::audit::Actor;
use crate::i18n::*;
use crate::identity::accounts::AuthSession;
use crate::identity::{urlencode, Viewer};
use crate::policy::Action;
use crate::state::AppState;
use crate::text::{field, limits, required};
use crate::web::{authorize, finish, finish_keeping, Problem};
use leptos::prelude::*;
use uuid::Uuid;

/// Programs saved while signed out, kept in the session until the resident signs in.
pub const SAVED: &str = "saved_programs";
/// At most this many saved programs.
pub const MAX_SAVED: usize = 50;

fn parse_id(s: &str) -> Result<Uuid, Problem> {
    Uuid::parse_str(s.trim()).map_err(|_| Problem::new("not_found"))
}

fn resident_path(id: &str) -> String {
    format!("/residents/{}", urlencode(id.trim()))
}

fn principal(v: &Viewer) -> Principal {
    Principal::Person(v.clone())
}

fn locale_of(access: &ResidentAccess) -> Locale {
    if access.language() == "es" {
        Locale::es
    } else {
        Locale::en
    }
}

fn yes(v: &Option<String>) -> bool {
    v.as_deref() == Some("yes")
}

/// Sends the resident something of their own (a consent request, a notice), by the way they
/// asked to be reached: a text for phone or text, an e-mail for e-mail. `secret` is a link
/// that is dropped from the outbox once delivered (`body` holds [`crate::mail::SECRET`]).
pub async fn deliver(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    access: &ResidentAccess,
    subject: &str,
    body: &str,
    secret: Option<&str>,
) -> Result<Channel, ResidentError> {
    let address = access.reach().ok_or(ResidentError::NoAddress)?;
    match access.contact() {
        Some(super::ContactMethod::Email) => {
            let email = crate::contact::Email::parse(&address).ok_or(ResidentError::NoAddress)?;
            let mut message =
                crate::mail::Message::new(email.as_str(), subject.to_string(), body.to_string());
            if let Some(link) = secret {
                message = message.with_secret(link.to_string());
            }
            crate::mail::enqueue(&mut **tx, &message).await?;
            Ok(Channel::Email)
        }
        Some(_) => {
            let phone = crate::contact::Phone::parse(&address).ok_or(ResidentError::NoAddress)?;
            match crate::sms::enqueue_with_secret(tx, &phone, body, secret).await? {
                crate::sms::Queued::Queued => Ok(Channel::Text),
                crate::sms::Queued::OptedOut => Err(ResidentError::OptedOut),
            }
        }
        None => Err(ResidentError::NoAddress),
    }
}

/// "Add a resident": checks the details, shows records that may be the same person first
/// (unless the partner says none of them is), then creates the record — with the resident's
/// consent when they gave it in person, the consent text read to them.
#[server(prefix = "/fn", endpoint = "create_resident", input = leptos::server_fn::codec::PostUrl)]
#[allow(clippy::too_many_arguments)]
pub async fn create_resident(
    name: Option<String>,
    date_of_birth: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    preferred_contact: Option<String>,
    preferred_language: Option<String>,
    address: Option<String>,
    at_risk: Option<String>,
    consent: Option<String>,
    confirm_new: Option<String>,
    idempotency_key: Option<String>,
) -> Result<(), ServerFnError> {
    let typed: Vec<(&str, String)> = [
        ("name", &name),
        ("date_of_birth", &date_of_birth),
        ("phone", &phone),
        ("email", &email),
        ("preferred_contact", &preferred_contact),
        ("preferred_language", &preferred_language),
        ("address", &address),
        ("at_risk", &at_risk),
        ("consent", &consent),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
    .collect();
    let outcome = async {
        let state = AppState::get();
        let viewer = authorize(Action::HelpResidents)?;
        let mut new = NewResident::check(
            name.as_deref(),
            date_of_birth.as_deref(),
            phone.as_deref(),
            email.as_deref(),
            preferred_contact.as_deref(),
            preferred_language.as_deref(),
        )?;
        new.address = field(address.as_deref(), limits::ADDRESS)
            .map_err(|e| Problem::from(e).with_field("address"))?;
        new.at_risk = yes(&at_risk);
        if !yes(&confirm_new) {
            let found = store::search(
                &state.pool,
                &principal(&viewer),
                &store::MatchKeys::of(&new),
            )
            .await?;
            if !found.consented.is_empty() || !found.possible.is_empty() {
                return Err(Problem::new(ResidentError::PossibleMatch.code()));
            }
        }
        let org = viewer.organization_id.ok_or(Problem::new("denied"))?;
        let actor = Actor::current();
        let key = crate::idempotency::parse(idempotency_key.as_deref());
        let mut tx = state.pool.begin().await?;
        if let Some(done) =
            crate::idempotency::take(&mut tx, key, Some(viewer.user_id), "create_resident").await?
        {
            return Ok(done);
        }
        let id = store::create(&mut tx, &viewer, &new, &actor).await?;
        if yes(&consent) {
            store::record_consent(
                &mut tx,
                &ConsentGrant::new(
                    id,
                    org,
                    Scope::Profile,
                    Channel::InPerson,
                    Some(viewer.user_id),
                    &state.deployment.residents.consent_text_version,
                ),
                &actor,
            )
            .await?;
        }
        let next = format!("/residents/{id}?done=created");
        crate::idempotency::complete(&mut tx, key, &next).await?;
        tx.commit().await?;
        Ok(next)
    }
    .await;
    finish_keeping("/residents/new", "new_resident", typed, outcome).await
}

/// A partner asks for consent: recorded at once when the resident gave it in person or on the
/// phone (the partner attests the text was read; a parent or guardian may give it), or sent
/// to the resident as a one-time link by text or e-mail, the way they asked to be reached.
#[server(prefix = "/fn", endpoint = "request_consent")]
pub async fn request_consent(
    resident_id: String,
    channel: String,
    scope: Option<String>,
    attest: Option<String>,
    proxy_name: Option<String>,
    proxy_relationship: Option<String>,
) -> Result<(), ServerFnError> {
    let back = format!("{}#consent", resident_path(&resident_id));
    let outcome = async {
        let state = AppState::get();
        let viewer = authorize(Action::HelpResidents)?;
        let org = viewer.organization_id.ok_or(Problem::new("denied"))?;
        let resident = parse_id(&resident_id)?;
        let scope = Scope::parse(scope.as_deref().unwrap_or("profile"))
            .ok_or(Problem::new("missing_fields"))?;
        let access = gate::open(
            &state.pool,
            &principal(&viewer),
            resident,
            Purpose::RequestConsent,
        )
        .await?;
        // "link": a one-time link sent the way the resident asked to be reached.
        let channel = match channel.trim() {
            "link" => match access.contact() {
                Some(super::ContactMethod::Email) => Channel::Email,
                Some(_) => Channel::Text,
                None => return Err(ResidentError::NoAddress.into()),
            },
            other => Channel::parse(other).ok_or(Problem::at("channel", "missing_fields"))?,
        };
        let actor = Actor::current();
        let settings = &state.deployment.residents;
        let organization = viewer.organization_name.clone().unwrap_or_default();
        let res_locale = locale_of(&access);
        let mut tx = state.pool.begin().await?;
        let done = match channel {
            Channel::InPerson | Channel::Phone => {
                if !yes(&attest) {
                    return Err(Problem::at("attest", "confirm_needed"));
                }
                let proxy_name = field(proxy_name.as_deref(), limits::NAME)
                    .map_err(|e| Problem::from(e).with_field("proxy_name"))?;
                let relationship = field(proxy_relationship.as_deref(), limits::NAME)
                    .map_err(|e| Problem::from(e).with_field("proxy_relationship"))?;
                let proxy = match (proxy_name, relationship) {
                    (Some(n), Some(r)) => Some((n, r)),
                    (None, None) => None,
                    (Some(_), None) => {
                        return Err(Problem::at("proxy_relationship", "missing_fields"))
                    }
                    (None, Some(_)) => return Err(Problem::at("proxy_name", "missing_fields")),
                };
                store::record_consent(
                    &mut tx,
                    &ConsentGrant {
                        proxy,
                        ..ConsentGrant::new(
                            resident,
                            org,
                            scope,
                            channel,
                            Some(viewer.user_id),
                            &settings.consent_text_version,
                        )
                    },
                    &actor,
                )
                .await?;
                // The resident hears of it, so a consent they did not give does not go unseen.
                let notice = tr!(
                    res_locale,
                    consent_recorded_notice,
                    organization = organization.clone(),
                    site = state.deployment.site.name.clone()
                );
                match deliver(
                    &mut tx,
                    &access,
                    &tr!(res_locale, consent_recorded_subject),
                    &notice,
                    None,
                )
                .await
                {
                    Ok(_) | Err(ResidentError::OptedOut) | Err(ResidentError::NoAddress) => {}
                    Err(e) => return Err(e.into()),
                }
                "consent_recorded"
            }
            Channel::Text | Channel::Email => {
                let token = store::create_request(
                    &mut tx,
                    resident,
                    &viewer,
                    channel,
                    scope,
                    settings.consent_request_valid_days,
                )
                .await?;
                let link = format!("{}/consent/{token}", state.deployment.site.public_url);
                let body = tr!(
                    res_locale,
                    consent_request_message,
                    organization = organization.clone(),
                    link = crate::mail::SECRET,
                    days = settings.consent_request_valid_days
                );
                deliver(
                    &mut tx,
                    &access,
                    &tr!(
                        res_locale,
                        consent_request_subject,
                        organization = organization.clone()
                    ),
                    &body,
                    Some(&link),
                )
                .await?;
                "consent_requested"
            }
            _ => return Err(Problem::at("channel", "missing_fields")),
        };
        tx.commit().await?;
        crate::mail::nudge(&state.pool).await;
        Ok(format!(
            "{}?done={done}#consent",
            resident_path(&resident_id)
        ))
    }
    .await;
    let typed = [
        ("proxy_name", proxy_name.clone()),
        ("proxy_relationship", proxy_relationship.clone()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    finish_keeping(&back, "consent", typed, outcome).await
}

/// Adds a household member (name, date of birth, relationship) to a resident who consented.
#[server(prefix = "/fn", endpoint = "add_household_member")]
pub async fn add_household_member(
    resident_id: String,
    name: String,
    relationship: String,
    date_of_birth: Option<String>,
) -> Result<(), ServerFnError> {
    let back = format!("{}#household", resident_path(&resident_id));
    let outcome = async {
        let state = AppState::get();
        let viewer = authorize(Action::HelpResidents)?;
        let resident = parse_id(&resident_id)?;
        let name = required(&name, limits::NAME)
            .map_err(|e| Problem::from(e).with_field("member_name"))?;
        let relationship = required(&relationship, limits::NAME)
            .map_err(|e| Problem::from(e).with_field("relationship"))?;
        let date_of_birth = match field(date_of_birth.as_deref(), 10)? {
            Some(d) => Some(
                super::parse_birth_date(&d)
                    .ok_or(Problem::at("member_date_of_birth", "bad_date"))?,
            ),
            None => None,
        };
        let access =
            gate::open(&state.pool, &principal(&viewer), resident, Purpose::Record).await?;
        store::add_member(
            &state.pool,
            &access,
            &viewer,
            &name,
            date_of_birth,
            &relationship,
            &Actor::current(),
        )
        .await?;
        Ok(format!(
            "{}?done=household#household",
            resident_path(&resident_id)
        ))
    }
    .await;
    finish(&back, outcome)
}

/// Removes a household member (recorded, never deleted).
#[server(prefix = "/fn", endpoint = "remove_household_member")]
pub async fn remove_household_member(
    resident_id: String,
    member_id: String,
) -> Result<(), ServerFnError> {
    let back = format!("{}#household", resident_path(&resident_id));
    let outcome = async {
        let state = AppState::get();
        let viewer = authorize(Action::HelpResidents)?;
        let resident = parse_id(&resident_id)?;
        let member = parse_id(&member_id)?;
        let access =
            gate::open(&state.pool, &principal(&viewer), resident, Purpose::Record).await?;
        store::remove_member(&state.pool, &access, &viewer, member, &Actor::current()).await?;
        Ok(format!(
            "{}?done=household_removed#household",
            resident_path(&resident_id)
        ))
    }
    .await;
    finish(&back, outcome)
}

/// Adds a note (or records a contact): typed, private to the organization or shared with the
/// resident's other consented partners, never edited — `corrects` points at the note it fixes.
#[server(prefix = "/fn", endpoint = "add_resident_note")]
pub async fn add_resident_note(
    resident_id: String,
    kind: String,
    body: String,
    shared: Option<String>,
    corrects: Option<String>,
    idempotency_key: Option<String>,
) -> Result<(), ServerFnError> {
    let back = format!("{}#notes", resident_path(&resident_id));
    let typed = vec![("body", body.clone()), ("kind", kind.clone())];
    let outcome = async {
        let state = AppState::get();
        let viewer = authorize(Action::HelpResidents)?;
        let resident = parse_id(&resident_id)?;
        let kind = NoteKind::parse(kind.trim()).ok_or(Problem::at("kind", "missing_fields"))?;
        let body =
            required(&body, limits::NOTE).map_err(|e| Problem::from(e).with_field("body"))?;
        let corrects = match crate::referrals::optional(corrects) {
            Some(id) => Some(parse_id(&id)?),
            None => None,
        };
        let access =
            gate::open(&state.pool, &principal(&viewer), resident, Purpose::Record).await?;
        store::add_note(
            &state.pool,
            &access,
            &viewer,
            kind,
            &body,
            yes(&shared),
            corrects,
            &Actor::current(),
            crate::idempotency::parse(idempotency_key.as_deref()),
        )
        .await?;
        Ok(format!("{}?done=note#notes", resident_path(&resident_id)))
    }
    .await;
    finish_keeping(&back, "resident_note", typed, outcome).await
}

/// Opens the seal on a resident's sensitive needs for this person, with a reason the resident
/// will see.
#[server(prefix = "/fn", endpoint = "break_seal")]
pub async fn break_seal(resident_id: String, reason: String) -> Result<(), ServerFnError> {
    let back = format!("{}#activity", resident_path(&resident_id));
    let outcome = async {
        let state = AppState::get();
        let viewer = authorize(Action::HelpResidents)?;
        let resident = parse_id(&resident_id)?;
        let reason = required(&reason, limits::REASON)
            .map_err(|e| Problem::from(e).with_field("seal_reason"))?;
        let access = gate::open(
            &state.pool,
            &principal(&viewer),
            resident,
            Purpose::DetailScreen,
        )
        .await?;
        store::break_seal(&state.pool, &access, &viewer, &reason, &Actor::current()).await?;
        Ok(format!(
            "{}?done=seal#activity",
            resident_path(&resident_id)
        ))
    }
    .await;
    finish(&back, outcome)
}

/// The resident asks for the one-time code that confirms a consent request is theirs: it goes
/// to the same phone or address the link went to.
#[server(prefix = "/fn", endpoint = "send_consent_code")]
pub async fn send_consent_code(token: String) -> Result<(), ServerFnError> {
    let back = format!("/consent/{}", urlencode(token.trim()));
    let outcome = async {
        let state = AppState::get();
        crate::web::permit(Action::AnswerConsentRequest)?;
        let request =
            consent::answerable(consent::request_by_token(&state.pool, token.trim()).await?)?;
        let code = store::new_request_code(&state.pool, request.id).await?;
        let locale = if request.language == "es" {
            Locale::es
        } else {
            Locale::en
        };
        // The code itself is kept apart from the body and dropped once delivered.
        let body = tr!(
            locale,
            consent_code_message,
            code = crate::mail::SECRET,
            organization = request.organization.clone()
        );
        let (channel, phone, email) = store::request_address(&state.pool, request.id).await?;
        let mut tx = state.pool.begin().await?;
        match (channel.as_str(), phone, email) {
            ("email", _, Some(email)) => {
                let message =
                    crate::mail::Message::new(&email, tr!(locale, consent_code_subject), body)
                        .with_secret(code);
                crate::mail::enqueue(&mut *tx, &message).await?;
            }
            ("text", Some(phone), _) => {
                let phone = crate::contact::Phone::parse(&phone)
                    .ok_or(Problem::new(ResidentError::NoAddress.code()))?;
                if crate::sms::enqueue_with_secret(&mut tx, &phone, &body, Some(&code)).await?
                    == crate::sms::Queued::OptedOut
                {
                    return Err(Problem::new(ResidentError::OptedOut.code()));
                }
            }
            _ => return Err(Problem::new(ResidentError::NoAddress.code())),
        }
        tx.commit().await?;
        crate::mail::nudge(&state.pool).await;
        Ok(format!("{back}?sent=1"))
    }
    .await;
    finish(&back, outcome)
}

/// The resident answers a consent request: yes with the code sent to them, or no.
#[server(prefix = "/fn", endpoint = "answer_consent")]
pub async fn answer_consent(
    token: String,
    answer: String,
    code: Option<String>,
) -> Result<(), ServerFnError> {
    let back = format!("/consent/{}", urlencode(token.trim()));
    let outcome = async {
        let state = AppState::get();
        crate::web::permit(Action::AnswerConsentRequest)?;
        let yes = match answer.trim() {
            "yes" => true,
            "no" => false,
            _ => return Err(Problem::new("missing_fields")),
        };
        let code = field(code.as_deref(), 12)?;
        if yes && code.is_none() {
            return Err(Problem::at("code", "missing_fields"));
        }
        store::answer_request(
            &state.pool,
            token.trim(),
            yes,
            code.as_deref(),
            &state.deployment.residents.consent_text_version,
        )
        .await?;
        Ok(format!(
            "{back}?done={}",
            if yes { "granted" } else { "declined" }
        ))
    }
    .await;
    finish(&back, outcome)
}

/// "Save" on a program page: to the resident's plan, or (signed out) to the browser's session,
/// kept when they sign in.
#[server(prefix = "/fn", endpoint = "save_program")]
pub async fn save_program(program_id: String) -> Result<(), ServerFnError> {
    let back = format!("/programs/{}", urlencode(program_id.trim()));
    let auth: AuthSession = leptos_axum::extract().await?;
    let outcome = async {
        let state = AppState::get();
        let viewer = crate::web::permit(Action::UsePlan)?;
        let program = parse_id(&program_id)?;
        if crate::directory::store::program_summaries(&state.pool, &[program])
            .await?
            .is_empty()
        {
            return Err(Problem::new("not_found"));
        }
        match viewer {
            Some(v) => store::save(&state.pool, v.user_id, &[program]).await?,
            None => {
                let mut saved: Vec<Uuid> = auth.session.get(SAVED).await?.unwrap_or_default();
                if !saved.contains(&program) && saved.len() < MAX_SAVED {
                    saved.insert(0, program);
                }
                auth.session.insert(SAVED, saved).await?;
            }
        }
        Ok(format!("{back}?saved=1"))
    }
    .await;
    finish(&back, outcome)
}

/// Takes a program off the plan.
#[server(prefix = "/fn", endpoint = "unsave_program")]
pub async fn unsave_program(program_id: String) -> Result<(), ServerFnError> {
    let auth: AuthSession = leptos_axum::extract().await?;
    let outcome = async {
        let state = AppState::get();
        let viewer = crate::web::permit(Action::UsePlan)?;
        let program = parse_id(&program_id)?;
        match viewer {
            Some(v) => store::unsave(&state.pool, v.user_id, program).await?,
            None => {
                let mut saved: Vec<Uuid> = auth.session.get(SAVED).await?.unwrap_or_default();
                saved.retain(|p| *p != program);
                auth.session.insert(SAVED, saved).await?;
            }
        }
        Ok("/my-plan?done=removed".to_string())
    }
    .await;
    finish("/my-plan", outcome)
}

/// Programs saved while signed out move to the resident's plan when they sign in.
pub async fn keep_saved_programs(
    pool: &sqlx::PgPool,
    session: &tower_sessions::Session,
    user: Uuid,
) {
    let saved: Vec<Uuid> = session.get(SAVED).await.ok().flatten().unwrap_or_default();
    if saved.is_empty() {
        return;
    }
    match store::save(pool, user, &saved).await {
        Ok(()) => {
            let _ = session.remove::<Vec<Uuid>>(SAVED).await;
        }
        Err(e) => tracing::warn!(error = %e, "could not keep the programs saved before signing in"),
    }
}

/// "Connect": the resident asks a program to contact them (a self-referral), optionally letting
/// its organization see their profile.
#[server(prefix = "/fn", endpoint = "connect_to_program")]
pub async fn connect_to_program(
    program_id: String,
    need: Option<String>,
    share: Option<String>,
) -> Result<(), ServerFnError> {
    let back = format!("/programs/{}", urlencode(program_id.trim()));
    let outcome = async {
        let state = AppState::get();
        let viewer = authorize(Action::ManageOwnRecord)?;
        let program = parse_id(&program_id)?;
        let Some(own) = viewer.resident_id else {
            return Ok(format!("/my-plan/link?program={program}"));
        };
        let summary = crate::directory::store::program_summaries(&state.pool, &[program]).await?;
        let summary = summary.first().ok_or(Problem::new("not_found"))?;
        let tree = crate::directory::categories::CategoryTree::get();
        // The need is one of the program's own kinds of help; the first when none was picked.
        let need = match crate::referrals::optional(need) {
            Some(n) if summary.category_ids.contains(&n) && tree.name(&n, Locale::en).is_some() => {
                n
            }
            Some(_) => return Err(Problem::new("missing_fields")),
            None => summary
                .category_ids
                .iter()
                .find(|c| tree.sub(c).is_some())
                .or(summary.category_ids.first())
                .cloned()
                .ok_or(Problem::new("missing_fields"))?,
        };
        let access = gate::open(&state.pool, &principal(&viewer), own, Purpose::OwnPlan).await?;
        crate::referrals::store::connect(
            &state.pool,
            &viewer,
            &access,
            program,
            &need,
            yes(&share),
            &state.deployment.residents.consent_text_version,
            &state.deployment.site.public_url,
            &Actor::current(),
        )
        .await?;
        store::save(&state.pool, viewer.user_id, &[program]).await?;
        Ok("/my-plan?done=connected#referrals".to_string())
    }
    .await;
    finish(&back, outcome)
}

/// The resident takes consent back from an organization (every scope it holds), effective on
/// its next request.
#[server(prefix = "/fn", endpoint = "revoke_consent")]
pub async fn revoke_consent(organization_id: String) -> Result<(), ServerFnError> {
    let outcome = async {
        let state = AppState::get();
        let viewer = authorize(Action::ManageOwnRecord)?;
        let own = viewer.resident_id.ok_or(Problem::new("denied"))?;
        let organization = parse_id(&organization_id)?;
        store::revoke(
            &state.pool,
            own,
            organization,
            &state.deployment.residents.consent_text_version,
            &Actor::current(),
        )
        .await?;
        Ok("/my-plan?done=revoked#consent".to_string())
    }
    .await;
    finish("/my-plan#consent", outcome)
}

/// Linking an account to a record, step one: a phone or e-mail on the record gets a code. The
/// page says the same whether a record has it or not.
#[server(prefix = "/fn", endpoint = "start_link")]
pub async fn start_link(contact: String) -> Result<(), ServerFnError> {
    let outcome = async {
        let state = AppState::get();
        let viewer = authorize(Action::ManageOwnRecord)?;
        if viewer.resident_id.is_some() {
            return Ok("/my-plan".to_string());
        }
        let contact = required(&contact, limits::EMAIL)
            .map_err(|e| Problem::from(e).with_field("contact"))?;
        let email = crate::contact::Email::parse(&contact);
        let phone = if email.is_none() {
            crate::contact::Phone::parse(&contact)
        } else {
            None
        };
        if email.is_none() && phone.is_none() {
            return Err(Problem::at("contact", "bad_phone"));
        }
        if !crate::rate_limit::allow(
            &state.pool,
            crate::rate_limit::LINK_CODES,
            &viewer.user_id.to_string(),
        )
        .await?
        {
            return Err(Problem::new("rate_limited"));
        }
        if let Some((_, sent_to, code)) =
            store::start_link(&state.pool, viewer.user_id, phone.as_ref(), email.as_ref()).await?
        {
            let body = tr!(
                Locale::en,
                link_code_message,
                code = crate::mail::SECRET,
                site = state.deployment.site.name.clone()
            );
            let mut tx = state.pool.begin().await?;
            match (&phone, &email) {
                (Some(p), _) => {
                    let _ = crate::sms::enqueue_with_secret(&mut tx, p, &body, Some(&code)).await?;
                }
                _ => {
                    let message = crate::mail::Message::new(
                        &sent_to,
                        tr!(Locale::en, link_code_subject),
                        body,
                    )
                    .with_secret(code);
                    crate::mail::enqueue(&mut *tx, &message).await?;
                }
            }
            tx.commit().await?;
            crate::mail::nudge(&state.pool).await;
        }
        Ok("/my-plan/link?step=code".to_string())
    }
    .await;
    finish("/my-plan/link", outcome)
}

/// Linking, step two: the code from the phone or e-mail on the record.
#[server(prefix = "/fn", endpoint = "finish_link")]
pub async fn finish_link(code: String) -> Result<(), ServerFnError> {
    let outcome = async {
        let state = AppState::get();
        let viewer = authorize(Action::ManageOwnRecord)?;
        let code = required(&code, 12).map_err(|e| Problem::from(e).with_field("code"))?;
        store::finish_link(&state.pool, viewer.user_id, &code, &Actor::current()).await?;
        Ok("/my-plan?done=linked".to_string())
    }
    .await;
    finish("/my-plan/link?step=code", outcome)
}

/// A resident new to Wraparound starts their own record from their account (the state
/// identity provider's name and verified e-mail), with a phone if they want texts.
#[server(prefix = "/fn", endpoint = "create_own_record")]
pub async fn create_own_record(
    phone: Option<String>,
    preferred_contact: Option<String>,
    preferred_language: Option<String>,
) -> Result<(), ServerFnError> {
    let outcome = async {
        let state = AppState::get();
        let viewer = authorize(Action::ManageOwnRecord)?;
        if viewer.resident_id.is_some() {
            return Ok("/my-plan".to_string());
        }
        let email = crate::contact::Email::parse(&viewer.email).map(|e| e.to_string());
        let new = NewResident::check(
            Some(&viewer.name),
            None,
            phone.as_deref(),
            email.as_deref(),
            preferred_contact.as_deref(),
            preferred_language.as_deref(),
        )?;
        store::create_own(&state.pool, &viewer, &new, &Actor::current()).await?;
        Ok("/my-plan?done=record_created".to_string())
    }
    .await;
    finish("/my-plan/link", outcome)
}

/// United Way or the state merges two records of one person after review.
#[server(prefix = "/fn", endpoint = "merge_residents")]
pub async fn merge_residents(
    first: String,
    second: String,
    keep: String,
    reason: String,
) -> Result<(), ServerFnError> {
    let outcome = async {
        let state = AppState::get();
        let viewer = authorize(Action::ReviewDuplicates)?;
        let (first, second) = (parse_id(&first)?, parse_id(&second)?);
        let (survivor, retired) = match keep.trim() {
            "first" => (first, second),
            "second" => (second, first),
            _ => return Err(Problem::new("missing_fields")),
        };
        let reason =
            required(&reason, limits::REASON).map_err(|e| Problem::from(e).with_field("reason"))?;
        // Both records are opened for the review, audited like every opening.
        let p = principal(&viewer);
        gate::open(&state.pool, &p, survivor, Purpose::DuplicateReview).await?;
        gate::open(&state.pool, &p, retired, Purpose::DuplicateReview).await?;
        store::merge(
            &state.pool,
            survivor,
            retired,
            viewer.user_id,
            &reason,
            &Actor::current(),
        )
        .await?;
        Ok("/united-way/duplicates?done=merged".to_string())
    }
    .await;
    finish("/united-way/duplicates", outcome)
}

/// Undoes a merge.
#[server(prefix = "/fn", endpoint = "undo_merge")]
pub async fn undo_merge(merge_id: String) -> Result<(), ServerFnError> {
    let outcome = async {
        let state = AppState::get();
        let viewer = authorize(Action::ReviewDuplicates)?;
        let merge = parse_id(&merge_id)?;
        store::unmerge(
            &state.pool,
            merge,
            viewer.user_id,
            &state.deployment.residents.consent_text_version,
            &Actor::current(),
        )
        .await?;
        Ok("/united-way/duplicates?done=unmerged".to_string())
    }
    .await;
    finish("/united-way/duplicates", outcome)
}
