//! Resident pages: the partner's resident search, "Add a resident", the Resident Detail Screen
//! and its printout; My Plan and linking a record; the consent request a resident answers; and
//! United Way's duplicate review. Pages render the read models of [`super::views`] and the
//! store; they decide nothing about access (the gate did).

use super::consent::{self, Holding, Scope};
use super::store::{self, MatchKeys};
use super::views::{self, DetailScreen};
use super::{
    gate, ContactMethod, Glimpse, NoteKind, Principal, Purpose, Resident, ResidentAccess,
    ResidentError,
};
use crate::directory::islands::PrintButton;
use crate::forms::{
    birth_date, date, date_time, field_error, invalid, kept_value, loaded, query, FormAlert, Notice,
};
use crate::i18n::*;
use crate::layout::set_status;
use crate::referrals::pages::{
    contact_link, event_item, language_label, need_name, reason_label, status_label,
    NotOnWraparound,
};
use crate::referrals::store::Activity;
use crate::state::AppState;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

fn param(name: &str) -> String {
    use_params_map()
        .with_untracked(|p| p.get(name))
        .unwrap_or_default()
}

/// "Maria L., born 1994": a possible match in words.
pub fn glimpse_words(locale: Locale, g: &Glimpse) -> String {
    match g.birth_year {
        Some(year) => tr!(
            locale,
            glimpse_born,
            name = g.initial_name.clone(),
            year = year
        ),
        None => g.initial_name.clone(),
    }
}

fn unavailable(locale: Locale) -> AnyView {
    set_status(503);
    view! { <p role="alert">{tr!(locale, err_unavailable)}</p> }.into_any()
}

fn not_found(locale: Locale) -> AnyView {
    set_status(404);
    view! { <p class="mt-2">{tr!(locale, not_found_body)}</p> }.into_any()
}

fn scope_label(locale: Locale, scope: &str) -> String {
    match Scope::parse(scope) {
        Some(Scope::Sensitive) => tr!(locale, scope_sensitive),
        _ => tr!(locale, scope_profile),
    }
}

fn channel_label(locale: Locale, channel: &str) -> String {
    consent::Channel::parse(channel)
        .map(|c| c.label(locale))
        .unwrap_or_else(|| channel.to_string())
}

/// What the gate lets a page call the resident.
fn display_name(r: &Resident) -> String {
    r.name.clone()
}

/// `/residents?q=`: the residents this organization may see, found by name, date of birth,
/// phone or e-mail (never listed without a search), and close matches it holds no consent for.
#[component]
pub fn ResidentSearchPage() -> impl IntoView {
    let locale = crate::language::current();
    let viewer = crate::web::request().viewer;
    let q = query("q");
    let content = async move {
        let state = AppState::get();
        let Some(viewer) = viewer else {
            return ().into_any();
        };
        let Some(q) = q.clone() else {
            return view! { <p class="mt-4">{tr!(locale, resident_search_intro)}</p> }.into_any();
        };
        let Ok(found) = store::search(
            &state.pool,
            &Principal::Person(viewer),
            &MatchKeys::from_query(&q),
        )
        .await
        else {
            return unavailable(locale);
        };
        let consented = found
            .consented
            .iter()
            .map(|r| {
                let born = r.date_of_birth.map(|d| tr!(locale, born_on, date = birth_date(&d)));
                view! {
                    <li class="card card-link">
                        <a class="card-title" href=format!("/residents/{}", r.id)>{display_name(r)}</a>
                        <p class="text-sm">{[born, r.phone.clone(), r.email.clone()].into_iter().flatten().collect::<Vec<_>>().join(" · ")}</p>
                    </li>
                }
            })
            .collect_view();
        let possible = found
            .possible
            .iter()
            .map(|m| {
                let on = match m.matched_on {
                    store::MatchedOn::Phone => tr!(locale, matched_on_phone),
                    store::MatchedOn::Email => tr!(locale, matched_on_email),
                    store::MatchedOn::NameAndBirthDate => tr!(locale, matched_on_name_and_birth_date),
                };
                view! {
                    <li class="card">
                        <p class="font-semibold">{glimpse_words(locale, &m.glimpse)}</p>
                        <p class="text-sm">{on}</p>
                        <p class="mt-2"><a class="link" href=format!("/residents/{}", m.glimpse.id)>{tr!(locale, ask_for_consent_link)}</a></p>
                    </li>
                }
            })
            .collect_view();
        let nothing = found.consented.is_empty() && found.possible.is_empty();
        view! {
            {nothing.then(|| view! { <p class="mt-4">{tr!(locale, resident_search_none, q = q.clone())}</p> })}
            {(!found.consented.is_empty()).then(|| view! {
                <h2 class="section-title">{tr!(locale, resident_search_yours)}</h2>
                <ul class="stack mt-2">{consented}</ul>
            })}
            {(!found.possible.is_empty()).then(|| view! {
                <h2 class="section-title">{tr!(locale, possible_matches_title)}</h2>
                <p class="mt-1 text-sm">{tr!(locale, possible_matches_intro)}</p>
                <ul class="stack mt-2">{possible}</ul>
            })}
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, residents_title) />
        <Meta name="robots" content="noindex" />
        <div class="page narrow">
            <h1 class="page-title">{tr!(locale, residents_title)}</h1>
            <form class="filter-row mt-4" method="get" action="/residents" role="search">
                <label class="form-field sm:col-span-2">
                    <span class="field-label">{tr!(locale, referral_find_resident)}</span>
                    <span class="hint" id="q-hint">{tr!(locale, referral_find_resident_hint)}</span>
                    <input class="field w-full" name="q" maxlength="200" autocomplete="off" aria-describedby="q-hint"
                        value=query("q").unwrap_or_default() />
                </label>
                <button class="button-secondary" type="submit">{tr!(locale, search_button)}</button>
            </form>
            <p class="mt-4"><a class="button-primary" href="/residents/new">{tr!(locale, add_resident_button)}</a></p>
            {loaded(content)}
        </div>
    }
}

/// `/residents/new`: a partner adds someone they are helping. Records that may be the same
/// person are shown first (as glimpses); the consent text is there to read to them.
#[component]
pub fn NewResidentPage() -> impl IntoView {
    let locale = crate::language::current();
    let viewer = crate::web::request().viewer;
    let content = async move {
        let state = AppState::get();
        let Some(viewer) = viewer else {
            return ().into_any();
        };
        let kept = crate::web::take_kept("new_resident").await;
        // Came back because records like this exist: show them, and let the partner go on.
        let possible = match kept
            .as_ref()
            .filter(|k| k.code == ResidentError::PossibleMatch.code())
        {
            Some(k) => {
                let keys = MatchKeys {
                    name: k.value("name"),
                    date_of_birth: k
                        .value("date_of_birth")
                        .and_then(|d| super::parse_birth_date(&d)),
                    phone_digits: k
                        .value("phone")
                        .and_then(|p| crate::contact::Phone::parse(&p))
                        .map(|p| p.digits().to_string()),
                    email: k
                        .value("email")
                        .and_then(|e| crate::contact::Email::parse(&e))
                        .map(|e| e.to_string()),
                };
                store::search(&state.pool, &Principal::Person(viewer.clone()), &keys)
                    .await
                    .ok()
            }
            None => None,
        };
        let matches = possible.map(|found| {
            let yours = found.consented.iter().map(|r| view! {
                <li><a class="link" href=format!("/residents/{}", r.id)>{display_name(r)}</a>
                    {r.date_of_birth.map(|d| format!(" · {}", tr!(locale, born_on, date = birth_date(&d))))}</li>
            }).collect_view();
            let others = found.possible.iter().map(|m| view! {
                <li>{glimpse_words(locale, &m.glimpse)}" · "<a class="link" href=format!("/residents/{}", m.glimpse.id)>{tr!(locale, ask_for_consent_link)}</a></li>
            }).collect_view();
            view! {
                <div class="alert alert-warning mt-4" role="alert">
                    <p class="font-semibold">{tr!(locale, err_possible_match)}</p>
                    <ul class="list-disc pl-5 mt-1">{yours}{others}</ul>
                    <label class="choice mt-2">
                        <input type="checkbox" name="confirm_new" value="yes" form="new-resident" />
                        <span>{tr!(locale, none_of_these_label)}</span>
                    </label>
                </div>
            }
        });
        let organization = viewer.organization_name.clone().unwrap_or_default();
        view! {
            {kept.as_ref().filter(|k| k.code != ResidentError::PossibleMatch.code()).map(|_| view! { <FormAlert /> })}
            {matches}
            <form class="stack mt-4" id="new-resident" method="post" action="/fn/create_resident">
                <input type="hidden" name="idempotency_key" value=crate::idempotency::new_key() />
                {resident_fields(locale, &kept)}
                {text_field(locale, &kept, "address", tr!(locale, address_label), "text", "300")}
                <label class="choice">
                    <input type="checkbox" name="at_risk" value="yes" checked=kept.as_ref().is_some_and(|k| k.value("at_risk").is_some()) />
                    <span>{tr!(locale, at_risk_label)}</span>
                </label>
                <fieldset class="form-field card">
                    <legend class="field-label">{tr!(locale, consent_in_person_title)}</legend>
                    <ConsentText scope=Scope::Profile organization=organization.clone() />
                    <label class="choice mt-2">
                        <input type="checkbox" name="consent" value="yes" checked=kept.as_ref().is_some_and(|k| k.value("consent").is_some()) />
                        <span>{tr!(locale, consent_attest_label)}</span>
                    </label>
                </fieldset>
                <button class="button-primary" type="submit">{tr!(locale, add_resident_button)}</button>
            </form>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, add_resident_title) />
        <Meta name="robots" content="noindex" />
        <div class="page narrow">
            <p><a class="link" href="/residents">{tr!(locale, back_to_residents)}</a></p>
            <h1 class="page-title mt-2">{tr!(locale, add_resident_title)}</h1>
            {loaded(content)}
        </div>
    }
}

