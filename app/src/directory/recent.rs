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
//!
//! The cards a search shows are kept the same way, by program, for the minute and the index
//! generation they were read in ([`cards`], [`keep_cards`]): what a card shows changes only with
//! an import (a new generation), a partner's onboarding (its badge) or the clock's minute (open
//! now, opens next), so a fresh search asks Postgres only for the cards not yet shown this
//! minute. A fresh search still runs: which programs match and in what order is decided anew.

use super::held::database;
use super::model::{SearchResults, ServiceCard};
use super::query::SearchQuery;
use super::DirectoryError;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::OnceCell;
use uuid::Uuid;

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
        database(pool),
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

/// Forgets every search and card kept for this database (after an import into it). Other
/// databases' are theirs to forget: the test suite's servers share one process.
pub fn forget(pool: &sqlx::PgPool) {
    forget_database(&database(pool));
}

pub(super) fn forget_database(db: &str) {
    let prefix = format!("{db}|");
    kept()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|k, _| !k.starts_with(&prefix));
    shelves()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(db);
}

/// At most this many cards are kept per database (a card is ~0.5 KB); past it the shelf starts
/// again empty.
const CARDS_KEPT: usize = 20_000;

/// One database's kept cards: the index generation and minute they were read in, and the
/// cards by program page id.
struct Shelf {
    generation: i64,
    minute: u64,
    cards: HashMap<Uuid, ServiceCard>,
}

fn shelves() -> &'static Mutex<HashMap<String, Shelf>> {
    static SHELVES: OnceLock<Mutex<HashMap<String, Shelf>>> = OnceLock::new();
    SHELVES.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Minutes since 1970: every time zone's offset is whole minutes, so each program's "open now"
/// changes only when this does.
pub fn this_minute() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 60)
}

/// The kept card of each program (`None` where there is none) for this index generation and
/// `minute`. Distance and locations matched belong to a search: the caller sets them.
pub fn cards(
    pool: &sqlx::PgPool,
    generation: i64,
    minute: u64,
    ids: impl Iterator<Item = Uuid>,
) -> Vec<Option<ServiceCard>> {
    let shelves = shelves().lock().unwrap_or_else(|e| e.into_inner());
    let shelf = shelves
        .get(&database(pool))
        .filter(|s| s.generation == generation && s.minute == minute);
    ids.map(|id| shelf.and_then(|s| s.cards.get(&id).cloned()))
        .collect()
}

/// Keeps cards read from Postgres in index generation `generation` and `minute`.
pub fn keep_cards(pool: &sqlx::PgPool, generation: i64, minute: u64, cards: &[ServiceCard]) {
    let mut shelves = shelves().lock().unwrap_or_else(|e| e.into_inner());
    let key = database(pool);
    // One server serves one database; the test suite's many databases are bounded here.
    if !shelves.contains_key(&key) && shelves.len() >= 64 {
        shelves.clear();
    }
    let shelf = shelves.entry(key).or_insert_with(|| Shelf {
        generation,
        minute,
        cards: HashMap::new(),
    });
    if (shelf.generation, shelf.minute) != (generation, minute) {
        // A card of another minute or generation is never shown again.
        *shelf = Shelf {
            generation,
            minute,
            cards: HashMap::new(),
        };
    }
    if shelf.cards.len() + cards.len() > CARDS_KEPT {
        shelf.cards.clear();
    }
    for card in cards {
        shelf.cards.insert(card.id, card.clone());
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn card(id: Uuid, name: &str) -> ServiceCard {
        ServiceCard {
            id,
            name: name.into(),
            organization: "Org".into(),
            category_ids: vec![],
            distance_miles: Some(1.0),
            open_now: Some(true),
            phone: None,
            address: None,
            is_free: true,
            serves_area: false,
            locations: 1,
            related: false,
            is_partner: false,
            opens: None,
        }
    }

    #[tokio::test]
    async fn a_card_is_kept_for_its_minute_and_generation_only() {
        let pool = sqlx::PgPool::connect_lazy("postgres://nobody@127.0.0.1/cards_kept_test")
            .expect("a lazy pool needs no server");
        let other = sqlx::PgPool::connect_lazy("postgres://nobody@127.0.0.1/cards_kept_other")
            .expect("a lazy pool needs no server");
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        keep_cards(&pool, 7, 100, &[card(a, "Pantry")]);
        let got = |pool, generation, minute| cards(pool, generation, minute, [a, b].into_iter());
        assert_eq!(got(&pool, 7, 100), vec![Some(card(a, "Pantry")), None]);
        // Another minute (open now may have changed), another index, another database: none.
        assert_eq!(got(&pool, 7, 101), vec![None, None]);
        assert_eq!(got(&pool, 8, 100), vec![None, None]);
        assert_eq!(got(&other, 7, 100), vec![None, None]);
        // Keeping a card of a newer minute starts the shelf again.
        keep_cards(&pool, 7, 101, &[card(b, "Clinic")]);
        assert_eq!(got(&pool, 7, 101), vec![None, Some(card(b, "Clinic"))]);
        // An import in this process forgets every card of its database, and only those: the
        // test suite's servers share a process, and one's import must not touch another's.
        keep_cards(&other, 7, 101, &[card(a, "Pantry")]);
        forget(&pool);
        assert_eq!(got(&pool, 7, 101), vec![None, None]);
        assert_eq!(got(&other, 7, 101), vec![Some(card(a, "Pantry")), None]);
    }
}
