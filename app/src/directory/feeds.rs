//! `/state/directory`: where the directory comes from. State administrators see each 211 pulled
//! from its HSDS API (`[[directory.pulls]]`): when it was last pulled and how that went, when
//! the next pull is due, and every pull's counts; then the latest imports of every source (files
//! included) with their rejected rows, so a 211 can be told exactly which records we could not
//! take and why.

use crate::config::PullSettings;
use crate::forms::{date_time_in, loaded, viewer_zone};
use crate::i18n::*;
use crate::layout::set_status;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use serde_json::Value;
use sqlx::PgPool;

/// One pull as the page shows it.
#[derive(sqlx::FromRow)]
struct PullRow {
    source: String,
    full_pull: bool,
    modified_after: Option<DateTime<Utc>>,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    status: String,
    pages: i32,
    records: i32,
    retries: i32,
    error: Option<String>,
    counts: Option<Value>,
    rejected: Option<i32>,
}

/// One import (a file or a pull) with its rejected rows.
#[derive(sqlx::FromRow)]
struct ImportRow {
    id: i64,
    source: String,
    format: String,
    full_feed: bool,
    finished_at: Option<DateTime<Utc>>,
    counts: Value,
    rejected: Value,
}

/// Rejected rows shown per import; the rest are counted.
const REJECTED_SHOWN: usize = 20;

async fn pulls(pool: &PgPool) -> sqlx::Result<Vec<PullRow>> {
    sqlx::query_as(
        "SELECT p.source, p.full_pull, p.modified_after, p.started_at, p.finished_at, p.status, p.pages,
                p.records, p.retries, p.error, r.counts, jsonb_array_length(r.rejected) AS rejected
         FROM directory_pulls p LEFT JOIN import_runs r ON r.id = p.import_run_id
         ORDER BY p.started_at DESC LIMIT 50",
    )
    .fetch_all(pool)
    .await
}

/// The latest import of each source.
async fn imports(pool: &PgPool) -> sqlx::Result<Vec<ImportRow>> {
    sqlx::query_as(
        "SELECT DISTINCT ON (source) id, source, format, full_feed, finished_at, counts, rejected
         FROM import_runs ORDER BY source, id DESC",
    )
    .fetch_all(pool)
    .await
}

/// "inserted 12 · updated 3 · deactivated 1" for services.
fn service_counts(locale: Locale, counts: &Value) -> String {
    let s = &counts["services"];
    let n = |k: &str| s[k].as_u64().unwrap_or(0).to_string();
    tr!(
        locale,
        feeds_service_counts,
        read = n("read"),
        inserted = n("inserted"),
        updated = n("updated"),
        deactivated = n("deactivated")
    )
}

fn configured(locale: Locale, p: &PullSettings, last: Option<&PullRow>) -> impl IntoView {
    let zone = viewer_zone();
    let now = Utc::now();
    let when = |t: &DateTime<Utc>| date_time_in(t, zone, locale, now);
    let last_line = match last {
        None => tr!(locale, feeds_never_pulled),
        Some(l) => tr!(
            locale,
            feeds_last_pull,
            when = when(&l.started_at),
            result = status_words(locale, &l.status)
        ),
    };
    let next = last
        .map(|l| l.started_at + chrono::Duration::minutes(p.every_minutes as i64))
        .filter(|t| *t > now)
        .map(|t| when(&t))
        .unwrap_or_else(|| tr!(locale, feeds_next_now));
    view! {
        <li class="mt-2">
            <strong>{p.source.clone()}</strong>" · "<span class="break-all">{p.url.clone()}</span>
            <br />{tr!(locale, feeds_schedule, minutes = p.every_minutes, days = p.full_every_days)}
            <br />{last_line}" · "{tr!(locale, feeds_next, when = next)}
        </li>
    }
}

fn status_words(locale: Locale, status: &str) -> String {
    match status {
        "succeeded" => tr!(locale, feeds_succeeded),
        "failed" => tr!(locale, feeds_failed),
        _ => tr!(locale, feeds_running),
    }
}

fn pull_row(locale: Locale, p: &PullRow) -> impl IntoView {
    let zone = viewer_zone();
    let now = Utc::now();
    let kind = match p.modified_after {
        None if p.full_pull => tr!(locale, feeds_full),
        None => tr!(locale, feeds_changes),
        Some(m) => tr!(
            locale,
            feeds_changes_since,
            when = date_time_in(&m, zone, locale, now)
        ),
    };
    let took = p
        .finished_at
        .map(|f| format!("{} s", (f - p.started_at).num_seconds()))
        .unwrap_or_default();
    let result = match &p.error {
        Some(e) => format!("{}: {e}", status_words(locale, &p.status)),
        None => status_words(locale, &p.status),
    };
    view! {
        <tr>
            <td data-label=tr!(locale, feeds_when)>{date_time_in(&p.started_at, zone, locale, now)}" "<span class="text-xs">{took}</span></td>
            <td data-label=tr!(locale, feeds_source)>{p.source.clone()}</td>
            <td data-label=tr!(locale, feeds_kind)>{kind}</td>
            <td data-label=tr!(locale, feeds_result)><span class="break-words">{result}</span></td>
            <td data-label=tr!(locale, feeds_read)>{tr!(locale, feeds_pages_services, pages = p.pages, services = p.records, retries = p.retries)}</td>
            <td data-label=tr!(locale, feeds_changed)>{p.counts.as_ref().map(|c| service_counts(locale, c)).unwrap_or_default()}</td>
            <td data-label=tr!(locale, feeds_rejected)>{p.rejected.map(|n| n.to_string()).unwrap_or_default()}</td>
        </tr>
    }
}

