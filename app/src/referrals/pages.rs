//! Referral pages: put a referral together, the resident's printable summary, the inbox and
//! outbox, and a referral's own page with only the moves its status allows.

use super::status::{next, ContactResult, Move, NotProvidedReason, Status};
use super::store::{self, Tab};
use super::summary::{self, NextStep, SummaryItem};
use super::BASKET;
use crate::directory::categories::CategoryTree;
use crate::forms::{date, date_time, field_error, kept_value, loaded, query, FormAlert, Notice};
use crate::i18n::*;
use crate::identity::accounts::AuthSession;
use crate::layout::set_status;
use crate::residents::{gate, ContactMethod, Principal, Purpose, ResidentAccess};
use crate::state::AppState;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

pub fn status_label(locale: Locale, status: &str) -> String {
    match Status::parse(status) {
        Some(Status::Sent) => tr!(locale, status_sent),
        Some(Status::Accepted) => tr!(locale, status_accepted),
        Some(Status::InProgress) => tr!(locale, status_in_progress),
        Some(Status::Declined) => tr!(locale, status_declined),
        Some(Status::ResourceProvided) => tr!(locale, status_resource_provided),
        Some(Status::ResourceNotProvided) => tr!(locale, status_resource_not_provided),
        Some(Status::Cancelled) | None => tr!(locale, status_cancelled),
    }
}

pub fn not_provided_label(locale: Locale, reason: NotProvidedReason) -> String {
    match reason {
        NotProvidedReason::UnableToReach => tr!(locale, reason_unable_to_reach),
        NotProvidedReason::GotHelpElsewhere => tr!(locale, reason_got_help_elsewhere),
        NotProvidedReason::OutsideServiceArea => tr!(locale, reason_outside_service_area),
        NotProvidedReason::NotEligible => tr!(locale, reason_not_eligible),
        NotProvidedReason::NoCapacity => tr!(locale, reason_no_capacity),
        NotProvidedReason::ResidentDeclined => tr!(locale, reason_resident_declined),
        NotProvidedReason::Other => tr!(locale, reason_other),
    }
}

/// A stored reason in words: a not-provided reason's label, or the words someone wrote.
pub fn reason_label(locale: Locale, reason: &str) -> String {
    NotProvidedReason::parse(reason)
        .map(|r| not_provided_label(locale, r))
        .unwrap_or_else(|| reason.to_string())
}

/// A link that calls, texts or writes to a resident the way they asked.
pub fn contact_link(locale: Locale, method: ContactMethod, address: &str) -> AnyView {
    let digits: String = address.chars().filter(|c| c.is_ascii_digit()).collect();
    if address.contains('@') {
        view! { <a class="link break-all" href=format!("mailto:{address}")>{format!("{} {address}", tr!(locale, write_email_link))}</a> }.into_any()
    } else if address.is_empty() {
        ().into_any()
    } else if method == ContactMethod::Text {
        view! { <span class="button-row"><a class="call-link" href=format!("sms:+1{digits}")>{format!("{} {address}", tr!(locale, send_text_link))}</a>
            <a class="call-link" href=format!("tel:+1{digits}")>{tr!(locale, call_link)}</a></span> }.into_any()
    } else {
        view! { <a class="call-link" href=format!("tel:+1{digits}")>{format!("{} {address}", tr!(locale, call_link))}</a> }.into_any()
    }
}

/// "es" → "Spanish".
pub fn language_label(locale: Locale, code: &str) -> String {
    match code {
        "es" => tr!(locale, language_es),
        "en" => tr!(locale, language_en),
        other => other.to_string(),
    }
}

pub fn need_name(locale: Locale, need: &str) -> String {
    CategoryTree::get()
        .name(need, locale)
        .unwrap_or(need)
        .to_string()
}

/// "Not on Wraparound yet — United Way will follow up", where the sender must know it.
#[component]
pub fn NotOnWraparound() -> impl IntoView {
    let locale = crate::language::current();
    view! { <span class="badge badge-warning">{tr!(locale, not_on_wraparound)}</span> }
}

/// Every subcategory as an `<option>`, grouped under its category.
fn need_options(locale: Locale, selected: &str) -> impl IntoView {
    CategoryTree::get()
        .categories
        .iter()
        .map(|c| {
            let label = if locale == Locale::es {
                c.es.clone()
            } else {
                c.en.clone()
            };
            let subs = c
                .sub
                .iter()
                .map(|s| {
                    let name = if locale == Locale::es {
                        s.es.clone()
                    } else {
                        s.en.clone()
                    };
                    view! { <option value=s.id.clone() selected=s.id == selected>{name}</option> }
                })
                .collect_view();
            view! { <optgroup label=label>{subs}</optgroup> }
        })
        .collect_view()
}

fn param(name: &str) -> String {
    use_params_map()
        .with_untracked(|p| p.get(name))
        .unwrap_or_default()
}

