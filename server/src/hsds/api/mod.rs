//! Our directory as an Open Referral HSDS 3.0 read API (`/api/hsds/...`), so other systems can
//! use it: every path and parameter of the HSDS 3.0 OpenAPI document. Response shapes follow
//! its schemas (tests validate them, and a property-based contract test runs the OpenAPI
//! against us). Only public directory data is served here.
//!
//! Parameters the document types loosely are read as a client would mean them: pages count from
//! 1 (`page=0` is the first page too), `per_page` above the most we send is that most (the page
//! says its `size`), and an id filter that names nothing finds nothing. A value that cannot mean
//! anything (`page=-1`, `full=maybe`, an unknown parameter) is a `400` with a JSON error. Every
//! answer under `/api/hsds/` is JSON, errors and unknown paths included; methods other than GET
//! and HEAD get a `405` saying what is allowed.

mod shape;

use app::directory::categories::OUR_TAXONOMY;
use app::state::AppState;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde_json::{json, Value};
use shape::{LOCATION_COLUMNS, ORG_COLUMNS, SAL_COLUMNS, SERVICE_COLUMNS};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use std::sync::Arc;
use uuid::Uuid;

const MAX_PER_PAGE: i64 = 200;
/// `minimal` lists are meant to be fetched in one call.
const MAX_MINIMAL_PER_PAGE: i64 = 10_000;
const DEFAULT_PER_PAGE: i64 = 50;
/// Rows shaped (and nested records fetched) at a time when streaming `format=ndjson`.
const STREAM_BATCH: usize = 200;
/// Streams at once, per server: each holds a database connection while it runs, so a few
/// clients that never read could otherwise take the whole pool.
const STREAMS_AT_ONCE: usize = 4;
/// A client that reads nothing for this long loses its stream (and the connection is freed).
const STREAM_STALL: std::time::Duration = std::time::Duration::from_secs(30);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/hsds", get(meta))
        .route("/api/hsds/services", get(list_services))
        .route("/api/hsds/services/{id}", get(one_service))
        .route(
            "/api/hsds/service_at_locations",
            get(list_service_at_locations),
        )
        .route(
            "/api/hsds/service_at_locations/{id}",
            get(one_service_at_location),
        )
        .route("/api/hsds/organizations", get(list_organizations))
        .route("/api/hsds/organizations/{id}", get(one_organization))
        .route("/api/hsds/taxonomies", get(list_taxonomies))
        .route("/api/hsds/taxonomies/{id}", get(one_taxonomy))
        .route("/api/hsds/taxonomy_terms", get(list_taxonomy_terms))
        .route("/api/hsds/taxonomy_terms/{id}", get(one_taxonomy_term))
        .route("/api/hsds/{*rest}", get(no_such_path))
}

/// Whether a path is the API's (its errors are JSON, its methods GET and HEAD).
pub fn is_api_path(path: &str) -> bool {
    path == "/api/hsds" || path.starts_with("/api/hsds/")
}

/// The answer to any other method under `/api/hsds`: the API only reads.
pub fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::ALLOW, HeaderValue::from_static("GET, HEAD"))],
        Json(json!({ "error": "this API only reads: use GET or HEAD" })),
    )
        .into_response()
}

async fn no_such_path() -> ApiError {
    ApiError::NoSuchPath
}

/// The API's 404 for a path it does not have (also for odd spellings of one, before routing).
pub fn no_such_path_response() -> Response {
    ApiError::NoSuchPath.into_response()
}

/// API errors: a status and a message safe to show; database details go to the log.
pub enum ApiError {
    BadRequest(String),
    NotFound,
    NoSuchPath,
    Unavailable,
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "HSDS API query failed");
        ApiError::Unavailable
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not found".to_string()),
            ApiError::NoSuchPath => (
                StatusCode::NOT_FOUND,
                "no such path; the API's paths are those of the HSDS 3.0 OpenAPI, under /api/hsds"
                    .to_string(),
            ),
            ApiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the directory is unavailable; try again later".into(),
            ),
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(message.into())
}

/// `json` (a page) or `ndjson` (every result, one per line, no pages).
#[derive(Clone, Copy, PartialEq)]
enum Format {
    Json,
    Ndjson,
}

/// Which page, and how long.
#[derive(Clone, Copy)]
struct Window {
    page: i64,
    per_page: i64,
}

impl Window {
    fn offset(self) -> i64 {
        (self.page - 1) * self.per_page
    }
}

