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
    let params = use_query_map().with_untracked(|m| SearchParams::from_lookup(|k| m.get(k)));
    let locale = use_i18n().get_locale_untracked();
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
                        Ok(results) => view! { <Results params results /> }.into_any(),
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
    let locale = use_i18n().get_locale_untracked();
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
#[component]
fn Filters(params: SearchParams) -> impl IntoView {
    let locale = use_i18n().get_locale_untracked();
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
    let is_on = |v: &Option<String>| matches!(v.as_deref(), Some("1" | "true" | "on" | "yes"));
    let open_now = is_on(&params.open_now);
    let free = is_on(&params.free);
    let active = [
        open_now,
        free,
        params.age.is_some(),
        params.language.is_some(),
        params.category.is_some(),
    ]
    .iter()
    .filter(|on| **on)
    .count();
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
                    <input
                        id="age"
                        name="age"
                        class="field w-full"
                        type="number"
                        inputmode="numeric"
                        min="0"
                        max="120"
                        value=params.age.clone().unwrap_or_default()
                    />
                </div>
                <div>
                    <label class="field-label" for="sort">{tr!(locale, sort_label)}</label>
                    <select id="sort" name="sort" class="field w-full">
                        <option value="" selected=sort.is_empty()>{tr!(locale, sort_relevance)}</option>
                        <option value="distance" selected=sort == "distance">{tr!(locale, sort_distance)}</option>
                    </select>
                </div>
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
fn Results(params: SearchParams, results: SearchResults) -> impl IntoView {
    let locale = use_i18n().get_locale_untracked();
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
    view! {
        <Title text=title />
        <h1 class="page-title mt-4">{heading}</h1>
        <p id="results-summary" class="mt-1" role="status">{summary}</p>
        {results
            .corrected_keywords
            .clone()
            .map(|c| view! { <p class="mt-1 text-sm">{tr!(locale, showing_corrected, corrected = c)}</p> })}
        {results.origin.is_none().then(|| view! { <p class="mt-1 text-sm">{tr!(locale, results_everywhere, state = deployment.region.state_name.clone())}</p> })}
        {empty
            .then(|| {
                view! {
                    <div class="alert mt-4">
                        <p class="font-bold">{tr!(locale, no_results)}</p>
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
    let locale = use_i18n().get_locale_untracked();
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
        card.distance_miles
            .map(|m| tr!(locale, miles_away, miles = format!("{m:.1}")))
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
    let heading = match heading_level.unwrap_or(2) {
        3 => view! { <h3>{title}</h3> }.into_any(),
        _ => view! { <h2>{title}</h2> }.into_any(),
    };
    view! {
        <article class="card">
            {heading}
            <p class="text-sm">{card.organization.clone()}</p>
            <p class="mt-1 flex flex-wrap gap-2 text-sm">
                {(!categories.is_empty()).then(|| view! { <span>{categories}</span> })}
                {card.is_partner.then(|| view! { <span class="badge badge-partner">{tr!(locale, partner_badge)}</span> })}
                {card.is_free.then(|| view! { <span class="badge badge-free">{tr!(locale, free)}</span> })}
                {open}
            </p>
            {where_.map(|w| view! { <p class="mt-1 text-sm font-semibold">{w}</p> })}
            {card.address.as_ref().map(|a| view! { <p class="mt-1 text-sm">{a.one_line()}</p> })}
            {card
                .phone
                .as_ref()
                .map(|p| {
                    view! {
                        <p class="mt-2">
                            <a class="call-link" href=p.tel_uri()>
                                {tr!(locale, call_number, number = p.number.clone())}
                            </a>
                        </p>
                    }
                })}
        </article>
    }
}
