//! Closed-loop referrals: a partner refers a resident to programs (several at once), the
//! receiving organization works the referral in its inbox and closes it with an outcome, the
//! sender follows it in its outbox, and both see their numbers on the dashboard.

pub mod pages;
pub mod status;
pub mod store;
pub mod support;

use crate::audit::Actor;
use crate::state::AppState;
use crate::web::{finish, Problem};
use leptos::prelude::*;
use status::Move;
use uuid::Uuid;

/// The programs a partner is gathering for one referral (kept in the session between pages).
pub const BASKET: &str = "referral_basket";

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

fn optional(s: Option<String>) -> Option<String> {
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
            Some(id) => store::ResidentChoice::Existing(
                Uuid::parse_str(&id).map_err(|_| Problem::new("not_found"))?,
            ),
            None => {
                let name = crate::text::required(name.as_deref().unwrap_or(""), crate::text::limits::NAME)?;
                let email = match crate::text::field(email.as_deref(), crate::text::limits::EMAIL)? {
                    Some(e) => Some(crate::contact::Email::parse(&e).ok_or(Problem::new("bad_email"))?),
                    None => None,
                };
                let phone = match crate::text::field(phone.as_deref(), crate::text::limits::PHONE)? {
                    Some(p) => Some(crate::contact::Phone::parse(&p).ok_or(Problem::new("bad_phone"))?),
                    None => None,
                };
                if phone.is_none() && email.is_none() {
                    return Err(Problem::new("contact_needed"));
                }
                let date_of_birth = match optional(date_of_birth) {
                    Some(d) => Some(
                        chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                            .map_err(|_| Problem::new("bad_date"))?,
                    ),
                    None => None,
                };
                let preferred_contact = optional(preferred_contact)
                    .filter(|c| ["phone", "text", "email"].contains(&c.as_str()))
                    .ok_or(Problem::new("missing_fields"))?;
                let preferred_language = optional(preferred_language)
                    .filter(|l| ["en", "es"].contains(&l.as_str()))
                    .unwrap_or_else(|| "en".into());
                store::ResidentChoice::New(store::NewResident {
                    name,
                    date_of_birth,
                    phone: phone.map(|p| p.display()),
                    email: email.map(|e| e.to_string()),
                    preferred_contact,
                    preferred_language,
                })
            }
        };
        let note = crate::text::field(note.as_deref(), crate::text::limits::NOTE)?;
        let created = store::create(
            &state.pool,
            &viewer,
            resident,
            &items,
            note.as_deref(),
            consent.as_deref() == Some("yes"),
            &state.deployment.site.public_url,
            &Actor::current(),
            crate::idempotency::parse(idempotency_key.as_deref()),
        )
        .await?;
        auth.session.remove::<Vec<Uuid>>(BASKET).await?;
        Ok(created)
    }
    .await;
    finish("/referrals/new", outcome)
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
) -> Result<(), ServerFnError> {
    let back = format!("/referrals/{}", crate::identity::urlencode(&referral_id));
    let outcome = async {
        let state = AppState::get();
        let viewer = crate::web::authorize(crate::policy::Action::WorkReferrals)?;
        let referral = Uuid::parse_str(&referral_id).map_err(|_| Problem::new("not_found"))?;
        let mv = match action.as_str() {
            "accept" => Move::Accept,
            "decline" => Move::Decline,
            "contact" => Move::RecordContact,
            "close_provided" => Move::CloseProvided,
            "close_not_provided" => Move::CloseNotProvided,
            "cancel" => Move::Cancel,
            _ => return Err(Problem::new("missing_fields")),
        };
        // The version the page showed; anything else is a page we did not render.
        let version: i32 = version.trim().parse().map_err(|_| Problem::new("stale"))?;
        let result = optional(result).filter(|r| r == "reached" || r == "not_reached");
        if mv == Move::RecordContact && result.is_none() {
            return Err(Problem::new("missing_fields"));
        }
        let note = crate::text::field(note.as_deref(), crate::text::limits::NOTE)?;
        let reason = crate::text::field(reason.as_deref(), crate::text::limits::TOKEN)?;
        store::apply(
            &state.pool,
            &viewer,
            &store::Change {
                referral,
                version,
                mv,
                reason: reason.as_deref(),
                note: note.as_deref(),
                contact_result: result.as_deref(),
            },
            &Actor::current(),
        )
        .await?;
        Ok(format!("{back}?done={action}"))
    }
    .await;
    finish(&back, outcome)
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
        let note = crate::text::required(&note, crate::text::limits::NOTE)?;
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
