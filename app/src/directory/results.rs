//! `/search`: results for a GET query, with filters, sorting and pages. Everything is a link or
//! a plain form, so a search can be bookmarked, shared, and used with JavaScript off.

use super::categories::CategoryTree;
use super::home::SearchForm;
use super::model::{SearchResults, ServiceCard};
use super::query::{Field, FieldError, Problem, SearchParams, FILTER_LANGUAGES};
use super::DirectoryError;
use crate::config::Deployment;
use crate::i18n::*;
use crate::layout::set_status;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
#[cfg(not(feature = "ssr"))]
use leptos_router::hooks::use_query_map;

/// A language's own name, so a speaker recognises it whatever the page language.
pub fn language_name(code: &str) -> &'static str {
    match code {
        "en" => "English",
        "es" => "Español",
        "ar" => "العربية",
        "sw" => "Kiswahili",
        "fr" => "Français",
        "vi" => "Tiếng Việt",
        "zh" => "中文",
        "ne" => "नेपाली",
        "so" => "Soomaali",
        "uk" => "Українська",
        "asl" => "American Sign Language",
        _ => "",
    }
}

pub fn problem_message(locale: Locale, e: &FieldError, state_name: &str) -> String {
    match (e.field, e.problem) {
        (Field::Keywords, Problem::TooLong) => tr!(locale, err_keywords_too_long),
        (_, Problem::TooLong) => tr!(locale, err_place_too_long),
        (_, Problem::NotAZip) => tr!(locale, err_not_a_zip),
        (_, Problem::UnknownPlace) => {
            tr!(locale, err_unknown_place, state = state_name.to_string())
        }
        (_, Problem::BadCoordinates) => tr!(locale, err_bad_coordinates),
        (_, Problem::BadRadius) => tr!(locale, err_bad_radius),
        (_, Problem::UnknownCategory) => tr!(locale, err_unknown_category),
        (_, Problem::BadAge) => tr!(locale, err_bad_age),
        (_, Problem::UnknownLanguage) => tr!(locale, err_unknown_language),
        (_, Problem::UnknownSort) => tr!(locale, err_unknown_sort),
        (_, Problem::BadPage) => tr!(locale, err_bad_page),
    }
}