/// A labelled text input that comes back with what was typed and its problem next to it.
pub fn text_field(
    locale: Locale,
    kept: &Option<crate::web::KeptForm>,
    name: &'static str,
    label: String,
    kind: &'static str,
    max: &'static str,
) -> impl IntoView {
    let (bad, described) = invalid(kept, name);
    view! {
        <label class="form-field">
            <span class="field-label">{label}</span>
            {field_error(locale, kept, name)}
            <input class="field w-full" type=kind name=name maxlength=max autocomplete="off"
                value=kept_value(kept, name, "") aria-invalid=bad aria-describedby=described />
        </label>
    }
}

/// The fields that describe a new resident (the referral form and "Add a resident" share them):
/// name, date of birth, phone and e-mail (one of them at least), how and in which language to
/// reach them.
pub fn resident_fields(locale: Locale, kept: &Option<crate::web::KeptForm>) -> impl IntoView {
    let contact = kept_value(kept, "preferred_contact", "phone");
    let language = kept_value(kept, "preferred_language", "en");
    let (contact_bad, contact_described) = invalid(kept, "contact");
    view! {
        {text_field(locale, kept, "name", tr!(locale, name_label), "text", "200")}
        {text_field(locale, kept, "date_of_birth", tr!(locale, date_of_birth_label), "date", "10")}
        <div id="contact" aria-invalid=contact_bad aria-describedby=contact_described>
            {field_error(locale, kept, "contact")}
            {text_field(locale, kept, "phone", tr!(locale, phone_label), "tel", "40")}
            {text_field(locale, kept, "email", tr!(locale, email_label), "email", "254")}
        </div>
        <label class="form-field"><span class="field-label">{tr!(locale, preferred_contact_label)}</span>
            <select class="field w-full" name="preferred_contact">
                {ContactMethod::ALL.into_iter().map(|m| view! {
                    <option value=m.as_str() selected=contact == m.as_str()>{m.label(locale)}</option>
                }).collect_view()}
            </select></label>
        <label class="form-field"><span class="field-label">{tr!(locale, preferred_language_label)}</span>
            <select class="field w-full" name="preferred_language">
                <option value="en" selected=language == "en">"English"</option>
                <option value="es" selected=language == "es">"Español"</option>
            </select></label>
    }
}

/// The consent text, to read to the resident, in the page's language with the other language
/// a tap away (partners often read it to Spanish speakers).
#[component]
fn ConsentText(scope: Scope, organization: String) -> impl IntoView {
    let locale = crate::language::current();
    let version = AppState::get()
        .deployment
        .residents
        .consent_text_version
        .clone();
    let render = move |l: Locale| {
        let text = consent::text(&version, scope, l, &organization).unwrap_or_default();
        let (title, blocks) = consent::text_blocks(&text);
        let lang = if l == Locale::es { "es" } else { "en" };
        view! {
            <div class="prose-text" lang=lang>
                <p class="font-semibold">{title}</p>
                {consent_blocks(blocks)}
            </div>
        }
    };
    let other = if locale == Locale::es {
        Locale::en
    } else {
        Locale::es
    };
    view! {
        {render(locale)}
        <details class="mt-2">
            <summary class="link">{tr!(locale, consent_text_other_language)}</summary>
            {render(other)}
        </details>
    }
}

/// The consent text's paragraphs and lists in their order, each run of list items in one list.
fn consent_blocks(blocks: Vec<(bool, String)>) -> AnyView {
    let mut out: Vec<AnyView> = Vec::new();
    let mut items: Vec<String> = Vec::new();
    let flush = |items: &mut Vec<String>, out: &mut Vec<AnyView>| {
        if !items.is_empty() {
            let list = std::mem::take(items);
            out.push(view! { <ul class="list-disc pl-5 mt-1">{list.into_iter().map(|i| view! { <li>{i}</li> }).collect_view()}</ul> }.into_any());
        }
    };
    for (is_item, t) in blocks {
        if is_item {
            items.push(t);
        } else {
            flush(&mut items, &mut out);
            out.push(view! { <p class="mt-1">{t}</p> }.into_any());
        }
    }
    flush(&mut items, &mut out);
    out.into_iter().collect_view().into_any()
}

/// The two ways a partner asks for consent: a one-time link sent the way the resident asked to
/// be reached, or consent given in person or on the phone, recorded with the text read.
fn consent_forms(
    locale: Locale,
    resident: Uuid,
    scope: Scope,
    organization: &str,
    how: Option<ContactMethod>,
    kept: &Option<crate::web::KeptForm>,
) -> AnyView {
    let id = resident.to_string();
    let by = match how {
        Some(ContactMethod::Email) => tr!(locale, consent_link_by_email),
        Some(_) => tr!(locale, consent_link_by_text),
        None => tr!(locale, consent_link_by_their_way),
    };
    let (attest_bad, attest_described) = invalid(kept, "attest");
    let title = match scope {
        Scope::Profile => tr!(locale, consent_ask_title),
        Scope::Sensitive => tr!(locale, consent_ask_sensitive_title),
    };
    view! {
        <h3 class="font-semibold mt-4">{title}</h3>
        <form class="mt-2" method="post" action="/fn/request_consent">
            <input type="hidden" name="resident_id" value=id.clone() />
            <input type="hidden" name="scope" value=scope.as_str() />
            <input type="hidden" name="channel" value="link" />
            <p class="text-sm">{by}</p>
            <button class="button-primary mt-2" type="submit">{tr!(locale, consent_send_link_button)}</button>
        </form>
        <form class="stack mt-4 card" method="post" action="/fn/request_consent">
            <input type="hidden" name="resident_id" value=id />
            <input type="hidden" name="scope" value=scope.as_str() />
            <fieldset class="form-field">
                <legend class="field-label">{tr!(locale, consent_given_how)}</legend>
                <label class="choice"><input type="radio" name="channel" value="in_person" checked /><span>{tr!(locale, channel_in_person)}</span></label>
                <label class="choice"><input type="radio" name="channel" value="phone" /><span>{tr!(locale, channel_phone)}</span></label>
            </fieldset>
            <ConsentText scope=scope organization=organization.to_string() />
            <label class="choice" aria-invalid=attest_bad aria-describedby=attest_described>
                <input type="checkbox" name="attest" value="yes" />
                <span>{tr!(locale, consent_attest_label)}</span>
            </label>
            {field_error(locale, kept, "attest")}
            <details>
                <summary class="link">{tr!(locale, consent_proxy_summary)}</summary>
                <label class="form-field mt-2"><span class="field-label">{tr!(locale, proxy_name_label)}</span>
                    {field_error(locale, kept, "proxy_name")}
                    <input class="field w-full" name="proxy_name" maxlength="200" value=kept_value(kept, "proxy_name", "") /></label>
                <label class="form-field"><span class="field-label">{tr!(locale, proxy_relationship_label)}</span>
                    {field_error(locale, kept, "proxy_relationship")}
                    <input class="field w-full" name="proxy_relationship" maxlength="200" value=kept_value(kept, "proxy_relationship", "") /></label>
            </details>
            <button class="button-secondary" type="submit">{tr!(locale, consent_record_button)}</button>
        </form>
    }
    .into_any()
}

