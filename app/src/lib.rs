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
#[cfg(feature = "ssr")]
pub mod state;

use i18n::*;
use layout::{set_status, Layout};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Meta, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The HTML document around every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
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

#[component]
pub fn App() -> impl IntoView {
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
