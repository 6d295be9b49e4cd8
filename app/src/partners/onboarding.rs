//! Final onboarding, before any resident data is reachable: MFA enrolment (with recovery codes),
//! a short training with a check at the end, and the user agreement. Also the invitation page
//! that starts it.

use super::store;
use crate::audit::Actor;
use crate::config::Deployment;
use crate::forms::{loaded, query, FormAlert};
use crate::i18n::*;
use crate::identity::accounts::AuthSession;
use crate::identity::{mfa, sealed, session_keys};
use crate::layout::set_status;
use crate::state::AppState;
use crate::web::{finish, Problem};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;

/// The user agreement in force. A new version means a new file and a new constant: everyone is
/// asked to accept it at their next request.
pub const AGREEMENT_VERSION: &str = "2026-11";
pub const AGREEMENT_TEXT: &str = include_str!("../../agreements/user-agreement-2026-11.md");
pub const TRAINING_VERSION: &str = "2026-11";

/// The training check: question key, the answer keys offered, and the right one.
const QUIZ: &[(&str, &[&str], &str)] = &[
    (
        "q_consent",
        &["a_consent_always", "a_consent_never", "a_consent_manager"],
        "a_consent_always",
    ),
    (
        "q_close",
        &["a_close_outcome", "a_close_delete", "a_close_ignore"],
        "a_close_outcome",
    ),
    (
        "q_account",
        &["a_account_share", "a_account_own", "a_account_email"],
        "a_account_own",
    ),
];

fn quiz_text(locale: Locale, key: &str) -> String {
    match key {
        "q_consent" => tr!(locale, q_consent),
        "a_consent_always" => tr!(locale, a_consent_always),
        "a_consent_never" => tr!(locale, a_consent_never),
        "a_consent_manager" => tr!(locale, a_consent_manager),
        "q_close" => tr!(locale, q_close),
        "a_close_outcome" => tr!(locale, a_close_outcome),
        "a_close_delete" => tr!(locale, a_close_delete),
        "a_close_ignore" => tr!(locale, a_close_ignore),
        "q_account" => tr!(locale, q_account),
        "a_account_share" => tr!(locale, a_account_share),
        "a_account_own" => tr!(locale, a_account_own),
        _ => tr!(locale, a_account_email),
    }
}

/// Steps 1–3 with the current one marked (USWDS step indicator pattern).
#[component]
fn Steps(current: usize) -> impl IntoView {
    let locale = use_i18n().get_locale_untracked();
    let names = [
        tr!(locale, step_mfa),
        tr!(locale, step_training),
        tr!(locale, step_agreement),
    ];
    let items = names
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let class = if i < current {
                "step done"
            } else if i == current {
                "step current"
            } else {
                "step"
            };
            let aria = (i == current).then_some("step");
            view! { <li class=class aria-current=aria>{name}</li> }
        })
        .collect_view();
    view! {
        <ol class="steps mt-4" aria-label=tr!(locale, onboarding_steps)>{items}</ol>
    }
}

/// `/onboarding`: on to the next step, or home when done.
#[component]
pub fn OnboardingPage() -> impl IntoView {
    if let Some(v) = crate::web::request().viewer {
        leptos_axum::redirect(v.next_onboarding_step().unwrap_or(v.home()));
    }
}

/// Sends someone to where they belong if this step is already behind them.
fn skip_if_done(step_done: bool) -> bool {
    let viewer = crate::web::request().viewer;
    if let Some(v) = viewer.filter(|_| step_done) {
        leptos_axum::redirect(v.next_onboarding_step().unwrap_or(v.home()));
        return true;
    }
    false
}