/// The programs in the referral being put together (from the session).
pub async fn basket_ids() -> Vec<Uuid> {
    match leptos_axum::extract::<AuthSession>().await {
        Ok(auth) => auth
            .session
            .get(BASKET)
            .await
            .ok()
            .flatten()
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// The resident the referral being put together is for, kept in the session while the partner
/// finds programs: `?resident=<id>` sets it (from their detail screen), `?resident=none` clears it.
async fn refer_for(param: Option<&str>) -> Option<Uuid> {
    let auth = leptos_axum::extract::<AuthSession>().await.ok()?;
    match param {
        Some("none") => {
            let _ = auth.session.remove::<Uuid>(super::REFER_FOR).await;
            None
        }
        Some(id) => {
            let id = Uuid::parse_str(id).ok()?;
            auth.session.insert(super::REFER_FOR, id).await.ok()?;
            Some(id)
        }
        None => auth.session.get(super::REFER_FOR).await.ok().flatten(),
    }
}

/// `/referrals/new`: the programs gathered so far (each removable, each marked when its
/// organization is not on Wraparound), the resident, each program's need, consent. A form that
/// comes back with a problem keeps what was typed and says what is wrong next to the field.
#[component]
pub fn NewReferralPage() -> impl IntoView {
    let locale = crate::language::current();
    let viewer = crate::web::request().viewer;
    let resident_param = query("resident");
    // "Refer" from a need on the detail screen: that need, and programs that meet it.
    let need_param = query("need").filter(|n| CategoryTree::get().sub(n).is_some());
    let content = async move {
        let state = AppState::get();
        let Some(viewer) = viewer else {
            return ().into_any();
        };
        let kept = crate::web::take_kept("new_referral").await;
        let refer_for = refer_for(resident_param.as_deref()).await;
        let ids = basket_ids().await;
        let principal = Principal::Person(viewer.clone());
        // The resident this referral is for, when the partner started from their screen.
        let chosen = match refer_for {
            Some(id) => gate::open(&state.pool, &principal, id, Purpose::NewReferral)
                .await
                .ok(),
            None => None,
        };
        if ids.is_empty() {
            return view! {
                {chosen.as_ref().map(|c| view! { <p class="mt-4">{tr!(locale, referral_for_line, name = c.first_name())}</p> })}
                <p class="mt-4">{tr!(locale, referral_basket_empty)}</p>
                <p class="mt-2"><a class="button-primary" href=need_param.as_ref().map_or("/".to_string(), |n| format!("/search?category={}", crate::directory::query::encode(n)))>{tr!(locale, link_find_services)}</a></p>
            }
            .into_any();
        }
        let programs = crate::directory::store::program_summaries(&state.pool, &ids)
            .await
            .unwrap_or_default();
        // Residents are found by searching (audited), never listed.
        let searched = query("resident_q").filter(|_| chosen.is_none());
        let found = match &searched {
            Some(q) => crate::residents::store::search(
                &state.pool,
                &principal,
                &crate::residents::store::MatchKeys::from_query(q),
            )
            .await
            .unwrap_or_default(),
            None => Default::default(),
        };
        let tree = CategoryTree::get();
        let rows = programs
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let first_sub = p.category_ids.iter().find(|c| tree.sub(c).is_some()).cloned().unwrap_or_default();
                let kept_need = kept.as_ref().and_then(|k| k.value(&format!("needs[{i}]")));
                let selected = kept_need.or_else(|| need_param.clone()).unwrap_or(first_sub);
                let id = format!("need-{i}");
                view! {
                    <li class="card">
                        <p class="card-title no-underline">{p.name.clone()}</p>
                        <p class="text-sm">{p.organization.clone()}</p>
                        {(!p.receiver_onboarded).then(|| view! { <p class="mt-1"><NotOnWraparound /></p> })}
                        <label class="form-field mt-2" for=id.clone()>
                            <span class="field-label">{tr!(locale, referral_need_label)}</span>
                        </label>
                        <select class="field w-full" id=id name=format!("needs[{i}]")>{need_options(locale, &selected)}</select>
                        <button class="button-secondary mt-2" type="submit" formaction="/fn/remove_from_referral"
                            formnovalidate name="program_id" value=p.program_id.to_string()>
                            {tr!(locale, remove_from_referral)}<span class="sr-only">{format!(": {}", p.name)}</span>
                        </button>
                    </li>
                }
            })
            .collect_view();
        let possible = (!found.possible.is_empty()).then(|| {
            let items = found
                .possible
                .iter()
                .map(|m| {
                    let who = crate::residents::pages::glimpse_words(locale, &m.glimpse);
                    view! {
                        <li>{who}" · "<a class="link" href=format!("/residents/{}", m.glimpse.id)>{tr!(locale, ask_for_consent_link)}</a></li>
                    }
                })
                .collect_view();
            view! {
                <div class="alert alert-warning mt-2" role="status">
                    <p>{tr!(locale, possible_matches_intro)}</p>
                    <ul class="list-disc pl-5 mt-1">{items}</ul>
                </div>
            }
        });
        let existing = searched.map(|_| {
            if found.consented.is_empty() {
                return view! { <p class="mt-2">{tr!(locale, referral_no_resident_found)}</p> {possible} }
                    .into_any();
            }
            let options = found
                .consented
                .iter()
                .map(|r| {
                    let label = match r.date_of_birth {
                        Some(d) => format!("{} ({})", r.name, crate::forms::birth_date(&d)),
                        None => r.name.clone(),
                    };
                    view! { <option value=r.id.to_string()>{label}</option> }
                })
                .collect_view();
            view! {
                <label class="form-field">
                    <span class="field-label">{tr!(locale, referral_existing_resident)}</span>
                    <select class="field w-full" name="resident_id">
                        <option value="">{tr!(locale, referral_new_person)}</option>
                        {options}
                    </select>
                </label>
                {possible}
            }
            .into_any()
        });
        let search = chosen.is_none().then(|| view! {
            <form class="filter-row mt-4" method="get" action="/referrals/new">
                <label class="form-field">
                    <span class="field-label">{tr!(locale, referral_find_resident)}</span>
                    <span class="hint" id="resident-q-hint">{tr!(locale, referral_find_resident_hint)}</span>
                    <input class="field w-full" name="resident_q" maxlength="200" autocomplete="off"
                        aria-describedby="resident-q-hint" value=query("resident_q").unwrap_or_default() />
                </label>
                <button class="button-secondary" type="submit">{tr!(locale, search_button)}</button>
            </form>
        });
        view! {
            <FormAlert />
            <p class="mt-2"><a class="link" href="/">{tr!(locale, add_another_program)}</a></p>
            <h2 class="section-title mt-4">{tr!(locale, referral_resident)}</h2>
            {search}
            <form class="stack mt-4" method="post" action="/fn/send_referrals">
                <input type="hidden" name="idempotency_key" value=crate::idempotency::new_key() />
                {match &chosen {
                    Some(c) => view! {
                        <input type="hidden" name="resident_id" value=c.id().to_string() />
                        <p>{tr!(locale, referral_for_line, name = c.first_name())}" "
                            <a class="link" href="/referrals/new?resident=none">{tr!(locale, choose_someone_else)}</a></p>
                    }.into_any(),
                    None => view! {
                        {existing}
                        <fieldset class="form-field">
                            <legend class="field-label">{tr!(locale, referral_new_resident)}</legend>
                            {crate::residents::pages::resident_fields(locale, &kept)}
                        </fieldset>
                    }.into_any(),
                }}
                <h2 class="section-title">{tr!(locale, referral_programs)}</h2>
                <ul class="stack">{rows}</ul>
                <label class="form-field"><span class="field-label">{tr!(locale, referral_note_label)}</span>
                    {field_error(locale, &kept, "note")}
                    <textarea class="field w-full" name="note" rows="3" maxlength="4000">{kept_value(&kept, "note", "")}</textarea></label>
                {chosen.is_none().then(|| view! {
                    <label class="choice">
                        <input type="checkbox" name="consent" value="yes" checked=kept.as_ref().is_some_and(|k| k.value("consent").is_some()) />
                        <span>{tr!(locale, referral_consent_label)}</span>
                    </label>
                })}
                <button class="button-primary" type="submit">{tr!(locale, referral_send_button)}</button>
            </form>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, referral_new_title) />
        <Meta name="robots" content="noindex" />
        <div class="page narrow">
            <h1 class="page-title">{tr!(locale, referral_new_title)}</h1>
            {loaded(content)}
        </div>
    }
}

