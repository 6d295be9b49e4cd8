//! Recent searches' results, kept by each server for a minute.
//!
//! Many residents ask the same thing at once ("food" near the same ZIP code; a TV segment
//! sends thousands to one search): for a minute they get the results the first one got,
//! without asking Postgres again, and those who ask while the first search is still running
//! wait for it instead of running it again. A minute is the unit of everything that changes on
//! its own (opening hours are minutes of the week), so nothing shown is older than the clock
//! already allows; an import in this process forgets everything at once, and one elsewhere (the
//! command line) is seen within the minute. Search results are public directory data, the same
//! for everyone: nothing about who searched is kept. A request with `Cache-Control: no-cache`
//! gets a fresh search.

use super::model::SearchResults;
use super::query::SearchQuery;
use super::DirectoryError;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// How long a search's results are kept.
const KEPT_FOR: Duration = Duration::from_secs(60);
/// At most this many searches are kept (a page of results is ~10-30 KB).
const CAPACITY: usize = 2_000;

type Slot = (Instant, Arc<OnceCell<Arc<SearchResults>>>);

fn kept() -> &'static Mutex<HashMap<String, Slot>> {
    static KEPT: OnceLock<Mutex<HashMap<String, Slot>>> = OnceLock::new();
    KEPT.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The database and the checked query are the key: two spellings of one search are one
/// search. (One server serves one database; the test suite's servers share a process.)
fn key(pool: &sqlx::PgPool, query: &SearchQuery) -> String {
    format!(
        "{}|{}",
        pool.connect_options().get_database().unwrap_or_default(),
        serde_json::to_string(query).unwrap_or_default()
    )
}

/// The slot for this search: this minute's, or a new one (`None`: the cache is full).
fn slot(key: String, fresh: bool) -> Option<Arc<OnceCell<Arc<SearchResults>>>> {
    let mut kept = kept().lock().unwrap_or_else(|e| e.into_inner());
    if !fresh {
        if let Some((at, cell)) = kept.get(&key) {
            if at.elapsed() < KEPT_FOR {
                return Some(cell.clone());
            }
        }
    }
    if kept.len() >= CAPACITY {
        kept.retain(|_, (at, _)| at.elapsed() < KEPT_FOR);
        if kept.len() >= CAPACITY {
            return None;
        }
    }
    let cell = Arc::new(OnceCell::new());
    kept.insert(key, (Instant::now(), cell.clone()));
    Some(cell)
}

/// The search's results: kept ones, or those of `search` (run once however many ask at once).
pub async fn results<F>(
    pool: &sqlx::PgPool,
    query: &SearchQuery,
    search: F,
) -> Result<SearchResults, DirectoryError>
where
    F: Future<Output = Result<SearchResults, DirectoryError>>,
{
    let Some(cell) = slot(key(pool, query), fresh_asked()) else {
        return search.await;
    };
    let results = cell
        .get_or_try_init(|| async { search.await.map(Arc::new) })
        .await?;
    Ok((**results).clone())
}

/// Forgets every kept search (after an import).
pub fn forget() {
    kept().lock().unwrap_or_else(|e| e.into_inner()).clear();
}

/// Whether the request asked for a fresh answer (`Cache-Control: no-cache`).
fn fresh_asked() -> bool {
    leptos::prelude::use_context::<axum::http::request::Parts>().is_some_and(|p| {
        p.headers
            .get_all(axum::http::header::CACHE_CONTROL)
            .iter()
            .any(|v| v.to_str().is_ok_and(|v| v.contains("no-cache")))
    })
}
