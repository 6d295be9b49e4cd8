//! Claiming a listing, and the chapter reviewer's queue.

use super::{store, OrgType};
use crate::config::Deployment;
use crate::forms::{
    date, date_time, field_error, invalid, kept_value, loaded, query, FormAlert, Notice,
};
use crate::identity::Viewer;
use crate::layout::set_status;
use crate::policy::Role;
use crate::state::AppState;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

/// The `OwnChapter` scope: reviewers see their chapter's claims, state administrators all.
pub fn may_review(viewer: &Viewer, chapter: &str) -> bool {
    match viewer.effective_role() {
        Role::StateAdmin => true,
        Role::ChapterReviewer => viewer.chapter.as_deref() == Some(chapter),
        _ => false,
    }
}

fn param(name: &str) -> String {
    use_params_map()
        .with_untracked(|p| p.get(name))
        .unwrap_or_default()
}

#[component]
pub fn ClaimPage() -> impl IntoView {
    let locale = crate::language::current();
    let id = param("id");
    let content = async move {
        let state = AppState::get();
        let target = match Uuid::parse_str(&id) {
            Ok(id) => store::claim_target(&state.pool, id).await.ok().flatten(),
            Err(_) => None,
        };
        let Some(target) = target else {
            set_status(404);
            return view! { <p class="mt-2">{tr!(locale, err_org_not_found)}</p> }.into_any();
        };
        let chapter = state
            .deployment
            .onboarding
            .chapter_for_county(target.county.as_deref())
            .name
            .clone();
        if target.is_partner {
            return view! {
                <h2 class="section-title mt-4">{target.name.clone()}</h2>
                <p class="mt-2">{tr!(locale, claim_already_partner)}</p>
            }
            .into_any();
        }
        let place = [
            target.city.clone(),
            target.county.clone().map(|c| format!("{c} County")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
        // A claim that came back keeps what was typed, with the message next to the field.
        let kept = crate::web::take_kept("claim").await;
        let chosen_type = kept_value(&kept, "org_type", "");
        let types = OrgType::ALL
            .into_iter()
            .map(|t| {
                view! {
                    <label class="choice">
                        <input type="radio" name="org_type" value=t.as_str() required checked=chosen_type == t.as_str() />
                        <span>{t.label(locale)}</span>
                    </label>
                }
            })
            .collect_view();
        let field = |name: &'static str,
                     label: String,
                     kind: &'static str,
                     auto: &'static str,
                     max: &'static str| {
            let (bad, described) = invalid(&kept, name);
            view! {
                <label class="form-field">
                    <span class="field-label">{label}</span>
                    {field_error(locale, &kept, name)}
                    <input class="field w-full" type=kind name=name autocomplete=auto required maxlength=max
                        value=kept_value(&kept, name, "") aria-invalid=bad aria-describedby=described />
                </label>
            }
        };
        view! {
            <h2 class="section-title mt-4">{target.name.clone()}</h2>
            <p class="text-sm">{place}</p>
            <p class="mt-2">{tr!(locale, claim_intro, chapter = chapter)}</p>
            <FormAlert />
            <form class="stack mt-4" method="post" action="/fn/claim_site">
                <input type="hidden" name="organization_id" value=target.id.to_string() />
                <input type="hidden" name="idempotency_key" value=crate::idempotency::new_key() />
                {field("name", tr!(locale, your_name_label), "text", "name", "200")}
                {field("email", tr!(locale, work_email_label), "email", "email", "254")}
                {field("phone", tr!(locale, phone_label), "tel", "tel", "40")}
                {field("job_title", tr!(locale, job_title_label), "text", "organization-title", "200")}
                <fieldset class="form-field">
                    <legend class="field-label">{tr!(locale, org_type_label)}</legend>
                    {field_error(locale, &kept, "org_type")}
                    {types}
                </fieldset>
                <button class="button-primary" type="submit">{tr!(locale, claim_button)}</button>
            </form>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, claim_title) />
        <Meta name="robots" content="noindex" />
        <div class="page narrow">
            <h1 class="page-title">{tr!(locale, claim_title)}</h1>
            {loaded(content)}
        </div>
    }
}

/// After filing: check your e-mail. After confirming (`?confirmed=1`): the claim went to the
/// chapter.
#[component]
pub fn ClaimSentPage() -> impl IntoView {
    let locale = crate::language::current();
    let deployment = expect_context::<Deployment>();
    let chapter = query("chapter")
        .and_then(|c| deployment.onboarding.chapter(&c).map(|c| c.name.clone()))
        .unwrap_or_else(|| deployment.onboarding.chapter_for_county(None).name.clone());
    let (title, body) = if query("confirmed").is_some() {
        (
            tr!(locale, claim_sent_title),
            tr!(locale, claim_sent_body, chapter = chapter),
        )
    } else {
        (
            tr!(locale, claim_check_email_title),
            tr!(locale, claim_check_email_body),
        )
    };
    view! {
        <Title text=title.clone() />
        <div class="page narrow">
            <h1 class="page-title">{title}</h1>
            <p class="mt-2">{body}</p>
            <p class="mt-4"><a class="link" href="/">{tr!(locale, go_home)}</a></p>
        </div>
    }
}

/// `/claims/confirm/:token`, opened from the e-mail: a button confirms (a GET changes nothing).
#[component]
pub fn ClaimConfirmPage() -> impl IntoView {
    let locale = crate::language::current();
    let token = param("token");
    let content = async move {
        let state = AppState::get();
        let organization = store::claim_to_confirm(&state.pool, &token)
            .await
            .ok()
            .flatten();
        let Some(organization) = organization else {
            set_status(404);
            return view! { <p class="mt-2" role="alert">{tr!(locale, claim_confirm_invalid)}</p> }
                .into_any();
        };
        view! {
            <p class="mt-2">{tr!(locale, claim_confirm_body, organization = organization)}</p>
            <FormAlert />
            <form class="mt-4" method="post" action="/fn/confirm_claim">
                <input type="hidden" name="token" value=token.clone() />
                <button class="button-primary" type="submit">{tr!(locale, claim_confirm_button)}</button>
            </form>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, claim_confirm_title) />
        <Meta name="robots" content="noindex" />
        <div class="page narrow">
            <h1 class="page-title">{tr!(locale, claim_confirm_title)}</h1>
            {loaded(content)}
        </div>
    }
}

/// The chapter reviewer's queue: pending claims, oldest first, with a count.
#[component]
pub fn ClaimsQueuePage() -> impl IntoView {
    let locale = crate::language::current();
    let viewer = crate::web::request().viewer;
    let status = query("status")
        .filter(|s| ["pending", "approved", "denied"].contains(&s.as_str()))
        .unwrap_or_else(|| "pending".into());
    let done = query("done").map(|d| match d.as_str() {
        "approved" => tr!(locale, claim_approved_notice),
        _ => tr!(locale, claim_denied_notice),
    });
    let content = async move {
        let state = AppState::get();
        let Some(viewer) = viewer else {
            return ().into_any();
        };
        // "All chapters" is for state administrators only; a reviewer without a chapter sees
        // nothing.
        let chapter = match (viewer.effective_role(), viewer.chapter.clone()) {
            (Role::StateAdmin, _) => None,
            (Role::ChapterReviewer, Some(c)) => Some(c),
            _ => {
                set_status(403);
                return view! { <p role="alert">{tr!(locale, err_denied)}</p> }.into_any();
            }
        };
        let (claims, pending) = match (
            store::claims(&state.pool, chapter.as_deref(), &status).await,
            store::pending_count(&state.pool, chapter.as_deref()).await,
        ) {
            (Ok(c), Ok(p)) => (c, p),
            _ => {
                set_status(503);
                return view! { <p role="alert">{tr!(locale, err_unavailable)}</p> }.into_any();
            }
        };
        let chapter_name = chapter
            .as_deref()
            .and_then(|c| state.deployment.onboarding.chapter(c))
            .map(|c| c.name.clone())
            .unwrap_or_else(|| tr!(locale, all_chapters));
        let tabs = ["pending", "approved", "denied"]
            .into_iter()
            .map(|s| {
                let label = match s {
                    "pending" => tr!(locale, claims_pending_tab, count = pending),
                    "approved" => tr!(locale, claims_approved_tab),
                    _ => tr!(locale, claims_denied_tab),
                };
                let current = (s == status).then_some("page");
                view! { <a class="tab" href=format!("/united-way/claims?status={s}") aria-current=current>{label}</a> }
            })
            .collect_view();
        let none = claims
            .is_empty()
            .then(|| view! { <p class="mt-4">{tr!(locale, claims_none)}</p> });
        let rows = if claims.is_empty() {
            ().into_any()
        } else {
            claims
                .into_iter()
                .map(|c| {
                    let org_type = OrgType::parse(&c.org_type).map(|t| t.label(locale)).unwrap_or_default();
                    view! {
                        <li class="card">
                            <a class="card-title link" href=format!("/united-way/claims/{}", c.id)>{c.organization_name.clone()}</a>
                            <p class="text-sm">{format!("{} · {} · {}", c.claimant_name, c.job_title, org_type)}</p>
                            <p class="text-sm">{tr!(locale, claim_filed_on, date = date(&c.created_at))}
                                {c.county.clone().map(|county| format!(" · {county} County"))}</p>
                        </li>
                    }
                })
                .collect_view()
                .into_any()
        };
        view! {
            <p class="mt-1">{chapter_name}</p>
            <nav class="tabs mt-4" aria-label=tr!(locale, claims_title)>{tabs}</nav>
            {none}
            <ul class="stack mt-4">{rows}</ul>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, claims_title) />
        <Meta name="robots" content="noindex" />
        <div class="page">
            <h1 class="page-title">{tr!(locale, claims_title)}</h1>
            <Notice text=done />
            {loaded(content)}
        </div>
    }
}

#[component]
pub fn ClaimReviewPage() -> impl IntoView {
    let locale = crate::language::current();
    let viewer = crate::web::request().viewer;
    let id = param("id");
    let content = async move {
        let state = AppState::get();
        let claim = match Uuid::parse_str(&id) {
            Ok(id) => store::claim(&state.pool, id).await.ok().flatten(),
            Err(_) => None,
        };
        let Some(claim) = claim else {
            set_status(404);
            return view! { <p>{tr!(locale, err_claim_not_found)}</p> }.into_any();
        };
        let Some(viewer) = viewer.filter(|v| may_review(v, &claim.chapter)) else {
            set_status(403);
            crate::audit::record_refusal(
                &state.pool,
                &crate::audit::Actor::current(),
                "claim.view",
                Some(&format!("claim:{}", claim.id)),
                crate::audit::Outcome::Denied,
                serde_json::json!({ "reason": "another chapter's claim" }),
            )
            .await;
            return view! { <p role="alert">{tr!(locale, err_denied)}</p> }.into_any();
        };
        let _ = viewer;
        let org_type = OrgType::parse(&claim.org_type)
            .map(|t| t.label(locale))
            .unwrap_or_default();
        let decision = if claim.status == "pending" {
            view! {
                <FormAlert />
                <form class="stack mt-4" method="post" action="/fn/decide_claim">
                    <input type="hidden" name="claim_id" value=claim.id.to_string() />
                    <label class="form-field">
                        <span class="field-label">{tr!(locale, decision_reason_label)}</span>
                        <span class="hint" id="reason-hint">{tr!(locale, decision_reason_hint)}</span>
                        <textarea class="field w-full" name="reason" rows="3" maxlength="2000" aria-describedby="reason-hint"></textarea>
                    </label>
                    <div class="button-row">
                        <button class="button-primary" type="submit" name="decision" value="approve">{tr!(locale, approve_button)}</button>
                        <button class="button-secondary" type="submit" name="decision" value="deny">{tr!(locale, deny_button)}</button>
                    </div>
                </form>
            }
            .into_any()
        } else {
            view! {
                <p class="mt-4">{tr!(locale, claim_decided, status = claim.status.clone(),
                    who = claim.decided_by_email.clone().unwrap_or_default(),
                    date = claim.decided_at.as_ref().map(date_time).unwrap_or_default())}</p>
                {claim.decision_reason.clone().map(|r| view! { <p class="mt-1">{r}</p> })}
            }
            .into_any()
        };
        view! {
            <h2 class="section-title mt-2">{claim.organization_name.clone()}</h2>
            <p><a class="link" href=format!("/api/hsds/organizations/{}", claim.organization_id)>{tr!(locale, directory_record_link)}</a></p>
            <dl class="facts mt-4">
                <dt>{tr!(locale, claimant_label)}</dt><dd>{claim.claimant_name.clone()}</dd>
                <dt>{tr!(locale, job_title_label)}</dt><dd>{claim.job_title.clone()}</dd>
                <dt>{tr!(locale, work_email_label)}</dt><dd><a class="link" href=format!("mailto:{}", claim.email)>{claim.email.clone()}</a></dd>
                <dt>{tr!(locale, phone_label)}</dt><dd><a class="link" href=format!("tel:{}", claim.phone)>{claim.phone.clone()}</a></dd>
                <dt>{tr!(locale, org_type_label)}</dt><dd>{org_type}</dd>
                <dt>{tr!(locale, county_label)}</dt><dd>{claim.county.clone().unwrap_or_default()}</dd>
                <dt>{tr!(locale, filed_label)}</dt><dd>{date_time(&claim.created_at)}</dd>
            </dl>
            <p class="mt-4 text-sm">{tr!(locale, review_checklist)}</p>
            {decision}
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, claim_review_title) />
        <Meta name="robots" content="noindex" />
        <div class="page narrow">
            <p><a class="link" href="/united-way/claims">{tr!(locale, back_to_queue)}</a></p>
            <h1 class="page-title">{tr!(locale, claim_review_title)}</h1>
            {loaded(content)}
        </div>
    }
}