/// The query string, checked: only known parameters with well-formed values.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: Option<String>, allowed: &[&str]) -> Result<Params, ApiError> {
        let raw = raw.unwrap_or_default();
        if raw.len() > 2000 {
            return Err(bad("query string too long"));
        }
        let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.trim().to_string()))
            .collect();
        for (k, v) in &pairs {
            if !allowed.contains(&k.as_str()) {
                return Err(bad(format!(
                    "unknown parameter {k:?}; allowed: {}",
                    allowed.join(", ")
                )));
            }
            if v.len() > 200 {
                return Err(bad(format!("{k} is too long")));
            }
        }
        Ok(Params(pairs))
    }

    /// The value as given, empty or not (for typed values, where empty is not a value).
    fn given(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str) -> Result<bool, ApiError> {
        match self.given(key).map(str::to_ascii_lowercase).as_deref() {
            None | Some("false" | "0" | "no") => Ok(false),
            Some("true" | "1" | "yes") => Ok(true),
            Some(_) => Err(bad(format!("{key} must be true or false"))),
        }
    }

    fn int(&self, key: &str, default: i64) -> Result<i64, ApiError> {
        match self.given(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<i64>()
                .map_err(|_| bad(format!("{key} must be a whole number"))),
        }
    }

    fn window(&self, max_per_page: i64) -> Result<Window, ApiError> {
        let page = self.int("page", 1)?;
        let per_page = self.int("per_page", DEFAULT_PER_PAGE)?;
        if page < 0 {
            return Err(bad("page must be 1 or more (pages count from 1)"));
        }
        if per_page < 1 {
            return Err(bad("per_page must be 1 or more"));
        }
        // Far past any real last page: an empty page, not an overflow.
        let page = page.clamp(1, 10_000_000);
        Ok(Window {
            page,
            per_page: per_page.min(max_per_page),
        })
    }

    fn format(&self) -> Result<Format, ApiError> {
        match self.given("format").map(str::to_ascii_lowercase).as_deref() {
            None | Some("json") => Ok(Format::Json),
            Some("ndjson") => Ok(Format::Ndjson),
            Some(_) => Err(bad("format must be json or ndjson")),
        }
    }

    /// An id filter: `None` when not given, `Some(None)` when given but naming nothing we have
    /// (our ids are UUIDs), so the filter finds nothing.
    fn id(&self, key: &str) -> Option<Option<Uuid>> {
        self.get(key).map(|v| Uuid::parse_str(v).ok())
    }

    /// RFC 3339 (`2026-12-01T00:00:00Z`), or a date meaning its start in UTC.
    fn modified_after(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
        let Some(v) = self.get("modified_after") else {
            return Ok(None);
        };
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
            return Ok(Some(t.with_timezone(&chrono::Utc)));
        }
        chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| Some(t.and_utc()))
            .ok_or_else(|| {
                bad("modified_after must be a date-time (2026-12-01T00:00:00Z) or a date (2026-12-01)")
            })
    }

    fn search(&self) -> Option<String> {
        self.get("search").map(String::from)
    }
}

fn page_json(total: i64, window: Window, contents: Vec<Value>) -> Value {
    let total_pages = (total + window.per_page - 1) / window.per_page;
    json!({
        "total_items": total,
        "total_pages": total_pages,
        "page_number": window.page,
        "size": contents.len(),
        "first_page": window.page == 1,
        "last_page": window.page >= total_pages,
        "empty": contents.is_empty(),
        "contents": contents,
    })
}

/// A page of records in memory (taxonomies and terms: a few thousand at most).
fn respond_all(all: Vec<Value>, p: &Params) -> ApiResult {
    match p.format()? {
        Format::Ndjson => Ok(ndjson_response(Body::from(ndjson_lines(&all)))),
        Format::Json => {
            let window = p.window(MAX_PER_PAGE)?;
            let total = all.len() as i64;
            let contents = all
                .into_iter()
                .skip(window.offset() as usize)
                .take(window.per_page as usize)
                .collect();
            Ok(Json(page_json(total, window, contents)).into_response())
        }
    }
}

fn ndjson_lines(records: &[Value]) -> String {
    let mut out = String::new();
    for r in records {
        out.push_str(&r.to_string());
        out.push('\n');
    }
    out
}

fn ndjson_response(body: Body) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        )],
        body,
    )
        .into_response()
}

async fn meta() -> Json<Value> {
    Json(json!({
        "version": "3.0",
        "profile": "https://docs.openreferral.org/en/v3.0/",
        "openapi_url": "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/openapi.json",
    }))
}

// ---------------------------------------------------------------------------------------------
// Lists of stored records: one query per page (plus two for nested records), or one streamed
// query for `format=ndjson`.

