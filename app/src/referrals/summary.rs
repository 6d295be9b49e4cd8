//! The resident's referral summary: what was sent for them and what happens next, program by
//! program, in their language. The same words go on the printed page and in the text or e-mail
//! sent to them, so what they hold and what they were told never differ — and never promise
//! what will not happen (an organization not on Wraparound has not seen the referral).

use crate::directory::hours::{format_time, WeeklyHours};
use crate::i18n::*;
use crate::residents::ContactMethod;

/// What the resident should expect from one program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextStep {
    /// The organization is on Wraparound: it has the referral and will reach out.
    TheyWillContact,
    /// Not on Wraparound: nobody there has seen it; call them (and United Way follows up).
    CallThem,
    /// Not on Wraparound and no phone listed: United Way follows up.
    UnitedWayFollowsUp,
}

impl NextStep {
    pub fn for_program(receiver_onboarded: bool, has_phone: bool) -> NextStep {
        match (receiver_onboarded, has_phone) {
            (true, _) => NextStep::TheyWillContact,
            (false, true) => NextStep::CallThem,
            (false, false) => NextStep::UnitedWayFollowsUp,
        }
    }
}

/// One program of the summary, as the resident reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryItem {
    pub program: String,
    pub organization: String,
    pub next: NextStep,
    pub phone: Option<String>,
    pub address: Option<String>,
    /// "Mon: 9:00 AM – 5:00 PM", one line per day open.
    pub hours: Vec<String>,
}

fn day(locale: Locale, d: u8) -> String {
    match d {
        0 => tr!(locale, day_0),
        1 => tr!(locale, day_1),
        2 => tr!(locale, day_2),
        3 => tr!(locale, day_3),
        4 => tr!(locale, day_4),
        5 => tr!(locale, day_5),
        _ => tr!(locale, day_6),
    }
}

/// The week's opening hours as short lines, in `locale`; empty when unknown.
pub fn hours_lines(hours: Option<&WeeklyHours>, locale: Locale) -> Vec<String> {
    let Some(h) = hours else { return Vec::new() };
    if h.is_always_open() {
        return vec![tr!(locale, always_open)];
    }
    let spanish = locale == Locale::es;
    (0..7u8)
        .filter_map(|d| {
            let times: Vec<String> = h
                .on(d)
                .map(|o| {
                    format!(
                        "{} – {}",
                        format_time(o.opens, spanish),
                        format_time(o.closes, spanish)
                    )
                })
                .collect();
            (!times.is_empty()).then(|| format!("{}: {}", day(locale, d), times.join(", ")))
        })
        .collect()
}

/// What happens next, in a sentence.
pub fn next_step_text(
    locale: Locale,
    item: &SummaryItem,
    contact: ContactMethod,
    help_phone: &str,
) -> String {
    match item.next {
        NextStep::TheyWillContact => tr!(
            locale,
            summary_they_will_contact,
            organization = item.organization.clone(),
            how = contact_words(locale, contact)
        ),
        NextStep::CallThem => tr!(
            locale,
            summary_call_them,
            organization = item.organization.clone(),
            phone = item.phone.clone().unwrap_or_default(),
            help = help_phone
        ),
        NextStep::UnitedWayFollowsUp => tr!(
            locale,
            summary_united_way_follows_up,
            organization = item.organization.clone(),
            help = help_phone
        ),
    }
}

/// "by text message", "by phone", "by e-mail".
pub fn contact_words(locale: Locale, contact: ContactMethod) -> String {
    match contact {
        ContactMethod::Text => tr!(locale, summary_by_text),
        ContactMethod::Email => tr!(locale, summary_by_email),
        ContactMethod::Phone => tr!(locale, summary_by_phone),
    }
}

/// The summary as plain text, for a text message or an e-mail.
pub fn as_text(
    locale: Locale,
    first_name: &str,
    from: &str,
    contact: ContactMethod,
    help_phone: &str,
    items: &[SummaryItem],
) -> String {
    let mut out = tr!(locale, summary_text_intro, name = first_name, from = from);
    for (i, item) in items.iter().enumerate() {
        out.push_str(&format!(
            "\n\n{}. {} — {}\n{}",
            i + 1,
            item.program,
            item.organization,
            next_step_text(locale, item, contact, help_phone)
        ));
        if let Some(p) = &item.phone {
            out.push_str(&format!(
                "\n{}",
                tr!(locale, summary_phone_line, phone = p.clone())
            ));
        }
        if let Some(a) = &item.address {
            out.push_str(&format!("\n{a}"));
        }
        if !item.hours.is_empty() {
            out.push_str(&format!(
                "\n{}: {}",
                tr!(locale, hours),
                item.hours.join("; ")
            ));
        }
    }
    out.push_str("\n\n");
    out.push_str(&tr!(locale, summary_text_help, help = help_phone));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(next: NextStep) -> SummaryItem {
        SummaryItem {
            program: "Baby formula pantry".into(),
            organization: "Hope Center".into(),
            next,
            phone: Some("(270) 555-0100".into()),
            address: Some("100 Main St, Bowling Green, KY 42101".into()),
            hours: vec!["Mon: 9:00 AM – 5:00 PM".into()],
        }
    }

    #[test]
    fn an_organization_not_on_wraparound_is_never_said_to_have_the_referral() {
        assert_eq!(
            NextStep::for_program(true, false),
            NextStep::TheyWillContact
        );
        assert_eq!(NextStep::for_program(false, true), NextStep::CallThem);
        assert_eq!(
            NextStep::for_program(false, false),
            NextStep::UnitedWayFollowsUp
        );
        let call = next_step_text(
            Locale::en,
            &item(NextStep::CallThem),
            ContactMethod::Text,
            "211",
        );
        assert!(
            call.contains("(270) 555-0100") && call.contains("United Way"),
            "{call}"
        );
        assert!(!call.contains("will contact you"), "{call}");
        let contact = next_step_text(
            Locale::en,
            &item(NextStep::TheyWillContact),
            ContactMethod::Text,
            "211",
        );
        assert!(contact.contains("by text message"), "{contact}");
    }

    #[test]
    fn the_text_has_every_program_with_phone_address_and_hours_in_the_residents_language() {
        let items = vec![item(NextStep::TheyWillContact), item(NextStep::CallThem)];
        let en = as_text(
            Locale::en,
            "Maria",
            "Family Resource Center",
            ContactMethod::Text,
            "211",
            &items,
        );
        assert!(en.contains("1. Baby formula pantry — Hope Center"));
        assert!(en.contains("2. Baby formula pantry"));
        assert!(en.contains("42101") && en.contains("Mon: 9:00 AM – 5:00 PM"));
        let es = as_text(
            Locale::es,
            "Maria",
            "Family Resource Center",
            ContactMethod::Text,
            "211",
            &items,
        );
        assert!(es.contains("Hope Center") && es != en);
        assert!(es.contains("mensaje de texto"), "{es}");
    }
}
