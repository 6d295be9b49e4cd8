//! Pieces every signed-in page and form shares: the error alert a failed form post comes back
//! with, labelled fields, and server-side data loading. Server-rendered only: these pages need
//! no JavaScript, and their data never reaches the browser bundle.

use crate::i18n::*;
use leptos::prelude::*;
use std::future::Future;

/// A query parameter of the current page (decoded once), `None` when empty.
pub fn query(name: &str) -> Option<String> {
    crate::web::query_value(name).filter(|v| !v.is_empty())
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
        "reason_not_allowed" => tr!(locale, err_reason_not_allowed),
        "confirm_needed" => tr!(locale, err_confirm_needed),
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
        other => match (
            crate::residents::ResidentError::parse(other),
            crate::assessments::AssessmentError::parse(other),
        ) {
            (Some(e), _) => e.message(locale),
            (None, Some(e)) => e.message(locale),
            (None, None) => tr!(locale, err_unavailable),
        },
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
    let locale = crate::language::current();
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

/// The time zone times are shown in: the viewer's (their organization's place), else the
/// deployment's. Kentucky spans Eastern and Central time: a partner in Bowling Green reads
/// Central times, one in Lexington Eastern.
pub fn viewer_zone() -> chrono_tz::Tz {
    let wanted = crate::web::request()
        .viewer
        .and_then(|v| v.time_zone)
        .or_else(|| use_context::<crate::config::Deployment>().map(|d| d.region.timezone));
    wanted
        .and_then(|z| z.parse::<chrono_tz::Tz>().ok())
        .unwrap_or(chrono_tz::America::New_York)
}

fn month(locale: Locale, m: u32) -> &'static str {
    const EN: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const ES: [&str; 12] = [
        "ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic",
    ];
    let i = (m.clamp(1, 12) - 1) as usize;
    if locale == Locale::es {
        ES[i]
    } else {
        EN[i]
    }
}

/// "Dec 1, 2026" (English) or "1 dic 2026" (Spanish), in `zone`.
pub fn date_in(t: &chrono::DateTime<chrono::Utc>, zone: chrono_tz::Tz, locale: Locale) -> String {
    use chrono::Datelike;
    let l = t.with_timezone(&zone);
    if locale == Locale::es {
        format!("{} {} {}", l.day(), month(locale, l.month()), l.year())
    } else {
        format!("{} {}, {}", month(locale, l.month()), l.day(), l.year())
    }
}

/// "Dec 1, 9:48 PM" as people write it (the year only when it is not this year), in `zone`;
/// Spanish "1 dic, 21:48".
pub fn date_time_in(
    t: &chrono::DateTime<chrono::Utc>,
    zone: chrono_tz::Tz,
    locale: Locale,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    use chrono::{Datelike, Timelike};
    let l = t.with_timezone(&zone);
    let year = if l.year() == now.with_timezone(&zone).year() {
        String::new()
    } else {
        format!(" {}", l.year())
    };
    if locale == Locale::es {
        format!(
            "{} {}{year}, {}:{:02}",
            l.day(),
            month(locale, l.month()),
            l.hour(),
            l.minute()
        )
    } else {
        let (pm, h) = l.hour12();
        let year = if year.is_empty() {
            year
        } else {
            format!(",{year}")
        };
        format!(
            "{} {}{year}, {}:{:02} {}",
            month(locale, l.month()),
            l.day(),
            h,
            l.minute(),
            if pm { "PM" } else { "AM" }
        )
    }
}

/// "Dec 2026" / "dic 2026": a month of a monthly table.
pub fn month_year(d: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    format!(
        "{} {}",
        month(crate::language::current(), d.month()),
        d.year()
    )
}

/// A date on a page, in the viewer's zone and language.
pub fn date(t: &chrono::DateTime<chrono::Utc>) -> String {
    date_in(t, viewer_zone(), crate::language::current())
}

/// A calendar date (a date of birth) as people write it: "Apr 2, 1990" / "2 abr 1990".
pub fn birth_date(d: &chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let locale = crate::language::current();
    if locale == Locale::es {
        format!("{} {} {}", d.day(), month(locale, d.month()), d.year())
    } else {
        format!("{} {}, {}", month(locale, d.month()), d.day(), d.year())
    }
}

/// A moment on a page, in the viewer's zone and language ("Dec 1, 9:48 PM").
pub fn date_time(t: &chrono::DateTime<chrono::Utc>) -> String {
    date_time_in(
        t,
        viewer_zone(),
        crate::language::current(),
        chrono::Utc::now(),
    )
}

#[cfg(test)]
mod time_tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_are_local_and_written_as_people_write_them() {
        // 03:48 UTC on Dec 2 is 9:48 PM on Dec 1 in Central time, 10:48 PM in Eastern.
        let t = chrono::Utc.with_ymd_and_hms(2026, 12, 2, 3, 48, 0).unwrap();
        let now = chrono::Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap();
        assert_eq!(
            date_time_in(&t, chrono_tz::America::Chicago, Locale::en, now),
            "Dec 1, 9:48 PM"
        );
        assert_eq!(
            date_time_in(&t, chrono_tz::America::New_York, Locale::en, now),
            "Dec 1, 10:48 PM"
        );
        assert_eq!(
            date_time_in(&t, chrono_tz::America::Chicago, Locale::es, now),
            "1 dic, 21:48"
        );
        // Another year says so.
        let next_year = chrono::Utc.with_ymd_and_hms(2027, 3, 1, 12, 0, 0).unwrap();
        assert_eq!(
            date_time_in(&t, chrono_tz::America::Chicago, Locale::en, next_year),
            "Dec 1, 2026, 9:48 PM"
        );
        assert_eq!(
            date_in(&t, chrono_tz::America::Chicago, Locale::en),
            "Dec 1, 2026"
        );
        // Noon and midnight.
        let noon = chrono::Utc.with_ymd_and_hms(2026, 7, 1, 17, 0, 0).unwrap();
        assert_eq!(
            date_time_in(&noon, chrono_tz::America::Chicago, Locale::en, now),
            "Jul 1, 12:00 PM"
        );
    }
}