#[component]
pub fn SearchPage() -> impl IntoView {
    // Decoded once, from the request itself (the router's query map decodes twice).
    #[cfg(feature = "ssr")]
    let params = SearchParams::from_lookup(crate::web::query_value);
    #[cfg(not(feature = "ssr"))]
    let params = use_query_map().with_untracked(|m| SearchParams::from_lookup(|k| m.get(k)));
    let locale = crate::language::current();
    let deployment = expect_context::<Deployment>();
    let filters = view! { <Filters params=params.clone() /> }.into_any();
    let form_params = params.clone();
    view! {
        <Meta name="robots" content="noindex" />
        <div class="search-bar no-print">
            <div class="page-wide">
                <SearchForm params=form_params extra=filters />
            </div>
        </div>
        <div class="page-wide">
            <Suspense>
                {Suspend::new(async move {
                    match super::search_directory(params.clone()).await {
                        Ok(results) => {
                            let culprits = culprits(&params, &results).await;
                            view! { <Results params results culprits /> }.into_any()
                        }
                        Err(DirectoryError::Invalid(errors)) => {
                            set_status(400);
                            view! { <SearchErrors errors /> }.into_any()
                        }
                        Err(_) => {
                            set_status(503);
                            let phone = deployment.site.help_phone.clone();
                            view! {
                                <Title text=tr!(locale, results_title) />
                                <div class="alert alert-error mt-4" role="alert">
                                    {tr!(locale, service_unavailable, phone = phone)}
                                </div>
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn SearchErrors(errors: Vec<FieldError>) -> impl IntoView {
    let locale = crate::language::current();
    let deployment = expect_context::<Deployment>();
    view! {
        <Title text=tr!(locale, errors_heading) />
        <div class="alert alert-error mt-4" role="alert" aria-labelledby="errors-heading">
            <h1 id="errors-heading" class="text-lg font-bold">{tr!(locale, errors_heading)}</h1>
            <ul class="mt-2 list-disc pl-5">
                {errors
                    .iter()
                    .map(|e| view! { <li>{problem_message(locale, e, &deployment.region.state_name)}</li> })
                    .collect_view()}
            </ul>
        </div>
    }
}

/// The filters, inside the search form (a `<details>` so they fold away on a phone).
fn is_on(v: &Option<String>) -> bool {
    matches!(v.as_deref(), Some("1" | "true" | "on" | "yes"))
}

fn set(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|v| !v.trim().is_empty())
}

/// A filter a search has on (an empty `category=` is not a filter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActiveFilter {
    OpenNow,
    Free,
    Age,
    Language,
    Category,
}

pub fn active_filters(p: &SearchParams) -> Vec<ActiveFilter> {
    [
        (is_on(&p.open_now), ActiveFilter::OpenNow),
        (is_on(&p.free), ActiveFilter::Free),
        (set(&p.age), ActiveFilter::Age),
        (set(&p.language), ActiveFilter::Language),
        (set(&p.category), ActiveFilter::Category),
    ]
    .into_iter()
    .filter_map(|(on, f)| on.then_some(f))
    .collect()
}

/// The same search without one filter.
pub fn without(p: &SearchParams, f: ActiveFilter) -> SearchParams {
    let mut q = p.clone();
    q.page = None;
    match f {
        ActiveFilter::OpenNow => q.open_now = None,
        ActiveFilter::Free => q.free = None,
        ActiveFilter::Age => q.age = None,
        ActiveFilter::Language => q.language = None,
        ActiveFilter::Category => q.category = None,
    }
    q
}

/// When filters leave nothing, the filters that did it: each one whose removal finds programs.
async fn culprits(
    params: &SearchParams,
    results: &SearchResults,
) -> Vec<(ActiveFilter, SearchParams, i64)> {
    let mut found = Vec::new();
    if !results.cards.is_empty() {
        return found;
    }
    for f in active_filters(params) {
        let p = without(params, f);
        if let Ok(n) = super::count_directory(p.clone()).await {
            if n > 0 {
                found.push((f, p, n.min(super::MAX_COUNTED_SHOWN)));
            }
        }
    }
    found
}

/// "No results for age 24 — show programs for any age?"
fn dropped_filter_text(
    locale: Locale,
    p: &SearchParams,
    f: ActiveFilter,
    n: i64,
) -> (String, String) {
    let tree = CategoryTree::get();
    match f {
        ActiveFilter::OpenNow => (
            tr!(locale, no_results_open_now),
            tr!(locale, show_open_or_not, count = n),
        ),
        ActiveFilter::Free => (
            tr!(locale, no_results_free),
            tr!(locale, show_free_or_not, count = n),
        ),
        ActiveFilter::Age => (
            tr!(
                locale,
                no_results_age,
                age = p.age.clone().unwrap_or_default()
            ),
            tr!(locale, show_any_age, count = n),
        ),
        ActiveFilter::Language => (
            tr!(
                locale,
                no_results_language,
                language = language_name(p.language.as_deref().unwrap_or_default())
            ),
            tr!(locale, show_any_language, count = n),
        ),
        ActiveFilter::Category => (
            tr!(
                locale,
                no_results_category,
                category = p
                    .category
                    .as_deref()
                    .and_then(|c| tree.name(c, locale))
                    .unwrap_or_default()
                    .to_string()
            ),
            tr!(locale, show_any_category, count = n),
        ),
    }
}

#[component]
fn Filters(params: SearchParams) -> impl IntoView {
    let locale = crate::language::current();
    let deployment = expect_context::<Deployment>();
    let tree = CategoryTree::get();
    let chosen = |v: &Option<String>| v.clone().unwrap_or_default();
    let (category, radius, language, sort) = (
        chosen(&params.category),
        chosen(&params.radius),
        chosen(&params.language),
        chosen(&params.sort),
    );
    let radius = if radius.is_empty() {
        deployment.search.default_radius_miles.to_string()
    } else {
        radius
    };
    let open_now = is_on(&params.open_now);
    let free = is_on(&params.free);
    let active = active_filters(&params).len();
    let summary = if active == 0 {
        tr!(locale, filters_heading)
    } else {
        format!("{} ({active})", tr!(locale, filters_heading))
    };
    let clear_href = SearchParams {
        q: params.q.clone(),
        near: params.near.clone(),
        ..Default::default()
    }
    .to_url();
    view! {
        <details class="filters mt-3">
            <summary class="filters-summary">{summary}</summary>
            <div class="mt-3 grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
                <div>
                    <label class="field-label" for="category">{tr!(locale, filter_category)}</label>
                    <select id="category" name="category" class="field w-full">
                        <option value="" selected=category.is_empty()>{tr!(locale, filter_any_category)}</option>
                        {tree
                            .categories
                            .iter()
                            .map(|c| {
                                let top = tree.name(&c.id, locale).unwrap_or_default().to_string();
                                view! {
                                    <optgroup label=top.clone()>
                                        <option value=c.id.clone() selected=category == c.id>
                                            {tr!(locale, all_in_category, category = top.clone())}
                                        </option>
                                        {c.sub
                                            .iter()
                                            .map(|s| {
                                                view! {
                                                    <option value=s.id.clone() selected=category == s.id>
                                                        {tree.name(&s.id, locale).unwrap_or_default().to_string()}
                                                    </option>
                                                }
                                            })
                                            .collect_view()}
                                    </optgroup>
                                }
                            })
                            .collect_view()}
                    </select>
                </div>
                <div>
                    <label class="field-label" for="radius">{tr!(locale, filter_radius)}</label>
                    <select id="radius" name="radius" class="field w-full">
                        {deployment
                            .search
                            .radius_choices
                            .iter()
                            .map(|m| {
                                let m = m.to_string();
                                view! {
                                    <option value=m.clone() selected=radius == m>
                                        {tr!(locale, radius_miles, miles = m.clone())}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </div>
                <div>
                    <label class="field-label" for="language">{tr!(locale, filter_language)}</label>
                    <select id="language" name="language" class="field w-full">
                        <option value="" selected=language.is_empty()>{tr!(locale, filter_any_language)}</option>
                        {FILTER_LANGUAGES
                            .iter()
                            .map(|code| {
                                view! {
                                    <option value=*code selected=language == *code lang=*code>
                                        {language_name(code)}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </div>
                <div>
                    <label class="field-label" for="age">{tr!(locale, filter_age)}</label>
                    <span class="hint" id="age-hint">{tr!(locale, filter_age_hint)}</span>
                    <input
                        id="age"
                        name="age"
                        class="field w-full"
                        type="number"
                        inputmode="numeric"
                        min="0"
                        max="120"
                        aria-describedby="age-hint"
                        value=params.age.clone().unwrap_or_default()
                    />
                </div>
                <input type="hidden" name="sort" value=sort.clone() />
                <fieldset class="grid gap-2 content-start">
                    <label class="check">
                        <input type="checkbox" name="open_now" value="1" checked=open_now />
                        <span>{tr!(locale, filter_open_now)}</span>
                    </label>
                    <label class="check">
                        <input type="checkbox" name="free" value="1" checked=free />
                        <span>{tr!(locale, filter_free)}</span>
                    </label>
                </fieldset>
            </div>
            <div class="mt-4 flex flex-wrap gap-3">
                <button type="submit" class="button-primary">{tr!(locale, apply_filters)}</button>
                <a class="button-secondary" href=clear_href>{tr!(locale, clear_filters)}</a>
            </div>
        </details>
    }
}

#[component]
fn Results(
    params: SearchParams,
    results: SearchResults,
    culprits: Vec<(ActiveFilter, SearchParams, i64)>,
) -> impl IntoView {
    let locale = crate::language::current();
    let deployment = expect_context::<Deployment>();
    let keywords = results
        .corrected_keywords
        .clone()
        .or_else(|| params.q.clone().filter(|q| !q.trim().is_empty()));
    let heading = match &keywords {
        Some(k) => tr!(locale, results_title_for, keywords = k.clone()),
        None => match params
            .category
            .as_deref()
            .and_then(|c| CategoryTree::get().name(c, locale))
        {
            Some(name) => name.to_string(),
            None => tr!(locale, results_title),
        },
    };
    let count = if results.capped {
        tr!(
            locale,
            results_count_capped,
            count = results.total.to_string()
        )
    } else if results.total == 1 {
        tr!(locale, results_count_single)
    } else {
        tr!(
            locale,
            results_count_many,
            count = results.total.to_string()
        )
    };
    let near = results
        .origin
        .as_ref()
        .filter(|o| !o.label.is_empty())
        .map(|o| tr!(locale, results_near, place = o.label.clone()));
    let summary = match &near {
        Some(n) => format!("{count} {n}"),
        None => count,
    };
    let title = format!("{heading} | {}", deployment.site.name);
    let last_page = results.last_page();
    let page = results.page;
    let prev = (page > 1).then(|| params.url_with("page", &(page - 1).to_string()));
    let next = (page < last_page).then(|| params.url_with("page", &(page + 1).to_string()));
    let phone = deployment.site.help_phone.clone();
    let empty = results.cards.is_empty();
    let sort = params.sort.clone().unwrap_or_default();
    // The sort choice is on the page, not hidden among the filters: a plain GET form that keeps
    // the rest of the search.
    let keep: Vec<(&'static str, String)> = [
        ("q", &params.q),
        ("near", &params.near),
        ("lat", &params.lat),
        ("lon", &params.lon),
        ("radius", &params.radius),
        ("category", &params.category),
        ("open_now", &params.open_now),
        ("free", &params.free),
        ("age", &params.age),
        ("language", &params.language),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().filter(|v| !v.is_empty()).map(|v| (k, v)))
    .collect();
    let sort_form = (!empty).then(|| view! {
        <form class="sort-form mt-2 no-print" method="get" action="/search">
            {keep.into_iter().map(|(k, v)| view! { <input type="hidden" name=k value=v /> }).collect_view()}
            <label class="sort-label" for="sort-choice">{tr!(locale, sort_label)}</label>
            <select id="sort-choice" name="sort" class="field">
                <option value="" selected=sort.is_empty()>{tr!(locale, sort_relevance)}</option>
                <option value="distance" selected=sort == "distance">{tr!(locale, sort_distance)}</option>
            </select>
            <button class="button-secondary" type="submit">{tr!(locale, sort_button)}</button>
        </form>
    });
    let culprits = (!culprits.is_empty()).then(|| {
        let items = culprits
            .into_iter()
            .map(|(f, p, n)| {
                let (said, offer) = dropped_filter_text(locale, &params, f, n);
                view! { <li class="mt-1">{said}" — "<a class="link" href=p.to_url()>{offer}</a></li> }
            })
            .collect_view();
        view! { <ul class="mt-2">{items}</ul> }
    });
    view! {
        <Title text=title />
        <h1 class="page-title mt-4">{heading}</h1>
        <p id="results-summary" class="mt-1" role="status">{summary}</p>
        {sort_form}
        {results
            .corrected_keywords
            .clone()
            .map(|c| {
                let typed = params.q.clone().unwrap_or_default();
                let exact = params.url_with("exact", "1");
                view! {
                    <p class="mt-1 text-sm" data-testid="corrected">
                        {tr!(locale, showing_corrected, corrected = c)}" "
                        <a class="link" href=exact>{tr!(locale, search_instead, typed = typed)}</a>
                    </p>
                }
            })}
        {results.free_from_words.then(|| {
            let words: Vec<String> = params
                .q
                .as_deref()
                .unwrap_or_default()
                .split_whitespace()
                .filter(|w| !["free", "gratis"].contains(&w.to_lowercase().as_str()))
                .map(str::to_string)
                .collect();
            let paid_too = params.url_with("q", &words.join(" "));
            view! {
                <p class="mt-1 text-sm" data-testid="free-from-words">
                    {tr!(locale, free_from_words)}" "
                    <a class="link" href=paid_too>{tr!(locale, include_paid)}</a>
                </p>
            }
        })}
        {results.origin.is_none().then(|| view! { <p class="mt-1 text-sm">{tr!(locale, results_everywhere, state = deployment.region.state_name.clone())}</p> })}
        {empty
            .then(|| {
                view! {
                    <div class="alert mt-4">
                        <p class="font-bold">{tr!(locale, no_results)}</p>
                        {culprits}
                        <p class="mt-1">{tr!(locale, no_results_tips, phone = phone.clone())}</p>
                    </div>
                }
            })}
        <ol class="result-list">
            {results.cards.into_iter().map(|card| view! { <li><ServiceCardView card /></li> }).collect_view()}
        </ol>
        {(last_page > 1)
            .then(|| {
                view! {
                    <nav class="pager" aria-label=tr!(locale, pages_label)>
                        {prev.map(|href| view! { <a class="button-secondary" href=href rel="prev">{tr!(locale, previous_page)}</a> })}
                        <span>{tr!(locale, page_of, page = page.to_string(), pages = last_page.to_string())}</span>
                        {next.map(|href| view! { <a class="button-secondary" href=href rel="next">{tr!(locale, next_page)}</a> })}
                    </nav>
                }
            })}
    }
}

/// One program in a list: what it is, who runs it, how far, open now, and a way to call.
#[component]
pub fn ServiceCardView(
    card: ServiceCard,
    #[prop(optional)] heading_level: Option<u8>,
) -> impl IntoView {
    let locale = crate::language::current();
    let tree = CategoryTree::get();
    let categories = card
        .category_ids
        .iter()
        .filter_map(|c| tree.name(c, locale))
        .collect::<Vec<_>>()
        .join(" · ");
    let where_ = if card.serves_area {
        Some(tr!(locale, serves_your_area))
    } else {
        card.distance_miles.map(|m| {
            if card.locations > 1 {
                tr!(
                    locale,
                    locations_nearest,
                    count = card.locations.to_string(),
                    miles = format!("{m:.1}")
                )
            } else {
                tr!(locale, miles_away, miles = format!("{m:.1}"))
            }
        })
    };
    let open = card.open_now.map(|open| {
        if open {
            view! { <span class="badge badge-open">{tr!(locale, open_now)}</span> }.into_any()
        } else {
            view! { <span class="badge badge-closed">{tr!(locale, closed_now)}</span> }.into_any()
        }
    });
    let href = format!("/programs/{}", card.id);
    let title = view! { <a class="card-title" href=href>{card.name.clone()}</a> };
    let opens = card.opens.map(|o| opens_text(locale, o));
    let heading = match heading_level.unwrap_or(2) {
        3 => view! { <h3>{title}</h3> }.into_any(),
        _ => view! { <h2>{title}</h2> }.into_any(),
    };
    view! {
        <article class="card card-link">
            {heading}
            <p class="text-sm">{card.organization.clone()}</p>
            <p class="mt-1 flex flex-wrap gap-2 text-sm">
                {(!categories.is_empty()).then(|| view! { <span>{categories}</span> })}
                {card.related.then(|| view! { <span class="badge badge-related">{tr!(locale, related_help)}</span> })}
                {card.is_partner.then(|| view! { <span class="badge badge-partner">{tr!(locale, partner_badge)}</span> })}
                {card.is_free.then(|| view! { <span class="badge badge-free">{tr!(locale, free)}</span> })}
                {open}
                {opens.map(|o| view! { <span>{o}</span> })}
            </p>
            {where_.map(|w| view! { <p class="mt-1 text-sm font-semibold">{w}</p> })}
            {card.address.as_ref().map(|a| view! { <p class="mt-1 text-sm">{a.one_line()}</p> })}
            {card
                .phone
                .as_ref()
                .map(|p| {
                    view! {
                        <p class="mt-2 card-action">
                            <a class="call-link" href=p.tel_uri()>
                                {tr!(locale, call_number, number = p.number.clone())}
                            </a>
                        </p>
                    }
                })}
        </article>
    }
}

/// "Opens today at 1:00 PM", "Opens tomorrow at 9:00 AM", "Opens Wednesday at 9:00 AM".
pub fn opens_text(locale: Locale, o: super::model::NextOpening) -> String {
    let time = super::hours::format_time(o.minute_of_day(), locale == Locale::es);
    match o.days_ahead() {
        0 => tr!(locale, opens_today, time = time),
        1 => tr!(locale, opens_tomorrow, time = time),
        _ => tr!(
            locale,
            opens_on,
            day = super::program::day_name(locale, o.day()),
            time = time
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::NextOpening;
    use super::*;

    #[test]
    fn only_filters_that_are_set_count() {
        let p = SearchParams {
            category: Some(String::new()),
            age: Some(" ".into()),
            free: Some("1".into()),
            ..Default::default()
        };
        assert_eq!(active_filters(&p), vec![ActiveFilter::Free]);
        assert_eq!(active_filters(&without(&p, ActiveFilter::Free)), vec![]);
    }

    #[test]
    fn a_closed_program_says_when_it_opens() {
        // Tuesday 20:00 now; opens Wednesday 9:00 → tomorrow.
        let tue_8pm = 1440 + 20 * 60;
        let wed_9am = 2 * 1440 + 9 * 60;
        let o = NextOpening {
            now_minute: tue_8pm,
            opens_at: wed_9am,
        };
        assert_eq!(o.days_ahead(), 1);
        // Monday 9:00 now, opens Monday 13:00 → today; Friday 9:00 → in 4 days.
        assert_eq!(
            NextOpening {
                now_minute: 540,
                opens_at: 780
            }
            .days_ahead(),
            0
        );
        assert_eq!(
            NextOpening {
                now_minute: 540,
                opens_at: 4 * 1440 + 540
            }
            .days_ahead(),
            4
        );
        // Only Monday mornings, asked Monday afternoon → next week.
        assert_eq!(
            NextOpening {
                now_minute: 900,
                opens_at: 540
            }
            .days_ahead(),
            7
        );
    }
}