/// Adds a list's conditions (` AND ...`) to its query.
type Filter = Arc<dyn Fn(&mut QueryBuilder<'static, Postgres>) + Send + Sync>;

/// Whether a list's filters add any condition (none were asked for, or none apply).
fn filters_anything(filter: &Filter) -> bool {
    let mut conditions = QueryBuilder::new("");
    filter(&mut conditions);
    !conditions.sql().is_empty()
}

/// Up to how many matching rows a filtered list's page is found by sorting them all
/// (`Listing::page_keys`).
const FEW_ROWS: i64 = 10_000;

/// Services at locations, read through the search index: one entry per active service at an
/// active location (with its location; the others, services of no location, have none), and
/// nothing else, rebuilt by the import that deactivates any. Every such entry has its service
/// at a location, service, organization and location: they are joined LEFT so that a count
/// whose filters do not read them counts the entries alone.
const ENTRIES: &str = "FROM search_entries e
                 LEFT JOIN service_at_locations sal ON sal.id = e.id
                 LEFT JOIN services s ON s.id = e.service_id
                 LEFT JOIN organizations o ON o.id = s.organization_id
                 LEFT JOIN locations l ON l.id = e.location_id";

/// What a list holds and in which form.
#[derive(Clone, Copy)]
enum Listing {
    Services { full: bool, minimal: bool },
    ServiceAtLocations { full: bool },
    Organizations { full: bool, full_service: bool },
}

impl Listing {
    /// `SELECT ... FROM ... WHERE <always>`; filters add ` AND ...`.
    fn select(self) -> String {
        match self {
            // What `shape::minimal_service` reads and no more: a minimal page is up to 10,000
            // services, and their descriptions, phones and schedules would be read for nothing.
            Listing::Services { minimal: true, .. } => {
                "SELECT s.id, s.name, s.status, s.active, s.last_modified, s.updated_at
                 FROM services s WHERE true"
                    .to_string()
            }
            Listing::Services { .. } => format!(
                "SELECT {SERVICE_COLUMNS}, {ORG_COLUMNS}
                 FROM services s JOIN organizations o ON o.id = s.organization_id WHERE true"
            ),
            Listing::ServiceAtLocations { .. } => format!(
                "SELECT {SAL_COLUMNS}, {SERVICE_COLUMNS}, {ORG_COLUMNS}, {LOCATION_COLUMNS}
                 {ENTRIES} WHERE e.location_id IS NOT NULL"
            ),
            Listing::Organizations { .. } => {
                format!("SELECT {ORG_COLUMNS} FROM organizations o WHERE o.active")
            }
        }
    }

    /// A page's rows are found first by key alone (the key column, and where the keys come
    /// from, which filters complete): the first page walks an index in name order, and a
    /// deep one (a 211 pulling a national directory, 500,000 services in) skips index
    /// entries or sorts keys, not whole rows. For entries, `s.active` (true of every one)
    /// lets the walk use `services_active_name_idx`.
    fn keys(self) -> (&'static str, String) {
        match self {
            Listing::Services { .. } => ("s.id", "FROM services s WHERE true".to_string()),
            Listing::ServiceAtLocations { .. } => (
                "e.id",
                format!("{ENTRIES} WHERE e.location_id IS NOT NULL AND s.active"),
            ),
            Listing::Organizations { .. } => {
                ("o.id", "FROM organizations o WHERE o.active".to_string())
            }
        }
    }

    /// The rows a list's total counts, as a query its filters complete. Services are counted
    /// without their organizations (every service has one, and no filter reads it), so the
    /// count of a national directory's services reads the index of active services in name
    /// order, not the table.
    fn counted(self) -> String {
        match self {
            Listing::Services { .. } => {
                let (column, from) = self.keys();
                format!("SELECT {column} {from}")
            }
            _ => self.select(),
        }
    }

    /// The query of a list's total. The whole list of services at locations is every entry
    /// of the search index with a place, which the index rebuild counts (counting them again
    /// took 0.5-0.6 s of each page at national scale).
    fn total(self, filter: &Filter, filtered: bool) -> QueryBuilder<'static, Postgres> {
        if matches!(self, Listing::ServiceAtLocations { .. }) && !filtered {
            return QueryBuilder::new("SELECT located_entries FROM search_generation");
        }
        let mut count = QueryBuilder::new(format!("SELECT count(*) FROM ({}", self.counted()));
        filter(&mut count);
        count.push(") q");
        count
    }

    /// What a list is in order of: names, then keys.
    fn sorted_by(self) -> &'static [&'static str] {
        match self {
            Listing::Services { .. } => &["s.name", "s.id"],
            Listing::ServiceAtLocations { .. } => &["s.name", "s.id", "e.id"],
            Listing::Organizations { .. } => &["o.name", "o.id"],
        }
    }

    fn order(self) -> String {
        format!(" ORDER BY {}", self.sorted_by().join(", "))
    }

    /// The query of a page's keys, in order, as its start and its end: the list's filters
    /// go between. Walking the names' index and testing each row finds a page at once when
    /// many rows match; when few do, it tests the whole directory to find them (7 s at
    /// national scale for a search that matches nothing, 6-12 s for a ZIP code's services
    /// at locations). Then (`few`) the rows are found first, through the filters' own
    /// indexes, and sorted.
    fn page_keys(self, few: bool) -> (String, String) {
        let (column, from) = self.keys();
        if !few {
            return (format!("SELECT {column} {from}"), self.order());
        }
        let sorted = self.sorted_by();
        let columns: Vec<String> = sorted
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} AS by{i}"))
            .collect();
        let by: Vec<String> = (0..sorted.len()).map(|i| format!("by{i}")).collect();
        (
            format!(
                "WITH matched AS MATERIALIZED (SELECT {column} AS key, {} {from}",
                columns.join(", ")
            ),
            format!(") SELECT key FROM matched ORDER BY {}", by.join(", ")),
        )
    }

    fn max_per_page(self) -> i64 {
        match self {
            Listing::Services { minimal: true, .. } => MAX_MINIMAL_PER_PAGE,
            _ => MAX_PER_PAGE,
        }
    }

    /// The rows as HSDS records.
    async fn records(self, pool: &PgPool, rows: &[PgRow]) -> Result<Vec<Value>, sqlx::Error> {
        match self {
            Listing::Services { minimal: true, .. } => {
                rows.iter().map(shape::minimal_service).collect()
            }
            Listing::Services { full, .. } => {
                let mut out = rows
                    .iter()
                    .map(|r| shape::service(r, full))
                    .collect::<Result<Vec<_>, _>>()?;
                if full {
                    shape::complete_services(pool, rows, &mut out).await?;
                }
                Ok(out)
            }
            Listing::ServiceAtLocations { full } => rows
                .iter()
                .map(|r| {
                    let mut sal = shape::service_at_location(r)?;
                    sal["service"] = shape::service(r, full)?;
                    Ok(sal)
                })
                .collect(),
            Listing::Organizations { full, full_service } => {
                organizations(pool, rows, full || full_service, full_service).await
            }
        }
    }
}

