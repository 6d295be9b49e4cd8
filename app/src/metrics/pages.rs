//! `/state/metrics` (state administrators: the state, any chapter or county) and
//! `/united-way/metrics` (a chapter's staff: their counties). Filters are a plain GET form;
//! charts are SVG drawn here with their data tables; every figure downloads as CSV. No
//! resident-level data anywhere; outside the state view counts under 5 show as "<5".

use super::charts::{self, Series};
use super::{chapter_counties, compute, county_fips, this_year, Filters, Metrics, Scope};
use crate::forms::{loaded, query};
use crate::i18n::*;
use crate::identity::Viewer;
use crate::layout::set_status;
use crate::partners::OrgType;
use crate::policy::Role;
use crate::state::AppState;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};

/// What a metrics request asked for, checked against who is asking.
pub struct Chosen {
    pub filters: Filters,
    /// Exact small counts (the state view) or "<5".
    pub exact: bool,
    /// The chapter and county chosen (for the form).
    pub chapter: Option<String>,
    pub county: Option<String>,
    /// The counties the county filter offers.
    pub county_choices: Vec<String>,
}

/// The filters of a metrics page or its CSV from the query (`year`, `chapter`, `county`,
/// `org_type`), held to what the viewer may see: a chapter's staff only their counties.
pub async fn choose(
    state: &AppState,
    viewer: &Viewer,
    get: impl Fn(&str) -> Option<String>,
) -> Result<Chosen, crate::web::Problem> {
    let d = &state.deployment;
    let tz = super::deployment_zone(d);
    let now_year = this_year(tz, chrono::Utc::now());
    let year = get("year")
        .and_then(|y| y.parse::<i32>().ok())
        .filter(|y| (2000..=now_year).contains(y))
        .unwrap_or(now_year);
    let org_type = get("org_type")
        .and_then(|t| OrgType::parse(&t))
        .map(|t| t.as_str().to_string());
    let region = d.region.state.as_str();
    let all_counties = super::counties(&state.pool, region).await?;
    let state_view = viewer.effective_role() == Role::StateAdmin;
    let (chapter, within) = if state_view {
        let chapter = get("chapter").filter(|c| d.onboarding.chapters.iter().any(|x| &x.id == c));
        let within = match &chapter {
            Some(c) => Some(chapter_counties(&state.pool, region, &d.onboarding, c).await?),
            None => None,
        };
        (chapter, within)
    } else {
        let chapter = viewer
            .chapter
            .clone()
            .ok_or(crate::web::Problem::new("denied"))?;
        let within = chapter_counties(&state.pool, region, &d.onboarding, &chapter).await?;
        (Some(chapter), Some(within))
    };
    let county_choices: Vec<String> = match &within {
        Some(names) => all_counties
            .into_iter()
            .filter(|c| names.iter().any(|n| n.eq_ignore_ascii_case(c)))
            .collect(),
        None => all_counties,
    };
    let county = get("county").and_then(|c| {
        county_choices
            .iter()
            .find(|x| x.eq_ignore_ascii_case(c.trim()))
            .cloned()
    });
    let scope = match (&county, &within) {
        (Some(c), _) => {
            Scope::Counties(county_fips(&state.pool, region, std::slice::from_ref(c)).await?)
        }
        (None, Some(names)) => Scope::Counties(county_fips(&state.pool, region, names).await?),
        (None, None) => Scope::State,
    };
    Ok(Chosen {
        filters: Filters {
            scope,
            org_type,
            year,
        },
        exact: state_view,
        chapter,
        county,
        county_choices,
    })
}

/// The metrics for a request, as the viewer may see them.
pub async fn metrics_for(
    state: &AppState,
    viewer: &Viewer,
    get: impl Fn(&str) -> Option<String>,
) -> Result<(Chosen, Metrics), crate::web::Problem> {
    let chosen = choose(state, viewer, get).await?;
    let tz = super::deployment_zone(&state.deployment);
    let m = compute(&state.pool, &chosen.filters, tz, chrono::Utc::now()).await?;
    Ok((chosen, m))
}

fn reason_words(locale: Locale, code: &str) -> String {
    crate::referrals::pages::reason_label(locale, code)
}

