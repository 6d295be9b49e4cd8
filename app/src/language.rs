//! The language a page is written in: chosen once per request, from the resident's choice
//! (the `i18n_pref_locale` cookie, which `?lang=` sets) or else their browser's
//! `Accept-Language`, else English; then read by every page with [`current`].
//!
//! Not leptos_i18n's context provider: on the server it spawns an effect that reads the
//! language signal, and when that task first runs after the request's reactive owner is gone
//! (a fast page, a busy machine) it panics with "a reactive value that has already been
//! disposed". A page only needs the language as a value, so it is one.

use crate::i18n::Locale;
use leptos::prelude::*;

/// The cookie that remembers a resident's language choice.
pub const COOKIE: &str = "i18n_pref_locale";

#[derive(Clone, Copy)]
struct PageLanguage(Locale);

/// The language of the page being rendered (English outside a page).
pub fn current() -> Locale {
    use_context::<PageLanguage>().map_or(Locale::en, |l| l.0)
}

/// A locale we write, by its code ("es", "es-MX", "EN").
fn by_code(code: &str) -> Option<Locale> {
    let primary = code.trim().split(['-', '_']).next()?;
    if primary.eq_ignore_ascii_case("es") {
        Some(Locale::es)
    } else if primary.eq_ignore_ascii_case("en") {
        Some(Locale::en)
    } else {
        None
    }
}

/// The language for a request with these `Cookie` and `Accept-Language` header values.
pub fn choose<'a>(
    cookies: impl IntoIterator<Item = &'a str>,
    accept_language: Option<&str>,
) -> Locale {
    let chosen = cookies
        .into_iter()
        .flat_map(|h| h.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .and_then(|(_, value)| by_code(value));
    chosen
        .or_else(|| accept_language.and_then(from_accept_language))
        .unwrap_or(Locale::en)
}

/// The browser's most wanted language we write: `es-MX,es;q=0.9,en;q=0.5` is Spanish.
fn from_accept_language(header: &str) -> Option<Locale> {
    let mut wanted: Vec<(f32, Locale)> = header
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let locale = by_code(parts.next()?)?;
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (q > 0.0).then_some((q, locale))
        })
        .collect();
    // Stable: of equal weights, the first listed wins.
    wanted.sort_by(|a, b| b.0.total_cmp(&a.0));
    wanted.first().map(|(_, l)| *l)
}

/// Chooses the request's language for the pages below, and says it on `<html lang>`.
#[cfg(feature = "ssr")]
#[component]
pub fn LanguageProvider(children: Children) -> impl IntoView {
    use axum::http::{header, request::Parts};
    let locale = use_context::<Parts>().map_or(Locale::en, |parts| {
        choose(
            parts
                .headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok()),
            parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        )
    });
    provide_context(PageLanguage(locale));
    let lang = leptos_i18n::Locale::as_str(locale);
    view! {
        {children()}
        <leptos_meta::Html attr:lang=lang attr:dir="ltr" />
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_residents_choice_comes_before_the_browsers() {
        assert_eq!(
            choose(["a=b; i18n_pref_locale=es"], Some("en-US,en")),
            Locale::es
        );
        assert_eq!(choose(["i18n_pref_locale=en"], Some("es")), Locale::en);
        // A cookie naming a language we do not write is no choice.
        assert_eq!(choose(["i18n_pref_locale=fr"], Some("es")), Locale::es);
    }

    #[test]
    fn the_browsers_most_wanted_language_we_write() {
        assert_eq!(choose([], Some("es-MX,es;q=0.9,en;q=0.5")), Locale::es);
        assert_eq!(choose([], Some("fr-CA, en;q=0.3, es;q=0.8")), Locale::es);
        assert_eq!(choose([], Some("es;q=0, en;q=0.1")), Locale::en);
        assert_eq!(choose([], Some("de, fr")), Locale::en);
        assert_eq!(choose([], Some(";;,,q=")), Locale::en);
        assert_eq!(choose([], None), Locale::en);
    }
}
