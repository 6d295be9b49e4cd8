//! Wraparound: the Leptos application. Pages render on the server (islands mode): a page works
//! before, and without, JavaScript; only the small islands in `*/islands.rs` run in the browser.

#![recursion_limit = "256"]
#![allow(deprecated)] // leptos_i18n prefers build.rs codegen; the macro keeps the build light.

leptos_i18n::load_locales!();

/// A translated string for `locale`, with `{name}` placeholders filled in:
/// `tr!(locale, miles_away, miles = "2.5")`. Every user-facing string goes through here.
macro_rules! tr {
    ($locale:expr, $key:ident) => {
        $crate::i18n::td_string!($locale, $key).to_string()
    };
    ($locale:expr, $key:ident, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::fill(&$crate::i18n::td_string!($locale, $key).to_string(), &[$((stringify!($name), $value.to_string())),+])
    };
}

/// Replaces `{name}` placeholders in a translated template.
pub fn fill(template: &str, args: &[(&str, String)]) -> String {
    let mut out = template.to_string();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

pub mod config;
#[cfg(feature = "ssr")]
pub mod contact;
pub mod directory;
pub mod language;
pub mod layout;
pub mod policy;
#[cfg(feature = "ssr")]
pub mod state;
pub mod us_states;

// Signed-in work is rendered on the server only: none of it, nor its SQL, is in the browser
// bundle.
#[cfg(feature = "ssr")]
pub mod assessments;
#[cfg(feature = "ssr")]
pub mod audit;
#[cfg(feature = "ssr")]
pub mod forms;
#[cfg(feature = "ssr")]
pub mod idempotency;
#[cfg(feature = "ssr")]
pub mod identity;
#[cfg(feature = "ssr")]
pub mod incentives;
#[cfg(feature = "ssr")]
pub mod jobs;
#[cfg(feature = "ssr")]
pub mod mail;
#[cfg(feature = "ssr")]
pub mod metrics;
#[cfg(feature = "ssr")]
pub mod partners;
#[cfg(feature = "ssr")]
pub mod rate_limit;
#[cfg(feature = "ssr")]
pub mod referrals;
#[cfg(feature = "ssr")]
pub mod residents;
#[cfg(feature = "ssr")]
pub mod sms;
#[cfg(feature = "ssr")]
pub mod text;
#[cfg(feature = "ssr")]
pub mod web;

use layout::set_status;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
// The shell and the router render on the server only (islands: the browser gets no router).
#[cfg(feature = "ssr")]
use layout::Layout;
#[cfg(feature = "ssr")]
use leptos_meta::{provide_meta_context, MetaTags};
#[cfg(feature = "ssr")]
use leptos_router::components::{Route, Router, Routes};
#[cfg(feature = "ssr")]
use leptos_router::{path, SsrMode};

/// Leptos ends each page with a `<script></script>` for streamed data it does not have here
/// (islands need none), written without the nonce; its hash lets it through.
#[cfg(feature = "ssr")]
const EMPTY_SCRIPT: &str = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

/// The Content-Security-Policy of every page: scripts only from this site or inline with this
/// response's nonce (the hydration script), WebAssembly allowed, nothing framed.
#[cfg(feature = "ssr")]
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' '{EMPTY_SCRIPT}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The HTML document around every page.
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    document(options, view! { <App /> }.into_any())
}

#[cfg(feature = "ssr")]
fn document(options: LeptosOptions, body: AnyView) -> impl IntoView {
    if let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) {
        if let Ok(value) = axum::http::HeaderValue::from_str(&content_security_policy(&nonce)) {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
    view! {
        <!DOCTYPE html>
        <html>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="theme-color" content="#1d4ed8" />
                <leptos_meta::HashedStylesheet options=options.clone() id="leptos" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                {body}
            </body>
        </html>
    }
}

/// A page behind the policy table: it renders only for a role the table allows `action`, whatever
/// path reached it (defence in depth behind the policy gate, which decides on the canonical
/// path before routing).
#[cfg(feature = "ssr")]
fn guard<V: IntoView + 'static>(
    action: policy::Action,
    page: fn() -> V,
) -> impl Fn() -> AnyView + Clone + Send + 'static {
    move || match web::authorize(action) {
        Ok(_) => page().into_any(),
        Err(_) => view! { <Refused /> }.into_any(),
    }
}