/// The resident's summary of a batch, built from the directory's current data.
pub async fn summary_items(
    pool: &sqlx::PgPool,
    items: &[store::BatchItem],
    locale: Locale,
) -> Vec<SummaryItem> {
    let mut out = Vec::new();
    for item in items {
        let Ok(p) = crate::directory::store::program(pool, item.program_id, item.service_id).await
        else {
            continue;
        };
        let phone = p.phones.first().map(|ph| ph.number.clone());
        out.push(SummaryItem {
            next: NextStep::for_program(item.receiver_onboarded, phone.is_some()),
            program: p.name.clone(),
            organization: p.organization.name.clone(),
            phone,
            address: p
                .location
                .as_ref()
                .and_then(|l| l.address.as_ref())
                .map(|a| a.one_line()),
            hours: summary::hours_lines(p.hours.as_ref(), locale),
        });
    }
    out
}

fn resident_locale(code: &str) -> Locale {
    if code == "es" {
        Locale::es
    } else {
        Locale::en
    }
}

/// `/referrals/batch/:id`: what was sent, as a summary for the resident — in their language,
/// printable, and sendable to them by text or e-mail as they chose. A batch that is not this
/// organization's (or does not exist) is a plain 404, never a success banner.
#[component]
pub fn BatchPage() -> impl IntoView {
    let locale = crate::language::current();
    let viewer = crate::web::request().viewer;
    let id = param("id");
    let just_sent = query("sent").is_some();
    let sent_to = query("summary");
    let content = async move {
        let state = AppState::get();
        let not_found = || {
            set_status(404);
            view! { <p class="mt-2">{tr!(locale, not_found_body)}</p> }.into_any()
        };
        let (Some(viewer), Ok(batch)) = (viewer, Uuid::parse_str(&id)) else {
            return not_found();
        };
        let org = viewer.organization_id.unwrap_or_default();
        let items = store::batch(&state.pool, batch, org)
            .await
            .unwrap_or_default();
        let Some(first) = items.first() else {
            return not_found();
        };
        let Ok(resident) = gate::open(
            &state.pool,
            &Principal::Person(viewer.clone()),
            first.resident_id,
            Purpose::ReferralSummary(batch),
        )
        .await
        else {
            set_status(503);
            return view! { <p role="alert">{tr!(locale, err_unavailable)}</p> }.into_any();
        };
        let res_locale = resident_locale(resident.language());
        let contact = resident.contact().unwrap_or(ContactMethod::Phone);
        let name = match &resident {
            ResidentAccess::Full { resident, .. } => resident.name.clone(),
            other => other.first_name(),
        };
        let from = viewer.organization_name.clone().unwrap_or_default();
        let help = state.deployment.site.help_phone.clone();
        let summary = summary_items(&state.pool, &items, res_locale).await;
        let cards = summary.iter().zip(&items).map(|(s, item)| {
            let next = summary::next_step_text(res_locale, s, contact, &help);
            view! {
                <li class="card break-words">
                    <p class="card-title no-underline">{s.program.clone()}</p>
                    <p>{s.organization.clone()}</p>
                    {(!item.receiver_onboarded).then(|| view! { <p class="mt-1 no-print"><NotOnWraparound /></p> })}
                    <p class="mt-2"><strong>{tr!(res_locale, summary_next_title)}": "</strong>{next}</p>
                    {s.phone.clone().map(|p| view! { <p class="mt-1"><a class="call-link" href=format!("tel:{}", p.chars().filter(|c| c.is_ascii_digit()).collect::<String>())>{tr!(res_locale, summary_phone_line, phone = p.clone())}</a></p> })}
                    {s.address.clone().map(|a| view! { <p class="mt-1">{a}</p> })}
                    {(!s.hours.is_empty()).then(|| view! {
                        <p class="mt-1 font-semibold">{tr!(res_locale, hours)}</p>
                        <ul class="text-sm">{s.hours.iter().map(|h| view! { <li>{h.clone()}</li> }).collect_view()}</ul>
                    })}
                    <p class="mt-2 text-sm no-print"><a class="link" href=format!("/referrals/{}?from=sent", item.referral_id)>{tr!(locale, referral_title)}</a></p>
                </li>
            }
        }).collect_view();
        let first_name = resident.first_name();
        let how = summary::contact_words(locale, contact);
        let send = match contact {
            ContactMethod::Phone => view! { <p class="mt-2 no-print">{tr!(locale, summary_prefers_calls, name = first_name.clone())}</p> }.into_any(),
            _ => view! {
                <form class="mt-4 no-print" method="post" action="/fn/send_referral_summary">
                    <input type="hidden" name="batch_id" value=batch.to_string() />
                    <button class="button-secondary" type="submit">{tr!(locale, summary_send_button, name = first_name.clone(), how = how.clone())}</button>
                </form>
            }.into_any(),
        };
        let sent_notice = sent_to.map(|result| match result.as_str() {
            "opted_out" => view! { <div class="alert alert-warning mt-4" role="status">{tr!(locale, summary_not_sent_opted_out, name = first_name.clone())}</div> }.into_any(),
            _ => view! { <div class="alert alert-success mt-4" role="status">{tr!(locale, summary_sent_notice, name = first_name.clone(), how = how.clone())}</div> }.into_any(),
        });
        view! {
            {just_sent.then(|| view! { <div class="no-print"><Notice text=Some(tr!(locale, referral_sent_notice)) /></div> })}
            {sent_notice}
            <FormAlert />
            <p class="mt-2 text-sm no-print">{tr!(locale, summary_language_note, language = language_label(locale, resident.language()))}</p>
            <section class="mt-4" lang=if res_locale == Locale::es { "es" } else { "en" }>
                <h2 class="section-title mt-0">{tr!(res_locale, summary_heading)}</h2>
                <p class="mt-1">{tr!(res_locale, summary_for, name = name, from = from)}</p>
                <ul class="stack mt-4">{cards}</ul>
                <p class="mt-4">{tr!(res_locale, summary_text_help, help = help)}</p>
            </section>
            <div class="button-row mt-4 no-print">
                <crate::directory::islands::PrintButton label=tr!(locale, print_summary_button) />
            </div>
            {send}
            <p class="mt-4 no-print"><a class="link" href="/referrals/sent">{tr!(locale, link_sent)}</a></p>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, referral_summary_title) />
        <Meta name="robots" content="noindex" />
        <div class="page narrow print-sheet">
            <h1 class="page-title no-print">{tr!(locale, referral_summary_title)}</h1>
            {loaded(content)}
        </div>
    }
}

