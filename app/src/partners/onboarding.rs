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
    let locale = crate::language::current();
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
    let locale = crate::language::current();
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
        // The key in groups of four that never break across lines, so it can be typed.
        let groups = secret
            .as_bytes()
            .chunks(4)
            .map(|c| {
                let g = String::from_utf8_lossy(c).to_string();
                view! { <span class="key-group">{g}</span>" " }
            })
            .collect_view();
        view! {
            <p class="mt-2">{tr!(locale, mfa_intro)}</p>
            // On the phone itself: open the authenticator app straight from the page.
            <p class="mt-4"><a class="button-primary w-full sm:w-auto" href=url.clone()>{tr!(locale, mfa_open_app)}</a></p>
            <p class="mt-4">{tr!(locale, mfa_qr_intro)}</p>
            <div class="qr mt-2" role="img" aria-label=tr!(locale, mfa_qr_label) inner_html=qr></div>
            <p class="mt-2">{tr!(locale, mfa_key_intro)}</p>
            <p class="key mt-1" data-testid="mfa-secret" data-secret=secret.clone()>{groups}</p>
            <crate::directory::islands::CopyButton text=secret.clone() label=tr!(locale, copy_key) copied_label=tr!(locale, copied) />
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
    let locale = crate::language::current();
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
        let all_codes = codes.join("\n");
        let items = codes
            .into_iter()
            .map(|c| view! { <li class="mono">{c}</li> })
            .collect_view();
        view! {
            <p class="mt-2">{tr!(locale, recovery_intro)}</p>
            <ul class="recovery-codes mt-4 print-sheet" data-testid="recovery-codes">{items}</ul>
            <div class="button-row mt-4 no-print">
                <crate::directory::islands::CopyButton text=all_codes label=tr!(locale, copy_codes) copied_label=tr!(locale, copied) />
                <crate::directory::islands::PrintButton label=tr!(locale, print_codes) />
            </div>
            <p class="mt-4 no-print"><a class="button-primary" href=next>{tr!(locale, continue_button)}</a></p>
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
    let locale = crate::language::current();
    let viewer = crate::web::request().viewer;
    if viewer.as_ref().is_some_and(|v| !v.mfa_enrolled) {
        skip_if_done(true);
    }
    skip_if_done(viewer.as_ref().is_some_and(|v| v.training_passed));
    // A check that came back keeps every answer given and says which ones are not right.
    let questions = async move {
        let kept = crate::web::take_kept("training").await;
        QUIZ.iter()
            .map(|(q, answers, correct)| {
                let given = kept.as_ref().and_then(|k| k.value(q));
                let wrong = kept.is_some() && given.as_deref() != Some(*correct);
                let error_id = format!("{q}-error");
                let choices = answers
                    .iter()
                    .map(|a| {
                        let checked = given.as_deref() == Some(*a);
                        view! {
                            <label class="choice">
                                <input type="radio" name=*q value=*a required checked=checked />
                                <span>{quiz_text(locale, a)}</span>
                            </label>
                        }
                    })
                    .collect_view();
                view! {
                    <fieldset class="form-field" aria-invalid=wrong.then_some("true")
                        aria-describedby=wrong.then(|| error_id.clone())>
                        <legend class="field-label">{quiz_text(locale, q)}</legend>
                        {wrong.then(|| view! { <span class="field-error" id=error_id.clone()>{tr!(locale, training_answer_wrong)}</span> })}
                        {choices}
                    </fieldset>
                }
            })
            .collect_view()
    };
    let questions = loaded(questions);
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
        let given = [q_consent.clone(), q_close.clone(), q_account.clone()];
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
    let typed = [
        ("q_consent", q_consent),
        ("q_close", q_close),
        ("q_account", q_account),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    crate::web::finish_keeping("/onboarding/training", "training", typed, outcome).await
}

#[component]
pub fn AgreementPage() -> impl IntoView {
    let locale = crate::language::current();
    let viewer = crate::web::request().viewer;
    if viewer
        .as_ref()
        .is_some_and(|v| !v.mfa_enrolled || !v.training_passed)
    {
        skip_if_done(true);
    }
    skip_if_done(viewer.as_ref().is_some_and(|v| v.agreement_accepted));
    let paragraphs = agreement_view(AGREEMENT_TEXT);
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

/// One block of the user agreement, read from its Markdown: a heading, a numbered clause (with
/// its bold lead), or a paragraph.
#[derive(Clone, Debug, PartialEq)]
enum AgreementBlock {
    Heading(String),
    Clause {
        number: u32,
        lead: String,
        rest: String,
    },
    Paragraph(String),
}

fn agreement_blocks(markdown: &str) -> Vec<AgreementBlock> {
    let mut blocks = Vec::new();
    for block in markdown
        .split("\n\n")
        .map(str::trim)
        .filter(|b| !b.is_empty())
    {
        let joined = block.lines().map(str::trim).collect::<Vec<_>>().join(" ");
        if let Some(h) = joined.strip_prefix("# ") {
            blocks.push(AgreementBlock::Heading(h.to_string()));
            continue;
        }
        // A list of numbered clauses, each starting a line ("1. **Lead.** rest").
        let mut clauses = Vec::new();
        for line in block.lines() {
            let t = line.trim();
            let numbered = t
                .split_once(". ")
                .and_then(|(n, rest)| n.parse::<u32>().ok().map(|n| (n, rest)));
            match (numbered, clauses.last_mut()) {
                (Some((n, rest)), _) => clauses.push((n, rest.to_string())),
                (None, Some((_, text))) => {
                    text.push(' ');
                    text.push_str(t);
                }
                (None, None) => break,
            }
        }
        if clauses.is_empty() {
            blocks.push(AgreementBlock::Paragraph(joined.replace("**", "")));
            continue;
        }
        for (number, text) in clauses {
            let (lead, rest) = match text.strip_prefix("**").and_then(|t| t.split_once("**")) {
                Some((lead, rest)) => (lead.to_string(), rest.trim().to_string()),
                None => (String::new(), text.replace("**", "")),
            };
            blocks.push(AgreementBlock::Clause { number, lead, rest });
        }
    }
    blocks
}

/// The agreement as it is written: its heading, its numbered clauses, its paragraphs.
fn agreement_view(markdown: &str) -> impl IntoView {
    let blocks = agreement_blocks(markdown);
    let mut items = Vec::new();
    let mut list: Vec<AgreementBlock> = Vec::new();
    let flush = |list: &mut Vec<AgreementBlock>, items: &mut Vec<AnyView>| {
        if list.is_empty() {
            return;
        }
        let lis = std::mem::take(list)
            .into_iter()
            .map(|b| match b {
                AgreementBlock::Clause { number, lead, rest } => view! {
                    <li value=number.to_string() class="mt-2"><strong>{lead}</strong>" "{rest}</li>
                }
                .into_any(),
                _ => ().into_any(),
            })
            .collect_view();
        items.push(view! { <ol class="agreement-clauses">{lis}</ol> }.into_any());
    };
    for b in blocks {
        match b {
            AgreementBlock::Clause { .. } => list.push(b),
            AgreementBlock::Heading(h) => {
                flush(&mut list, &mut items);
                items.push(view! { <h2 class="section-title mt-2">{h}</h2> }.into_any());
            }
            AgreementBlock::Paragraph(p) => {
                flush(&mut list, &mut items);
                items.push(view! { <p class="mt-2">{p}</p> }.into_any());
            }
        }
    }
    flush(&mut list, &mut items);
    items.collect_view()
}

/// `/invitations/:token`: create the account an invitation promised.
#[component]
pub fn InvitationPage() -> impl IntoView {
    let locale = crate::language::current();
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
        let kept = crate::web::take_kept("invitation").await;
        let (name_bad, name_described) = crate::forms::invalid(&kept, "name");
        let (pw_bad, pw_error) = crate::forms::invalid(&kept, "password");
        let (confirm_bad, confirm_described) = crate::forms::invalid(&kept, "confirm");
        let pw_described = match pw_error {
            Some(e) => format!("pw-hint {e}"),
            None => "pw-hint".to_string(),
        };
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
                    {crate::forms::field_error(locale, &kept, "name")}
                    <input class="field w-full" name="name" value=crate::forms::kept_value(&kept, "name", &invitation.name) required maxlength="200" autocomplete="name"
                        aria-invalid=name_bad aria-describedby=name_described />
                </label>
                <label class="form-field">
                    <span class="field-label">{tr!(locale, new_password_label)}</span>
                    <span class="hint" id="pw-hint">{tr!(locale, new_password_hint)}</span>
                    {crate::forms::field_error(locale, &kept, "password")}
                    <input class="field w-full" type="password" name="password" required minlength="12" maxlength="128" autocomplete="new-password"
                        aria-describedby=pw_described aria-invalid=pw_bad />
                </label>
                <label class="form-field">
                    <span class="field-label">{tr!(locale, confirm_password_label)}</span>
                    {crate::forms::field_error(locale, &kept, "confirm")}
                    <input class="field w-full" type="password" name="confirm" required autocomplete="new-password"
                        aria-invalid=confirm_bad aria-describedby=confirm_described />
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

#[cfg(test)]
mod agreement_tests {
    use super::*;

    #[test]
    fn the_agreement_keeps_its_heading_and_numbered_clauses() {
        let blocks = agreement_blocks(AGREEMENT_TEXT);
        assert!(matches!(&blocks[0], AgreementBlock::Heading(h) if h.contains("user agreement")));
        let clauses: Vec<(u32, String)> = blocks
            .iter()
            .filter_map(|b| match b {
                AgreementBlock::Clause { number, lead, .. } => Some((*number, lead.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(clauses.len(), 7);
        assert_eq!(
            clauses[0],
            (
                1,
                "Use resident information only to help that resident.".into()
            )
        );
        assert_eq!(clauses[6].0, 7);
        assert!(
            matches!(blocks.last(), Some(AgreementBlock::Paragraph(p)) if p.starts_with("Breaking"))
        );
    }
}