#[component]
pub fn MfaPage() -> impl IntoView {
    let locale = use_i18n().get_locale_untracked();
    let viewer = crate::web::request().viewer;
    let done = viewer.as_ref().is_some_and(|v| v.mfa_enrolled);
    let content = async move {
        if done || viewer.is_none() {
            skip_if_done(done);
            return ().into_any();
        }
        let viewer = viewer.unwrap();
        let deployment = expect_context::<Deployment>();
        // The secret waits in the session (sealed, like in `users`) until a code from it proves
        // the app has it.
        let key = sealed::key(&deployment).ok();
        let secret = match (leptos_axum::extract::<AuthSession>().await, key) {
            (Ok(auth), Some(key)) => {
                let existing: Option<String> = auth
                    .session
                    .get::<String>(session_keys::MFA_SECRET)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|s| key.open(&s));
                match existing {
                    Some(s) => Some(s),
                    None => {
                        let s = mfa::new_secret();
                        auth.session
                            .insert(session_keys::MFA_SECRET, key.seal(&s))
                            .await
                            .ok()
                            .map(|_| s)
                    }
                }
            }
            _ => None,
        };
        let Some(secret) = secret else {
            set_status(503);
            return view! { <p role="alert">{tr!(locale, err_unavailable)}</p> }.into_any();
        };
        let url = mfa::enrolment_url(&secret, &deployment.site.name, &viewer.email);
        let qr = crate::directory::share::qr_svg(&url);
        let grouped = secret
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).to_string())
            .collect::<Vec<_>>()
            .join(" ");
        view! {
            <p class="mt-2">{tr!(locale, mfa_intro)}</p>
            <div class="qr mt-4" role="img" aria-label=tr!(locale, mfa_qr_label) inner_html=qr></div>
            <p class="mt-2">{tr!(locale, mfa_key_intro)}</p>
            <p class="mono mt-1" data-testid="mfa-secret" data-secret=secret.clone()>{grouped}</p>
            <FormAlert />
            <form class="stack mt-4" method="post" action="/fn/enroll_mfa">
                <label class="form-field">
                    <span class="field-label">{tr!(locale, code_label)}</span>
                    <input class="field w-full" type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="10" />
                </label>
                <button class="button-primary" type="submit">{tr!(locale, mfa_confirm_button)}</button>
            </form>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, mfa_title) />
        <Meta name="robots" content="noindex" />
        <div class="page narrow">
            <h1 class="page-title">{tr!(locale, mfa_title)}</h1>
            <Steps current=0 />
            {loaded(content)}
        </div>
    }
}

#[server(prefix = "/fn", endpoint = "enroll_mfa")]
pub async fn enroll_mfa(code: String) -> Result<(), ServerFnError> {
    let auth: AuthSession = leptos_axum::extract().await?;
    let outcome = async {
        let state = AppState::get();
        let viewer = crate::web::authorize(crate::policy::Action::CompleteOnboarding)?;
        if viewer.mfa_enrolled {
            return Ok(viewer
                .next_onboarding_step()
                .unwrap_or(viewer.home())
                .to_string());
        }
        let key = sealed::key(&state.deployment)?;
        let secret: Option<String> = auth.session.get(session_keys::MFA_SECRET).await?;
        let secret = secret
            .and_then(|s| key.open(&s))
            .ok_or(Problem::new("expired"))?;
        let now = chrono::Utc::now().timestamp() as u64;
        let step = mfa::check(&secret, &code, now, None).ok_or(Problem::new("wrong_code"))?;
        let codes = mfa::new_recovery_codes();
        let hashes: Vec<Vec<u8>> = codes.iter().map(|c| mfa::recovery_code_hash(c)).collect();
        store::enroll_mfa(
            &state.pool,
            viewer.user_id,
            &key.seal(&secret),
            step,
            &hashes,
            &Actor::current(),
        )
        .await?;
        auth.session
            .remove::<String>(session_keys::MFA_SECRET)
            .await?;
        auth.session
            .insert(session_keys::RECOVERY_CODES, codes)
            .await?;
        Ok("/onboarding/recovery-codes".to_string())
    }
    .await;
    finish("/onboarding/mfa", outcome)
}

/// The recovery codes, shown exactly once.
#[component]
pub fn RecoveryCodesPage() -> impl IntoView {
    let locale = use_i18n().get_locale_untracked();
    let viewer = crate::web::request().viewer;
    let content = async move {
        let codes: Option<Vec<String>> = match leptos_axum::extract::<AuthSession>().await {
            Ok(auth) => auth
                .session
                .remove(session_keys::RECOVERY_CODES)
                .await
                .ok()
                .flatten(),
            Err(_) => None,
        };
        let next = viewer
            .as_ref()
            .map(|v| v.next_onboarding_step().unwrap_or(v.home()))
            .unwrap_or("/onboarding");
        let Some(codes) = codes else {
            leptos_axum::redirect(next);
            return ().into_any();
        };
        let items = codes
            .into_iter()
            .map(|c| view! { <li class="mono">{c}</li> })
            .collect_view();
        view! {
            <p class="mt-2">{tr!(locale, recovery_intro)}</p>
            <ul class="recovery-codes mt-4" data-testid="recovery-codes">{items}</ul>
            <p class="mt-4"><a class="button-primary" href=next>{tr!(locale, continue_button)}</a></p>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, recovery_title) />
        <Meta name="robots" content="noindex" />
        <div class="page narrow">
            <h1 class="page-title">{tr!(locale, recovery_title)}</h1>
            <Steps current=0 />
            {loaded(content)}
        </div>
    }
}