fn done_text(locale: Locale, done: &str) -> Option<String> {
    Some(match done {
        "created" => tr!(locale, done_resident_created),
        "consent_recorded" => tr!(locale, done_consent_recorded),
        "consent_requested" => tr!(locale, done_consent_requested),
        "household" => tr!(locale, done_household_added),
        "household_removed" => tr!(locale, done_household_removed),
        "note" => tr!(locale, done_note_added),
        "seal" => tr!(locale, done_seal_broken),
        "assessment_saved" => tr!(locale, done_assessment_saved),
        _ => return None,
    })
}

/// One referral in the resident's activity: what, for which need (sealed when it must be), who
/// sent it, who holds it, where it stands, and its history. A sealed referral shows only that
/// it exists, where it stands and when: its program and organizations would tell the need.
fn activity_card(
    locale: Locale,
    a: &Activity,
    own_org: Option<Uuid>,
    with_history: bool,
) -> AnyView {
    if a.sealed {
        return view! {
            <li class="card">
                <p class="card-title no-underline">{tr!(locale, sealed_need)}</p>
                <p class="text-sm"><span class="badge">{status_label(locale, &a.status)}</span>
                    " "{tr!(locale, referral_sent_on, date = date(&a.created_at))}</p>
            </li>
        }
        .into_any();
    }
    let involved =
        own_org.is_some() && (own_org == Some(a.to_organization) || own_org == a.from_organization);
    let need = if a.sealed {
        tr!(locale, sealed_need)
    } else {
        need_name(locale, &a.need)
    };
    let from = a
        .from_organization_name
        .clone()
        .unwrap_or_else(|| tr!(locale, self_referral));
    let outcome = a
        .outcome_reason
        .clone()
        .filter(|_| a.status != "resource_provided")
        .map(|r| format!(" · {}", reason_label(locale, &r)));
    let history = with_history.then(|| {
        let items = a
            .events
            .iter()
            .map(|e| event_item(locale, e, involved))
            .collect_view();
        view! {
            <details class="mt-2">
                <summary class="link">{tr!(locale, referral_history)}</summary>
                <ol class="timeline mt-2">{items}</ol>
            </details>
        }
    });
    view! {
        <li class="card">
            <p class="card-title no-underline">
                {if involved {
                    view! { <a class="link" href=format!("/referrals/{}", a.referral_id)>{a.program.clone()}</a> }.into_any()
                } else {
                    view! { <span>{a.program.clone()}</span> }.into_any()
                }}
            </p>
            <p class="text-sm">{tr!(locale, activity_line, need = need, from = from, to = a.to_organization_name.clone())}</p>
            {(!a.receiver_onboarded).then(|| view! { <p class="mt-1"><NotOnWraparound /></p> })}
            <p class="text-sm"><span class="badge">{status_label(locale, &a.status)}</span>
                " "{tr!(locale, referral_sent_on, date = date(&a.created_at))}{outcome}</p>
            {history}
        </li>
    }
    .into_any()
}

/// `/residents/:id`: the Resident Detail Screen. With consent: who they are, quick actions,
/// referral activity across partners, household, notes, consent. Without: the limited view
/// (first name, how to reach them, this organization's referrals) and a way to ask.
#[component]
pub fn ResidentPage() -> impl IntoView {
    let locale = crate::language::current();
    let viewer = crate::web::request().viewer;
    let id = param("id");
    let done = query("done").and_then(|d| done_text(locale, &d));
    let note_kind = query("kind")
        .and_then(|k| NoteKind::parse(&k))
        .unwrap_or(NoteKind::Note);
    let corrects = query("corrects").and_then(|c| Uuid::parse_str(&c).ok());
    let content = async move {
        let state = AppState::get();
        let Some(viewer) = viewer else {
            return ().into_any();
        };
        let Ok(resident) = Uuid::parse_str(&id) else {
            return not_found(locale);
        };
        let kept_consent = crate::web::take_kept("consent").await;
        let kept_note = crate::web::take_kept("resident_note").await;
        let organization = viewer.organization_name.clone().unwrap_or_default();
        let screen = match views::detail_screen(&state.pool, &viewer, resident, &state.deployment.residents.sensitive_needs).await {
            Ok(screen) => screen,
            Err(ResidentError::NotFound) => return not_found(locale),
            Err(ResidentError::Merged(into)) => {
                return view! {
                    <p class="mt-2">{tr!(locale, resident_merged_note)}</p>
                    <p class="mt-2"><a class="button-primary" href=format!("/residents/{into}")>{tr!(locale, open_current_record)}</a></p>
                }
                .into_any()
            }
            Err(ResidentError::Denied) => {
                set_status(403);
                return view! {
                    <h1 class="page-title">{tr!(locale, resident_no_consent_title)}</h1>
                    <FormAlert />
                    <p class="mt-2">{tr!(locale, resident_no_consent_body)}</p>
                    <section id="consent">{consent_forms(locale, resident, Scope::Profile, &organization, None, &kept_consent)}</section>
                }
                .into_any();
            }
            Err(_) => return unavailable(locale),
        };
        render_screen(
            locale,
            &viewer,
            screen,
            &organization,
            note_kind,
            corrects,
            &kept_consent,
            &kept_note,
        )
        .into_any()
    };
    view! {
        <Title text=tr!(locale, resident_title) />
        <Meta name="robots" content="noindex" />
        <div class="page wide">
            <p class="no-print"><a class="link" href="/residents">{tr!(locale, back_to_residents)}</a></p>
            <Notice text=done />
            {loaded(content)}
        </div>
    }
}