fn domain_words(locale: Locale, domain: &str) -> String {
    match crate::assessments::instrument::Domain::parse(domain) {
        Ok(d) if locale == Locale::en => d.display().to_string(),
        Ok(d) => {
            // Spanish names of the domains come with the instruments' needs.
            crate::assessments::instrument::Instrument::all()
                .iter()
                .flat_map(|i| i.rules.iter())
                .find(|r| r.domain.as_str() == domain)
                .map(|r| r.title.get(crate::assessments::lang(locale)).to_string())
                .unwrap_or_else(|| d.display().to_string())
        }
        Err(_) => tr!(locale, metrics_domain_other),
    }
}

/// "Dec" of "Dec 2026": a chart's month label, in the page's language.
fn month_label(d: chrono::NaiveDate) -> String {
    crate::forms::month_year(d)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The whole page body for one viewer's metrics.
fn render(
    locale: Locale,
    base: &'static str,
    chosen: &Chosen,
    m: &Metrics,
    chapters: Vec<(String, String)>,
) -> impl IntoView {
    let n = |v: i64| super::shown(v, chosen.exact);
    let y = m.year;
    let state = AppState::get();
    let tz = super::deployment_zone(&state.deployment);
    let now_year = this_year(tz, chrono::Utc::now());
    let years = (now_year - 4..=now_year)
        .rev()
        .map(|v| view! { <option value=v.to_string() selected=v == y>{v.to_string()}</option> })
        .collect_view();
    let chapter_select = (!chapters.is_empty()).then(|| {
        let options = chapters
            .iter()
            .map(|(id, name)| view! { <option value=id.clone() selected=chosen.chapter.as_deref() == Some(id.as_str())>{name.clone()}</option> })
            .collect_view();
        view! {
            <label class="form-field"><span class="field-label">{tr!(locale, metrics_chapter_label)}</span>
                <select class="field w-full" name="chapter"><option value="">{tr!(locale, metrics_all_chapters)}</option>{options}</select></label>
        }
    });
    let counties = chosen
        .county_choices
        .iter()
        .map(|c| view! { <option value=c.clone() selected=chosen.county.as_deref() == Some(c.as_str())>{c.clone()}</option> })
        .collect_view();
    let org_types = OrgType::ALL
        .into_iter()
        .map(|t| view! { <option value=t.as_str() selected=chosen.filters.org_type.as_deref() == Some(t.as_str())>{t.label(locale)}</option> })
        .collect_view();
    let mut csv_query = vec![format!("year={y}")];
    if let Some(c) = &chosen.chapter {
        if !chapters.is_empty() {
            csv_query.push(format!("chapter={}", crate::identity::urlencode(c)));
        }
    }
    if let Some(c) = &chosen.county {
        csv_query.push(format!("county={}", crate::identity::urlencode(c)));
    }
    if let Some(t) = &chosen.filters.org_type {
        csv_query.push(format!("org_type={t}"));
    }
    let csv = format!("{base}/csv?{}", csv_query.join("&"));
    let figure = |label: String, value: String, testid: &'static str| {
        view! { <div class="card"><dt class="text-sm">{label}</dt><dd class="text-2xl font-semibold" data-testid=testid>{value}</dd></div> }
    };
    let split = m.provided_split();
    let reasons = m
        .top_reasons
        .iter()
        .map(|(r, v)| view! { <li>{reason_words(locale, r)}" ("{n(*v)}")"</li> })
        .collect_view();
    let creators = m
        .top_creators
        .iter()
        .map(|(o, v)| view! { <li>{o.clone()}" ("{n(*v)}")"</li> })
        .collect_view();
    let closers = m
        .top_closers
        .iter()
        .map(|(o, v)| view! { <li>{o.clone()}" ("{n(*v)}")"</li> })
        .collect_view();
    let labels: Vec<String> = m.months.iter().map(|(d, ..)| month_label(*d)).collect();
    let monthly_chart = charts::bars(
        "monthly",
        tr!(locale, metrics_monthly_title, year = y),
        tr!(locale, metrics_monthly_desc),
        &labels,
        &[
            Series {
                name: tr!(locale, metrics_created),
                class: "chart-a",
                values: m.months.iter().map(|r| r.1).collect(),
            },
            Series {
                name: tr!(locale, metrics_closed),
                class: "chart-b",
                values: m.months.iter().map(|r| r.2).collect(),
            },
            Series {
                name: tr!(locale, metrics_assessments),
                class: "chart-c",
                values: m.months.iter().map(|r| r.3).collect(),
            },
        ],
    );
    let monthly_rows = m
        .months
        .iter()
        .map(|(d, c, cl, a)| view! { <tr><th scope="row">{crate::forms::month_year(*d)}</th><td>{n(*c)}</td><td>{n(*cl)}</td><td>{n(*a)}</td></tr> })
        .collect_view();
    let domain_labels: Vec<String> = m
        .by_domain
        .iter()
        .map(|(d, _)| domain_words(locale, d))
        .collect();
    let domain_chart = (!m.by_domain.is_empty()).then(|| {
        charts::bars(
            "domains",
            tr!(locale, metrics_domains_title, year = y),
            tr!(locale, metrics_domains_desc),
            &domain_labels,
            &[Series {
                name: tr!(locale, metrics_created),
                class: "chart-a",
                values: m.by_domain.iter().map(|r| r.1).collect(),
            }],
        )
    });
    let domain_rows = m
        .by_domain
        .iter()
        .map(|(d, v)| view! { <tr><th scope="row">{domain_words(locale, d)}</th><td>{n(*v)}</td></tr> })
        .collect_view();
    let result_rows = m
        .assessment_results
        .iter()
        .map(|(d, p, a)| view! { <tr><th scope="row">{domain_words(locale, d)}</th><td>{n(*p)}</td><td>{n(*a)}</td></tr> })
        .collect_view();
    view! {
        <form class="filters card mt-4 no-print" method="get" action=base>
            <label class="form-field"><span class="field-label">{tr!(locale, metrics_year_label)}</span>
                <select class="field w-full" name="year">{years}</select></label>
            {chapter_select}
            <label class="form-field"><span class="field-label">{tr!(locale, metrics_county_label)}</span>
                <select class="field w-full" name="county"><option value="">{tr!(locale, metrics_all_counties)}</option>{counties}</select></label>
            <label class="form-field"><span class="field-label">{tr!(locale, metrics_org_type_label)}</span>
                <select class="field w-full" name="org_type"><option value="">{tr!(locale, metrics_all_types)}</option>{org_types}</select></label>
            <button class="button-primary" type="submit">{tr!(locale, metrics_apply)}</button>
        </form>
        <p class="mt-2 no-print"><a class="link" href=csv download>{tr!(locale, metrics_download_csv)}</a></p>
        {(!chosen.exact).then(|| view! { <p class="mt-2 text-sm">{tr!(locale, metrics_small_counts_note)}</p> })}
        <section class="mt-4">
            <h2 class="section-title">{tr!(locale, metrics_referrals_title)}</h2>
            <dl class="figure-grid mt-2">
                {figure(tr!(locale, metrics_created_all), n(m.created_all), "created-all")}
                {figure(tr!(locale, metrics_created_year, year = y), n(m.created_year), "created-year")}
                {figure(tr!(locale, metrics_closed_all), n(m.closed_all), "closed-all")}
                {figure(tr!(locale, metrics_created_year_closed, year = y), n(m.created_year_closed), "created-year-closed")}
                {figure(tr!(locale, metrics_closed_year, year = y), n(m.closed_year), "closed-year")}
                {figure(tr!(locale, metrics_open_now), n(m.open_now), "open-now")}
                {figure(tr!(locale, metrics_created_30), n(m.created_30), "created-30")}
                {figure(tr!(locale, metrics_network), n(m.network), "network")}
                {figure(tr!(locale, metrics_closure_rate, year = y), m.closure_rate().map_or("–".to_string(), |r| format!("{r} %")), "closure-rate")}
                {figure(tr!(locale, metrics_median_days, year = y), m.median_days_to_close.map_or("–".to_string(), |d| format!("{d:.1}")), "median-days")}
            </dl>
        </section>
        <section class="mt-6">
            <h2 class="section-title">{tr!(locale, metrics_outcomes_title)}</h2>
            {match split {
                Some((p, np)) => view! {
                    <p class="mt-2" data-testid="provided-split">{tr!(locale, metrics_provided_line, provided = p, not_provided = np)}</p>
                    {charts::split("outcomes", tr!(locale, metrics_outcomes_title), (tr!(locale, metrics_provided), p), (tr!(locale, metrics_not_provided), np))}
                }.into_any(),
                None => view! { <p class="mt-2" data-testid="provided-split">"–"</p> }.into_any(),
            }}
            <h3 class="font-semibold mt-4">{tr!(locale, metrics_top_reasons)}</h3>
            <ol class="list-decimal pl-5 mt-1" data-testid="top-reasons">{reasons}</ol>
        </section>
        <div class="two-columns">
            <section class="mt-6">
                <h2 class="section-title">{tr!(locale, metrics_top_creators, year = y)}</h2>
                <ol class="list-decimal pl-5 mt-2" data-testid="top-creators">{creators}</ol>
            </section>
            <section class="mt-6">
                <h2 class="section-title">{tr!(locale, metrics_top_closers, year = y)}</h2>
                <ol class="list-decimal pl-5 mt-2" data-testid="top-closers">{closers}</ol>
                <p class="mt-1 text-sm">{tr!(locale, metrics_united_way_closures, count = n(m.united_way_closures))}</p>
            </section>
        </div>
        <section class="mt-6">
            <h2 class="section-title">{tr!(locale, metrics_monthly_title, year = y)}</h2>
            {monthly_chart}
            <div class="table-wrap mt-2">
                <table class="data-table">
                    <caption class="sr-only">{tr!(locale, metrics_monthly_title, year = y)}</caption>
                    <thead><tr><th scope="col">{tr!(locale, metrics_month)}</th><th scope="col">{tr!(locale, metrics_created)}</th>
                        <th scope="col">{tr!(locale, metrics_closed)}</th><th scope="col">{tr!(locale, metrics_assessments)}</th></tr></thead>
                    <tbody>{monthly_rows}</tbody>
                </table>
            </div>
        </section>
        <section class="mt-6">
            <h2 class="section-title">{tr!(locale, metrics_domains_title, year = y)}</h2>
            {domain_chart}
            <div class="table-wrap mt-2">
                <table class="data-table">
                    <caption class="sr-only">{tr!(locale, metrics_domains_title, year = y)}</caption>
                    <thead><tr><th scope="col">{tr!(locale, metrics_domain)}</th><th scope="col">{tr!(locale, metrics_created)}</th></tr></thead>
                    <tbody>{domain_rows}</tbody>
                </table>
            </div>
        </section>
        <section class="mt-6">
            <h2 class="section-title">{tr!(locale, metrics_results_title, year = y)}</h2>
            <div class="table-wrap mt-2">
                <table class="data-table">
                    <caption class="sr-only">{tr!(locale, metrics_results_title, year = y)}</caption>
                    <thead><tr><th scope="col">{tr!(locale, metrics_domain)}</th><th scope="col">{tr!(locale, metrics_positive)}</th><th scope="col">{tr!(locale, metrics_answered)}</th></tr></thead>
                    <tbody>{result_rows}</tbody>
                </table>
            </div>
        </section>
    }
}