/// Organizations with, when asked, their phones, services (in list or full form) and locations.
async fn organizations(
    pool: &PgPool,
    rows: &[PgRow],
    nested: bool,
    full_service: bool,
) -> Result<Vec<Value>, sqlx::Error> {
    let mut out = rows
        .iter()
        .map(|r| shape::organization(r, nested))
        .collect::<Result<Vec<_>, _>>()?;
    if !nested {
        return Ok(out);
    }
    let ids: Vec<Uuid> = rows
        .iter()
        .map(|r| r.try_get("o_id"))
        .collect::<Result<_, _>>()?;
    let services_sql = format!(
        "SELECT {SERVICE_COLUMNS}, {ORG_COLUMNS} FROM services s JOIN organizations o ON o.id = s.organization_id
         WHERE s.organization_id = ANY($1) AND s.active ORDER BY s.name, s.id"
    );
    let locations_sql = format!(
        "SELECT {LOCATION_COLUMNS} FROM locations l
         WHERE l.organization_id = ANY($1) AND l.active ORDER BY l.name, l.id"
    );
    let (service_rows, location_rows) = tokio::try_join!(
        sqlx::query(&services_sql).bind(&ids).fetch_all(pool),
        sqlx::query(&locations_sql).bind(&ids).fetch_all(pool),
    )?;
    let mut services = service_rows
        .iter()
        .map(|r| shape::service(r, full_service))
        .collect::<Result<Vec<_>, _>>()?;
    if full_service {
        shape::complete_services(pool, &service_rows, &mut services).await?;
    }
    // Each service and location shaped once, then handed to its organization.
    let mut by_org: std::collections::HashMap<Uuid, (Vec<Value>, Vec<Value>)> =
        std::collections::HashMap::new();
    for (r, mut service) in service_rows.iter().zip(services) {
        service.as_object_mut().map(|o| o.remove("organization"));
        by_org
            .entry(r.try_get("organization_id")?)
            .or_default()
            .0
            .push(service);
    }
    for r in &location_rows {
        if let Some(org) = r.try_get::<Option<Uuid>, _>("l_organization_id")? {
            by_org.entry(org).or_default().1.push(shape::location(r)?);
        }
    }
    for (org, id) in out.iter_mut().zip(&ids) {
        let (services, locations) = by_org.remove(id).unwrap_or_default();
        org["services"] = Value::Array(services);
        org["locations"] = Value::Array(locations);
    }
    Ok(out)
}

/// A list as a page (`format=json`) or as every record streamed (`format=ndjson`).
async fn respond(state: AppState, listing: Listing, filter: Filter, p: &Params) -> ApiResult {
    match p.format()? {
        Format::Json => {
            let window = p.window(listing.max_per_page())?;
            // A filtered list is counted first: how many match decides how its page is found
            // (`Listing::page_keys`), and a page past the end needs no more.
            let filtered = filters_anything(&filter);
            let mut count = listing.total(&filter, filtered);
            let counted = if filtered {
                Some(
                    count
                        .build_query_scalar::<i64>()
                        .fetch_one(&state.pool)
                        .await?,
                )
            } else {
                None
            };
            let (column, _) = listing.keys();
            let (keys, keys_order) = listing.page_keys(counted.is_some_and(|t| t <= FEW_ROWS));
            let mut b = QueryBuilder::new(listing.select());
            b.push(format!(" AND {column} IN (")).push(keys);
            filter(&mut b);
            b.push(keys_order)
                .push(" LIMIT ")
                .push_bind(window.per_page)
                .push(" OFFSET ")
                .push_bind(window.offset());
            b.push(")").push(listing.order());
            let (rows, total) = match counted {
                Some(total) if total <= window.offset() => (Vec::new(), total),
                Some(total) => (b.build().fetch_all(&state.pool).await?, total),
                None => tokio::try_join!(
                    b.build().fetch_all(&state.pool),
                    count.build_query_scalar::<i64>().fetch_one(&state.pool),
                )?,
            };
            let contents = listing.records(&state.pool, &rows).await?;
            Ok(Json(page_json(total, window, contents)).into_response())
        }
        Format::Ndjson => {
            static STREAMS: std::sync::OnceLock<Arc<tokio::sync::Semaphore>> =
                std::sync::OnceLock::new();
            let permits = STREAMS
                .get_or_init(|| Arc::new(tokio::sync::Semaphore::new(STREAMS_AT_ONCE)))
                .clone();
            let Ok(permit) = permits.try_acquire_owned() else {
                return Ok((
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, HeaderValue::from_static("30"))],
                    Json(json!({
                        "error": "too many full downloads at once; try again in a minute, or page with format=json"
                    })),
                )
                    .into_response());
            };
            Ok(ndjson_response(stream(
                state.pool.clone(),
                listing,
                filter,
                permit,
            )))
        }
    }
}

