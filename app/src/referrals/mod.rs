//! Closed-loop referrals: a partner refers a resident to programs (several at once), the
//! receiving organization works the referral in its inbox and closes it with an outcome, the
//! sender follows it in its outbox, and both see their numbers on the dashboard.

pub mod pages;
pub mod status;
pub mod store;
pub mod summary;
pub mod support;

use crate::audit::Actor;
use crate::state::AppState;
use crate::web::{finish, Problem};
use leptos::prelude::*;
use status::Move;
use uuid::Uuid;

/// The programs a partner is gathering for one referral (kept in the session between pages).
pub const BASKET: &str = "referral_basket";

/// The resident a referral is being put together for, when it was started from their screen.
pub const REFER_FOR: &str = "referral_for";

/// Takes a program out of the referral being put together (a button inside the referral form,
/// so what was typed there is kept).
#[server(prefix = "/fn", endpoint = "remove_from_referral")]
pub async fn remove_from_referral(program_id: String) -> Result<(), ServerFnError> {
    let auth: crate::identity::accounts::AuthSession = leptos_axum::extract().await?;
    let outcome = async {
        crate::web::authorize(crate::policy::Action::MakeReferrals)?;
        let id = Uuid::parse_str(program_id.trim()).map_err(|_| Problem::new("not_found"))?;
        let mut basket: Vec<Uuid> = auth.session.get(BASKET).await?.unwrap_or_default();
        basket.retain(|p| *p != id);
        auth.session.insert(BASKET, basket).await?;
        Ok("/referrals/new".to_string())
    }
    .await;
    finish("/referrals/new", outcome)
}

/// Sends the resident their summary, by text or e-mail as they asked to be reached, in their
/// language. Reading their contact to do so is audited like any other look.
#[server(prefix = "/fn", endpoint = "send_referral_summary")]
pub async fn send_referral_summary(batch_id: String) -> Result<(), ServerFnError> {
    let back = format!("/referrals/batch/{}", crate::identity::urlencode(&batch_id));
    let outcome = async {
        let state = AppState::get();
        let viewer = crate::web::authorize(crate::policy::Action::MakeReferrals)?;
        let org = viewer.organization_id.ok_or(Problem::new("denied"))?;
        let batch = Uuid::parse_str(batch_id.trim()).map_err(|_| Problem::new("not_found"))?;
        let items = store::batch(&state.pool, batch, org).await?;
        let first = items.first().ok_or(Problem::new("not_found"))?;
        let resident = crate::residents::gate::open(
            &state.pool,
            &crate::residents::Principal::Person(viewer.clone()),
            first.resident_id,
            crate::residents::Purpose::ContactResident,
        )
        .await?;
        let locale = if resident.language() == "es" {
            crate::i18n::Locale::es
        } else {
            crate::i18n::Locale::en
        };
        let method = resident.contact().ok_or(Problem::new("contact_needed"))?;
        let summary = pages::summary_items(&state.pool, &items, locale).await;
        let from = viewer.organization_name.clone().unwrap_or_default();
        let text = summary::as_text(
            locale,
            &resident.first_name(),
            &from,
            method,
            &state.deployment.site.help_phone,
            &summary,
        );
        let mut tx = state.pool.begin().await?;
        let result = match (method, resident.reach()) {
            (crate::residents::ContactMethod::Text, Some(phone)) => {
                let phone =
                    crate::contact::Phone::parse(&phone).ok_or(Problem::new("bad_phone"))?;
                match crate::sms::enqueue(&mut tx, &phone, &text).await? {
                    crate::sms::Queued::Queued => "text",
                    crate::sms::Queued::OptedOut => "opted_out",
                }
            }
            (crate::residents::ContactMethod::Email, Some(email)) => {
                crate::mail::enqueue(
                    &mut *tx,
                    &crate::mail::Message::new(&email, tr!(locale, summary_heading), text),
                )
                .await?;
                "email"
            }
            _ => return Err(Problem::new("contact_needed")),
        };
        tx.commit().await?;
        crate::mail::nudge(&state.pool).await;
        Ok(format!("{back}?summary={result}"))
    }
    .await;
    finish(&back, outcome)
}

/// Adds a program to the referral being put together.
#[server(prefix = "/fn", endpoint = "add_to_referral")]
pub async fn add_to_referral(program_id: String) -> Result<(), ServerFnError> {
    let auth: crate::identity::accounts::AuthSession = leptos_axum::extract().await?;
    let outcome = async {
        crate::web::authorize(crate::policy::Action::MakeReferrals)?;
        let id = Uuid::parse_str(&program_id).map_err(|_| Problem::new("not_found"))?;
        let mut basket: Vec<Uuid> = auth.session.get(BASKET).await?.unwrap_or_default();
        if !basket.contains(&id) && basket.len() < 10 {
            basket.push(id);
        }
        auth.session.insert(BASKET, basket).await?;
        Ok("/referrals/new".to_string())
    }
    .await;
    finish(
        &format!("/programs/{}", crate::identity::urlencode(&program_id)),
        outcome,
    )
}

