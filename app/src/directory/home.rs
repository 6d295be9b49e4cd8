//! The front door: a search box, "use my location", and the category tree to browse.

use super::categories::CategoryTree;
use super::islands::UseMyLocation;
use super::query::{SearchParams, MAX_KEYWORDS_CHARS, MAX_PLACE_CHARS};
use crate::config::Deployment;
use crate::i18n::*;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;

pub const SEARCH_FORM_ID: &str = "search-form";

/// The keyword + place search form: a plain GET form to `/search`. `extra` holds the fields of
/// the results page's filters, so one form carries the whole search.
#[component]
pub fn SearchForm(params: SearchParams, #[prop(optional)] extra: Option<AnyView>) -> impl IntoView {
    let locale = crate::language::current();
    view! {
        <form id=SEARCH_FORM_ID class="search-form" action="/search" method="get" role="search">
            <div class="grid gap-3 sm:grid-cols-[2fr_1fr_auto] sm:items-end">
                <div>
                    <label class="field-label" for="q">{tr!(locale, search_what_label)}</label>
                    <input
                        id="q"
                        name="q"
                        type="search"
                        class="field w-full"
                        value=params.q.clone().unwrap_or_default()
                        maxlength=MAX_KEYWORDS_CHARS.to_string()
                        placeholder=tr!(locale, search_what_hint)
                        autocomplete="off"
                        enterkeyhint="search"
                    />
                </div>
                <div>
                    <label class="field-label" for="near">{tr!(locale, search_where_label)}</label>
                    <input
                        id="near"
                        name="near"
                        class="field w-full"
                        value=params.near.clone().unwrap_or_default()
                        maxlength=MAX_PLACE_CHARS.to_string()
                        placeholder=tr!(locale, search_where_hint)
                        autocomplete="postal-code"
                    />
                </div>
                <button type="submit" class="button-primary">{tr!(locale, search_button)}</button>
            </div>
            // Filled by "Use my location"; disabled (so not sent) until then.
            <input type="hidden" name="lat" value=params.lat.clone().unwrap_or_default() disabled=params.lat.is_none() />
            <input type="hidden" name="lon" value=params.lon.clone().unwrap_or_default() disabled=params.lon.is_none() />
            <div class="mt-3">
                <UseMyLocation
                    form_id=SEARCH_FORM_ID.to_string()
                    label=tr!(locale, use_my_location)
                    busy_label=tr!(locale, finding_location)
                    failed_label=tr!(locale, location_failed)
                />
            </div>
            {extra}
        </form>
    }
}

#[component]
pub fn HomePage() -> impl IntoView {
    let locale = crate::language::current();
    let deployment = expect_context::<Deployment>();
    let tree = CategoryTree::get();
    let title = format!("{} | {}", tr!(locale, home_title), deployment.site.name);
    view! {
        <Title text=title />
        <Meta name="description" content=tr!(locale, home_intro) />
        <div class="page">
            <h1 class="page-title">{tr!(locale, home_title)}</h1>
            <p class="mt-2 text-lg">{tr!(locale, home_intro)}</p>
            <div class="mt-4">
                <SearchForm params=SearchParams::default() />
            </div>
            <p class="mt-4"><a class="link" href="/assessment">{tr!(locale, home_assessment_link)}</a></p>
            <h2 class="section-title">{tr!(locale, browse_heading)}</h2>
            <ul class="category-grid">
                {tree
                    .categories
                    .iter()
                    .map(|c| {
                        let name = tree.name(&c.id, locale).unwrap_or_default().to_string();
                        view! {
                            <li>
                                <a class="category-tile" href=format!("/categories/{}", c.id)>
                                    {name}
                                </a>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </div>
    }
}

/// `/categories/:id`: a top-level category's subcategories.
#[component]
pub fn CategoryPage() -> impl IntoView {
    let locale = crate::language::current();
    let id = use_params_map().with_untracked(|p| p.get("id").unwrap_or_default());
    let tree = CategoryTree::get();
    let Some(category) = tree.top(&id) else {
        return view! { <crate::NotFound /> }.into_any();
    };
    let name = tree
        .name(&category.id, locale)
        .unwrap_or_default()
        .to_string();
    let description = match locale {
        Locale::es => category.es_description.clone(),
        Locale::en => category.en_description.clone(),
    };
    view! {
        <Title text=name.clone() />
        <Meta name="description" content=description.clone() />
        <div class="page">
            <h1 class="page-title">{name.clone()}</h1>
            <p class="mt-2">{description}</p>
            <p class="mt-2">{tr!(locale, category_intro)}</p>
            <ul class="mt-4 grid gap-2">
                {category
                    .sub
                    .iter()
                    .map(|s| {
                        view! {
                            <li>
                                <a class="list-link" href=format!("/search?category={}", s.id)>
                                    {tree.name(&s.id, locale).unwrap_or_default().to_string()}
                                </a>
                            </li>
                        }
                    })
                    .collect_view()}
                <li>
                    <a class="list-link" href=format!("/search?category={}", category.id)>
                        {tr!(locale, all_in_category, category = name.clone())}
                    </a>
                </li>
            </ul>
        </div>
    }
    .into_any()
}
