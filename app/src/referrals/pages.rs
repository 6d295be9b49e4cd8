//! Referral pages: put a referral together, its printable summary, the inbox and outbox, and a
//! referral's own page with the actions its status allows.

use super::status::{next, Move, Status, NOT_PROVIDED_REASONS};
use super::store::{self, Tab};
use super::BASKET;
use crate::audit::Actor;
use crate::directory::categories::CategoryTree;
use crate::forms::{date, date_time, loaded, query, FormAlert, Notice};
use crate::i18n::*;
use crate::identity::accounts::AuthSession;
use crate::layout::set_status;
use crate::state::AppState;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

pub fn status_label(locale: Locale, status: &str) -> String {
    match status {
        "sent" => tr!(locale, status_sent),
        "accepted" => tr!(locale, status_accepted),
        "in_progress" => tr!(locale, status_in_progress),
        "declined" => tr!(locale, status_declined),
        "resource_provided" => tr!(locale, status_resource_provided),
        "resource_not_provided" => tr!(locale, status_resource_not_provided),
        _ => tr!(locale, status_cancelled),
    }
}

pub fn reason_label(locale: Locale, reason: &str) -> String {
    match reason {
        "unable_to_reach" => tr!(locale, reason_unable_to_reach),
        "got_help_elsewhere" => tr!(locale, reason_got_help_elsewhere),
        "outside_service_area" => tr!(locale, reason_outside_service_area),
        "not_eligible" => tr!(locale, reason_not_eligible),
        "no_capacity" => tr!(locale, reason_no_capacity),
        "resident_declined" => tr!(locale, reason_resident_declined),
        "other" => tr!(locale, reason_other),
        other => other.to_string(),
    }
}