fn page(base: &'static str, title_key: fn(Locale) -> String, with_chapters: bool) -> impl IntoView {
    let locale = crate::language::current();
    let viewer = crate::web::request().viewer;
    let content = async move {
        let Some(viewer) = viewer else {
            return ().into_any();
        };
        let state = AppState::get();
        let chapters: Vec<(String, String)> = if with_chapters {
            state
                .deployment
                .onboarding
                .chapters
                .iter()
                .map(|c| (c.id.clone(), c.name.clone()))
                .collect()
        } else {
            Vec::new()
        };
        match metrics_for(&state, &viewer, query).await {
            Ok((chosen, m)) => render(locale, base, &chosen, &m, chapters).into_any(),
            Err(p) if p.code == "denied" => {
                set_status(403);
                view! { <p role="alert">{tr!(locale, err_denied)}</p> }.into_any()
            }
            Err(_) => {
                set_status(503);
                view! { <p role="alert">{tr!(locale, err_unavailable)}</p> }.into_any()
            }
        }
    };
    view! {
        <Title text=title_key(locale) />
        <Meta name="robots" content="noindex" />
        <div class="page wide print-sheet">
            <h1 class="page-title">{title_key(locale)}</h1>
            {loaded(content)}
        </div>
    }
}

/// `/state/metrics`.
#[component]
pub fn StateMetricsPage() -> impl IntoView {
    page("/state/metrics", |l| tr!(l, metrics_state_title), true)
}

/// `/united-way/metrics`: the viewer's chapter.
#[component]
pub fn ChapterMetricsPage() -> impl IntoView {
    page(
        "/united-way/metrics",
        |l| tr!(l, metrics_chapter_title),
        false,
    )
}