fn import_section(locale: Locale, i: &ImportRow) -> impl IntoView {
    let zone = viewer_zone();
    let now = Utc::now();
    let rejected = i.rejected.as_array().cloned().unwrap_or_default();
    let more = rejected.len().saturating_sub(REJECTED_SHOWN);
    let rows = rejected
        .iter()
        .take(REJECTED_SHOWN)
        .map(|r| {
            let place = format!(
                "{}:{}",
                r["file"].as_str().unwrap_or(""),
                r["line"].as_u64().unwrap_or(0)
            );
            view! { <li><code>{place}</code>" "{r["reason"].as_str().unwrap_or("").to_string()}</li> }
        })
        .collect_view();
    view! {
        <section class="mt-6">
            <h3 class="font-semibold">{tr!(locale, feeds_import_title, source = i.source.clone(), run = i.id)}</h3>
            <p class="mt-1 break-words">{i.format.clone()}" · "
                {if i.full_feed { tr!(locale, feeds_full) } else { tr!(locale, feeds_changes) }}" · "
                {i.finished_at.map(|t| date_time_in(&t, zone, locale, now)).unwrap_or_default()}</p>
            <p class="mt-1">{service_counts(locale, &i.counts)}</p>
            <p class="mt-1">{tr!(locale, feeds_rejected_rows, count = rejected.len())}</p>
            <ul class="list-disc pl-5 mt-1 text-sm break-words">{rows}</ul>
            {(more > 0).then(|| view! { <p class="mt-1 text-sm">{tr!(locale, feeds_rejected_more, count = more)}</p> })}
        </section>
    }
}

/// `/state/directory`.
#[component]
pub fn DirectoryFeedsPage() -> impl IntoView {
    let locale = crate::language::current();
    let content = async move {
        let state = AppState::get();
        let (Ok(pulls), Ok(imports)) = (pulls(&state.pool).await, imports(&state.pool).await)
        else {
            set_status(503);
            return view! { <p role="alert">{tr!(locale, err_unavailable)}</p> }.into_any();
        };
        let configured_list = state
            .deployment
            .directory
            .pulls
            .iter()
            .map(|p| configured(locale, p, pulls.iter().find(|r| r.source == p.source)))
            .collect_view();
        let none_configured = state.deployment.directory.pulls.is_empty();
        let rows = pulls.iter().map(|p| pull_row(locale, p)).collect_view();
        let import_sections = imports
            .iter()
            .map(|i| import_section(locale, i))
            .collect_view();
        view! {
            <p class="mt-2">{tr!(locale, feeds_intro)}</p>
            <section class="mt-6">
                <h2 class="section-title">{tr!(locale, feeds_pulled_title)}</h2>
                {none_configured.then(|| view! { <p class="mt-2">{tr!(locale, feeds_none_configured)}</p> })}
                <ul class="mt-2">{configured_list}</ul>
            </section>
            <section class="mt-6">
                <h2 class="section-title">{tr!(locale, feeds_pulls_title)}</h2>
                {pulls.is_empty().then(|| view! { <p class="mt-2">{tr!(locale, feeds_no_pulls)}</p> })}
                {(!pulls.is_empty()).then(|| view! {
                    <div class="table-wrap mt-2">
                        <table class="data-table stacked">
                            <caption class="sr-only">{tr!(locale, feeds_pulls_title)}</caption>
                            <thead><tr>
                                <th scope="col">{tr!(locale, feeds_when)}</th>
                                <th scope="col">{tr!(locale, feeds_source)}</th>
                                <th scope="col">{tr!(locale, feeds_kind)}</th>
                                <th scope="col">{tr!(locale, feeds_result)}</th>
                                <th scope="col">{tr!(locale, feeds_read)}</th>
                                <th scope="col">{tr!(locale, feeds_changed)}</th>
                                <th scope="col">{tr!(locale, feeds_rejected)}</th>
                            </tr></thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                })}
            </section>
            <section class="mt-6">
                <h2 class="section-title">{tr!(locale, feeds_imports_title)}</h2>
                {import_sections}
            </section>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, feeds_title) />
        <Meta name="robots" content="noindex" />
        <div class="page wide">
            <h1 class="page-title">{tr!(locale, feeds_title)}</h1>
            {loaded(content)}
        </div>
    }
}
