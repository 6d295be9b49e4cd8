//! Pieces every signed-in page and form shares: the error alert a failed form post comes back
//! with, labelled fields, and server-side data loading. Server-rendered only: these pages need
//! no JavaScript, and their data never reaches the browser bundle.

use crate::i18n::*;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use std::future::Future;

/// A query parameter of the current page.
pub fn query(name: &str) -> Option<String> {
    use_query_map()
        .with_untracked(|q| q.get(name))
        .filter(|v| !v.is_empty())
}

/// The words for a form problem code (see `web::Problem`).
pub fn problem_text(locale: Locale, code: &str) -> String {
    match code {
        "missing_credentials" => tr!(locale, err_missing_credentials),
        "wrong_password" => tr!(locale, err_wrong_password),
        "wrong_code" => tr!(locale, err_wrong_code),
        "locked" => {
            let minutes = query("wait")
                .and_then(|w| w.parse::<i64>().ok())
                .filter(|m| (1..=60).contains(m))
                .unwrap_or(15);
            tr!(locale, err_locked, minutes = minutes)
        }
        "too_long" => tr!(locale, err_too_long),
        "idp_email_mismatch" => tr!(locale, err_idp_email_mismatch),
        "rate_limited" => tr!(locale, err_rate_limited),
        "expired" => tr!(locale, err_sign_in_expired),
        "no_account" => tr!(locale, err_no_linked_account),
        "idp_failed" => tr!(locale, err_idp_failed),
        "password_short" => tr!(locale, err_password_short),
        "password_long" => tr!(locale, err_password_long),
        "password_common" => tr!(locale, err_password_common),
        "password_has_email" => tr!(locale, err_password_has_email),
        "password_repetitive" => tr!(locale, err_password_repetitive),
        "password_mismatch" => tr!(locale, err_password_mismatch),
        "invitation_invalid" => tr!(locale, err_invitation_invalid),
        "account_exists" => tr!(locale, err_account_exists),
        "missing_fields" => tr!(locale, err_missing_fields),
        "bad_email" => tr!(locale, err_bad_email),
        "bad_phone" => tr!(locale, err_bad_phone),
        "already_partner" => tr!(locale, err_already_partner),
        "already_decided" => tr!(locale, err_already_decided),
        "reason_needed" => tr!(locale, err_reason_needed),
        "training_wrong" => tr!(locale, err_training_wrong),
        "agreement_needed" => tr!(locale, err_agreement_needed),
        "not_found" => tr!(locale, not_found_title),
        "denied" => tr!(locale, err_denied),
        "self_change" => tr!(locale, err_self_change),
        "bad_role" => tr!(locale, err_bad_role),
        "stale" => tr!(locale, err_stale),
        "not_allowed_now" => tr!(locale, err_not_allowed_now),
        "nothing_to_refer" => tr!(locale, err_nothing_to_refer),
        "contact_needed" => tr!(locale, err_contact_needed),
        "bad_date" => tr!(locale, err_bad_date),
        _ => tr!(locale, err_unavailable),
    }
}

/// The message next to a field that came back with a problem (USWDS: the message sits with the
/// label, the input is marked invalid and described by it).
pub fn field_error(
    locale: Locale,
    kept: &Option<crate::web::KeptForm>,
    field: &str,
) -> Option<impl IntoView> {
    let code = kept.as_ref()?.error_for(field)?.to_string();
    Some(view! {
        <span class="field-error" id=format!("{field}-error")>{problem_text(locale, &code)}</span>
    })
}

/// `aria-invalid` and `aria-describedby` for a field that came back with a problem.
pub fn invalid(
    kept: &Option<crate::web::KeptForm>,
    field: &str,
) -> (Option<&'static str>, Option<String>) {
    match kept.as_ref().and_then(|k| k.error_for(field)) {
        Some(_) => (Some("true"), Some(format!("{field}-error"))),
        None => (None, None),
    }
}

/// What was typed into `field`, or `default`.
pub fn kept_value(kept: &Option<crate::web::KeptForm>, field: &str, default: &str) -> String {
    kept.as_ref()
        .and_then(|k| k.value(field))
        .unwrap_or_else(|| default.to_string())
}

/// The alert at the top of a form that came back with `?error=`.
#[component]
pub fn FormAlert() -> impl IntoView {
    let locale = use_i18n().get_locale_untracked();
    query("error").map(|code| {
        view! {
            <div class="alert alert-error" role="alert">
                {problem_text(locale, &code)}
            </div>
        }
    })
}

/// A one-line notice for a page reached after something worked (`?done=`).
#[component]
pub fn Notice(text: Option<String>) -> impl IntoView {
    text.map(|t| {
        view! {
            <div class="alert alert-success" role="status">
                {t}
            </div>
        }
    })
}

/// Renders what `load` produces once it is ready; the route uses `SsrMode::Async`, so the page
/// arrives complete.
pub fn loaded<F, V>(load: F) -> impl IntoView
where
    F: Future<Output = V> + Send + 'static,
    V: IntoView + 'static,
{
    view! { <Suspense fallback=|| ()>{Suspend::new(load)}</Suspense> }
}

/// The date part of a timestamp, in the deployment's calendar (UTC is close enough for dates
/// people read on partner screens; times are shown with their zone).
pub fn date(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

pub fn date_time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}