/// Every record of a list, one JSON document per line, streamed from one query as the client
/// reads (a bounded channel: a slow client slows the query, memory stays flat).
fn stream(
    pool: PgPool,
    listing: Listing,
    filter: Filter,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(4);
    tokio::spawn(async move {
        let _permit = permit;
        let mut b = QueryBuilder::new(listing.select());
        filter(&mut b);
        b.push(listing.order());
        let mut rows = b.build().fetch(&pool);
        let mut batch = Vec::with_capacity(STREAM_BATCH);
        loop {
            let next = rows.try_next().await;
            let done = !matches!(next, Ok(Some(_)));
            if let Ok(Some(r)) = next {
                batch.push(r);
            } else if let Err(e) = next {
                tracing::error!(error = %e, "HSDS API stream failed");
                let _ = tx.send(Err(std::io::Error::other("stream failed"))).await;
                return;
            }
            if batch.len() == STREAM_BATCH || (done && !batch.is_empty()) {
                let lines = match listing.records(&pool, &batch).await {
                    Ok(records) => Ok(ndjson_lines(&records)),
                    Err(e) => {
                        tracing::error!(error = %e, "HSDS API stream failed");
                        Err(std::io::Error::other("stream failed"))
                    }
                };
                let failed = lines.is_err();
                let sent = tokio::time::timeout(STREAM_STALL, tx.send(lines)).await;
                if !matches!(sent, Ok(Ok(()))) || failed {
                    return; // the client went away or stopped reading, or the stream failed
                }
                batch.clear();
            }
            if done {
                return;
            }
        }
    });
    Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

/// `taxonomy_term_id`: one of our categories, or a feed's term.
fn push_term(b: &mut QueryBuilder<'static, Postgres>, term: Option<Uuid>, categories: &str) {
    match term.map(|t| (t, shape::category_for_term(t))) {
        None => {
            b.push(" AND false");
        }
        Some((_, Some(category))) => {
            b.push(format!(" AND {categories} @> ARRAY["))
                .push_bind(category)
                .push("]::text[]");
        }
        Some((t, None)) => {
            b.push(" AND s.taxonomy_term_ids @> ARRAY[")
                .push_bind(t)
                .push("]::uuid[]");
        }
    }
}

/// `taxonomy_id`: services with any term of that taxonomy (ours: any category).
async fn push_taxonomy(
    pool: &PgPool,
    taxonomy: Option<Uuid>,
) -> Result<impl Fn(&mut QueryBuilder<'static, Postgres>, &str) + Send + Sync, ApiError> {
    let name = taxonomy_name(pool, taxonomy).await?;
    Ok(
        move |b: &mut QueryBuilder<'static, Postgres>, categories: &str| match &name {
            None => {
                b.push(" AND false");
            }
            Some(n) if n == OUR_TAXONOMY => {
                b.push(format!(" AND {categories} <> '{{}}'"));
            }
            Some(n) => {
                b.push(" AND s.taxonomy_term_ids && ARRAY(SELECT id FROM taxonomy_terms WHERE taxonomy = ")
                .push_bind(n.clone())
                .push(")");
            }
        },
    )
}

/// Full-text search through the search index: `e` when the rows are its own, else a column
/// (`s.id`, `o.id`) found among the index's matches.
fn push_search(b: &mut QueryBuilder<'static, Postgres>, q: &str, column: &str) {
    const MATCHES: &str = "document @@ websearch_to_tsquery('english', unaccent(";
    match column {
        "e" => {
            b.push(format!(" AND e.{MATCHES}"));
        }
        "o.id" => {
            b.push(format!(
                " AND o.id IN (SELECT organization_id FROM search_entries WHERE {MATCHES}"
            ));
        }
        _ => {
            b.push(format!(
                " AND {column} IN (SELECT service_id FROM search_entries WHERE {MATCHES}"
            ));
        }
    }
    b.push_bind(q.to_string())
        .push(if column == "e" { "))" } else { ")))" });
}

/// The filters services and service at locations share: `search`, `taxonomy_term_id`,
/// `taxonomy_id`, `organization_id`.
struct ServiceFilters {
    search: Option<String>,
    term: Option<Option<Uuid>>,
    taxonomy: Option<Box<dyn Fn(&mut QueryBuilder<'static, Postgres>, &str) + Send + Sync>>,
    organization: Option<Option<Uuid>>,
}

impl ServiceFilters {
    async fn parse(p: &Params, pool: &PgPool) -> Result<Self, ApiError> {
        let taxonomy = match p.id("taxonomy_id") {
            Some(t) => Some(Box::new(push_taxonomy(pool, t).await?) as Box<_>),
            None => None,
        };
        Ok(ServiceFilters {
            search: p.search(),
            term: p.id("taxonomy_term_id"),
            taxonomy,
            organization: p.id("organization_id"),
        })
    }

