//! Pulling a 211's directory from its HSDS 3.0 API (`[[directory.pulls]]` in Leptos.toml), into
//! the same importer as files: same idempotency, rejected-row report and, on full pulls,
//! deactivation of what the 211 no longer lists.
//!
//! A pull pages through `{url}/services?full=true` (fully nested services: organization,
//! places, schedules, taxonomy terms). The first pull, and one every `full_every_days`, is full;
//! the others ask only for what changed (`modified_after` = a day before the last good pull
//! started: a 211's changes become visible when its import commits, not when they are stamped).
//! A full pull whose total moves while it pages (the 211 changed meanwhile, so a record may have
//! slid between pages) stores nothing and is tried again at the next turn: it would otherwise
//! make that record inactive. Requests that fail for reasons that pass (network,
//! 429, 5xx, a cut-off body) are tried again with a growing wait. One server pulls a source at a
//! time (an advisory lock); each attempt is a `directory_pulls` row, shown at /state/directory.

use super::json::Documents;
use super::{write, ImportError, ImportOptions, ImportReport};
use app::config::{Deployment, PullSettings};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Connection, PgPool};
use std::time::{Duration, Instant};

/// Services asked for per page (the HSDS API's usual largest).
const PER_PAGE: u32 = 100;
/// A page bigger than this is not a page of services.
const MAX_PAGE_BYTES: usize = 64 * 1024 * 1024;
const MAX_PAGES: u32 = 100_000;

/// Which kind of pull.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// Full when due (or never done), else what changed.
    Scheduled,
    Full,
    Incremental,
}

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("{url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error("{0}")]
    Import(#[from] ImportError),
    #[error("another server is pulling {0} right now")]
    Busy(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// The HTTP side: how long to wait and how often to try.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    attempts: u32,
    first_wait: Duration,
}

impl Client {
    /// Four tries per request, waiting 2, 4 and 8 seconds between them.
    pub fn new() -> Self {
        Self::with_waits(4, Duration::from_secs(2))
    }

    pub fn with_waits(attempts: u32, first_wait: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .connect_timeout(Duration::from_secs(15))
            .user_agent(concat!(
                "Wraparound/",
                env!("CARGO_PKG_VERSION"),
                " (HSDS pull)"
            ))
            .build()
            .expect("an HTTP client");
        Client {
            http,
            attempts: attempts.max(1),
            first_wait,
        }
    }

    /// One page as JSON, tried again when the failure may pass.
    async fn page(&self, url: &str, retries: &mut u32) -> Result<Value, PullError> {
        let mut last = String::new();
        for attempt in 0..self.attempts {
            if attempt > 0 {
                *retries += 1;
                tokio::time::sleep(self.first_wait * 2u32.pow(attempt - 1)).await;
            }
            let response = match self
                .http
                .get(url)
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    last = format!("could not connect or read: {}", e.without_url());
                    continue;
                }
            };
            let status = response.status();
            if status.as_u16() == 429 || status.is_server_error() {
                last = format!("answered {status}");
                continue;
            }
            if !status.is_success() {
                return Err(PullError::Fetch {
                    url: url.into(),
                    reason: format!("answered {status}; is this an HSDS 3.0 API's base URL?"),
                });
            }
            if response
                .content_length()
                .is_some_and(|n| n as usize > MAX_PAGE_BYTES)
            {
                return Err(PullError::Fetch {
                    url: url.into(),
                    reason: "the page is too large".into(),
                });
            }
            match response.bytes().await {
                Ok(body) if body.len() > MAX_PAGE_BYTES => {
                    return Err(PullError::Fetch {
                        url: url.into(),
                        reason: "the page is too large".into(),
                    })
                }
                Ok(body) => match serde_json::from_slice::<Value>(&body) {
                    Ok(v) => return Ok(v),
                    Err(e) => last = format!("the answer is not JSON ({e})"),
                },
                Err(e) => last = format!("the answer was cut off: {}", e.without_url()),
            }
        }
        Err(PullError::Fetch {
            url: url.into(),
            reason: format!("{last} (tried {} times)", self.attempts),
        })
    }
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

/// What one pull did.
#[derive(Debug)]
pub struct PullReport {
    pub pull_id: i64,
    pub full: bool,
    pub modified_after: Option<DateTime<Utc>>,
    pub pages: u32,
    pub services: u64,
    pub retries: u32,
    /// `None` when an incremental pull found nothing new.
    pub import: Option<ImportReport>,
}

impl PullReport {
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "Pull #{} ({}): {} pages, {} services, {} retried requests\n",
            self.pull_id,
            match self.modified_after {
                None => "full".to_string(),
                Some(m) => format!("changes since {}", m.to_rfc3339()),
            },
            self.pages,
            self.services,
            self.retries
        );
        match &self.import {
            Some(report) => out.push_str(&report.to_text()),
            None => out.push_str("nothing changed\n"),
        }
        out
    }
}

