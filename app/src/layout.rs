//! The page chrome every resident page shares: skip link, banner, header with the language
//! switch, footer with the help line.

use crate::config::Deployment;
use leptos::prelude::*;
use leptos_router::hooks::use_location;

/// Sets the HTTP status of the page being rendered (a no-op in the browser).
pub fn set_status(code: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(options), Ok(status)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        axum::http::StatusCode::from_u16(code),
    ) {
        options.set_status(status);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = code;
}

/// The current URL with `lang` set: the language switch link, which also works as a link
/// someone can send ("?lang=es").
fn with_lang(path: &str, search: &str, lang: &str) -> String {
    let mut pairs: Vec<&str> = search
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("lang="))
        .collect();
    let lang_pair = format!("lang={lang}");
    pairs.push(&lang_pair);
    format!("{path}?{}", pairs.join("&"))
}

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let locale = crate::language::current();
    let deployment = expect_context::<Deployment>();
    let location = use_location();
    let (path, search) = (
        location.pathname.get_untracked(),
        location.search.get_untracked(),
    );
    let other = tr!(locale, switch_language_code);
    let switch_href = with_lang(&path, &search, &other);
    let site = deployment.site.name.clone();
    // Signed-in people see who they are signed in as, their work and a way out; the page itself
    // is server-rendered.
    #[cfg(feature = "ssr")]
    let (signed_in, account, work) = {
        let viewer = crate::web::request().viewer;
        (
            viewer.is_some(),
            viewer.as_ref().map(|v| v.name.clone()),
            viewer.map(|v| view! { <HeaderWork viewer=v /> }),
        )
    };
    #[cfg(not(feature = "ssr"))]
    let (signed_in, account, work): (bool, Option<String>, Option<()>) = (false, None, None);
    let phone = deployment.site.help_phone.clone();
    // The help line is a tap-to-call link inside the sentence.
    let help = tr!(locale, footer_help);
    let (help_before, help_after) = help
        .split_once("{phone}")
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .unwrap_or((help, String::new()));
    view! {
        <a class="skip-link" href="#main">
            {tr!(locale, skip_to_content)}
        </a>
        {(!signed_in).then(|| view! { <div class="banner no-print">{tr!(locale, banner)}</div> })}
        <header class="site-header no-print">
            <div class="header-inner">
                <a class="site-name" href="/" aria-label=tr!(locale, home_link_label, site = site.clone())>
                    {site.clone()}
                </a>
                {account.map(|name| view! {
                    <a class="header-account" href="/account">{name}</a>
                })}
                {work}
                {(!signed_in).then(|| view! { <a class="header-link" href="/my-plan">{tr!(locale, my_plan_title)}</a> })}
                <a
                    class="lang-switch"
                    href=switch_href
                    hreflang=other.clone()
                    lang=other.clone()
                    aria-label=tr!(locale, switch_language_label)
                >
                    {tr!(locale, switch_language)}
                </a>
            </div>
        </header>
        <main id="main" tabindex="-1">
            {children()}
        </main>
        <footer class="site-footer no-print">
            <p>
                {help_before}
                <a class="link" href=format!("tel:{phone}")>{phone.clone()}</a>
                {help_after}
            </p>
            <p class="mt-2">{tr!(locale, footer_privacy)}</p>
            {(!signed_in).then(|| view! {
                <p class="mt-2">
                    <a class="link" href="/sign-in">{tr!(locale, footer_partner_sign_in)}</a>
                </p>
            })}
        </footer>
    }
}

/// A signed-in partner's work in the header of every page: the inbox with its count of new
/// referrals, the referral being put together (when there is one), and signing out.
#[cfg(feature = "ssr")]
#[component]
fn HeaderWork(viewer: crate::identity::Viewer) -> impl IntoView {
    use crate::policy::{allows, Action};
    let locale = crate::language::current();
    let role = viewer.effective_role();
    let works = allows(role, Action::WorkReferrals) && viewer.organization_id.is_some();
    let refers = allows(role, Action::MakeReferrals);
    let helps = allows(role, Action::HelpResidents);
    let plans = allows(role, Action::UsePlan);
    let counts = async move {
        let state = crate::state::AppState::get();
        let new = match (works, viewer.organization_id) {
            (true, Some(org)) => {
                crate::referrals::store::tab_counts(&state.pool, org, true, None, None)
                    .await
                    .map(|(n, ..)| n)
                    .ok()
            }
            _ => None,
        };
        let basket = if refers {
            crate::referrals::pages::basket_ids().await.len()
        } else {
            0
        };
        view! {
            {new.map(|n| view! { <a class="header-link" href="/referrals/inbox">{tr!(locale, header_inbox, count = n)}</a> })}
            {(basket > 0).then(|| view! { <a class="header-link" href="/referrals/new">{tr!(locale, referral_basket_count, count = basket)}</a> })}
        }
    };
    view! {
        {helps.then(|| view! { <a class="header-link" href="/residents">{tr!(locale, residents_title)}</a> })}
        {plans.then(|| view! { <a class="header-link" href="/my-plan">{tr!(locale, my_plan_title)}</a> })}
        {crate::forms::loaded(counts)}
        <form class="header-form" method="post" action="/fn/sign_out">
            <button class="header-link" type="submit">{tr!(locale, sign_out_button)}</button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::with_lang;

    #[test]
    fn the_language_link_keeps_the_search() {
        assert_eq!(
            with_lang("/search", "?q=food&lang=en", "es"),
            "/search?q=food&lang=es"
        );
        assert_eq!(with_lang("/", "", "es"), "/?lang=es");
    }
}