pub(crate) fn optional(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Sends the referrals in the basket. `need_<program id>` fields carry each program's need.
#[server(prefix = "/fn", endpoint = "send_referrals", input = leptos::server_fn::codec::PostUrl)]
pub async fn send_referrals(
    resident_id: Option<String>,
    name: Option<String>,
    date_of_birth: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    preferred_contact: Option<String>,
    preferred_language: Option<String>,
    needs: Option<Vec<String>>,
    note: Option<String>,
    consent: Option<String>,
    idempotency_key: Option<String>,
) -> Result<(), ServerFnError> {
    let auth: crate::identity::accounts::AuthSession = leptos_axum::extract().await?;
    // What was typed comes back to the form if something is wrong.
    let mut typed: Vec<(&str, String)> = [
        ("name", &name),
        ("date_of_birth", &date_of_birth),
        ("phone", &phone),
        ("email", &email),
        ("preferred_contact", &preferred_contact),
        ("preferred_language", &preferred_language),
        ("note", &note),
        ("consent", &consent),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
    .collect();
    const NEED_FIELDS: [&str; 10] = [
        "needs[0]", "needs[1]", "needs[2]", "needs[3]", "needs[4]", "needs[5]", "needs[6]",
        "needs[7]", "needs[8]", "needs[9]",
    ];
    for (field, need) in NEED_FIELDS.iter().zip(needs.clone().unwrap_or_default()) {
        typed.push((field, need));
    }
    let outcome = async {
        let state = AppState::get();
        let viewer = crate::web::authorize(crate::policy::Action::MakeReferrals)?;
        let basket: Vec<Uuid> = auth.session.get(BASKET).await?.unwrap_or_default();
        let needs = needs.unwrap_or_default();
        if basket.is_empty() || needs.len() != basket.len() {
            return Err(Problem::new("nothing_to_refer"));
        }
        let tree = crate::directory::categories::CategoryTree::get();
        let mut items = Vec::new();
        for (program_id, need) in basket.iter().zip(needs) {
            if tree.name(&need, crate::i18n::Locale::en).is_none() {
                return Err(Problem::new("missing_fields"));
            }
            items.push(store::Item {
                program_id: *program_id,
                need,
            });
        }
        let resident = match optional(resident_id) {
            Some(id) => {
                let id = Uuid::parse_str(&id).map_err(|_| Problem::new("not_found"))?;
                store::ResidentChoice::Existing(
                    crate::residents::gate::open(
                        &state.pool,
                        &crate::residents::Principal::Person(viewer.clone()),
                        id,
                        crate::residents::Purpose::NewReferral,
                    )
                    .await?,
                )
            }
            None => store::ResidentChoice::New(crate::residents::NewResident::check(
                name.as_deref(),
                date_of_birth.as_deref(),
                phone.as_deref(),
                email.as_deref(),
                preferred_contact.as_deref(),
                preferred_language.as_deref(),
            )?),
        };
        let note = crate::text::field(note.as_deref(), crate::text::limits::NOTE)
            .map_err(|e| Problem::from(e).with_field("note"))?;
        let created = store::create(
            &state.pool,
            &viewer,
            resident,
            &items,
            note.as_deref(),
            consent.as_deref() == Some("yes"),
            &state.deployment.residents.consent_text_version,
            &state.deployment.site.public_url,
            &Actor::current(),
            crate::idempotency::parse(idempotency_key.as_deref()),
        )
        .await?;
        auth.session.remove::<Vec<Uuid>>(BASKET).await?;
        auth.session.remove::<Uuid>(REFER_FOR).await?;
        Ok(format!("{created}?sent=1"))
    }
    .await;
    crate::web::finish_keeping("/referrals/new", "new_referral", typed, outcome).await
}

/// Every action on a referral's page posts here with the move and the version the page showed.
#[server(prefix = "/fn", endpoint = "update_referral")]
pub async fn update_referral(
    referral_id: String,
    version: String,
    action: String,
    reason: Option<String>,
    note: Option<String>,
    result: Option<String>,
    confirm: Option<String>,
) -> Result<(), ServerFnError> {
    let back = format!("/referrals/{}", crate::identity::urlencode(&referral_id));
    let outcome = async {
        let state = AppState::get();
        let viewer = crate::web::authorize(crate::policy::Action::WorkReferrals)?;
        let referral = Uuid::parse_str(&referral_id).map_err(|_| Problem::new("not_found"))?;
        let mv = Move::parse(&action).ok_or(Problem::new("missing_fields"))?;
        // Withdrawing is final: the sender says so twice.
        if mv == Move::Cancel && confirm.as_deref() != Some("yes") {
            return Err(Problem::at("confirm", "confirm_needed"));
        }
        // The version the page showed; anything else is a page we did not render.
        let version: i32 = version.trim().parse().map_err(|_| Problem::new("stale"))?;
        let contact_result = match result.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => Some(
                status::ContactResult::parse(r).ok_or(Problem::at("result", "missing_fields"))?,
            ),
            None => None,
        };
        let note = crate::text::field(note.as_deref(), crate::text::limits::NOTE)
            .map_err(|e| Problem::from(e).with_field("note"))?;
        let reason = crate::text::field(reason.as_deref(), crate::text::limits::REASON)
            .map_err(|e| Problem::from(e).with_field("reason"))?;
        store::apply(
            &state.pool,
            &viewer,
            &store::Change {
                referral,
                version,
                mv,
                reason: reason.as_deref(),
                note: note.as_deref(),
                contact_result,
            },
            &Actor::current(),
        )
        .await?;
        Ok(format!("{back}?done={action}"))
    }
    .await;
    let typed = [("note", note.clone()), ("reason", reason.clone())]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    crate::web::finish_keeping(&back, "referral", typed, outcome).await
}

/// "Now" for referral queues and jobs. `$WRAPAROUND_CLOCK_OFFSET_DAYS` moves it forward on a
/// test server, so the end-to-end suite can make referrals a week old without waiting; it is
/// refused (ignored, with a warning) unless `$WRAPAROUND_TEST_CLOCK=1` is also set.
pub fn clock_now() -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now();
    if std::env::var("WRAPAROUND_TEST_CLOCK").as_deref() != Ok("1") {
        return now;
    }
    let days = std::fs::read_to_string(
        std::env::var("WRAPAROUND_CLOCK_FILE").unwrap_or_else(|_| "target/test-clock".into()),
    )
    .ok()
    .and_then(|s| s.trim().parse::<i64>().ok())
    .unwrap_or(0);
    now + chrono::Duration::days(days)
}