    /// `search_in`: how the text search reaches the rows (`s.id` through the search index, or
    /// the index row `e` itself); `categories`: the rows' category column.
    fn push(&self, b: &mut QueryBuilder<'static, Postgres>, search_in: &str, categories: &str) {
        if let Some(q) = &self.search {
            push_search(b, q, search_in);
        }
        if let Some(t) = self.term {
            push_term(b, t, categories);
        }
        if let Some(push) = &self.taxonomy {
            push(b, categories);
        }
        push_id(b, "s.organization_id", self.organization);
    }
}

/// How `modified_after` finds what changed since a time. After an ordinary day, few rows
/// have: they are found through the `updated_at` indexes and their ids listed, so an
/// incremental pull reads little (a page in 8-16 ms at national scale, against 4-13 s for
/// testing every row). After a re-import most have: listing hundreds of thousands of ids costs
/// more than testing each row in list order (18 s against about 2.5 s a page on the same
/// machine), so then each row is tested. "Few" is at most a tenth of the services and at
/// most [`FEW_CHANGES`] rows.
#[derive(Clone, Copy)]
enum Changes {
    Few(DateTime<Utc>),
    Many(DateTime<Utc>),
}

/// Up to how many changed rows (of the four tables together) are listed by id.
const FEW_CHANGES: i64 = 50_000;

impl Changes {
    /// What `modified_after`, if given, asks for.
    async fn asked(p: &Params, pool: &PgPool) -> Result<Option<Changes>, ApiError> {
        let Some(m) = p.modified_after()? else {
            return Ok(None);
        };
        // Changed rows counted up to one past the most that are few (the scans stop there);
        // services as Postgres last estimated them (the importer analyzes after every load;
        // -1 if never).
        let (changed, services): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM (SELECT 1 FROM services WHERE updated_at >= $1
                                          UNION ALL SELECT 1 FROM organizations WHERE updated_at >= $1
                                          UNION ALL SELECT 1 FROM locations WHERE updated_at >= $1
                                          UNION ALL SELECT 1 FROM service_at_locations WHERE updated_at >= $1
                                          LIMIT $2) c),
                    (SELECT reltuples::bigint FROM pg_class WHERE oid = 'services'::regclass)",
        )
        .bind(m)
        .bind(FEW_CHANGES + 1)
        .fetch_one(pool)
        .await?;
        let few = changed <= FEW_CHANGES && (services < 0 || changed * 10 <= services);
        Ok(Some(if few {
            Changes::Few(m)
        } else {
            Changes::Many(m)
        }))
    }

    /// Services a copy pulled before would see change: the service itself (made inactive
    /// too), its organization, or one of its places.
    fn push_services(self, b: &mut QueryBuilder<'static, Postgres>) {
        match self {
            Changes::Few(m) => {
                b.push(" AND s.id IN (");
                push_services_changed(b, m);
                b.push(" UNION ");
                push_places_changed(b, "service_id", m);
                b.push(") AND (s.active OR s.updated_at >= ")
                    .push_bind(m)
                    .push(")");
            }
            Changes::Many(m) => {
                b.push(" AND (s.updated_at >= ")
                    .push_bind(m)
                    .push(" OR s.active AND (EXISTS (SELECT 1 FROM organizations so WHERE so.id = s.organization_id AND so.updated_at >= ")
                    .push_bind(m)
                    .push(
                        ") OR EXISTS (SELECT 1 FROM service_at_locations sal JOIN locations l ON l.id = sal.location_id
                           WHERE sal.service_id = s.id AND (sal.updated_at >= ",
                    )
                    .push_bind(m)
                    .push(" OR l.updated_at >= ")
                    .push_bind(m)
                    .push("))))");
            }
        }
    }

    /// Services at locations changed themselves, through their place, their service or its
    /// organization.
    fn push_entries(self, b: &mut QueryBuilder<'static, Postgres>) {
        match self {
            Changes::Few(m) => {
                b.push(" AND e.id IN (");
                push_places_changed(b, "id", m);
                b.push(" UNION SELECT id FROM service_at_locations WHERE service_id IN (");
                push_services_changed(b, m);
                b.push("))");
            }
            Changes::Many(m) => {
                b.push(" AND (sal.updated_at >= ")
                    .push_bind(m)
                    .push(" OR s.updated_at >= ")
                    .push_bind(m)
                    .push(" OR o.updated_at >= ")
                    .push_bind(m)
                    .push(" OR l.updated_at >= ")
                    .push_bind(m)
                    .push(")");
            }
        }
    }
}

/// Ids of services changed themselves (made inactive too) or through their organization.
fn push_services_changed(b: &mut QueryBuilder<'static, Postgres>, m: DateTime<Utc>) {
    b.push("SELECT id FROM services WHERE updated_at >= ")
        .push_bind(m)
        .push(" UNION SELECT id FROM services WHERE organization_id IN (SELECT id FROM organizations WHERE updated_at >= ")
        .push_bind(m)
        .push(")");
}

/// `column` of the services at locations changed themselves or through their location.
fn push_places_changed(b: &mut QueryBuilder<'static, Postgres>, column: &str, m: DateTime<Utc>) {
    b.push(format!("SELECT {column} FROM service_at_locations WHERE updated_at >= "))
        .push_bind(m)
        .push(format!(" UNION SELECT {column} FROM service_at_locations WHERE location_id IN (SELECT id FROM locations WHERE updated_at >= "))
        .push_bind(m)
        .push(")");
}

/// An id filter: the column equals the id; an id that names nothing finds nothing.
fn push_id(b: &mut QueryBuilder<'static, Postgres>, column: &str, id: Option<Option<Uuid>>) {
    match id {
        Some(Some(id)) => {
            b.push(format!(" AND {column} = ")).push_bind(id);
        }
        Some(None) => {
            b.push(" AND false");
        }
        None => {}
    }
}