#[allow(clippy::too_many_arguments)]
fn render_screen(
    locale: Locale,
    viewer: &crate::identity::Viewer,
    screen: DetailScreen,
    organization: &str,
    note_kind: NoteKind,
    corrects: Option<Uuid>,
    kept_consent: &Option<crate::web::KeptForm>,
    kept_note: &Option<crate::web::KeptForm>,
) -> impl IntoView {
    let own_org = viewer.organization_id;
    let id = screen.access.id();
    let activity = screen
        .activity
        .iter()
        .map(|a| activity_card(locale, a, own_org, true))
        .collect_view();
    let no_activity = screen
        .activity
        .is_empty()
        .then(|| view! { <p class="mt-2">{tr!(locale, activity_none)}</p> });
    let requests = (!screen.requests.is_empty()).then(|| {
        let items = screen.requests.iter().map(|r| {
            let status = match r.status.as_str() {
                "granted" => tr!(locale, request_granted),
                "declined" => tr!(locale, request_declined),
                "expired" => tr!(locale, request_expired),
                _ => tr!(locale, request_pending),
            };
            view! { <li>{tr!(locale, request_line, scope = scope_label(locale, &r.scope), channel = channel_label(locale, &r.channel),
                date = date(&r.created_at), status = status)}</li> }
        }).collect_view();
        view! { <h3 class="font-semibold mt-4">{tr!(locale, requests_title)}</h3><ul class="list-disc pl-5 mt-1">{items}</ul> }
    });
    match screen.access.clone() {
        ResidentAccess::Full {
            resident: r,
            sensitive,
        } => {
            let held = |scope: Scope| {
                screen
                    .consent
                    .iter()
                    .find(|h| h.scope == scope.as_str())
                    .cloned()
            };
            let consent_line = |h: Option<Holding>| match h {
                Some(h) => tr!(
                    locale,
                    consent_held_line,
                    organization = organization.to_string(),
                    date = date(&h.since),
                    channel = channel_label(locale, &h.channel)
                ),
                None => tr!(locale, consent_not_held),
            };
            let profile = held(Scope::Profile);
            let sensitive_held = held(Scope::Sensitive);
            let may_ask = sensitive_held.is_none();
            let ask_scope = if profile.is_some() {
                Scope::Sensitive
            } else {
                Scope::Profile
            };
            let sealed = (screen.sealed > 0).then(|| {
                if screen.seal_open {
                    view! { <p class="alert alert-warning mt-2" role="status">{tr!(locale, seal_open_note, count = screen.sealed)}</p> }.into_any()
                } else if sensitive {
                    view! {
                        <form class="card mt-2 stack" method="post" action="/fn/break_seal">
                            <input type="hidden" name="resident_id" value=id.to_string() />
                            <p>{tr!(locale, sealed_count, count = screen.sealed)}</p>
                            <label class="form-field"><span class="field-label">{tr!(locale, seal_reason_label)}</span>
                                <span class="hint" id="seal-hint">{tr!(locale, seal_reason_hint)}</span>
                                <input class="field w-full" name="reason" required maxlength="2000" aria-describedby="seal-hint" /></label>
                            <button class="button-secondary" type="submit">{tr!(locale, break_seal_button)}</button>
                        </form>
                    }.into_any()
                } else {
                    view! { <p class="mt-2">{tr!(locale, sealed_needs_consent, count = screen.sealed)}</p> }.into_any()
                }
            });
            let phone_link = r
                .phone
                .clone()
                .map(|p| contact_link(locale, ContactMethod::Phone, &p));
            let preferred = r
                .preferred_address()
                .map(|a| contact_link(locale, r.preferred_contact, &a));
            let household = screen.household.iter().map(|m| {
                let born = m.date_of_birth.map(|d| format!(" · {}", tr!(locale, born_on, date = birth_date(&d))));
                view! {
                    <li class="card">
                        <p class="font-semibold">{m.name.clone()}</p>
                        <p class="text-sm">{m.relationship.clone()}{born}</p>
                        <form class="mt-1" method="post" action="/fn/remove_household_member">
                            <input type="hidden" name="resident_id" value=id.to_string() />
                            <input type="hidden" name="member_id" value=m.id.to_string() />
                            <button class="button-secondary" type="submit">{tr!(locale, remove_member_button)}<span class="sr-only">{format!(": {}", m.name)}</span></button>
                        </form>
                    </li>
                }
            }).collect_view();
            let notes = screen.notes.iter().map(|n| {
                let kind = NoteKind::parse(&n.kind).map(|k| k.label(locale)).unwrap_or_default();
                let visibility = if n.shared { tr!(locale, note_shared) } else { tr!(locale, note_private) };
                let ours = own_org == Some(n.organization_id);
                view! {
                    <li class="card">
                        <p class="text-sm"><span class="badge">{kind}</span>" "<span class="badge">{visibility}</span>
                            " · "{date_time(&n.at)}" · "{format!("{}, {}", n.author, n.organization)}</p>
                        {n.corrects.map(|_| view! { <p class="text-sm italic">{tr!(locale, note_is_correction)}</p> })}
                        <p class="mt-1 whitespace-pre-wrap break-words">{n.body.clone()}</p>
                        {ours.then(|| view! { <p class="mt-1 text-sm no-print"><a class="link" href=format!("/residents/{id}?corrects={}#add-note", n.id)>{tr!(locale, correct_note_link)}</a></p> })}
                    </li>
                }
            }).collect_view();
            let note_body = kept_value(kept_note, "body", "");
            let kept_kind = kept_note
                .as_ref()
                .and_then(|k| k.value("kind"))
                .and_then(|k| NoteKind::parse(&k))
                .unwrap_or(note_kind);
            view! {
                <h1 class="page-title mt-2 break-words">{r.name.clone()}</h1>
                {r.preferred_name.clone().map(|p| view! { <p>{tr!(locale, goes_by, name = p)}</p> })}
                <div class="two-columns mt-2">
                    <dl class="facts">
                        <dt>{tr!(locale, date_of_birth_label)}</dt><dd>{r.date_of_birth.map(|d| birth_date(&d)).unwrap_or_else(|| tr!(locale, not_given))}</dd>
                        <dt>{tr!(locale, preferred_contact_label)}</dt><dd>{r.preferred_contact.label(locale)}<span class="block">{preferred}</span></dd>
                        <dt>{tr!(locale, phone_label)}</dt><dd>{phone_link.unwrap_or_else(|| tr!(locale, not_given).into_any())}</dd>
                        <dt>{tr!(locale, email_label)}</dt><dd class="break-all">{r.email.clone().unwrap_or_else(|| tr!(locale, not_given))}</dd>
                        <dt>{tr!(locale, preferred_language_label)}</dt><dd>{language_label(locale, &r.preferred_language)}</dd>
                        <dt>{tr!(locale, address_label)}</dt><dd>{if r.at_risk { tr!(locale, address_hidden_at_risk) } else { r.address.clone().unwrap_or_else(|| tr!(locale, not_given)) }}</dd>
                    </dl>
                    <dl class="facts">
                        <dt>{tr!(locale, consent_label)}</dt><dd data-testid="consent-status">{consent_line(profile.clone())}</dd>
                        <dt>{tr!(locale, sensitive_consent_label)}</dt><dd>{consent_line(sensitive_held.clone())}</dd>
                    </dl>
                </div>
                <nav class="button-row mt-4 no-print" aria-label=tr!(locale, quick_actions_label)>
                    <a class="button-primary" href=format!("/referrals/new?resident={id}")>{tr!(locale, quick_refer)}</a>
                    <a class="button-secondary" href=format!("/residents/{id}?kind=contact_attempt#add-note")>{tr!(locale, quick_record_contact)}</a>
                    <a class="button-secondary" href="#add-note">{tr!(locale, quick_add_note)}</a>
                    {may_ask.then(|| view! { <a class="button-secondary" href="#consent">{tr!(locale, quick_request_consent)}</a> })}
                    <a class="button-secondary" href="#household">{tr!(locale, quick_add_member)}</a>
                    <a class="button-secondary" href=format!("/residents/{id}/assess")>{tr!(locale, quick_start_assessment)}</a>
                    <a class="button-secondary" href=format!("/residents/{id}/print")>{tr!(locale, quick_print)}</a>
                </nav>
                <section id="activity" class="mt-6">
                    <h2 class="section-title">{tr!(locale, activity_title)}</h2>
                    {sealed}
                    {no_activity}
                    <ul class="stack mt-2">{activity}</ul>
                </section>
                {crate::assessments::pages::detail_panels(locale, id, &screen.indicators, &screen.assessments, own_org, screen.seal_open,
                    r.address.as_deref().and_then(crate::assessments::pages::zip_of))}
                <div class="two-columns">
                    <section id="household" class="mt-6">
                        <h2 class="section-title">{tr!(locale, household_title)}</h2>
                        {screen.household.is_empty().then(|| view! { <p class="mt-2">{tr!(locale, household_none)}</p> })}
                        <ul class="stack mt-2">{household}</ul>
                        <form class="stack mt-4 card no-print" method="post" action="/fn/add_household_member">
                            <h3 class="font-semibold">{tr!(locale, quick_add_member)}</h3>
                            <input type="hidden" name="resident_id" value=id.to_string() />
                            <label class="form-field"><span class="field-label">{tr!(locale, name_label)}</span>
                                <input class="field w-full" name="name" required maxlength="200" autocomplete="off" /></label>
                            <label class="form-field"><span class="field-label">{tr!(locale, relationship_label)}</span>
                                <span class="hint" id="relationship-hint">{tr!(locale, relationship_hint)}</span>
                                <input class="field w-full" name="relationship" required maxlength="200" aria-describedby="relationship-hint" /></label>
                            <label class="form-field"><span class="field-label">{tr!(locale, date_of_birth_label)}</span>
                                <input class="field w-full" type="date" name="date_of_birth" /></label>
                            <button class="button-secondary" type="submit">{tr!(locale, add_member_button)}</button>
                        </form>
                    </section>
                    <section id="notes" class="mt-6">
                        <h2 class="section-title">{tr!(locale, notes_title)}</h2>
                        <form id="add-note" class="stack mt-2 card no-print" method="post" action="/fn/add_resident_note">
                            <input type="hidden" name="resident_id" value=id.to_string() />
                            <input type="hidden" name="idempotency_key" value=crate::idempotency::new_key() />
                            {corrects.map(|c| view! {
                                <input type="hidden" name="corrects" value=c.to_string() />
                                <p class="text-sm">{tr!(locale, note_correcting)}</p>
                            })}
                            <label class="form-field"><span class="field-label">{tr!(locale, note_kind_label)}</span>
                                <select class="field w-full" name="kind">
                                    {NoteKind::ALL.into_iter().map(|k| view! { <option value=k.as_str() selected=k == kept_kind>{k.label(locale)}</option> }).collect_view()}
                                </select></label>
                            <label class="form-field"><span class="field-label">{tr!(locale, note_body_label)}</span>
                                {field_error(locale, kept_note, "body")}
                                <textarea class="field w-full" name="body" rows="3" maxlength="4000" required>{note_body}</textarea></label>
                            <label class="choice">
                                <input type="checkbox" name="shared" value="yes" />
                                <span>{tr!(locale, note_share_label)}</span>
                            </label>
                            <button class="button-primary" type="submit">{tr!(locale, add_note_button)}</button>
                        </form>
                        {screen.notes.is_empty().then(|| view! { <p class="mt-2">{tr!(locale, notes_none)}</p> })}
                        <ul class="stack mt-4">{notes}</ul>
                    </section>
                </div>
                <section id="consent" class="mt-6 no-print">
                    <h2 class="section-title">{tr!(locale, consent_title)}</h2>
                    {kept_consent.as_ref().map(|_| view! { <FormAlert /> })}
                    <p class="mt-2">{consent_line(profile)}</p>
                    <p class="mt-1">{tr!(locale, sensitive_consent_label)}": "{consent_line(sensitive_held)}</p>
                    {requests}
                    {may_ask.then(|| consent_forms(locale, id, ask_scope, organization, Some(r.preferred_contact), kept_consent))}
                </section>
            }
            .into_any()
        }
        limited => {
            let how = limited.contact();
            let reach = limited
                .reach()
                .zip(how)
                .map(|(a, m)| contact_link(locale, m, &a));
            view! {
                <h1 class="page-title mt-2">{limited.first_name()}</h1>
                <p class="mt-2">{tr!(locale, limited_view_note, name = limited.first_name())}</p>
                <dl class="facts mt-2">
                    <dt>{tr!(locale, preferred_contact_label)}</dt><dd>{how.map(|m| m.label(locale))}<span class="block">{reach}</span></dd>
                    <dt>{tr!(locale, preferred_language_label)}</dt><dd>{language_label(locale, limited.language())}</dd>
                </dl>
                <section id="activity" class="mt-6">
                    <h2 class="section-title">{tr!(locale, activity_yours_title)}</h2>
                    {no_activity}
                    <ul class="stack mt-2">{activity}</ul>
                </section>
                <section id="consent" class="mt-6">
                    <h2 class="section-title">{tr!(locale, consent_title)}</h2>
                    {kept_consent.as_ref().map(|_| view! { <FormAlert /> })}
                    {requests}
                    {consent_forms(locale, id, Scope::Profile, organization, how, kept_consent)}
                </section>
            }
            .into_any()
        }
    }
}