/// A specialist logs outreach about a referral in one of their queues.
#[server(prefix = "/fn", endpoint = "log_outreach")]
pub async fn log_outreach(
    referral_id: String,
    queue: String,
    method: String,
    result: String,
    note: Option<String>,
) -> Result<(), ServerFnError> {
    let back = format!(
        "/united-way/referrals?queue={}",
        crate::identity::urlencode(&queue)
    );
    let outcome = async {
        let state = AppState::get();
        let viewer = crate::web::authorize(crate::policy::Action::SupportReferrals)?;
        let referral = Uuid::parse_str(&referral_id).map_err(|_| Problem::new("not_found"))?;
        let q = support::Queue::parse(&queue);
        let note = crate::text::field(note.as_deref(), crate::text::limits::NOTE)?;
        let result = crate::text::required(&result, crate::text::limits::REASON)?;
        let method = crate::text::required(&method, crate::text::limits::TOKEN)?;
        support::log_outreach(
            &state.pool,
            &viewer,
            referral,
            q,
            &method,
            &result,
            note.as_deref(),
            &Actor::current(),
            &state.deployment.referrals,
            clock_now(),
        )
        .await?;
        Ok(format!("{back}&done=1"))
    }
    .await;
    finish(&back, outcome)
}

/// Adds a note to a referral's history (sender or receiver).
#[server(prefix = "/fn", endpoint = "add_referral_note")]
pub async fn add_referral_note(
    referral_id: String,
    note: String,
    idempotency_key: Option<String>,
) -> Result<(), ServerFnError> {
    let back = format!("/referrals/{}", crate::identity::urlencode(&referral_id));
    let outcome = async {
        let state = AppState::get();
        let viewer = crate::web::authorize(crate::policy::Action::WorkReferrals)?;
        let referral = Uuid::parse_str(&referral_id).map_err(|_| Problem::new("not_found"))?;
        let note = crate::text::required(&note, crate::text::limits::NOTE)
            .map_err(|e| Problem::from(e).with_field("note"))?;
        store::add_note(
            &state.pool,
            &viewer,
            referral,
            &note,
            &Actor::current(),
            crate::idempotency::parse(idempotency_key.as_deref()),
        )
        .await?;
        Ok(format!("{back}?done=note"))
    }
    .await;
    finish(&back, outcome)
}