#[component]
pub fn TrainingPage() -> impl IntoView {
    let locale = use_i18n().get_locale_untracked();
    let viewer = crate::web::request().viewer;
    if viewer.as_ref().is_some_and(|v| !v.mfa_enrolled) {
        skip_if_done(true);
    }
    skip_if_done(viewer.as_ref().is_some_and(|v| v.training_passed));
    let questions = QUIZ
        .iter()
        .map(|(q, answers, _)| {
            let choices = answers
                .iter()
                .map(|a| {
                    view! {
                        <label class="choice">
                            <input type="radio" name=*q value=*a required />
                            <span>{quiz_text(locale, a)}</span>
                        </label>
                    }
                })
                .collect_view();
            view! {
                <fieldset class="form-field">
                    <legend class="field-label">{quiz_text(locale, q)}</legend>
                    {choices}
                </fieldset>
            }
        })
        .collect_view();
    view! {
        <Title text=tr!(locale, training_title) />
        <Meta name="robots" content="noindex" />
        <div class="page narrow">
            <h1 class="page-title">{tr!(locale, training_title)}</h1>
            <Steps current=1 />
            <section class="mt-4" aria-labelledby="t-privacy">
                <h2 class="section-title" id="t-privacy">{tr!(locale, training_privacy_title)}</h2>
                <p class="mt-1">{tr!(locale, training_privacy_body)}</p>
            </section>
            <section class="mt-4" aria-labelledby="t-consent">
                <h2 class="section-title" id="t-consent">{tr!(locale, training_consent_title)}</h2>
                <p class="mt-1">{tr!(locale, training_consent_body)}</p>
            </section>
            <section class="mt-4" aria-labelledby="t-closing">
                <h2 class="section-title" id="t-closing">{tr!(locale, training_closing_title)}</h2>
                <p class="mt-1">{tr!(locale, training_closing_body)}</p>
            </section>
            <h2 class="section-title mt-6">{tr!(locale, training_check_title)}</h2>
            <FormAlert />
            <form class="stack mt-2" method="post" action="/fn/pass_training">
                {questions}
                <button class="button-primary" type="submit">{tr!(locale, training_submit)}</button>
            </form>
        </div>
    }
}

#[server(prefix = "/fn", endpoint = "pass_training")]
pub async fn pass_training(
    q_consent: Option<String>,
    q_close: Option<String>,
    q_account: Option<String>,
) -> Result<(), ServerFnError> {
    let outcome = async {
        let state = AppState::get();
        let viewer = crate::web::authorize(crate::policy::Action::CompleteOnboarding)?;
        if !viewer.mfa_enrolled {
            return Ok("/onboarding/mfa".to_string());
        }
        let given = [q_consent, q_close, q_account];
        let right = QUIZ
            .iter()
            .zip(given.iter())
            .all(|((_, _, correct), answer)| answer.as_deref() == Some(*correct));
        if !right {
            crate::audit::record(
                &state.pool,
                &Actor::current(),
                "training.check_failed",
                Some(&format!("user:{}", viewer.user_id)),
                crate::audit::Outcome::Failed,
                serde_json::json!({}),
            )
            .await?;
            return Err(Problem::new("training_wrong"));
        }
        store::pass_training(&state.pool, viewer.user_id, &Actor::current()).await?;
        Ok("/onboarding/agreement".to_string())
    }
    .await;
    finish("/onboarding/training", outcome)
}

#[component]
pub fn AgreementPage() -> impl IntoView {
    let locale = use_i18n().get_locale_untracked();
    let viewer = crate::web::request().viewer;
    if viewer
        .as_ref()
        .is_some_and(|v| !v.mfa_enrolled || !v.training_passed)
    {
        skip_if_done(true);
    }
    skip_if_done(viewer.as_ref().is_some_and(|v| v.agreement_accepted));
    // The agreement is short Markdown: headings and paragraphs become plain text blocks.
    let paragraphs = AGREEMENT_TEXT
        .split("\n\n")
        .skip(1)
        .map(|p| view! { <p class="mt-2">{p.replace("**", "").replace('\n', " ")}</p> })
        .collect_view();
    view! {
        <Title text=tr!(locale, agreement_title) />
        <Meta name="robots" content="noindex" />
        <div class="page narrow">
            <h1 class="page-title">{tr!(locale, agreement_title)}</h1>
            <Steps current=2 />
            <div class="agreement mt-4" tabindex="0" role="region" aria-label=tr!(locale, agreement_title)>
                <p class="text-sm">{tr!(locale, agreement_version, version = AGREEMENT_VERSION)}</p>
                {paragraphs}
            </div>
            <FormAlert />
            <form class="stack mt-4" method="post" action="/fn/accept_agreement">
                <input type="hidden" name="version" value=AGREEMENT_VERSION />
                <label class="choice">
                    <input type="checkbox" name="accept" value="yes" required />
                    <span>{tr!(locale, agreement_accept_label)}</span>
                </label>
                <button class="button-primary" type="submit">{tr!(locale, agreement_button)}</button>
            </form>
        </div>
    }
}