/// `/residents/:id/print`: a summary to print for (or give to) the resident: who they are (no
/// address when they are at risk), their household and their referrals — no notes.
#[component]
pub fn ResidentPrintPage() -> impl IntoView {
    let locale = crate::language::current();
    let viewer = crate::web::request().viewer;
    let id = param("id");
    let content = async move {
        let state = AppState::get();
        let Some(viewer) = viewer else {
            return ().into_any();
        };
        let Ok(resident) = Uuid::parse_str(&id) else {
            return not_found(locale);
        };
        let screen = match views::detail_screen(
            &state.pool,
            &viewer,
            resident,
            &state.deployment.residents.sensitive_needs,
        )
        .await
        {
            Ok(s) => s,
            Err(ResidentError::NotFound | ResidentError::Merged(_)) => return not_found(locale),
            Err(ResidentError::Denied) => {
                set_status(403);
                return view! { <p>{tr!(locale, err_denied)}</p> }.into_any();
            }
            Err(_) => return unavailable(locale),
        };
        let own_org = viewer.organization_id;
        let activity = screen
            .activity
            .iter()
            .map(|a| activity_card(locale, a, own_org, false))
            .collect_view();
        let header = match &screen.access {
            ResidentAccess::Full { resident: r, .. } => view! {
                <h1 class="page-title">{r.name.clone()}</h1>
                <dl class="facts mt-2">
                    <dt>{tr!(locale, date_of_birth_label)}</dt><dd>{r.date_of_birth.map(|d| birth_date(&d)).unwrap_or_default()}</dd>
                    <dt>{tr!(locale, phone_label)}</dt><dd>{r.phone.clone().unwrap_or_default()}</dd>
                    <dt>{tr!(locale, email_label)}</dt><dd>{r.email.clone().unwrap_or_default()}</dd>
                    {(!r.at_risk).then(|| r.address.clone()).flatten().map(|a| view! { <dt>{tr!(locale, address_label)}</dt><dd>{a}</dd> })}
                </dl>
            }.into_any(),
            limited => view! { <h1 class="page-title">{limited.first_name()}</h1> }.into_any(),
        };
        let household = screen.household.iter().map(|m| view! {
            <li>{format!("{} · {}", m.name, m.relationship)}{m.date_of_birth.map(|d| format!(" · {}", birth_date(&d)))}</li>
        }).collect_view();
        view! {
            {header}
            {(!screen.household.is_empty()).then(|| view! {
                <h2 class="section-title">{tr!(locale, household_title)}</h2>
                <ul class="list-disc pl-5">{household}</ul>
            })}
            <h2 class="section-title">{tr!(locale, activity_title)}</h2>
            <ul class="stack mt-2">{activity}</ul>
            <p class="mt-4 text-sm">{tr!(locale, printed_on, date = date(&chrono::Utc::now()))}</p>
            <div class="button-row mt-4 no-print">
                <PrintButton label=tr!(locale, print_summary_button) />
                <a class="link" href=format!("/residents/{resident}")>{tr!(locale, back_to_resident)}</a>
            </div>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, resident_summary_title) />
        <Meta name="robots" content="noindex" />
        <div class="page narrow print-sheet">
            {loaded(content)}
        </div>
    }
}