async fn list_services(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult {
    let p = Params::parse(
        raw,
        &[
            "search",
            "taxonomy_term_id",
            "taxonomy_id",
            "organization_id",
            "modified_after",
            "page",
            "per_page",
            "full",
            "format",
            "minimal",
        ],
    )?;
    let listing = Listing::Services {
        full: p.flag("full")?,
        minimal: p.flag("minimal")?,
    };
    let filters = ServiceFilters::parse(&p, &state.pool).await?;
    let changes = Changes::asked(&p, &state.pool).await?;
    let filter: Filter = Arc::new(move |b| {
        filters.push(b, "s.id", "s.category_ids");
        // What a client that fetched the full service before would see change: the service,
        // its organization, or one of its places; and services removed since, listed as
        // "inactive", so a copy pulled incrementally drops them too (not only at its next full
        // pull). Without `modified_after`, only active services.
        if let Some(changes) = changes {
            changes.push_services(b);
        } else {
            b.push(" AND s.active");
        }
    });
    respond(state, listing, filter, &p).await
}

async fn one_service(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let rows = sqlx::query(&format!(
        "SELECT {SERVICE_COLUMNS}, {ORG_COLUMNS} FROM services s JOIN organizations o ON o.id = s.organization_id WHERE s.id = $1"
    ))
    .bind(id)
    .fetch_all(&state.pool)
    .await?;
    let mut services = Listing::Services {
        full: true,
        minimal: false,
    }
    .records(&state.pool, &rows)
    .await?;
    let service = services.pop().ok_or(ApiError::NotFound)?;
    Ok(Json(service).into_response())
}

async fn list_service_at_locations(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let p = Params::parse(
        raw,
        &[
            "search",
            "taxonomy_term_id",
            "taxonomy_id",
            "organization_id",
            "modified_after",
            "full",
            "page",
            "per_page",
            "format",
            "postcode",
            "proximity",
        ],
    )?;
    let listing = Listing::ServiceAtLocations {
        full: p.flag("full")?,
    };
    let filters = ServiceFilters::parse(&p, &state.pool).await?;
    let changes = Changes::asked(&p, &state.pool).await?;
    let proximity = match p.get("proximity") {
        None => None,
        Some(v) => match v.parse::<f64>() {
            Ok(m) if m > 0.0 && m <= 500_000.0 => Some(m),
            _ => {
                return Err(bad(
                    "proximity must be a distance in meters, more than 0 and at most 500000",
                ))
            }
        },
    };
    let postcode = match p.get("postcode") {
        None => None,
        Some(z) if z.len() == 5 && z.bytes().all(|b| b.is_ascii_digit()) => Some(z.to_string()),
        Some(_) => return Err(bad("postcode must be a 5-digit ZIP code")),
    };
    if proximity.is_some() && postcode.is_none() {
        return Err(bad("proximity needs a postcode"));
    }
    // A ZIP code we do not know is somewhere we serve nothing.
    let centre: Option<Option<(f64, f64, Option<String>, String)>> = match &postcode {
        Some(z) => Some(
            sqlx::query_as(
                "SELECT latitude, longitude, county_fips, state FROM places WHERE zip = $1",
            )
            .bind(z)
            .fetch_optional(&state.pool)
            .await?,
        ),
        None => None,
    };
    let filter: Filter = Arc::new(move |b| {
        filters.push(b, "e", "e.category_ids");
        if let Some(changes) = changes {
            changes.push_entries(b);
        }
        match (&postcode, &centre) {
            (Some(_), Some(None)) => {
                b.push(" AND false");
            }
            (Some(z), Some(Some((lat, lon, county, st)))) => match proximity {
                // Within `proximity` meters of the postcode's centroid.
                Some(m) => {
                    b.push(" AND earth_box(ll_to_earth(")
                        .push_bind(*lat)
                        .push(", ")
                        .push_bind(*lon)
                        .push("), ")
                        .push_bind(m);
                    b.push(") @> e.earth AND earth_distance(e.earth, ll_to_earth(")
                        .push_bind(*lat)
                        .push(", ")
                        .push_bind(*lon);
                    b.push(")) <= ").push_bind(m);
                }
                // Services whose area covers the postcode.
                None => {
                    b.push(" AND (e.area_zips @> ARRAY[")
                        .push_bind(z.clone())
                        .push("]::text[] OR e.area_states @> ARRAY[");
                    b.push_bind(st.clone()).push("]::text[]");
                    if let Some(c) = county {
                        b.push(" OR e.area_counties @> ARRAY[")
                            .push_bind(c.clone())
                            .push("]::text[] OR e.county_fips = ")
                            .push_bind(c.clone());
                    }
                    b.push(")");
                }
            },
            _ => {}
        }
    });
    respond(state, listing, filter, &p).await
}

async fn one_service_at_location(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let row = sqlx::query(&format!(
        "SELECT {SAL_COLUMNS}, {SERVICE_COLUMNS}, {ORG_COLUMNS}, {LOCATION_COLUMNS}
         FROM service_at_locations sal
         JOIN services s ON s.id = sal.service_id
         JOIN organizations o ON o.id = s.organization_id
         JOIN locations l ON l.id = sal.location_id
         WHERE sal.id = $1 AND sal.active AND s.active AND l.active AND o.active"
    ))
    .bind(id)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(ApiError::NotFound)?;
    let mut sal = shape::service_at_location(&row)?;
    sal["service"] = shape::service(&row, false)?;
    Ok(Json(sal).into_response())
}

async fn list_organizations(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult {
    let p = Params::parse(
        raw,
        &[
            "search",
            "full_service",
            "full",
            "page",
            "per_page",
            "format",
        ],
    )?;
    let listing = Listing::Organizations {
        full: p.flag("full")?,
        full_service: p.flag("full_service")?,
    };
    let search = p.search();
    let filter: Filter = Arc::new(move |b| {
        if let Some(q) = &search {
            push_search(b, q, "o.id");
        }
    });
    respond(state, listing, filter, &p).await
}

async fn one_organization(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let p = Params::parse(raw, &["full_service"])?;
    let full_service = p.flag("full_service")?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let rows = sqlx::query(&format!(
        "SELECT {ORG_COLUMNS} FROM organizations o WHERE o.id = $1 AND o.active"
    ))
    .bind(id)
    .fetch_all(&state.pool)
    .await?;
    let org = organizations(&state.pool, &rows, true, full_service)
        .await?
        .pop()
        .ok_or(ApiError::NotFound)?;
    Ok(Json(org).into_response())
}

// ---------------------------------------------------------------------------------------------
// Taxonomies and their terms: ours (the category tree) first, then the feeds'.

/// Every taxonomy: ours, then each named by a feed's terms.
async fn taxonomies(pool: &PgPool) -> Result<Vec<Value>, sqlx::Error> {
    let named: Vec<(String, i64)> = sqlx::query_as(
        "SELECT taxonomy, count(*) FROM taxonomy_terms WHERE active AND taxonomy IS NOT NULL AND taxonomy <> $1
         GROUP BY taxonomy ORDER BY taxonomy",
    )
    .bind(OUR_TAXONOMY)
    .fetch_all(pool)
    .await?;
    let mut out = vec![json!({
        "id": shape::taxonomy_id(OUR_TAXONOMY),
        "name": OUR_TAXONOMY,
        "description": "Wraparound's categories: what residents browse the directory by. Each term's code is the category's id.",
    })];
    for (name, terms) in named {
        out.push(json!({
            "id": shape::taxonomy_id(&name),
            "name": name,
            "description": format!("{name}: {terms} terms used by the directory's feeds."),
        }));
    }
    Ok(out)
}

async fn taxonomy_name(pool: &PgPool, id: Option<Uuid>) -> Result<Option<String>, sqlx::Error> {
    let Some(id) = id else { return Ok(None) };
    Ok(taxonomies(pool)
        .await?
        .into_iter()
        .find(|t| t["id"] == json!(id))
        .and_then(|t| t["name"].as_str().map(String::from)))
}

fn contains(haystack: &Value, needle: &str) -> bool {
    haystack
        .as_str()
        .is_some_and(|h| h.to_lowercase().contains(needle))
}

async fn list_taxonomies(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult {
    let p = Params::parse(raw, &["search", "page", "per_page", "format"])?;
    let q = p.search().map(|q| q.to_lowercase());
    let all = taxonomies(&state.pool)
        .await?
        .into_iter()
        .filter(|t| {
            q.as_deref()
                .is_none_or(|q| contains(&t["name"], q) || contains(&t["description"], q))
        })
        .collect();
    respond_all(all, &p)
}

async fn one_taxonomy(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    taxonomies(&state.pool)
        .await?
        .into_iter()
        .find(|t| t["id"] == json!(id))
        .map(|t| Json(t).into_response())
        .ok_or(ApiError::NotFound)
}

const TERM_COLUMNS: &str =
    "id, code, name, description, parent_id, taxonomy, language, term_uri, source, source_id";

async fn list_taxonomy_terms(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult {
    let p = Params::parse(
        raw,
        &[
            "search",
            "taxonomy_id",
            "page",
            "per_page",
            "format",
            "parent_id",
            "top_only",
        ],
    )?;
    let q = p.search().map(|q| q.to_lowercase());
    let top_only = p.flag("top_only")?;
    let parent = p.id("parent_id");
    let taxonomy: Option<Option<String>> = match p.id("taxonomy_id") {
        Some(t) => Some(taxonomy_name(&state.pool, t).await?),
        None => None,
    };
    let ours: Vec<Value> = shape::category_terms()
        .into_iter()
        .filter(|t| {
            q.as_deref()
                .is_none_or(|q| contains(&t["name"], q) || contains(&t["code"], q))
                && (!top_only || t.get("parent_id").is_none())
                && parent.is_none_or(|p| p.is_some_and(|p| t.get("parent_id") == Some(&json!(p))))
                && taxonomy
                    .as_ref()
                    .is_none_or(|n| n.as_deref() == Some(OUR_TAXONOMY))
        })
        .collect();
    // The feeds' terms are a few thousand at most: read them all, page in memory.
    let mut b = QueryBuilder::new(format!(
        "SELECT {TERM_COLUMNS} FROM taxonomy_terms WHERE active"
    ));
    if let Some(q) = &q {
        let pattern = format!(
            "%{}%",
            q.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        b.push(" AND (name ILIKE ")
            .push_bind(pattern.clone())
            .push(" OR code ILIKE ")
            .push_bind(pattern)
            .push(")");
    }
    if top_only {
        b.push(" AND parent_id IS NULL");
    }
    push_id(&mut b, "parent_id", parent);
    match &taxonomy {
        Some(Some(n)) => {
            b.push(" AND taxonomy = ").push_bind(n.clone());
        }
        Some(None) => {
            b.push(" AND false");
        }
        None => {}
    }
    b.push(" ORDER BY taxonomy NULLS LAST, code NULLS LAST, name, id");
    let rows = b.build().fetch_all(&state.pool).await?;
    let mut all = ours;
    for r in &rows {
        all.push(shape::term(r)?);
    }
    respond_all(all, &p)
}

async fn one_taxonomy_term(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    if let Some(category) = shape::category_for_term(id) {
        return Ok(Json(shape::category_term(&category)).into_response());
    }
    let row = sqlx::query(&format!(
        "SELECT {TERM_COLUMNS} FROM taxonomy_terms WHERE id = $1 AND active"
    ))
    .bind(id)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(ApiError::NotFound)?;
    Ok(Json(shape::term(&row)?).into_response())
}