/// Pulls one 211 now.
pub async fn pull(
    pool: &PgPool,
    deployment: &Deployment,
    settings: &PullSettings,
    mode: Mode,
    client: &Client,
    progress: bool,
) -> Result<PullReport, PullError> {
    let mut lock = pool.acquire().await?;
    let key = format!("directory pull:{}", settings.source);
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))")
        .bind(&key)
        .fetch_one(&mut *lock)
        .await?;
    if !locked {
        return Err(PullError::Busy(settings.source.clone()));
    }
    let result = pull_locked(pool, deployment, settings, mode, client, progress).await;
    let unlocked = sqlx::query("SELECT pg_advisory_unlock(hashtext($1))")
        .bind(&key)
        .execute(&mut *lock)
        .await;
    if unlocked.is_err() {
        // The lock belongs to this connection's session: a connection that could not unlock
        // is closed, not returned to the pool still holding it (closing ends the session and
        // with it the lock).
        let _ = lock.detach().close().await;
    }
    result
}

async fn pull_locked(
    pool: &PgPool,
    deployment: &Deployment,
    settings: &PullSettings,
    mode: Mode,
    client: &Client,
    progress: bool,
) -> Result<PullReport, PullError> {
    let source = settings.source.as_str();
    // Holding the lock, any pull still "running" was cut off (its server stopped).
    sqlx::query(
        "UPDATE directory_pulls SET status = 'failed', finished_at = now(),
                error = 'interrupted: the server stopped during the pull; nothing of it was stored'
         WHERE source = $1 AND status = 'running'",
    )
    .bind(source)
    .execute(pool)
    .await?;
    let last_good: Option<(DateTime<Utc>,)> = sqlx::query_as(
        "SELECT started_at FROM directory_pulls WHERE source = $1 AND status = 'succeeded'
         ORDER BY started_at DESC LIMIT 1",
    )
    .bind(source)
    .fetch_optional(pool)
    .await?;
    let last_full: Option<(DateTime<Utc>,)> = sqlx::query_as(
        "SELECT started_at FROM directory_pulls WHERE source = $1 AND status = 'succeeded' AND full_pull
         ORDER BY started_at DESC LIMIT 1",
    )
    .bind(source)
    .fetch_optional(pool)
    .await?;
    let full_due = last_full.is_none_or(|(t,)| {
        t + chrono::Duration::days(settings.full_every_days as i64) <= Utc::now()
    });
    // Changes are asked for from the last good pull; with none, everything is.
    let full = match mode {
        Mode::Full => true,
        Mode::Incremental => last_good.is_none(),
        Mode::Scheduled => full_due || last_good.is_none(),
    };
    // A day of overlap: a 211 stamps a change when its import begins and shows it when the
    // import commits, which can be minutes later (and clocks disagree). Changes fetched twice
    // are stored once: unchanged records are left alone.
    let modified_after = if full {
        None
    } else {
        last_good.map(|(t,)| t - chrono::Duration::days(1))
    };
    let (pull_id,): (i64,) = sqlx::query_as(
        "INSERT INTO directory_pulls (source, url, full_pull, modified_after) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(source)
    .bind(&settings.url)
    .bind(full)
    .bind(modified_after)
    .fetch_one(pool)
    .await?;
    let mut tally = Tally::default();
    let outcome = fetch_and_store(
        pool,
        deployment,
        settings,
        full,
        modified_after,
        client,
        progress,
        &mut tally,
    )
    .await;
    let (status, error, run_id) = match &outcome {
        Ok(import) => ("succeeded", None, import.as_ref().map(|r| r.run_id)),
        Err(e) => ("failed", Some(e.to_string()), None),
    };
    sqlx::query(
        "UPDATE directory_pulls SET status = $2, finished_at = now(), pages = $3, records = $4,
                retries = $5, import_run_id = $6, error = $7
         WHERE id = $1",
    )
    .bind(pull_id)
    .bind(status)
    .bind(tally.pages as i32)
    .bind(tally.services.min(i32::MAX as u64) as i32)
    .bind(tally.retries as i32)
    .bind(run_id)
    .bind(error)
    .execute(pool)
    .await?;
    let import = outcome?;
    Ok(PullReport {
        pull_id,
        full,
        modified_after,
        pages: tally.pages,
        services: tally.services,
        retries: tally.retries,
        import,
    })
}

#[derive(Default)]
struct Tally {
    pages: u32,
    services: u64,
    retries: u32,
}

#[allow(clippy::too_many_arguments)]
async fn fetch_and_store(
    pool: &PgPool,
    deployment: &Deployment,
    settings: &PullSettings,
    full: bool,
    modified_after: Option<DateTime<Utc>>,
    client: &Client,
    progress: bool,
    tally: &mut Tally,
) -> Result<Option<ImportReport>, PullError> {
    let base = settings.url.trim_end_matches('/');
    let started = Instant::now();
    let mut documents = Documents::new();
    let mut page = 1u32;
    let mut first_total: Option<u64> = None;
    loop {
        let mut url = format!("{base}/services?full=true&per_page={PER_PAGE}&page={page}");
        if let Some(m) = modified_after {
            url.push_str("&modified_after=");
            url.extend(form_urlencoded::byte_serialize(
                m.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    .as_bytes(),
            ));
        }
        let doc = client.page(&url, &mut tally.retries).await?;
        let total_pages = doc.get("total_pages").and_then(Value::as_u64);
        let last_page = doc.get("last_page").and_then(Value::as_bool);
        let total = doc.get("total_items").and_then(Value::as_u64);
        if full && page > 1 && total.is_some() && total != first_total {
            return Err(PullError::Fetch {
                url,
                reason: format!(
                    "the 211's directory changed during the pull ({} services, then {}); nothing was stored, the next pull tries again",
                    first_total.unwrap_or(0),
                    total.unwrap_or(0)
                ),
            });
        }
        if page == 1 {
            first_total = total;
        }
        if doc.get("contents").is_none_or(|c| !c.is_array()) {
            return Err(PullError::Fetch {
                url,
                reason: "the answer is not a page of HSDS services (no \"contents\")".into(),
            });
        }
        let n = documents.add(&format!("page {page}"), doc)?;
        tally.pages += 1;
        tally.services += n as u64;
        if progress {
            let seconds = started.elapsed().as_secs_f64().max(0.001);
            let rate = tally.services as f64 / seconds;
            let remaining = total_pages
                .map(|t| {
                    let left = t.saturating_sub(page as u64) as f64 * PER_PAGE as f64;
                    format!(
                        ", page {page} of {t}, about {:.0} s left",
                        left / rate.max(1.0)
                    )
                })
                .unwrap_or_default();
            eprintln!(
                "  {} services read, {:.0}/s{remaining}",
                tally.services, rate
            );
        }
        let done =
            n == 0 || last_page == Some(true) || total_pages.is_some_and(|t| page as u64 >= t);
        if done {
            break;
        }
        page += 1;
        if page > MAX_PAGES {
            return Err(PullError::Fetch {
                url,
                reason: format!("more than {MAX_PAGES} pages; stopped"),
            });
        }
    }
    let mut feed = documents.finish();
    feed.format = format!("HSDS 3.0 API {base}");
    if !full && feed.services.is_empty() && feed.organizations.is_empty() {
        return Ok(None);
    }
    if progress {
        eprintln!("  storing {} services...", feed.services.len());
    }
    let options = ImportOptions {
        source: settings.source.clone(),
        full,
        allow_mass_deactivation: false,
        home_state: deployment.region.state.clone(),
        default_timezone: deployment.region.timezone.clone(),
        progress,
    };
    Ok(Some(write::store(pool, feed, &options).await?))
}

/// Starts every pull that is due (each in its own task: a pull can take minutes and the other
/// jobs should not wait). Called every minute by the job runner.
pub async fn start_due(pool: &PgPool, deployment: &std::sync::Arc<Deployment>) -> sqlx::Result<()> {
    for settings in &deployment.directory.pulls {
        let last: Option<(DateTime<Utc>,)> = sqlx::query_as(
            "SELECT started_at FROM directory_pulls WHERE source = $1 ORDER BY started_at DESC LIMIT 1",
        )
        .bind(&settings.source)
        .fetch_optional(pool)
        .await?;
        let due = last.is_none_or(|(t,)| {
            t + chrono::Duration::minutes(settings.every_minutes as i64) <= Utc::now()
        });
        if !due {
            continue;
        }
        let (pool, deployment, settings) = (pool.clone(), deployment.clone(), settings.clone());
        tokio::spawn(async move {
            match pull(
                &pool,
                &deployment,
                &settings,
                Mode::Scheduled,
                &Client::new(),
                false,
            )
            .await
            {
                Ok(report) => tracing::info!(
                    source = %settings.source, pages = report.pages, services = report.services,
                    full = report.full, "directory pulled"
                ),
                Err(PullError::Busy(_)) => {}
                Err(e) => {
                    tracing::warn!(source = %settings.source, error = %e, "directory pull failed")
                }
            }
        });
    }
    Ok(())
}
