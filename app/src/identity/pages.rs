//! Sign-in pages and the signed-in home ("Your account").

use super::accounts::AuthSession;
use super::{session_keys, PendingCode};
use crate::config::Deployment;
use crate::forms::{loaded, query, FormAlert, Notice};
use crate::i18n::*;
use crate::policy::{allows, Action, Role};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};

pub fn role_label(locale: Locale, role: Role) -> String {
    match role {
        Role::Anonymous => tr!(locale, role_anonymous),
        Role::Onboarding => tr!(locale, role_onboarding),
        Role::Resident => tr!(locale, role_resident),
        Role::PartnerStaff => tr!(locale, role_partner_staff),
        Role::PartnerAdmin => tr!(locale, role_partner_admin),
        Role::HospitalStaff => tr!(locale, role_hospital_staff),
        Role::ChapterReviewer => tr!(locale, role_chapter_reviewer),
        Role::ReferralSpecialist => tr!(locale, role_referral_specialist),
        Role::StateAdmin => tr!(locale, role_state_admin),
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let locale = crate::language::current();
    let deployment = expect_context::<Deployment>();
    if let Some(viewer) = crate::web::request().viewer {
        leptos_axum::redirect(viewer.home());
    }
    let next = query("next").and_then(|n| crate::web::local_path(&n));
    let idp = (!deployment.identity.oidc_issuer.is_empty()).then(|| {
        let href = match &next {
            Some(n) => format!("/auth/oidc/start?next={}", super::urlencode(n)),
            None => "/auth/oidc/start".to_string(),
        };
        view! {
            <p class="mt-6">
                <a class="button-primary w-full" href=href>
                    {tr!(locale, sign_in_with_idp, provider = deployment.identity.provider_name.clone())}
                </a>
            </p>
            <p class="mt-2 text-sm">{tr!(locale, sign_in_residents_idp, provider = deployment.identity.provider_name.clone())}</p>
            <p class="divider">{tr!(locale, or_divider)}</p>
        }
    });
    let signed_out = query("signed_out").map(|_| tr!(locale, signed_out_notice));
    view! {
        <Title text=tr!(locale, sign_in_title) />
        <Meta name="robots" content="noindex" />
        <div class="page narrow">
            <h1 class="page-title">{tr!(locale, sign_in_title)}</h1>
            <p class="mt-2">{tr!(locale, sign_in_intro)}</p>
            <Notice text=signed_out />
            <FormAlert />
            {idp}
            <form class="stack mt-4" method="post" action="/fn/sign_in">
                <input type="hidden" name="next" value=next.unwrap_or_default() />
                <label class="form-field">
                    <span class="field-label">{tr!(locale, email_label)}</span>
                    <input class="field w-full" type="email" name="email" autocomplete="username" required />
                </label>
                <label class="form-field">
                    <span class="field-label">{tr!(locale, password_label)}</span>
                    <input class="field w-full" type="password" name="password" autocomplete="current-password" required />
                </label>
                <button class="button-primary" type="submit">{tr!(locale, sign_in_button)}</button>
            </form>
            <p class="mt-6 text-sm">{tr!(locale, sign_in_partner_help)}</p>
        </div>
    }
}

#[component]
pub fn SignInCodePage() -> impl IntoView {
    let locale = crate::language::current();
    let content = async move {
        let pending: Option<PendingCode> = match leptos_axum::extract::<AuthSession>().await {
            Ok(auth) => auth
                .session
                .get(session_keys::PENDING_CODE)
                .await
                .ok()
                .flatten(),
            Err(_) => None,
        };
        if pending.is_none() {
            leptos_axum::redirect("/sign-in?error=expired");
        }
        view! {
            <FormAlert />
            <form class="stack mt-4" method="post" action="/fn/verify_sign_in_code">
                <label class="form-field">
                    <span class="field-label">{tr!(locale, code_label)}</span>
                    <span class="hint" id="code-hint">{tr!(locale, code_hint)}</span>
                    <input
                        class="field w-full"
                        type="text"
                        name="code"
                        inputmode="numeric"
                        autocomplete="one-time-code"
                        aria-describedby="code-hint"
                        required
                        maxlength="20"
                    />
                </label>
                <button class="button-primary" type="submit">{tr!(locale, verify_button)}</button>
            </form>
        }
    };
    view! {
        <Title text=tr!(locale, code_title) />
        <Meta name="robots" content="noindex" />
        <div class="page narrow">
            <h1 class="page-title">{tr!(locale, code_title)}</h1>
            <p class="mt-2">{tr!(locale, code_intro)}</p>
            {loaded(content)}
        </div>
    }
}

/// The signed-in home: who you are here, and the work your role opens.
#[component]
pub fn AccountPage() -> impl IntoView {
    let locale = crate::language::current();
    let Some(viewer) = crate::web::request().viewer else {
        leptos_axum::redirect("/sign-in");
        return ().into_any();
    };
    let deployment = expect_context::<Deployment>();
    let role = viewer.effective_role();
    let chapter = viewer
        .chapter
        .as_deref()
        .and_then(|c| deployment.onboarding.chapter(c))
        .map(|c| c.name.clone());
    let links: Vec<(Action, &str, String)> = vec![
        (
            Action::CompleteOnboarding,
            "/onboarding",
            tr!(locale, link_onboarding),
        ),
        (
            Action::SeePartnerDashboard,
            "/partner",
            tr!(locale, link_partner_dashboard),
        ),
        (
            Action::WorkReferrals,
            "/referrals/inbox",
            tr!(locale, link_inbox),
        ),
        (
            Action::MakeReferrals,
            "/referrals/sent",
            tr!(locale, link_sent),
        ),
        (Action::ManageTeam, "/partner/team", tr!(locale, link_team)),
        (
            Action::ReviewClaims,
            "/united-way/claims",
            tr!(locale, link_claims),
        ),
        (
            Action::SupportReferrals,
            "/united-way/referrals",
            tr!(locale, support_title),
        ),
        (Action::SearchAudit, "/state/audit", tr!(locale, link_audit)),
        (
            Action::SeeDirectorySources,
            "/state/directory",
            tr!(locale, link_directory_sources),
        ),
        (Action::UseDirectory, "/", tr!(locale, link_directory)),
    ];
    let links = links
        .into_iter()
        .filter(|(action, ..)| allows(role, *action))
        .map(|(_, href, label)| view! { <li><a class="link" href=href>{label}</a></li> })
        .collect_view();
    view! {
        <Title text=tr!(locale, account_title) />
        <Meta name="robots" content="noindex" />
        <div class="page">
            <h1 class="page-title">{tr!(locale, account_title)}</h1>
            <dl class="facts mt-4">
                <dt>{tr!(locale, name_label)}</dt>
                <dd>{viewer.name.clone()}</dd>
                <dt>{tr!(locale, email_label)}</dt>
                <dd>{viewer.email.clone()}</dd>
                <dt>{tr!(locale, role_label)}</dt>
                <dd>{role_label(locale, role)}</dd>
                {viewer.organization_name.clone().map(|o| view! {
                    <dt>{tr!(locale, organization_label)}</dt>
                    <dd>{o}</dd>
                })}
                {chapter.map(|c| view! {
                    <dt>{tr!(locale, chapter_label)}</dt>
                    <dd>{c}</dd>
                })}
            </dl>
            <h2 class="section-title mt-6">{tr!(locale, your_work)}</h2>
            <ul class="link-list mt-2">{links}</ul>
            <form class="mt-6" method="post" action="/fn/sign_out">
                <button class="button-secondary" type="submit">{tr!(locale, sign_out_button)}</button>
            </form>
        </div>
    }
    .into_any()
}