/// [`guard`] for a page people who are not signed in may see too (My Plan).
#[cfg(feature = "ssr")]
fn guard_open<V: IntoView + 'static>(
    action: policy::Action,
    page: fn() -> V,
) -> impl Fn() -> AnyView + Clone + Send + 'static {
    move || match web::permit(action) {
        Ok(_) => page().into_any(),
        Err(_) => view! { <Refused /> }.into_any(),
    }
}

/// What a page behind the policy shows someone it does not allow.
#[cfg(feature = "ssr")]
#[component]
fn Refused() -> impl IntoView {
    set_status(403);
    let locale = crate::language::current();
    view! {
        <Title text=tr!(locale, err_denied) />
        <Meta name="robots" content="noindex" />
        <div class="page">
            <h1 class="page-title">{tr!(locale, err_denied)}</h1>
            <p class="mt-4"><a class="button-primary" href="/account">{tr!(locale, go_to_account)}</a></p>
        </div>
    }
}

/// The page for every path that no route matches. It holds no routes at all: a path the router
/// might have matched loosely (a trailing slash, a dot segment) can never render a protected
/// page through it.
#[cfg(feature = "ssr")]
pub fn not_found_shell(options: LeptosOptions) -> impl IntoView {
    document(options, view! { <NotFoundApp /> }.into_any())
}

#[cfg(feature = "ssr")]
#[component]
fn NotFoundApp() -> impl IntoView {
    provide_meta_context();
    view! {
        <language::LanguageProvider>
            <Router>
                <Layout>
                    <NotFound />
                </Layout>
            </Router>
        </language::LanguageProvider>
    }
}

