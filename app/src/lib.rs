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
pub mod directory;
pub mod layout;
pub mod policy;
#[cfg(feature = "ssr")]
pub mod state;

// Signed-in work is rendered on the server only: none of it, nor its SQL, is in the browser
// bundle.
#[cfg(feature = "ssr")]
pub mod audit;
#[cfg(feature = "ssr")]
pub mod forms;
#[cfg(feature = "ssr")]
pub mod identity;
#[cfg(feature = "ssr")]
pub mod mail;
#[cfg(feature = "ssr")]
pub mod partners;
#[cfg(feature = "ssr")]
pub mod rate_limit;
#[cfg(feature = "ssr")]
pub mod referrals;
#[cfg(feature = "ssr")]
pub mod web;

use i18n::*;
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
                <App />
            </body>
        </html>
    }
}

#[cfg(feature = "ssr")]
#[component]
pub fn App() -> impl IntoView {
    use audit::AuditPage;
    use identity::pages::{AccountPage, SignInCodePage, SignInPage};
    use mail::{MailboxMessagePage, MailboxPage};
    use partners::claims::{ClaimPage, ClaimReviewPage, ClaimSentPage, ClaimsQueuePage};
    use partners::dashboard::PartnerDashboardPage;
    use partners::onboarding::{
        AgreementPage, InvitationPage, MfaPage, OnboardingPage, RecoveryCodesPage, TrainingPage,
    };
    use partners::team::TeamPage;
    use referrals::pages::{
        BatchPage, InboxPage, NewReferralPage, ReferralPage, SentPage, SupportPage,
    };
    provide_meta_context();
    view! {
        <I18nContextProvider>
            <Router>
                <Layout>
                    <Routes fallback=NotFound>
                        <Route path=path!("") view=directory::home::HomePage />
                        <Route path=path!("/categories/:id") view=directory::home::CategoryPage />
                        <Route path=path!("/search") view=directory::results::SearchPage ssr=SsrMode::Async />
                        <Route path=path!("/programs/:id") view=directory::program::ProgramPage ssr=SsrMode::Async />
                        <Route path=path!("/programs/:id/share") view=directory::share::SharePage ssr=SsrMode::Async />
                        <Route path=path!("/programs/:id/print") view=directory::program::PrintPage ssr=SsrMode::Async />
                        <Route path=path!("/s/:code") view=directory::program::SharedProgramPage ssr=SsrMode::Async />
                        <Route path=path!("/organizations/:id/claim") view=ClaimPage ssr=SsrMode::Async />
                        <Route path=path!("/claim-sent") view=ClaimSentPage ssr=SsrMode::Async />
                        <Route path=path!("/sign-in") view=SignInPage ssr=SsrMode::Async />
                        <Route path=path!("/sign-in/code") view=SignInCodePage ssr=SsrMode::Async />
                        <Route path=path!("/invitations/:token") view=InvitationPage ssr=SsrMode::Async />
                        <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async />
                        <Route path=path!("/onboarding") view=OnboardingPage ssr=SsrMode::Async />
                        <Route path=path!("/onboarding/mfa") view=MfaPage ssr=SsrMode::Async />
                        <Route path=path!("/onboarding/recovery-codes") view=RecoveryCodesPage ssr=SsrMode::Async />
                        <Route path=path!("/onboarding/training") view=TrainingPage ssr=SsrMode::Async />
                        <Route path=path!("/onboarding/agreement") view=AgreementPage ssr=SsrMode::Async />
                        <Route path=path!("/partner") view=PartnerDashboardPage ssr=SsrMode::Async />
                        <Route path=path!("/partner/team") view=TeamPage ssr=SsrMode::Async />
                        <Route path=path!("/referrals/new") view=NewReferralPage ssr=SsrMode::Async />
                        <Route path=path!("/referrals/inbox") view=InboxPage ssr=SsrMode::Async />
                        <Route path=path!("/referrals/sent") view=SentPage ssr=SsrMode::Async />
                        <Route path=path!("/referrals/batch/:id") view=BatchPage ssr=SsrMode::Async />
                        <Route path=path!("/referrals/:id") view=ReferralPage ssr=SsrMode::Async />
                        <Route path=path!("/united-way/referrals") view=SupportPage ssr=SsrMode::Async />
                        <Route path=path!("/united-way/claims") view=ClaimsQueuePage ssr=SsrMode::Async />
                        <Route path=path!("/united-way/claims/:id") view=ClaimReviewPage ssr=SsrMode::Async />
                        <Route path=path!("/state/audit") view=AuditPage ssr=SsrMode::Async />
                        <Route path=path!("/dev/mailbox") view=MailboxPage ssr=SsrMode::Async />
                        <Route path=path!("/dev/mailbox/:id") view=MailboxMessagePage ssr=SsrMode::Async />
                    </Routes>
                </Layout>
            </Router>
        </I18nContextProvider>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    set_status(404);
    let locale = use_i18n().get_locale_untracked();
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