/// "Save" and "Connect" on a program page, for residents and people signed out (server-rendered;
/// partners see "Refer someone" instead).
pub fn plan_buttons(locale: Locale, program: Uuid, organization: String) -> Option<impl IntoView> {
    let viewer = crate::web::request().viewer;
    let role = viewer
        .as_ref()
        .map_or(crate::policy::Role::Anonymous, |v| v.effective_role());
    if !crate::policy::allows(role, crate::policy::Action::UsePlan) {
        return None;
    }
    let just_saved = query("saved").is_some();
    let state = async move {
        let pool = &AppState::get().pool;
        let saved = match &viewer {
            Some(v) => store::saved(pool, v.user_id).await.unwrap_or_default(),
            None => match leptos_axum::extract::<crate::identity::accounts::AuthSession>().await {
                Ok(auth) => auth
                    .session
                    .get::<Vec<Uuid>>(super::actions::SAVED)
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_default(),
                Err(_) => Vec::new(),
            },
        };
        let is_saved = saved.contains(&program);
        let save = if is_saved {
            view! {
                <p class="mt-4 no-print" data-testid="saved">
                    {just_saved.then(|| view! { <span role="status">{tr!(locale, saved_notice)}" "</span> })}
                    <span class="badge badge-partner">{tr!(locale, saved_badge)}</span>" "
                    <a class="link" href="/my-plan">{tr!(locale, see_my_plan)}</a>
                </p>
            }
            .into_any()
        } else {
            view! {
                <form class="mt-4 no-print" method="post" action="/fn/save_program">
                    <input type="hidden" name="program_id" value=program.to_string() />
                    <button class="button-secondary w-full sm:w-auto" type="submit">{tr!(locale, save_button)}</button>
                </form>
            }
            .into_any()
        };
        let connect = match &viewer {
            Some(v) if v.resident_id.is_some() => Some(view! {
                <form class="mt-2 no-print stack" method="post" action="/fn/connect_to_program">
                    <input type="hidden" name="program_id" value=program.to_string() />
                    <label class="choice">
                        <input type="checkbox" name="share" value="yes" />
                        <span>{tr!(locale, connect_share_label, organization = organization.clone())}</span>
                    </label>
                    <button class="button-primary w-full sm:w-auto" type="submit">{tr!(locale, connect_button)}</button>
                </form>
            }.into_any()),
            Some(_) => Some(view! {
                <p class="mt-2 no-print"><a class="link" href="/my-plan/link">{tr!(locale, connect_set_up_first)}</a></p>
            }.into_any()),
            None => None,
        };
        view! { {save} {connect} }
    };
    Some(loaded(state))
}

fn plan_status(locale: Locale, status: &str) -> String {
    status_label(locale, status)
}

/// `/my-plan`: what the resident saved, their referrals with each status and outcome, who
/// holds their consent (and a way to take it back), and who opened their data. Signed out:
/// the programs saved in this browser, and a way to sign in and keep them.
#[component]
pub fn MyPlanPage() -> impl IntoView {
    let locale = crate::language::current();
    let viewer = crate::web::request().viewer;
    let done = query("done").and_then(|d| {
        Some(match d.as_str() {
            "removed" => tr!(locale, done_plan_removed),
            "connected" => tr!(locale, done_connected),
            "revoked" => tr!(locale, done_revoked),
            "linked" => tr!(locale, done_linked),
            "record_created" => tr!(locale, done_record_created),
            "assessment_saved" => tr!(locale, done_assessment_saved),
            _ => return None,
        })
    });
    let content = async move {
        let state = AppState::get();
        let public_url = state.deployment.site.public_url.clone();
        let plan = match &viewer {
            Some(v) => match views::my_plan(&state.pool, v).await {
                Ok(plan) => Some(plan),
                Err(_) => return unavailable(locale),
            },
            None => None,
        };
        let saved = match &plan {
            Some(p) => p.saved.clone(),
            None => {
                let ids: Vec<Uuid> =
                    match leptos_axum::extract::<crate::identity::accounts::AuthSession>().await {
                        Ok(auth) => auth
                            .session
                            .get(super::actions::SAVED)
                            .await
                            .ok()
                            .flatten()
                            .unwrap_or_default(),
                        Err(_) => Vec::new(),
                    };
                crate::directory::store::program_summaries(&state.pool, &ids)
                    .await
                    .unwrap_or_default()
            }
        };
        let linked = plan.as_ref().is_some_and(|p| p.resident.is_some());
        let share_text = saved
            .iter()
            .map(|p| format!("{} — {}/programs/{}", p.name, public_url, p.program_id))
            .collect::<Vec<_>>()
            .join("\n");
        let saved_items = saved.iter().map(|p| {
            let phone = p.phone.as_ref().and_then(|v| v.get("number")).and_then(|n| n.as_str()).map(str::to_string);
            view! {
                <li class="card">
                    <a class="card-title" href=format!("/programs/{}", p.program_id)>{p.name.clone()}</a>
                    <p class="text-sm">{p.organization.clone()}</p>
                    <div class="button-row mt-2 no-print">
                        {phone.map(|n| {
                            let digits: String = n.chars().filter(|c| c.is_ascii_digit()).collect();
                            view! { <a class="call-link" href=format!("tel:{digits}")>{tr!(locale, call_number, number = n.clone())}</a> }
                        })}
                        <form method="post" action="/fn/unsave_program">
                            <input type="hidden" name="program_id" value=p.program_id.to_string() />
                            <button class="button-secondary" type="submit">{tr!(locale, remove_from_plan)}<span class="sr-only">{format!(": {}", p.name)}</span></button>
                        </form>
                    </div>
                </li>
            }
        }).collect_view();
        let saved_section = view! {
            <section id="saved" class="mt-6">
                <h2 class="section-title">{tr!(locale, plan_saved_title)}</h2>
                {saved.is_empty().then(|| view! { <p class="mt-2">{tr!(locale, plan_saved_none)}" "<a class="link" href="/">{tr!(locale, link_find_services)}</a></p> })}
                <ul class="stack mt-2">{saved_items}</ul>
                {(!saved.is_empty()).then(|| view! {
                    <p class="button-row mt-2 no-print">
                        <a class="link" href=format!("sms:?&body={}", crate::identity::urlencode(&share_text))>{tr!(locale, share_by_text)}</a>
                        <a class="link" href=format!("mailto:?subject={}&body={}", crate::identity::urlencode(&tr!(locale, plan_share_subject)), crate::identity::urlencode(&share_text))>{tr!(locale, share_by_email)}</a>
                    </p>
                })}
            </section>
        };
        let Some(plan) = plan else {
            return view! {
                <p class="mt-2">{tr!(locale, plan_signed_out_intro)}</p>
                <p class="mt-2"><a class="button-primary" href="/sign-in?next=/my-plan">{tr!(locale, plan_sign_in_button)}</a></p>
                {saved_section}
            }
            .into_any();
        };
        let referrals = plan.referrals.iter().map(|a| {
            let events = a.events.iter().map(|e| event_item(locale, e, false)).collect_view();
            let outcome = a.outcome_reason.clone().filter(|_| a.status != "resource_provided").map(|r| format!(" · {}", reason_label(locale, &r)));
            let from = a.from_organization_name.clone().unwrap_or_else(|| tr!(locale, plan_you_asked));
            view! {
                <li class="card">
                    <p class="card-title no-underline">{a.program.clone()}</p>
                    <p class="text-sm">{tr!(locale, plan_referral_line, to = a.to_organization_name.clone(), from = from, date = date(&a.created_at))}</p>
                    <p class="text-sm"><span class="badge">{plan_status(locale, &a.status)}</span>{outcome}</p>
                    <details class="mt-2">
                        <summary class="link">{tr!(locale, referral_history)}</summary>
                        <ol class="timeline mt-2">{events}</ol>
                    </details>
                </li>
            }
        }).collect_view();
        let holdings = plan.holdings.iter().map(|h| view! {
            <li class="card">
                <p class="font-semibold">{h.organization.clone()}</p>
                <p class="text-sm">{tr!(locale, holding_line, scope = scope_label(locale, &h.scope), date = date(&h.since), channel = channel_label(locale, &h.channel))}
                    {h.proxy_name.clone().map(|p| format!(" · {}", tr!(locale, holding_proxy, name = p)))}</p>
                <form class="mt-2 no-print" method="post" action="/fn/revoke_consent">
                    <input type="hidden" name="organization_id" value=h.organization_id.to_string() />
                    <button class="button-danger" type="submit">{tr!(locale, revoke_button, organization = h.organization.clone())}</button>
                </form>
            </li>
        }).collect_view();
        let disclosures = plan.disclosures.iter().map(|d| {
            let who = d.organization.clone().unwrap_or_else(|| match d.role.as_deref() {
                Some("referral_specialist") => tr!(locale, who_united_way),
                Some("state_admin") => tr!(locale, who_state),
                Some(r) if r.starts_with("system:") => tr!(locale, who_system),
                _ => tr!(locale, who_someone),
            });
            view! {
                <tr>
                    <td data-label=tr!(locale, disclosure_when)>{date_time(&d.at)}</td>
                    <td data-label=tr!(locale, disclosure_who)>{who}</td>
                    <td data-label=tr!(locale, disclosure_why)>{Purpose::label(&d.purpose, locale)}</td>
                    <td data-label=tr!(locale, disclosure_what)>{shown_words(locale, &d.shown)}</td>
                </tr>
            }
        }).collect_view();
        view! {
            {(!linked).then(|| view! {
                <div class="card mt-4">
                    <p>{tr!(locale, plan_link_intro)}</p>
                    <p class="mt-2"><a class="button-primary" href="/my-plan/link">{tr!(locale, plan_link_button)}</a></p>
                </div>
            })}
            {saved_section}
            {crate::assessments::pages::plan_section(locale, &plan.assessments, &plan.indicators)}
            {linked.then(|| view! {
                <section id="referrals" class="mt-6">
                    <h2 class="section-title">{tr!(locale, plan_referrals_title)}</h2>
                    {plan.referrals.is_empty().then(|| view! { <p class="mt-2">{tr!(locale, plan_referrals_none)}</p> })}
                    <ul class="stack mt-2">{referrals}</ul>
                </section>
                <section id="consent" class="mt-6">
                    <h2 class="section-title">{tr!(locale, plan_consent_title)}</h2>
                    <p class="mt-1 text-sm">{tr!(locale, plan_consent_intro)}</p>
                    {plan.holdings.is_empty().then(|| view! { <p class="mt-2">{tr!(locale, plan_consent_none)}</p> })}
                    <ul class="stack mt-2">{holdings}</ul>
                </section>
                <section id="disclosures" class="mt-6">
                    <h2 class="section-title">{tr!(locale, plan_disclosures_title)}</h2>
                    <p class="mt-1 text-sm">{tr!(locale, plan_disclosures_intro)}</p>
                    {plan.disclosures.is_empty().then(|| view! { <p class="mt-2">{tr!(locale, plan_disclosures_none)}</p> })}
                    {(!plan.disclosures.is_empty()).then(|| view! {
                        <div class="table-wrap mt-2">
                            <table class="data-table stacked">
                                <thead><tr>
                                    <th scope="col">{tr!(locale, disclosure_when)}</th>
                                    <th scope="col">{tr!(locale, disclosure_who)}</th>
                                    <th scope="col">{tr!(locale, disclosure_why)}</th>
                                    <th scope="col">{tr!(locale, disclosure_what)}</th>
                                </tr></thead>
                                <tbody>{disclosures}</tbody>
                            </table>
                        </div>
                    })}
                </section>
            })}
            <div class="button-row mt-6 no-print">
                <PrintButton label=tr!(locale, print_plan_button) />
            </div>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, my_plan_title) />
        <Meta name="robots" content="noindex" />
        <div class="page narrow print-sheet">
            <h1 class="page-title">{tr!(locale, my_plan_title)}</h1>
            <Notice text=done />
            <FormAlert />
            {loaded(content)}
        </div>
    }
}