#[cfg(feature = "ssr")]
#[component]
pub fn App() -> impl IntoView {
    use assessments::pages::{
        AssessmentPage, AssessmentQuestionsPage, SelfAssessmentPage, SelfAssessmentQuestionsPage,
        SelfAssessmentResultsPage, StartAssessmentPage,
    };
    use audit::AuditPage;
    use directory::feeds::DirectoryFeedsPage;
    use identity::pages::{AccountPage, SignInCodePage, SignInPage};
    use incentives::pages::{IncentiveReportPage, IncentivesPage};
    use mail::{MailboxMessagePage, MailboxPage};
    use metrics::pages::{ChapterMetricsPage, StateMetricsPage};
    use partners::claims::{
        ClaimConfirmPage, ClaimPage, ClaimReviewPage, ClaimSentPage, ClaimsQueuePage,
    };
    use partners::dashboard::PartnerDashboardPage;
    use partners::onboarding::{
        AgreementPage, InvitationPage, MfaPage, OnboardingPage, RecoveryCodesPage, TrainingPage,
    };
    use partners::team::TeamPage;
    use referrals::pages::{
        BatchPage, InboxPage, NewReferralPage, ReferralPage, SentPage, SupportPage,
    };
    use residents::pages::{
        ConsentRequestPage, DuplicatesPage, LinkRecordPage, MyPlanPage, NewResidentPage,
        ResidentPage, ResidentPrintPage, ResidentSearchPage,
    };
    provide_meta_context();
    view! {
        <language::LanguageProvider>
            <Router>
                <Layout>
                    <Routes fallback=NotFound>
                        <Route path=path!("") view=directory::home::HomePage ssr=SsrMode::Async />
                        <Route path=path!("/categories/:id") view=directory::home::CategoryPage ssr=SsrMode::Async />
                        <Route path=path!("/search") view=directory::results::SearchPage ssr=SsrMode::Async />
                        <Route path=path!("/programs/:id") view=directory::program::ProgramPage ssr=SsrMode::Async />
                        <Route path=path!("/programs/:id/share") view=directory::share::SharePage ssr=SsrMode::Async />
                        <Route path=path!("/programs/:id/print") view=directory::program::PrintPage ssr=SsrMode::Async />
                        <Route path=path!("/s/:code") view=directory::program::SharedProgramPage ssr=SsrMode::Async />
                        <Route path=path!("/organizations/:id/claim") view=ClaimPage ssr=SsrMode::Async />
                        <Route path=path!("/claim-sent") view=ClaimSentPage ssr=SsrMode::Async />
                        <Route path=path!("/claims/confirm/:token") view=ClaimConfirmPage ssr=SsrMode::Async />
                        <Route path=path!("/sign-in") view=SignInPage ssr=SsrMode::Async />
                        <Route path=path!("/sign-in/code") view=SignInCodePage ssr=SsrMode::Async />
                        <Route path=path!("/invitations/:token") view=InvitationPage ssr=SsrMode::Async />
                        <Route path=path!("/account") view=guard(policy::Action::SeeAccount, AccountPage) ssr=SsrMode::Async />
                        <Route path=path!("/onboarding") view=guard(policy::Action::CompleteOnboarding, OnboardingPage) ssr=SsrMode::Async />
                        <Route path=path!("/onboarding/mfa") view=guard(policy::Action::CompleteOnboarding, MfaPage) ssr=SsrMode::Async />
                        <Route path=path!("/onboarding/recovery-codes") view=guard(policy::Action::CompleteOnboarding, RecoveryCodesPage) ssr=SsrMode::Async />
                        <Route path=path!("/onboarding/training") view=guard(policy::Action::CompleteOnboarding, TrainingPage) ssr=SsrMode::Async />
                        <Route path=path!("/onboarding/agreement") view=guard(policy::Action::CompleteOnboarding, AgreementPage) ssr=SsrMode::Async />
                        <Route path=path!("/partner") view=guard(policy::Action::SeePartnerDashboard, PartnerDashboardPage) ssr=SsrMode::Async />
                        <Route path=path!("/partner/team") view=guard(policy::Action::ManageTeam, TeamPage) ssr=SsrMode::Async />
                        <Route path=path!("/referrals/new") view=guard(policy::Action::MakeReferrals, NewReferralPage) ssr=SsrMode::Async />
                        <Route path=path!("/referrals/inbox") view=guard(policy::Action::WorkReferrals, InboxPage) ssr=SsrMode::Async />
                        <Route path=path!("/referrals/sent") view=guard(policy::Action::MakeReferrals, SentPage) ssr=SsrMode::Async />
                        <Route path=path!("/referrals/batch/:id") view=guard(policy::Action::MakeReferrals, BatchPage) ssr=SsrMode::Async />
                        <Route path=path!("/referrals/:id") view=guard(policy::Action::WorkReferrals, ReferralPage) ssr=SsrMode::Async />
                        <Route path=path!("/united-way/referrals") view=guard(policy::Action::SupportReferrals, SupportPage) ssr=SsrMode::Async />
                        <Route path=path!("/united-way/claims") view=guard(policy::Action::ReviewClaims, ClaimsQueuePage) ssr=SsrMode::Async />
                        <Route path=path!("/united-way/claims/:id") view=guard(policy::Action::ReviewClaims, ClaimReviewPage) ssr=SsrMode::Async />
                        <Route path=path!("/residents") view=guard(policy::Action::HelpResidents, ResidentSearchPage) ssr=SsrMode::Async />
                        <Route path=path!("/residents/new") view=guard(policy::Action::HelpResidents, NewResidentPage) ssr=SsrMode::Async />
                        <Route path=path!("/residents/:id") view=guard(policy::Action::HelpResidents, ResidentPage) ssr=SsrMode::Async />
                        <Route path=path!("/residents/:id/print") view=guard(policy::Action::HelpResidents, ResidentPrintPage) ssr=SsrMode::Async />
                        <Route path=path!("/my-plan") view=guard_open(policy::Action::UsePlan, MyPlanPage) ssr=SsrMode::Async />
                        <Route path=path!("/my-plan/link") view=guard(policy::Action::ManageOwnRecord, LinkRecordPage) ssr=SsrMode::Async />
                        <Route path=path!("/consent/:token") view=ConsentRequestPage ssr=SsrMode::Async />
                        <Route path=path!("/united-way/duplicates") view=guard(policy::Action::ReviewDuplicates, DuplicatesPage) ssr=SsrMode::Async />
                        <Route path=path!("/assessment") view=guard_open(policy::Action::TakeSelfAssessment, SelfAssessmentPage) ssr=SsrMode::Async />
                        <Route path=path!("/assessment/questions/:page") view=guard_open(policy::Action::TakeSelfAssessment, SelfAssessmentQuestionsPage) ssr=SsrMode::Async />
                        <Route path=path!("/assessment/results") view=guard_open(policy::Action::TakeSelfAssessment, SelfAssessmentResultsPage) ssr=SsrMode::Async />
                        <Route path=path!("/residents/:id/assess") view=guard(policy::Action::AdministerAssessments, StartAssessmentPage) ssr=SsrMode::Async />
                        <Route path=path!("/assessments/:id") view=guard(policy::Action::AdministerAssessments, AssessmentPage) ssr=SsrMode::Async />
                        <Route path=path!("/assessments/:id/:page") view=guard(policy::Action::AdministerAssessments, AssessmentQuestionsPage) ssr=SsrMode::Async />
                        <Route path=path!("/state/metrics") view=guard(policy::Action::SeeStateMetrics, StateMetricsPage) ssr=SsrMode::Async />
                        <Route path=path!("/united-way/metrics") view=guard(policy::Action::SeeChapterMetrics, ChapterMetricsPage) ssr=SsrMode::Async />
                        <Route path=path!("/state/incentives") view=guard(policy::Action::SeeIncentiveReports, IncentivesPage) ssr=SsrMode::Async />
                        <Route path=path!("/state/incentives/:month") view=guard(policy::Action::SeeIncentiveReports, IncentiveReportPage) ssr=SsrMode::Async />
                        <Route path=path!("/state/audit") view=guard(policy::Action::SearchAudit, AuditPage) ssr=SsrMode::Async />
                        <Route path=path!("/state/directory") view=guard(policy::Action::SeeDirectorySources, DirectoryFeedsPage) ssr=SsrMode::Async />
                        <Route path=path!("/dev/mailbox") view=MailboxPage ssr=SsrMode::Async />
                        <Route path=path!("/dev/mailbox/:id") view=MailboxMessagePage ssr=SsrMode::Async />
                    </Routes>
                </Layout>
            </Router>
        </language::LanguageProvider>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    set_status(404);
    let locale = crate::language::current();
    view! {
        <Title text=tr!(locale, not_found_title) />
        <Meta name="robots" content="noindex" />
        <div class="page">
            <h1 class="page-title">{tr!(locale, not_found_title)}</h1>
            <p class="mt-2">{tr!(locale, not_found_body)}</p>
            <p class="mt-4">
                <a class="button-primary" href="/">{tr!(locale, go_home)}</a>
            </p>
        </div>
    }
}

#[cfg(test)]
mod locale_tests {
    use std::collections::BTreeMap;

    fn load(locale: &str) -> BTreeMap<String, String> {
        let path = format!("{}/locales/{locale}.json", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn placeholders(s: &str) -> Vec<String> {
        let mut out: Vec<String> = s
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_string()))
            .collect();
        out.sort();
        out
    }

    /// Every page, partner and staff pages included, exists in every language: a key missing
    /// in one locale (or a placeholder lost in translation) fails here, not on a screen.
    #[test]
    fn every_locale_has_every_key_with_the_same_placeholders() {
        let en = load("en");
        let es = load("es");
        let missing: Vec<&String> = en.keys().filter(|k| !es.contains_key(*k)).collect();
        let extra: Vec<&String> = es.keys().filter(|k| !en.contains_key(*k)).collect();
        assert!(missing.is_empty(), "missing in es.json: {missing:?}");
        assert!(extra.is_empty(), "only in es.json: {extra:?}");
        for (k, v) in &en {
            assert_eq!(placeholders(v), placeholders(&es[k]), "placeholders of {k}");
            assert!(!es[k].trim().is_empty(), "{k} is empty in es.json");
        }
    }
}