fn need_name(locale: Locale, need: &str) -> String {
    CategoryTree::get()
        .name(need, locale)
        .unwrap_or(need)
        .to_string()
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

/// `/referrals/new`: the programs gathered so far, the resident, the needs, consent.
#[component]
pub fn NewReferralPage() -> impl IntoView {
    let locale = use_i18n().get_locale_untracked();
    let viewer = crate::web::request().viewer;
    let content = async move {
        let state = AppState::get();
        let Some(viewer) = viewer else {
            return ().into_any();
        };
        let basket: Vec<Uuid> = match leptos_axum::extract::<AuthSession>().await {
            Ok(auth) => auth
                .session
                .get(BASKET)
                .await
                .ok()
                .flatten()
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        if basket.is_empty() {
            return view! { <p class="mt-4">{tr!(locale, referral_basket_empty)}</p>
            <p class="mt-2"><a class="link" href="/">{tr!(locale, link_find_services)}</a></p> }
            .into_any();
        }
        let programs: Vec<(Uuid, String, String, Vec<String>)> = sqlx::query_as(
            "SELECT b.id, sv.name, o.name, sv.category_ids
               FROM unnest($1::uuid[]) WITH ORDINALITY AS b(id, n)
               JOIN services sv ON sv.id = b.id OR sv.id = (SELECT service_id FROM service_at_locations WHERE id = b.id)
               JOIN organizations o ON o.id = sv.organization_id ORDER BY b.n",
        )
        .bind(&basket)
        .fetch_all(&state.pool)
        .await
        .unwrap_or_default();
        let org = viewer.organization_id.unwrap_or_default();
        // Residents are found by searching (audited), never listed.
        let searched = query("resident_q");
        let found = match &searched {
            Some(q) => store::search_consented(&state.pool, org, q, &Actor::current())
                .await
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let rows = programs
            .into_iter()
            .enumerate()
            .map(|(i, (_, name, org_name, categories))| {
                let tree = CategoryTree::get();
                let first_sub = categories.iter().find(|c| tree.sub(c).is_some()).cloned().unwrap_or_default();
                let id = format!("need-{i}");
                view! {
                    <li class="card">
                        <p class="card-title">{name}</p>
                        <p class="text-sm">{org_name}</p>
                        <label class="form-field mt-2" for=id.clone()>
                            <span class="field-label">{tr!(locale, referral_need_label)}</span>
                        </label>
                        <select class="field w-full" id=id name=format!("needs[{i}]")>{need_options(locale, &first_sub)}</select>
                    </li>
                }
            })
            .collect_view();
        let existing = searched.map(|_| {
            if found.is_empty() {
                return view! { <p class="mt-2">{tr!(locale, referral_no_resident_found)}</p> }.into_any();
            }
            let options = found
                .into_iter()
                .map(|f| {
                    let label = match f.date_of_birth {
                        Some(d) => format!("{} ({d})", f.name),
                        None => f.name,
                    };
                    view! { <option value=f.id.to_string()>{label}</option> }
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
            }
            .into_any()
        });
        let search = view! {
            <form class="filter-row mt-4" method="get" action="/referrals/new">
                <label class="form-field">
                    <span class="field-label">{tr!(locale, referral_find_resident)}</span>
                    <span class="hint" id="resident-q-hint">{tr!(locale, referral_find_resident_hint)}</span>
                    <input class="field w-full" name="resident_q" maxlength="200" autocomplete="off"
                        aria-describedby="resident-q-hint" value=query("resident_q").unwrap_or_default() />
                </label>
                <button class="button-secondary" type="submit">{tr!(locale, search_button)}</button>
            </form>
        };
        view! {
            <FormAlert />
            <h2 class="section-title mt-4">{tr!(locale, referral_resident)}</h2>
            {search}
            <form class="stack mt-4" method="post" action="/fn/send_referrals">
                <input type="hidden" name="idempotency_key" value=crate::idempotency::new_key() />
                {existing}
                <fieldset class="form-field">
                    <legend class="field-label">{tr!(locale, referral_new_resident)}</legend>
                    <label class="form-field"><span class="field-label">{tr!(locale, name_label)}</span>
                        <input class="field w-full" name="name" maxlength="200" autocomplete="off" /></label>
                    <label class="form-field"><span class="field-label">{tr!(locale, date_of_birth_label)}</span>
                        <input class="field w-full" type="date" name="date_of_birth" /></label>
                    <label class="form-field"><span class="field-label">{tr!(locale, phone_label)}</span>
                        <input class="field w-full" type="tel" name="phone" maxlength="40" autocomplete="off" /></label>
                    <label class="form-field"><span class="field-label">{tr!(locale, email_label)}</span>
                        <input class="field w-full" type="email" name="email" maxlength="254" autocomplete="off" /></label>
                    <label class="form-field"><span class="field-label">{tr!(locale, preferred_contact_label)}</span>
                        <select class="field w-full" name="preferred_contact">
                            <option value="phone">{tr!(locale, contact_phone)}</option>
                            <option value="text">{tr!(locale, contact_text)}</option>
                            <option value="email">{tr!(locale, contact_email)}</option>
                        </select></label>
                    <label class="form-field"><span class="field-label">{tr!(locale, preferred_language_label)}</span>
                        <select class="field w-full" name="preferred_language">
                            <option value="en">"English"</option>
                            <option value="es">"Español"</option>
                        </select></label>
                </fieldset>
                <h2 class="section-title">{tr!(locale, referral_programs)}</h2>
                <ul class="stack">{rows}</ul>
                <label class="form-field"><span class="field-label">{tr!(locale, referral_note_label)}</span>
                    <textarea class="field w-full" name="note" rows="3" maxlength="4000"></textarea></label>
                <label class="choice">
                    <input type="checkbox" name="consent" value="yes" />
                    <span>{tr!(locale, referral_consent_label)}</span>
                </label>
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

/// `/referrals/batch/:id`: what was sent, as a printable summary for the resident.
#[component]
pub fn BatchPage() -> impl IntoView {
    let locale = use_i18n().get_locale_untracked();
    let viewer = crate::web::request().viewer;
    let id = param("id");
    let content = async move {
        let state = AppState::get();
        let (Some(viewer), Ok(batch)) = (viewer, Uuid::parse_str(&id)) else {
            set_status(404);
            return view! { <p>{tr!(locale, not_found_body)}</p> }.into_any();
        };
        let rows: Vec<(
            Uuid,
            Uuid,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<serde_json::Value>,
        )> = sqlx::query_as(
            "SELECT r.resident_id, r.program_id, sv.name, o.name, l.address_1, l.city,
                    sv.application_process,
                    coalesce(sal.phones -> 0, sv.phones -> 0, o.phones -> 0)
               FROM referrals r JOIN services sv ON sv.id = r.service_id
               JOIN organizations o ON o.id = r.to_organization
               LEFT JOIN service_at_locations sal ON sal.id = r.program_id
               LEFT JOIN locations l ON l.id = sal.location_id
              WHERE r.batch_id = $1 AND r.from_organization = $2 ORDER BY r.created_at, r.id",
        )
        .bind(batch)
        .bind(viewer.organization_id)
        .fetch_all(&state.pool)
        .await
        .unwrap_or_default();
        let Some(resident) = rows.first().map(|r| r.0) else {
            set_status(404);
            return view! { <p>{tr!(locale, not_found_body)}</p> }.into_any();
        };
        let who = match store::resident_for(
            &state.pool,
            resident,
            viewer.organization_id.unwrap_or_default(),
            &Actor::current(),
            "referral summary",
        )
        .await
        {
            Ok(Ok(p)) => p.name,
            Ok(Err(first)) => first,
            Err(_) => String::new(),
        };
        let items = rows
            .into_iter()
            .map(|(_, program, name, org, address, city, how, phone)| {
                let phone = phone.and_then(|p| p.get("number").and_then(|n| n.as_str()).map(str::to_string));
                view! {
                    <li class="card">
                        <p class="card-title"><a class="link" href=format!("/programs/{program}")>{name}</a></p>
                        <p>{org}</p>
                        {address.map(|a| view! { <p>{format!("{a}, {}", city.unwrap_or_default())}</p> })}
                        {phone.map(|p| view! { <p><a class="link" href=format!("tel:{p}")>{p.clone()}</a></p> })}
                        {how.map(|h| view! { <p class="mt-1"><strong>{tr!(locale, how_to_apply_short)}</strong>" "{h}</p> })}
                    </li>
                }
            })
            .collect_view();
        view! {
            <p class="mt-2">{tr!(locale, referral_summary_for, name = who)}</p>
            <p class="mt-1">{tr!(locale, referral_summary_next)}</p>
            <ul class="stack mt-4">{items}</ul>
            <p class="mt-4 no-print"><a class="link" href="/referrals/sent">{tr!(locale, link_sent)}</a></p>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, referral_summary_title) />
        <Meta name="robots" content="noindex" />
        <div class="page narrow print-sheet">
            <h1 class="page-title">{tr!(locale, referral_summary_title)}</h1>
            <Notice text=Some(tr!(locale, referral_sent_notice)) />
            {loaded(content)}
        </div>
    }
}

/// The inbox (`/referrals/inbox`) and the outbox (`/referrals/sent`).
#[component]
fn ReferralList(inbox: bool) -> impl IntoView {
    let locale = use_i18n().get_locale_untracked();
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
    let base = if inbox {
        "/referrals/inbox"
    } else {
        "/referrals/sent"
    };
    let content = async move {
        let state = AppState::get();
        let Some(org) = viewer.and_then(|v| v.organization_id) else {
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
        let items = if rows.is_empty() {
            view! { <p class="mt-4">{tr!(locale, referrals_none)}</p> }.into_any()
        } else {
            rows.into_iter()
                .map(|r| {
                    let reason = r.outcome_reason.as_deref().map(|x| format!(" · {}", reason_label(locale, x)));
                    view! {
                        <li class="card">
                            <a class="card-title link" href=format!("/referrals/{}", r.id)>{r.program.clone()}</a>
                            <p class="text-sm">{format!("{} · {} · {}", r.resident_first_name, need_name(locale, &r.need), r.other_organization)}</p>
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

/// `/referrals/:id`: the referral, the resident as consent allows, the history, the actions.
#[component]
pub fn ReferralPage() -> impl IntoView {
    let locale = use_i18n().get_locale_untracked();
    let viewer = crate::web::request().viewer;
    let id = param("id");
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
                || org == Some(d.from_organization)
                || (specialist && !d.receiver_onboarded)
        }) else {
            set_status(404);
            return view! { <p>{tr!(locale, not_found_body)}</p> }.into_any();
        };
        let receiving = org == Some(d.to_organization) && d.receiver_onboarded;
        let resident = store::resident_for(
            &state.pool,
            d.resident_id,
            org.unwrap_or_default(),
            &Actor::current(),
            &format!("referral {}", d.id),
        )
        .await;
        let resident_view = match resident {
            Ok(Ok(p)) => view! {
                <dl class="facts mt-2">
                    <dt>{tr!(locale, name_label)}</dt><dd>{p.name}</dd>
                    <dt>{tr!(locale, date_of_birth_label)}</dt><dd>{p.date_of_birth.map(|d| d.to_string()).unwrap_or_default()}</dd>
                    <dt>{tr!(locale, phone_label)}</dt><dd>{p.phone.clone().map(|ph| view! { <a class="link" href=format!("tel:{ph}")>{ph.clone()}</a> })}</dd>
                    <dt>{tr!(locale, email_label)}</dt><dd>{p.email.unwrap_or_default()}</dd>
                    <dt>{tr!(locale, preferred_contact_label)}</dt><dd>{p.preferred_contact}</dd>
                    <dt>{tr!(locale, preferred_language_label)}</dt><dd>{p.preferred_language}</dd>
                </dl>
            }.into_any(),
            Ok(Err(first)) => view! { <p class="mt-2">{first}" — "{tr!(locale, no_consent_note)}</p> }.into_any(),
            Err(_) => view! { <p role="alert">{tr!(locale, err_unavailable)}</p> }.into_any(),
        };
        let status = Status::parse(&d.status).unwrap_or(Status::Sent);
        let may = |mv: Move| {
            next(status, mv).is_some()
                && match mv {
                    Move::Cancel => org == Some(d.from_organization),
                    Move::CloseProvided | Move::CloseNotProvided if specialist => {
                        !d.receiver_onboarded
                    }
                    _ => receiving,
                }
        };
        let hidden = move || {
            view! {
                <input type="hidden" name="referral_id" value=d.id.to_string() />
                <input type="hidden" name="version" value=d.version.to_string() />
            }
        };
        let reasons = NOT_PROVIDED_REASONS
            .iter()
            .map(|r| view! { <option value=*r>{reason_label(locale, r)}</option> })
            .collect_view();
        let actions = view! {
            {may(Move::Accept).then(|| view! {
                <form class="mt-2" method="post" action="/fn/update_referral">{hidden()}
                    <button class="button-primary" name="action" value="accept" type="submit">{tr!(locale, accept_button)}</button>
                </form>
            })}
            {may(Move::RecordContact).then(|| view! {
                <form class="stack mt-4" method="post" action="/fn/update_referral">{hidden()}
                    <input type="hidden" name="action" value="contact" />
                    <fieldset class="form-field"><legend class="field-label">{tr!(locale, contact_attempt_label)}</legend>
                        <label class="choice"><input type="radio" name="result" value="reached" required /><span>{tr!(locale, contact_reached)}</span></label>
                        <label class="choice"><input type="radio" name="result" value="not_reached" /><span>{tr!(locale, contact_not_reached)}</span></label>
                    </fieldset>
                    <label class="form-field"><span class="field-label">{tr!(locale, referral_note_label)}</span>
                        <textarea class="field w-full" name="note" rows="2" maxlength="4000"></textarea></label>
                    <button class="button-secondary" type="submit">{tr!(locale, record_contact_button)}</button>
                </form>
            })}
            {may(Move::CloseProvided).then(|| view! {
                <form class="stack mt-4" method="post" action="/fn/update_referral">{hidden()}
                    <h3 class="font-semibold">{tr!(locale, close_title)}</h3>
                    <button class="button-primary" name="action" value="close_provided" type="submit">{tr!(locale, close_provided_button)}</button>
                    <label class="form-field"><span class="field-label">{tr!(locale, not_provided_reason_label)}</span>
                        <select class="field w-full" name="reason">{reasons}</select></label>
                    <label class="form-field"><span class="field-label">{tr!(locale, outcome_note_label)}</span>
                        <textarea class="field w-full" name="note" rows="2" maxlength="4000"></textarea></label>
                    <button class="button-secondary" name="action" value="close_not_provided" type="submit">{tr!(locale, close_not_provided_button)}</button>
                </form>
            })}
            {may(Move::Decline).then(|| view! {
                <form class="stack mt-4" method="post" action="/fn/update_referral">{hidden()}
                    <label class="form-field"><span class="field-label">{tr!(locale, decline_reason_label)}</span>
                        <input class="field w-full" name="reason" maxlength="500" required /></label>
                    <button class="button-danger" name="action" value="decline" type="submit">{tr!(locale, decline_button)}</button>
                </form>
            })}
            {may(Move::Cancel).then(|| view! {
                <form class="mt-4" method="post" action="/fn/update_referral">{hidden()}
                    <input type="hidden" name="reason" value="withdrawn by sender" />
                    <button class="button-danger" name="action" value="cancel" type="submit">{tr!(locale, cancel_referral_button)}</button>
                </form>
            })}
        };
        let history = store::events(&state.pool, d.id).await.unwrap_or_default().into_iter().map(|e| {
            let what = e.detail.get("note").and_then(|n| n.as_str()).map(str::to_string)
                .or_else(|| e.detail.get("reason").and_then(|n| n.as_str()).map(|r| reason_label(locale, r)))
                .unwrap_or_default();
            view! { <li class="text-sm">{format!("{} · {} · {} {}", date_time(&e.at), e.kind, e.who.unwrap_or_default(), what)}</li> }
        }).collect_view();
        view! {
            <p class="mt-1"><span class="badge">{status_label(locale, &d.status)}</span>
                {d.outcome_reason.clone().map(|r| format!(" · {}", reason_label(locale, &r)))}</p>
            <dl class="facts mt-4">
                <dt>{tr!(locale, referral_need_label)}</dt><dd>{need_name(locale, &d.need)}</dd>
                <dt>{tr!(locale, referral_from)}</dt><dd>{format!("{} ({})", d.from_organization_name, d.from_user_name)}</dd>
                <dt>{tr!(locale, referral_to)}</dt><dd>{d.to_organization_name.clone()}</dd>
                <dt>{tr!(locale, referral_sent_label)}</dt><dd>{date_time(&d.created_at)}</dd>
                {d.closed_at.map(|c| view! { <dt>{tr!(locale, referral_closed_label)}</dt><dd>{date_time(&c)}
                    {d.closed_by_united_way.then(|| format!(" · {}", tr!(locale, closed_by_united_way)))}</dd> })}
            </dl>
            {d.note.clone().map(|n| view! { <h2 class="section-title">{tr!(locale, referral_note_label)}</h2><p class="mt-1">{n}</p> })}
            <h2 class="section-title">{tr!(locale, referral_resident)}</h2>
            {resident_view}
            <h2 class="section-title">{tr!(locale, referral_actions)}</h2>
            <FormAlert />
            {actions}
            {(org == Some(d.to_organization) || org == Some(d.from_organization)).then(|| view! {
                <form class="stack mt-4" method="post" action="/fn/add_referral_note">
                    <input type="hidden" name="idempotency_key" value=crate::idempotency::new_key() />
                    <input type="hidden" name="referral_id" value=d.id.to_string() />
                    <label class="form-field"><span class="field-label">{tr!(locale, add_note_label)}</span>
                        <textarea class="field w-full" name="note" rows="2" maxlength="4000" required></textarea></label>
                    <button class="button-secondary" type="submit">{tr!(locale, add_note_button)}</button>
                </form>
            })}
            <h2 class="section-title">{tr!(locale, referral_history)}</h2>
            <ul class="stack mt-2">{history}</ul>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, referral_title) />
        <Meta name="robots" content="noindex" />
        <div class="page narrow">
            <p><a class="link" href="/referrals/inbox">{tr!(locale, inbox_title)}</a></p>
            <h1 class="page-title">{tr!(locale, referral_title)}</h1>
            <Notice text=done />
            {loaded(content)}
        </div>
    }
}

/// `/united-way/referrals`: the referral specialist's three queues, with counts, oldest first.
#[component]
pub fn SupportPage() -> impl IntoView {
    use super::support::{self, Queue};
    let locale = use_i18n().get_locale_untracked();
    let current = Queue::parse(&query("queue").unwrap_or_default());
    let done = query("done").map(|_| tr!(locale, referral_updated_notice));
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
        let rows = if items.is_empty() {
            view! { <p class="mt-4">{tr!(locale, referrals_none)}</p> }.into_any()
        } else {
            items
                .into_iter()
                .map(|item| {
                    let id = item.id.to_string();
                    let action = match current {
                        Queue::NotOnboarded => view! {
                            <p class="mt-2"><a class="link" href=format!("/referrals/{}", item.id)>{tr!(locale, work_referral_link)}</a></p>
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
                                from = item.from_organization.clone(), date = date(&item.created_at))}</p>
                            <p class="text-sm"><span class="badge">{status_label(locale, &item.status)}</span>
                                {item.last_outreach.map(|d| format!(" · {}", tr!(locale, last_outreach, date = date(&d))))}</p>
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