/// What an opening showed, in the resident's words.
fn shown_words(locale: Locale, shown: &str) -> String {
    match shown {
        "profile and sensitive needs" => tr!(locale, shown_profile_sensitive),
        "profile" => tr!(locale, shown_profile),
        "first name and contact" => tr!(locale, shown_first_name_contact),
        "first name, initial and year of birth" => tr!(locale, shown_glimpse),
        _ => tr!(locale, shown_sealed_needs),
    }
}

/// `/my-plan/link`: a resident's account joins their record only after they prove a phone or
/// e-mail already on it (a one-time code) — or they start a new record of their own.
#[component]
pub fn LinkRecordPage() -> impl IntoView {
    let locale = crate::language::current();
    let code_step = query("step").as_deref() == Some("code");
    let viewer = crate::web::request().viewer;
    let linked = viewer.as_ref().is_some_and(|v| v.resident_id.is_some());
    let body = if linked {
        view! { <p class="mt-2">{tr!(locale, link_already)}" "<a class="link" href="/my-plan">{tr!(locale, see_my_plan)}</a></p> }.into_any()
    } else if code_step {
        view! {
            <p class="mt-2">{tr!(locale, link_code_sent)}</p>
            <form class="stack mt-4" method="post" action="/fn/finish_link">
                <label class="form-field"><span class="field-label">{tr!(locale, code_label)}</span>
                    <input class="field w-full" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="12" required /></label>
                <button class="button-primary" type="submit">{tr!(locale, link_confirm_button)}</button>
            </form>
            <p class="mt-4"><a class="link" href="/my-plan/link">{tr!(locale, link_try_other)}</a></p>
        }
        .into_any()
    } else {
        view! {
            <p class="mt-2">{tr!(locale, link_intro)}</p>
            <form class="stack mt-4" method="post" action="/fn/start_link">
                <label class="form-field"><span class="field-label">{tr!(locale, link_contact_label)}</span>
                    <span class="hint" id="link-hint">{tr!(locale, link_contact_hint)}</span>
                    <input class="field w-full" name="contact" maxlength="254" autocomplete="tel" required aria-describedby="link-hint" /></label>
                <button class="button-primary" type="submit">{tr!(locale, link_send_button)}</button>
            </form>
            <h2 class="section-title">{tr!(locale, own_record_title)}</h2>
            <p class="mt-1">{tr!(locale, own_record_intro)}</p>
            <form class="stack mt-2" method="post" action="/fn/create_own_record">
                <label class="form-field"><span class="field-label">{tr!(locale, phone_label)}</span>
                    <input class="field w-full" type="tel" name="phone" maxlength="40" autocomplete="tel" /></label>
                <label class="form-field"><span class="field-label">{tr!(locale, preferred_contact_label)}</span>
                    <select class="field w-full" name="preferred_contact">
                        {ContactMethod::ALL.into_iter().map(|m| view! { <option value=m.as_str() selected=m == ContactMethod::Email>{m.label(locale)}</option> }).collect_view()}
                    </select></label>
                <label class="form-field"><span class="field-label">{tr!(locale, preferred_language_label)}</span>
                    <select class="field w-full" name="preferred_language">
                        <option value="en" selected=locale == Locale::en>"English"</option>
                        <option value="es" selected=locale == Locale::es>"Español"</option>
                    </select></label>
                <button class="button-secondary" type="submit">{tr!(locale, own_record_button)}</button>
            </form>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, link_title) />
        <Meta name="robots" content="noindex" />
        <div class="page narrow">
            <p><a class="link" href="/my-plan">{tr!(locale, back_to_plan)}</a></p>
            <h1 class="page-title mt-2">{tr!(locale, link_title)}</h1>
            <FormAlert />
            {body}
        </div>
    }
}