/// The inbox (`/referrals/inbox`) and the outbox (`/referrals/sent`).
#[component]
fn ReferralList(inbox: bool) -> impl IntoView {
    let locale = crate::language::current();
    let viewer = crate::web::request().viewer;
    let tab = Tab::parse(&query("status").unwrap_or_default());
    let need = query("need").filter(|n| CategoryTree::get().exists(n));
    let age = query("older_than")
        .and_then(|d| d.parse::<i32>().ok())
        .filter(|d| (1..=3650).contains(d));
    let page = query("page")
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=10_000).contains(p))
        .unwrap_or(1);
    let (base, from) = if inbox {
        ("/referrals/inbox", "inbox")
    } else {
        ("/referrals/sent", "sent")
    };
    let content = async move {
        let state = AppState::get();
        let Some(viewer_for_names) = viewer else {
            return ().into_any();
        };
        let Some(org) = viewer_for_names.organization_id else {
            return ().into_any();
        };
        // The tab counts and the page's rows are independent reads: run them at once.
        let (tab_counts, rows) = tokio::join!(
            store::tab_counts(&state.pool, org, inbox, need.as_deref(), age),
            store::list(
                &state.pool,
                org,
                inbox,
                Some(tab),
                need.as_deref(),
                age,
                (page - 1) * store::PAGE
            )
        );
        let (new, in_progress, closed) = tab_counts.unwrap_or_default();
        let counts = [
            (Tab::New, new),
            (Tab::InProgress, in_progress),
            (Tab::Closed, closed),
        ];
        // The tab's count is the list's total: no second count query.
        let total = counts
            .iter()
            .find(|(t, _)| *t == tab)
            .map_or(0, |(_, n)| *n);
        let Ok(rows) = rows else {
            set_status(503);
            return view! { <p role="alert">{tr!(locale, err_unavailable)}</p> }.into_any();
        };
        // First names come through the residents gate, one audit entry for the page.
        let residents: Vec<Uuid> = rows.iter().map(|r| r.resident_id).collect();
        let names = match gate::open_many(
            &state.pool,
            &Principal::Person(viewer_for_names.clone()),
            &residents,
            Purpose::ReferralList,
        )
        .await
        {
            Ok(names) => names,
            Err(_) => {
                set_status(503);
                return view! { <p role="alert">{tr!(locale, err_unavailable)}</p> }.into_any();
            }
        };
        let keep = |t: Tab| {
            let mut q = format!("{base}?status={}", t.as_str());
            if let Some(n) = &need {
                q.push_str(&format!("&need={n}"));
            }
            if let Some(a) = age {
                q.push_str(&format!("&older_than={a}"));
            }
            q
        };
        let tabs = counts
            .into_iter()
            .map(|(t, n)| {
                let label = match t {
                    Tab::New => tr!(locale, tab_new, count = n),
                    Tab::InProgress => tr!(locale, tab_in_progress, count = n),
                    Tab::Closed => tr!(locale, tab_closed, count = n),
                };
                view! { <a class="tab" href=keep(t) aria-current=(t == tab).then_some("page")>{label}</a> }
            })
            .collect_view();
        let none = rows
            .is_empty()
            .then(|| view! { <p class="mt-4">{tr!(locale, referrals_none)}</p> });
        let items = if rows.is_empty() {
            ().into_any()
        } else {
            rows.into_iter()
                .map(|r| {
                    let reason = r.outcome_reason.as_deref().map(|x| format!(" · {}", reason_label(locale, x)));
                    let first_name = names.get(&r.resident_id).map(|a| a.first_name()).unwrap_or_default();
                    let other = r.other_organization.clone().unwrap_or_else(|| tr!(locale, self_referral));
                    view! {
                        <li class="card card-link">
                            <a class="card-title" href=format!("/referrals/{}?from={from}", r.id)>{r.program.clone()}</a>
                            <p class="text-sm">{format!("{} · {} · {}", first_name, need_name(locale, &r.need), other)}</p>
                            {(!inbox && !r.receiver_onboarded).then(|| view! { <p class="mt-1"><NotOnWraparound /></p> })}
                            <p class="text-sm"><span class="badge">{status_label(locale, &r.status)}</span>
                                " "{tr!(locale, referral_sent_on, date = date(&r.created_at))}{reason}</p>
                        </li>
                    }
                })
                .collect_view()
                .into_any()
        };
        let more = (page * store::PAGE < total).then(|| view! {
            <p class="mt-4"><a class="link" href=format!("{}&page={}", keep(tab), page + 1)>{tr!(locale, next_page)}</a></p>
        });
        view! {
            <nav class="tabs mt-4" aria-label=tr!(locale, referral_status_tabs)>{tabs}</nav>
            <form class="filter-row mt-4" method="get" action=base>
                <input type="hidden" name="status" value=tab.as_str() />
                <label class="form-field"><span class="field-label">{tr!(locale, referral_need_label)}</span>
                    <select class="field w-full" name="need">
                        <option value="">{tr!(locale, audit_any)}</option>
                        {need_options(locale, need.as_deref().unwrap_or(""))}
                    </select></label>
                <label class="form-field"><span class="field-label">{tr!(locale, older_than_label)}</span>
                    <input class="field w-full" type="number" name="older_than" min="1" max="3650" value=age.map(|a| a.to_string()).unwrap_or_default() /></label>
                <button class="button-secondary" type="submit">{tr!(locale, filter_button)}</button>
            </form>
            {none}
            <ul class="stack mt-4">{items}</ul>
            {more}
        }
        .into_any()
    };
    let title = if inbox {
        tr!(locale, inbox_title)
    } else {
        tr!(locale, sent_title)
    };
    view! {
        <Title text=title.clone() />
        <Meta name="robots" content="noindex" />
        <div class="page">
            <h1 class="page-title">{title}</h1>
            {loaded(content)}
        </div>
    }
}