#[server(prefix = "/fn", endpoint = "accept_agreement")]
pub async fn accept_agreement(
    version: String,
    accept: Option<String>,
) -> Result<(), ServerFnError> {
    let outcome = async {
        let state = AppState::get();
        let viewer = crate::web::authorize(crate::policy::Action::CompleteOnboarding)?;
        if !viewer.mfa_enrolled || !viewer.training_passed {
            return Ok(viewer
                .next_onboarding_step()
                .unwrap_or("/onboarding")
                .to_string());
        }
        // Accepting an older text than the one in force does not count.
        if accept.as_deref() != Some("yes") || version != AGREEMENT_VERSION {
            return Err(Problem::new("agreement_needed"));
        }
        store::accept_agreement(
            &state.pool,
            viewer.user_id,
            viewer.organization_id,
            &Actor::current(),
        )
        .await?;
        let mut done = viewer.clone();
        done.agreement_accepted = true;
        Ok(done.home().to_string())
    }
    .await;
    finish("/onboarding/agreement", outcome)
}

/// `/invitations/:token`: create the account an invitation promised.
#[component]
pub fn InvitationPage() -> impl IntoView {
    let locale = use_i18n().get_locale_untracked();
    let token = use_params_map()
        .with_untracked(|p| p.get("token"))
        .unwrap_or_default();
    let via_idp = query("via").as_deref() == Some("idp");
    let content = async move {
        let state = AppState::get();
        let deployment = &state.deployment;
        let invitation = store::invitation(&state.pool, &token).await.ok().flatten();
        let Some(invitation) = invitation.filter(|i| !i.used && !i.expired) else {
            set_status(410);
            crate::audit::record_refusal(
                &state.pool,
                &Actor::current(),
                "invitation.open",
                None,
                crate::audit::Outcome::Denied,
                serde_json::json!({ "reason": "unknown, expired or already used" }),
            )
            .await;
            return view! { <p class="mt-2" role="alert">{tr!(locale, err_invitation_invalid)}</p> }.into_any();
        };
        let idp_on = !deployment.identity.oidc_issuer.is_empty();
        let idp_href = format!("/auth/oidc/start?invitation={token}");
        if via_idp && idp_on {
            leptos_axum::redirect(&idp_href);
            return ().into_any();
        }
        let idp = idp_on.then(|| view! {
            <p class="mt-4">
                <a class="button-secondary w-full" href=idp_href.clone()>
                    {tr!(locale, invitation_use_idp, provider = deployment.identity.provider_name.clone())}
                </a>
            </p>
            <p class="divider">{tr!(locale, or_divider)}</p>
        });
        view! {
            <p class="mt-2">{tr!(locale, invitation_intro, organization = invitation.organization_name.clone().unwrap_or_else(|| deployment.site.name.clone()))}</p>
            {idp}
            <FormAlert />
            <form class="stack mt-4" method="post" action="/fn/accept_invitation">
                <input type="hidden" name="token" value=token.clone() />
                <label class="form-field">
                    <span class="field-label">{tr!(locale, email_label)}</span>
                    <input class="field w-full" type="email" value=invitation.email.clone() readonly autocomplete="username" />
                </label>
                <label class="form-field">
                    <span class="field-label">{tr!(locale, name_label)}</span>
                    <input class="field w-full" name="name" value=invitation.name.clone() required maxlength="200" autocomplete="name" />
                </label>
                <label class="form-field">
                    <span class="field-label">{tr!(locale, new_password_label)}</span>
                    <span class="hint" id="pw-hint">{tr!(locale, new_password_hint)}</span>
                    <input class="field w-full" type="password" name="password" required minlength="12" maxlength="128" autocomplete="new-password" aria-describedby="pw-hint" />
                </label>
                <label class="form-field">
                    <span class="field-label">{tr!(locale, confirm_password_label)}</span>
                    <input class="field w-full" type="password" name="confirm" required autocomplete="new-password" />
                </label>
                <button class="button-primary" type="submit">{tr!(locale, create_account_button)}</button>
            </form>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, invitation_title) />
        <Meta name="robots" content="noindex" />
        <div class="page narrow">
            <h1 class="page-title">{tr!(locale, invitation_title)}</h1>
            {loaded(content)}
        </div>
    }
}