/// `/consent/:token`: the resident reads what an organization asks to see, in their language,
/// and says yes (with a one-time code sent to the same phone or address) or no. No account.
#[component]
pub fn ConsentRequestPage() -> impl IntoView {
    let page_locale = crate::language::current();
    let token = param("token");
    let done = query("done");
    let sent = query("sent").is_some();
    let content = async move {
        let state = AppState::get();
        let request = consent::request_by_token(&state.pool, token.trim()).await;
        let Ok(request) = request else {
            return unavailable(page_locale);
        };
        let locale = match &request {
            Some(r) if r.language == "es" => Locale::es,
            Some(_) => Locale::en,
            None => page_locale,
        };
        let lang = if locale == Locale::es { "es" } else { "en" };
        let organization = request
            .as_ref()
            .map(|r| r.organization.clone())
            .unwrap_or_default();
        match done.as_deref() {
            Some("granted") => {
                return view! { <div lang=lang><p class="alert alert-success" role="status">{tr!(locale, consent_granted_thanks, organization = organization)}</p>
                    <p class="mt-2">{tr!(locale, consent_take_back_any_time, phone = state.deployment.site.help_phone.clone())}</p></div> }.into_any()
            }
            Some("declined") => {
                return view! { <div lang=lang><p class="alert alert-success" role="status">{tr!(locale, consent_declined_thanks, organization = organization)}</p></div> }.into_any()
            }
            _ => {}
        }
        let r = match consent::answerable(request) {
            Ok(r) => r,
            Err(ResidentError::AlreadyDone) => return view! { <p class="mt-2" lang=lang>{tr!(locale, consent_request_answered)}</p> }.into_any(),
            Err(_) => {
                set_status(404);
                return view! { <p class="mt-2" lang=lang>{tr!(locale, consent_request_gone, phone = state.deployment.site.help_phone.clone())}</p> }.into_any();
            }
        };
        let scope = Scope::parse(&r.scope).unwrap_or(Scope::Profile);
        let text = consent::text(
            &state.deployment.residents.consent_text_version,
            scope,
            locale,
            &r.organization,
        )
        .unwrap_or_default();
        let (title, blocks) = consent::text_blocks(&text);
        let blocks = consent_blocks(blocks);
        let where_to = if r.channel == "email" {
            tr!(locale, consent_code_to_email)
        } else {
            tr!(locale, consent_code_to_phone)
        };
        let token_value = token.trim().to_string();
        let yes_form = if r.code_sent {
            view! {
                {sent.then(|| view! { <p class="alert alert-success" role="status">{tr!(locale, consent_code_sent, to = where_to.clone())}</p> })}
                <form class="stack mt-4" method="post" action="/fn/answer_consent">
                    <input type="hidden" name="token" value=token_value.clone() />
                    <input type="hidden" name="answer" value="yes" />
                    <label class="form-field"><span class="field-label">{tr!(locale, consent_code_label)}</span>
                        <input class="field w-full" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="12" required /></label>
                    <button class="button-primary" type="submit">{tr!(locale, consent_yes_button)}</button>
                </form>
                <form class="mt-2" method="post" action="/fn/send_consent_code">
                    <input type="hidden" name="token" value=token_value.clone() />
                    <button class="button-secondary" type="submit">{tr!(locale, consent_resend_code)}</button>
                </form>
            }.into_any()
        } else {
            view! {
                <form class="mt-4" method="post" action="/fn/send_consent_code">
                    <input type="hidden" name="token" value=token_value.clone() />
                    <p>{tr!(locale, consent_code_explain, to = where_to.clone())}</p>
                    <button class="button-primary mt-2" type="submit">{tr!(locale, consent_send_code_button)}</button>
                </form>
            }.into_any()
        };
        view! {
            <div lang=lang>
                <h2 class="section-title mt-0">{title}</h2>
                <div class="prose-text">{blocks}</div>
                {yes_form}
                <form class="mt-6" method="post" action="/fn/answer_consent">
                    <input type="hidden" name="token" value=token_value />
                    <input type="hidden" name="answer" value="no" />
                    <button class="button-secondary" type="submit">{tr!(locale, consent_no_button, organization = r.organization.clone())}</button>
                </form>
            </div>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(page_locale, consent_request_title) />
        <Meta name="robots" content="noindex" />
        <Meta name="referrer" content="no-referrer" />
        <div class="page narrow">
            <h1 class="page-title">{tr!(page_locale, consent_request_title)}</h1>
            <FormAlert />
            {loaded(content)}
        </div>
    }
}

/// `/united-way/duplicates`: records that may be one person, side by side, to merge after
/// review; recent merges, each undoable.
#[component]
pub fn DuplicatesPage() -> impl IntoView {
    let locale = crate::language::current();
    let viewer = crate::web::request().viewer;
    let done = query("done").map(|d| {
        if d == "unmerged" {
            tr!(locale, done_unmerged)
        } else {
            tr!(locale, done_merged)
        }
    });
    let content = async move {
        let state = AppState::get();
        let Some(viewer) = viewer else {
            return ().into_any();
        };
        let (Ok(pairs), Ok(merges)) = (
            store::suspected_duplicates(&state.pool).await,
            store::merges(&state.pool).await,
        ) else {
            return unavailable(locale);
        };
        let ids: Vec<Uuid> = pairs.iter().flat_map(|p| [p.a, p.b]).collect();
        let Ok(opened) = gate::open_many(
            &state.pool,
            &Principal::Person(viewer),
            &ids,
            Purpose::DuplicateReview,
        )
        .await
        else {
            return unavailable(locale);
        };
        let record = |id: Uuid| {
            match opened.get(&id) {
            Some(ResidentAccess::Full { resident: r, .. }) => view! {
                <dl class="facts">
                    <dt>{tr!(locale, name_label)}</dt><dd>{r.name.clone()}</dd>
                    <dt>{tr!(locale, date_of_birth_label)}</dt><dd>{r.date_of_birth.map(|d| birth_date(&d)).unwrap_or_default()}</dd>
                    <dt>{tr!(locale, phone_label)}</dt><dd>{r.phone.clone().unwrap_or_default()}</dd>
                    <dt>{tr!(locale, email_label)}</dt><dd class="break-all">{r.email.clone().unwrap_or_default()}</dd>
                </dl>
            }.into_any(),
            _ => view! { <p>{tr!(locale, err_denied)}</p> }.into_any(),
        }
        };
        let rows = pairs.iter().filter(|p| opened.contains_key(&p.a) && opened.contains_key(&p.b)).map(|p| {
            let why = match p.reason.as_str() {
                "phone" => tr!(locale, matched_on_phone),
                "email" => tr!(locale, matched_on_email),
                _ => tr!(locale, matched_on_name_and_birth_date),
            };
            view! {
                <li class="card">
                    <p class="text-sm font-semibold">{why}</p>
                    <div class="two-columns mt-2">
                        <div><h3 class="font-semibold">{tr!(locale, record_first)}</h3>{record(p.a)}</div>
                        <div><h3 class="font-semibold">{tr!(locale, record_second)}</h3>{record(p.b)}</div>
                    </div>
                    <form class="stack mt-2" method="post" action="/fn/merge_residents">
                        <input type="hidden" name="first" value=p.a.to_string() />
                        <input type="hidden" name="second" value=p.b.to_string() />
                        <label class="form-field"><span class="field-label">{tr!(locale, merge_reason_label)}</span>
                            <input class="field w-full" name="reason" required maxlength="2000" /></label>
                        <div class="button-row">
                            <button class="button-secondary" type="submit" name="keep" value="first">{tr!(locale, merge_keep_first)}</button>
                            <button class="button-secondary" type="submit" name="keep" value="second">{tr!(locale, merge_keep_second)}</button>
                        </div>
                    </form>
                </li>
            }
        }).collect_view();
        let history = merges.iter().map(|m| view! {
            <li class="card">
                <p class="text-sm">{tr!(locale, merge_line, date = date_time(&m.merged_at), reason = m.reason.clone())}</p>
                {match m.undone_at {
                    Some(at) => view! { <p class="text-sm">{tr!(locale, merge_undone_on, date = date_time(&at))}</p> }.into_any(),
                    None => view! {
                        <form class="mt-1" method="post" action="/fn/undo_merge">
                            <input type="hidden" name="merge_id" value=m.id.to_string() />
                            <button class="button-secondary" type="submit">{tr!(locale, undo_merge_button)}</button>
                        </form>
                    }.into_any(),
                }}
            </li>
        }).collect_view();
        view! {
            {pairs.is_empty().then(|| view! { <p class="mt-4">{tr!(locale, duplicates_none)}</p> })}
            <ul class="stack mt-4">{rows}</ul>
            <h2 class="section-title">{tr!(locale, merges_title)}</h2>
            {merges.is_empty().then(|| view! { <p class="mt-2">{tr!(locale, merges_none)}</p> })}
            <ul class="stack mt-2">{history}</ul>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, duplicates_title) />
        <Meta name="robots" content="noindex" />
        <div class="page wide">
            <h1 class="page-title">{tr!(locale, duplicates_title)}</h1>
            <p class="mt-1">{tr!(locale, duplicates_intro)}</p>
            <Notice text=done />
            <FormAlert />
            {loaded(content)}
        </div>
    }
}