#[component]
pub fn InboxPage() -> impl IntoView {
    view! { <ReferralList inbox=true /> }
}

#[component]
pub fn SentPage() -> impl IntoView {
    view! { <ReferralList inbox=false /> }
}

/// Where a referral page's back link goes: the list the person came from (a fixed set, never a
/// URL from the query), else their own list.
fn back_link(
    locale: Locale,
    from: Option<&str>,
    receiving: bool,
    specialist: bool,
) -> (String, String) {
    match (from, receiving, specialist) {
        (Some("sent"), ..) => ("/referrals/sent".into(), tr!(locale, back_to_sent)),
        (Some("inbox"), ..) => ("/referrals/inbox".into(), tr!(locale, back_to_inbox)),
        (Some("support"), ..) | (None, _, true) => {
            ("/united-way/referrals".into(), tr!(locale, back_to_queue))
        }
        (_, true, _) => ("/referrals/inbox".into(), tr!(locale, back_to_inbox)),
        _ => ("/referrals/sent".into(), tr!(locale, back_to_sent)),
    }
}

/// One entry of a referral's history. `with_notes` shows what people wrote (for the two
/// organizations of the referral); others — partners coordinating, the resident — see what
/// happened and when, not the notes.
pub fn event_item(locale: Locale, e: &store::Event, with_notes: bool) -> impl IntoView {
    let kind = match e.kind.as_str() {
        "created" => tr!(locale, event_created),
        "accepted" => tr!(locale, event_accepted),
        "declined" => tr!(locale, event_declined),
        "contact" => tr!(locale, event_contact),
        "note" => tr!(locale, event_note),
        "closed" => tr!(locale, event_closed),
        "cancelled" => tr!(locale, event_cancelled),
        "outreach" => tr!(locale, event_outreach),
        _ => tr!(locale, event_corrected),
    };
    let text = |k: &str| e.detail.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let status_word = text("status").map(|s| status_label(locale, &s));
    // A provided closure's reason (stored by the old shared form) is not shown.
    let reason = text("reason")
        .filter(|_| text("status").as_deref() != Some(Status::ResourceProvided.as_str()))
        .map(|r| reason_label(locale, &r));
    let result = text("result")
        .and_then(|r| ContactResult::parse(&r))
        .map(|r| match r {
            ContactResult::Reached => tr!(locale, reached_label),
            ContactResult::NotReached => tr!(locale, not_reached_label),
        });
    let what: Vec<String> = [
        status_word.filter(|_| e.kind == "closed"),
        result,
        reason,
        text("result").filter(|_| e.kind == "outreach" && with_notes),
        text("note").filter(|_| with_notes),
    ]
    .into_iter()
    .flatten()
    .collect();
    let who = if with_notes {
        [e.who.clone(), e.organization.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        e.organization.clone().unwrap_or_default()
    };
    view! {
        <li class="timeline-item">
            <p class="text-sm"><strong>{kind}</strong>" · "{date_time(&e.at)}{(!who.is_empty()).then(|| format!(" · {who}"))}</p>
            {(!what.is_empty()).then(|| view! { <p class="break-words">{what.join(" · ")}</p> })}
        </li>
    }
}

/// `/referrals/:id`: the program referred to, the resident as consent allows, only the moves the
/// status allows (each its own form), the history in local time.
#[component]
pub fn ReferralPage() -> impl IntoView {
    let locale = crate::language::current();
    let viewer = crate::web::request().viewer;
    let id = param("id");
    let from = query("from");
    let done = query("done").map(|_| tr!(locale, referral_updated_notice));
    let content = async move {
        let state = AppState::get();
        let detail = match Uuid::parse_str(&id) {
            Ok(id) => store::detail(&state.pool, id).await.ok().flatten(),
            Err(_) => None,
        };
        let Some(viewer) = viewer else {
            return ().into_any();
        };
        let org = viewer.organization_id;
        let specialist = viewer.effective_role() == crate::policy::Role::ReferralSpecialist;
        let Some(d) = detail.filter(|d| {
            org == Some(d.to_organization)
                || (org.is_some() && org == d.from_organization)
                || (specialist && !d.receiver_onboarded)
        }) else {
            set_status(404);
            return view! {
                <h1 class="page-title">{tr!(locale, referral_title)}</h1>
                <p class="mt-2">{tr!(locale, not_found_body)}</p>
            }
            .into_any();
        };
        let kept = crate::web::take_kept("referral").await;
        let (back_href, back_text) = back_link(
            locale,
            from.as_deref(),
            org == Some(d.to_organization),
            specialist,
        );
        let resident = gate::open(
            &state.pool,
            &Principal::Person(viewer.clone()),
            d.resident_id,
            Purpose::Referral(d.id),
        )
        .await;
        let contact_links = |method: ContactMethod, address: Option<String>| {
            address.map(|a| contact_link(locale, method, &a))
        };
        let resident_view = match resident {
            Ok(ResidentAccess::Full { resident: p, .. }) => {
                let preferred = p.preferred_address();
                let may_open = org.is_some();
                view! {
                    <dl class="facts mt-2">
                        <dt>{tr!(locale, name_label)}</dt><dd>{p.name.clone()}
                            {may_open.then(|| view! { <a class="link block" href=format!("/residents/{}", p.id)>{tr!(locale, open_resident_link)}</a> })}</dd>
                        <dt>{tr!(locale, date_of_birth_label)}</dt><dd>{p.date_of_birth.map(|d| crate::forms::birth_date(&d)).unwrap_or_default()}</dd>
                        <dt>{tr!(locale, preferred_contact_label)}</dt><dd>{p.preferred_contact.label(locale)}
                            <span class="block">{contact_links(p.preferred_contact, preferred)}</span></dd>
                        <dt>{tr!(locale, phone_label)}</dt><dd>{p.phone.clone().unwrap_or_default()}</dd>
                        <dt>{tr!(locale, email_label)}</dt><dd class="break-all">{p.email.clone().unwrap_or_default()}</dd>
                        <dt>{tr!(locale, preferred_language_label)}</dt><dd>{language_label(locale, &p.preferred_language)}</dd>
                    </dl>
                }.into_any()
            }
            Ok(ResidentAccess::Limited(l)) => view! {
                <p class="mt-2">{tr!(locale, limited_view_note, name = l.first_name.clone())}</p>
                <dl class="facts mt-2">
                    <dt>{tr!(locale, name_label)}</dt><dd>{l.first_name.clone()}</dd>
                    <dt>{tr!(locale, preferred_contact_label)}</dt><dd>{l.contact.label(locale)}
                        <span class="block">{contact_links(l.contact, l.address.clone())}</span></dd>
                    <dt>{tr!(locale, preferred_language_label)}</dt><dd>{language_label(locale, &l.language)}</dd>
                </dl>
            }.into_any(),
            Ok(ResidentAccess::Glimpse(_)) | Err(crate::residents::ResidentError::Denied) => view! {
                <p class="mt-2">{tr!(locale, err_denied)}</p>
            }.into_any(),
            Err(_) => view! { <p role="alert">{tr!(locale, err_unavailable)}</p> }.into_any(),
        };
        let status = Status::parse(&d.status).unwrap_or(Status::Sent);
        let may = |mv: Move| {
            next(status, mv).is_some()
                && store::may_move(
                    mv,
                    org,
                    specialist,
                    d.to_organization,
                    d.from_organization,
                    d.receiver_onboarded,
                )
        };
        let referral_id = d.id.to_string();
        let version = d.version.to_string();
        let hidden = move |mv: Move| {
            view! {
                <input type="hidden" name="referral_id" value=referral_id.clone() />
                <input type="hidden" name="version" value=version.clone() />
                <input type="hidden" name="action" value=mv.as_str() />
            }
        };
        let reasons = NotProvidedReason::ALL
            .into_iter()
            .map(|r| view! { <option value=r.as_str()>{not_provided_label(locale, r)}</option> })
            .collect_view();
        let reason_error = field_error(locale, &kept, "reason");
        let actions = view! {
            {may(Move::Accept).then(|| view! {
                <form class="mt-2" method="post" action="/fn/update_referral">{hidden(Move::Accept)}
                    <button class="button-primary" type="submit">{tr!(locale, accept_button)}</button>
                </form>
            })}
            {may(Move::RecordContact).then(|| view! {
                <form class="stack mt-4 card" method="post" action="/fn/update_referral">{hidden(Move::RecordContact)}
                    <fieldset class="form-field"><legend class="field-label">{tr!(locale, contact_attempt_label)}</legend>
                        {field_error(locale, &kept, "result")}
                        <label class="choice"><input type="radio" name="result" value=ContactResult::Reached.as_str() required /><span>{tr!(locale, reached_label)}</span></label>
                        <label class="choice"><input type="radio" name="result" value=ContactResult::NotReached.as_str() /><span>{tr!(locale, not_reached_label)}</span></label>
                    </fieldset>
                    <label class="form-field"><span class="field-label">{tr!(locale, contact_note_label)}</span>
                        <textarea class="field w-full" name="note" rows="2" maxlength="4000"></textarea></label>
                    <button class="button-secondary" type="submit">{tr!(locale, record_contact_button)}</button>
                </form>
            })}
            {may(Move::CloseProvided).then(|| view! {
                <form class="stack mt-4 card" method="post" action="/fn/update_referral">{hidden(Move::CloseProvided)}
                    <h3 class="font-semibold">{tr!(locale, close_provided_title)}</h3>
                    <label class="form-field"><span class="field-label">{tr!(locale, closing_note_label)}</span>
                        <textarea class="field w-full" name="note" rows="2" maxlength="4000"></textarea></label>
                    <button class="button-primary" type="submit">{tr!(locale, close_provided_button)}</button>
                </form>
            })}
            {may(Move::CloseNotProvided).then(|| view! {
                <form class="stack mt-4 card" method="post" action="/fn/update_referral">{hidden(Move::CloseNotProvided)}
                    <h3 class="font-semibold">{tr!(locale, close_not_provided_title)}</h3>
                    <label class="form-field"><span class="field-label">{tr!(locale, not_provided_reason_label)}</span>
                        {reason_error}
                        <select class="field w-full" name="reason" required>
                            <option value="">{tr!(locale, choose_reason)}</option>
                            {reasons}
                        </select></label>
                    <label class="form-field"><span class="field-label">{tr!(locale, closing_note_label)}</span>
                        <textarea class="field w-full" name="note" rows="2" maxlength="4000"></textarea></label>
                    <button class="button-secondary" type="submit">{tr!(locale, close_not_provided_button)}</button>
                </form>
            })}
            {may(Move::Decline).then(|| view! {
                <form class="stack mt-4 card" method="post" action="/fn/update_referral">{hidden(Move::Decline)}
                    <label class="form-field"><span class="field-label">{tr!(locale, decline_reason_label)}</span>
                        <input class="field w-full" name="reason" maxlength="2000" required /></label>
                    <button class="button-danger" type="submit">{tr!(locale, decline_button)}</button>
                </form>
            })}
            {may(Move::Cancel).then(|| view! {
                <form class="stack mt-4 card" method="post" action="/fn/update_referral">{hidden(Move::Cancel)}
                    <h3 class="font-semibold">{tr!(locale, withdraw_title)}</h3>
                    <label class="form-field"><span class="field-label">{tr!(locale, withdraw_reason_label)}</span>
                        <input class="field w-full" name="reason" maxlength="2000" required /></label>
                    <label class="choice">
                        <input type="checkbox" name="confirm" value="yes" required />
                        <span>{tr!(locale, withdraw_confirm_label)}</span>
                    </label>
                    {field_error(locale, &kept, "confirm")}
                    <button class="button-danger" type="submit">{tr!(locale, withdraw_button)}</button>
                </form>
            })}
        };
        let history = store::events(&state.pool, d.id)
            .await
            .unwrap_or_default()
            .iter()
            .map(|e| event_item(locale, e, true))
            .collect_view();
        view! {
            <p><a class="link" href=back_href>{back_text}</a></p>
            <h1 class="page-title mt-2 break-words">{d.program.clone()}</h1>
            <Notice text=done />
            <p class="mt-1"><span class="badge">{status_label(locale, &d.status)}</span>
                {d.outcome_reason.clone().filter(|_| status != Status::ResourceProvided).map(|r| format!(" · {}", reason_label(locale, &r)))}</p>
            {(!d.receiver_onboarded).then(|| view! { <p class="mt-1"><NotOnWraparound /></p> })}
            <div class="two-columns mt-4">
                <div>
                    <dl class="facts">
                        <dt>{tr!(locale, referral_program_label)}</dt><dd><a class="link" href=format!("/programs/{}", d.program_id)>{d.program.clone()}</a></dd>
                        <dt>{tr!(locale, referral_need_label)}</dt><dd>{need_name(locale, &d.need)}</dd>
                        <dt>{tr!(locale, referral_from)}</dt><dd>{match &d.from_organization_name {
                            Some(from) => format!("{} ({})", from, d.from_user_name),
                            None => tr!(locale, self_referral),
                        }}</dd>
                        <dt>{tr!(locale, referral_to)}</dt><dd>{d.to_organization_name.clone()}</dd>
                        <dt>{tr!(locale, referral_sent_label)}</dt><dd>{date_time(&d.created_at)}</dd>
                        {d.closed_at.map(|c| view! { <dt>{tr!(locale, referral_closed_label)}</dt><dd>{date_time(&c)}
                            {d.closed_by_united_way.then(|| format!(" · {}", tr!(locale, closed_by_united_way)))}</dd> })}
                    </dl>
                    {d.note.clone().map(|n| view! { <h2 class="section-title">{tr!(locale, referral_note_label)}</h2><p class="mt-1 break-words prose-text">{n}</p> })}
                    <h2 class="section-title">{tr!(locale, referral_resident)}</h2>
                    {resident_view}
                </div>
                <div>
                    <h2 class="section-title">{tr!(locale, referral_actions)}</h2>
                    <FormAlert />
                    {actions}
                    {(org == Some(d.to_organization) || (org.is_some() && org == d.from_organization)).then(|| view! {
                        <form class="stack mt-4" method="post" action="/fn/add_referral_note">
                            <input type="hidden" name="idempotency_key" value=crate::idempotency::new_key() />
                            <input type="hidden" name="referral_id" value=d.id.to_string() />
                            <label class="form-field"><span class="field-label">{tr!(locale, history_note_label)}</span>
                                {field_error(locale, &kept, "note")}
                                <textarea class="field w-full" name="note" rows="2" maxlength="4000" required></textarea></label>
                            <button class="button-secondary" type="submit">{tr!(locale, add_note_button)}</button>
                        </form>
                    })}
                </div>
            </div>
            <h2 class="section-title">{tr!(locale, referral_history)}</h2>
            <ol class="timeline mt-2">{history}</ol>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, referral_title) />
        <Meta name="robots" content="noindex" />
        <div class="page wide">
            {loaded(content)}
        </div>
    }
}

/// `/united-way/referrals`: the referral specialist's three queues, with counts, oldest first.
#[component]
pub fn SupportPage() -> impl IntoView {
    use super::support::{self, Queue};
    let locale = crate::language::current();
    let current = Queue::parse(&query("queue").unwrap_or_default());
    let done = query("done").map(|_| tr!(locale, referral_updated_notice));
    let reach = query("reach").and_then(|r| Uuid::parse_str(&r).ok());
    let viewer = crate::web::request().viewer;
    let content = async move {
        let state = AppState::get();
        let now = crate::referrals::clock_now();
        let settings = &state.deployment.referrals;
        let (Ok(counts), Ok(items)) = (
            support::counts(&state.pool, settings, now).await,
            support::queue(&state.pool, current, settings, now).await,
        ) else {
            set_status(503);
            return view! { <p role="alert">{tr!(locale, err_unavailable)}</p> }.into_any();
        };
        let tabs = counts
            .into_iter()
            .map(|(q, n)| {
                let label = match q {
                    Queue::StalePartner => tr!(locale, queue_stale_partner, count = n),
                    Queue::NotOnboarded => tr!(locale, queue_not_onboarded, count = n),
                    Queue::ResidentFollowUp => tr!(locale, queue_follow_up, count = n),
                };
                view! { <a class="tab" href=format!("/united-way/referrals?queue={}", q.as_str()) aria-current=(q == current).then_some("page")>{label}</a> }
            })
            .collect_view();
        let explain = match current {
            Queue::StalePartner => tr!(
                locale,
                queue_stale_partner_help,
                days = settings.stale_after_days
            ),
            Queue::NotOnboarded => tr!(
                locale,
                queue_not_onboarded_help,
                days = settings.not_onboarded_close_after_days
            ),
            Queue::ResidentFollowUp => tr!(
                locale,
                queue_follow_up_help,
                days = settings.follow_up_after_days
            ),
        };
        let none = items
            .is_empty()
            .then(|| view! { <p class="mt-4">{tr!(locale, referrals_none)}</p> });
        // Following up with a resident: the contact they chose, opened for this referral only
        // (one audited opening, when the specialist asks for it).
        let reached = match (current, reach, &viewer) {
            (Queue::ResidentFollowUp, Some(r), Some(v)) => match items.iter().find(|i| i.id == r) {
                Some(item) => gate::open(
                    &state.pool,
                    &Principal::Person(v.clone()),
                    item.resident_id,
                    Purpose::FollowUp(r),
                )
                .await
                .ok()
                .map(|a| (r, a)),
                None => None,
            },
            _ => None,
        };
        let rows = if items.is_empty() {
            ().into_any()
        } else {
            items
                .into_iter()
                .map(|item| {
                    let id = item.id.to_string();
                    let follow_up = (current == Queue::ResidentFollowUp).then(|| match &reached {
                        Some((r, access)) if *r == item.id => {
                            let method = access.contact().unwrap_or(ContactMethod::Phone);
                            let address = access.reach().unwrap_or_default();
                            view! {
                                <p class="mt-2">{tr!(locale, follow_up_reach_line, name = access.first_name(), how = method.label(locale), address = address.clone())}</p>
                                <p class="mt-1">{contact_link(locale, method, &address)}</p>
                            }.into_any()
                        }
                        _ => view! {
                            <p class="mt-2"><a class="link" href=format!("/united-way/referrals?queue=resident_follow_up&reach={}", item.id)>{tr!(locale, follow_up_show_contact)}</a></p>
                        }.into_any(),
                    });
                    let action = match current {
                        Queue::NotOnboarded => view! {
                            <p class="mt-2"><a class="link" href=format!("/referrals/{}?from=support", item.id)>{tr!(locale, work_referral_link)}</a></p>
                        }
                        .into_any(),
                        q => view! {
                            <form class="inline-form" method="post" action="/fn/log_outreach">
                                <input type="hidden" name="referral_id" value=id.clone() />
                                <input type="hidden" name="queue" value=q.as_str() />
                                <select class="field" name="method" aria-label=tr!(locale, outreach_method_label)>
                                    <option value="phone">{tr!(locale, contact_phone)}</option>
                                    <option value="email">{tr!(locale, contact_email)}</option>
                                    <option value="text">{tr!(locale, contact_text)}</option>
                                </select>
                                <input class="field" name="result" required maxlength="500" aria-label=tr!(locale, outreach_result_label)
                                    placeholder=tr!(locale, outreach_result_label) />
                                <button class="button-secondary" type="submit">{tr!(locale, log_outreach_button)}</button>
                            </form>
                        }
                        .into_any(),
                    };
                    view! {
                        <li class="card">
                            <p class="card-title">{item.program.clone()}</p>
                            <p class="text-sm">{tr!(locale, queue_item_line, to = item.to_organization.clone(),
                                from = item.from_organization.clone().unwrap_or_else(|| tr!(locale, self_referral)), date = date(&item.created_at))}</p>
                            <p class="text-sm"><span class="badge">{status_label(locale, &item.status)}</span>
                                {item.last_outreach.map(|d| format!(" · {}", tr!(locale, last_outreach, date = date(&d))))}</p>
                            {follow_up}
                            {action}
                        </li>
                    }
                })
                .collect_view()
                .into_any()
        };
        view! {
            <nav class="tabs mt-4" aria-label=tr!(locale, support_title)>{tabs}</nav>
            <p class="mt-2 text-sm">{explain}</p>
            <FormAlert />
            {none}
            <ul class="stack mt-4">{rows}</ul>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, support_title) />
        <Meta name="robots" content="noindex" />
        <div class="page">
            <h1 class="page-title">{tr!(locale, support_title)}</h1>
            <Notice text=done />
            {loaded(content)}
        </div>
    }
}
