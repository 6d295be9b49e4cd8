//! Stores a checked feed: one transaction that upserts every record by its source id, leaves
//! unchanged rows untouched, makes records missing from a full feed inactive, and rebuilds the
//! search index. A crash or an error part-way changes nothing.

use super::feed::*;
use super::rules::{coverage, is_free, Counties};
use super::ImportError;
use app::directory::categories::{CategoryTree, TermRef};
use app::directory::hours::WeeklyHours;
use app::directory::share::share_code;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::error::BoxDynError;
use sqlx::postgres::PgArguments;
use sqlx::{Arguments, PgPool, Postgres, Transaction};
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;
use uuid::Uuid;

/// Namespace of our record ids: id = UUIDv5(source:kind:source id), so a record keeps its id
/// across imports and short links stay valid.
const NAMESPACE: Uuid = Uuid::from_u128(0x8d5f_4f7e_2b1a_4c3d_9e8f_7a6b_5c4d_3e2f);

pub fn record_id(source: &str, kind: &str, source_id: &str) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("{source}:{kind}:{source_id}").as_bytes(),
    )
}

#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Short name of the feed, e.g. "ky-211".
    pub source: String,
    /// The feed lists every record the source has: whatever it leaves out becomes inactive.
    pub full: bool,
    /// Allow a full feed to make more than half of the source's services inactive (a truncated
    /// export would otherwise empty the directory).
    pub allow_mass_deactivation: bool,
    pub home_state: String,
    pub default_timezone: String,
    /// Print progress to stderr (the command line's long imports).
    pub progress: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub read: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub deactivated: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ImportReport {
    pub run_id: i64,
    pub source: String,
    pub format: String,
    pub full_feed: bool,
    pub counts: BTreeMap<&'static str, Counts>,
    pub rejected: Vec<Issue>,
    pub warnings: Vec<Issue>,
    /// Search index rows written (`None` when nothing changed and the index was kept).
    pub indexed: Option<u64>,
}

impl ImportReport {
    pub fn changed(&self) -> bool {
        self.counts
            .values()
            .any(|c| c.inserted + c.updated + c.deactivated > 0)
    }
}

/// One column of an upsert: name, the element type it is sent as, and how the sent value
/// becomes the stored one (`{}` is the unnested value).
struct Column {
    name: &'static str,
    sent_as: &'static str,
    stored_as: &'static str,
}

const fn col(name: &'static str, sent_as: &'static str) -> Column {
    Column {
        name,
        sent_as,
        stored_as: "{}",
    }
}

const fn derived(name: &'static str, sent_as: &'static str, stored_as: &'static str) -> Column {
    Column {
        name,
        sent_as,
        stored_as,
    }
}

/// `INSERT ... SELECT FROM UNNEST(...) ON CONFLICT (id) DO UPDATE ... WHERE changed`, returning
/// one row per inserted (true) or updated (false) record; unchanged records return nothing.
fn upsert_sql(table: &str, columns: &[Column], keep_existing_if: Option<&str>) -> String {
    let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
    let unnest: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("${}::{}[]", i + 4, c.sent_as))
        .collect();
    let selects: Vec<String> = columns
        .iter()
        .map(|c| c.stored_as.replace("{}", &format!("u.{}", c.name)))
        .collect();
    let sets: Vec<String> = names
        .iter()
        .map(|n| format!("{n} = EXCLUDED.{n}"))
        .collect();
    let old: Vec<String> = names.iter().map(|n| format!("t.{n}")).collect();
    let new: Vec<String> = names.iter().map(|n| format!("EXCLUDED.{n}")).collect();
    format!(
        "INSERT INTO {table} AS t (id, source, source_id, {names})
         SELECT u.id, $2, u.source_id, {selects}
         FROM UNNEST($1::uuid[], $3::text[], {unnest}) AS u(id, source_id, {names})
         ON CONFLICT (id) DO UPDATE SET {sets}, active = true, updated_at = now()
         WHERE (({old}) IS DISTINCT FROM ({new}) OR NOT t.active){keep}
         RETURNING (xmax = 0) AS inserted",
        keep = keep_existing_if.map_or(String::new(), |c| format!(" AND NOT ({c})")),
        names = names.join(", "),
        selects = selects.join(", "),
        unnest = unnest.join(", "),
        sets = sets.join(", "),
        old = old.join(", "),
        new = new.join(", "),
    )
}

const CHUNK: usize = 2000;

/// Records written so far, for people watching a long import: every few seconds a line on
/// stderr with the rate and about how long the rest will take.
struct Progress {
    enabled: bool,
    total: usize,
    done: usize,
    started: std::time::Instant,
    printed: std::time::Instant,
}

impl Progress {
    fn new(enabled: bool, total: usize) -> Self {
        // Reading and checking the feed is over: the times below count from here.
        if enabled {
            eprintln!("  read and checked; writing {total} records");
        }
        let now = std::time::Instant::now();
        Progress {
            enabled,
            total,
            done: 0,
            started: now,
            printed: now,
        }
    }

    fn advance(&mut self, n: usize) {
        self.done += n;
        if !self.enabled || self.printed.elapsed() < std::time::Duration::from_secs(3) {
            return;
        }
        self.printed = std::time::Instant::now();
        let rate = self.done as f64 / self.started.elapsed().as_secs_f64().max(0.001);
        let left = self.total.saturating_sub(self.done) as f64 / rate.max(1.0);
        eprintln!(
            "  {} of {} records written ({:.0}/s), about {:.0} s left for the records",
            self.done, self.total, rate, left
        );
    }

    /// A step after the records (deactivation, places, the search index).
    fn step(&self, what: &str) {
        if self.enabled {
            eprintln!(
                "  {what} ({:.0} s into writing)",
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

fn tally(counts: &mut Counts, returned: Vec<bool>, sent: usize) {
    let inserted = returned.iter().filter(|i| **i).count() as u64;
    counts.inserted += inserted;
    counts.updated += returned.len() as u64 - inserted;
    counts.unchanged += (sent - returned.len()) as u64;
}

fn json_array<T: Serialize>(items: &[T]) -> Value {
    serde_json::to_value(items).unwrap_or(Value::Array(vec![]))
}

/// Upserts `len` records of the feed in chunks, `encode` making a chunk's arguments. The next
/// chunk is encoded on a blocking thread (another core) while Postgres writes this one: one
/// after the other, the importer and Postgres each waited for the other a quarter and three
/// quarters of the time.
#[allow(clippy::too_many_arguments)]
async fn upsert<E>(
    tx: &mut Transaction<'_, Postgres>,
    progress: &mut Progress,
    counts: &mut Counts,
    sql: &str,
    feed: &Arc<Feed>,
    source: &str,
    len: usize,
    encode: E,
) -> Result<(), ImportError>
where
    E: Fn(&Feed, &str, Range<usize>) -> Result<PgArguments, BoxDynError> + Send + Sync + 'static,
{
    let chunks: Vec<Range<usize>> = (0..len)
        .step_by(CHUNK)
        .map(|start| start..(start + CHUNK).min(len))
        .collect();
    let (source, encode): (Arc<str>, _) = (source.into(), Arc::new(encode));
    let spawn = |chunk: &Range<usize>| {
        let (feed, source, encode) = (Arc::clone(feed), Arc::clone(&source), Arc::clone(&encode));
        let chunk = chunk.clone();
        tokio::task::spawn_blocking(move || encode(&feed, &source, chunk))
    };
    let mut next = chunks.first().map(spawn);
    for (i, chunk) in chunks.iter().enumerate() {
        let encoded = match next.take().expect("spawned before").await {
            Ok(encoded) => encoded.map_err(sqlx::Error::Encode)?,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        next = chunks.get(i + 1).map(spawn);
        let returned: Vec<bool> = sqlx::query_scalar_with(sql, encoded)
            .fetch_all(&mut **tx)
            .await?;
        tally(counts, returned, chunk.len());
        progress.advance(chunk.len());
    }
    Ok(())
}

/// A chunk's arguments in `upsert_sql`'s order: record ids, the source, source ids, then the
/// columns' values.
macro_rules! arguments {
    ($chunk:expr, $source:expr, $kind:literal, $($value:expr),* $(,)?) => {{
        let mut args = PgArguments::default();
        args.add($chunk.iter().map(|x| record_id($source, $kind, &x.id)).collect::<Vec<Uuid>>())?;
        args.add($source)?;
        args.add($chunk.iter().map(|x| x.id.clone()).collect::<Vec<String>>())?;
        $(args.add($value)?;)*
        Ok(args)
    }};
}

fn id_of(source: &str, kind: &str, source_id: &Option<String>) -> Option<Uuid> {
    source_id.as_ref().map(|s| record_id(source, kind, s))
}

fn texts<T>(items: &[T], f: impl Fn(&T) -> Option<String>) -> Vec<Option<String>> {
    items.iter().map(f).collect()
}

fn jsons<T>(items: &[T], f: impl Fn(&T) -> &Vec<Value>) -> Vec<Value> {
    items.iter().map(|x| Value::Array(f(x).clone())).collect()
}

/// A Postgres array literal: `{"a","b \\"c\\""}`.
fn array_literal<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let mut out = String::from("{");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        for c in item.as_ref().chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
    out.push('}');
    out
}

fn hours_of(schedules: &[Value]) -> Option<String> {
    WeeklyHours::from_schedules(schedules).map(|h| h.to_multirange())
}

pub async fn store(
    pool: &PgPool,
    mut feed: Feed,
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    feed.add_placeholder_organizations();
    let read = [
        ("organizations", feed.organizations.len()),
        ("locations", feed.locations.len()),
        ("services", feed.services.len()),
        ("service_at_locations", feed.service_at_locations.len()),
        ("taxonomy_terms", feed.taxonomy_terms.len()),
    ];
    feed.check_references();
    if options.full && feed.services.is_empty() {
        return Err(ImportError::Refused(
            "the feed has no usable services; a full import of it would make every service inactive".into(),
        ));
    }
    let format = std::mem::take(&mut feed.format);
    let rejected = std::mem::take(&mut feed.rejected);
    let warnings = std::mem::take(&mut feed.warnings);
    // Shared with the threads that encode the records for Postgres.
    let feed = Arc::new(feed);
    let source = options.source.as_str();
    let mut counts: BTreeMap<&'static str, Counts> = BTreeMap::new();
    for (k, n) in read {
        counts.insert(
            k,
            Counts {
                read: n as u64,
                ..Default::default()
            },
        );
    }

    let mut tx = pool.begin().await?;
    // Imports run one at a time, whatever their source: a first load decides from what it
    // reads that the directory is empty and then takes its tables for itself, and two doing
    // that at once would deadlock (or one would count rows another has yet to commit).
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('wraparound: directory import'))")
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO sources (id, name) VALUES ($1, $1) ON CONFLICT (id) DO NOTHING")
        .bind(source)
        .execute(&mut *tx)
        .await?;

    // A source's first import has nothing to make inactive: the step (a temporary table of
    // every id and an anti-join per table, half a minute at national scale) is skipped.
    let had_records: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM services WHERE source = $1)
             OR EXISTS (SELECT 1 FROM organizations WHERE source = $1)
             OR EXISTS (SELECT 1 FROM locations WHERE source = $1)
             OR EXISTS (SELECT 1 FROM taxonomy_terms WHERE source = $1)",
    )
    .bind(source)
    .fetch_one(&mut *tx)
    .await?;
    let total = read.iter().map(|(_, n)| n).sum();
    let mut progress = Progress::new(options.progress, total);
    // The first load into an empty directory (a new install) builds the tables' secondary
    // indexes and checks their references once the rows are in, not row by row.
    let deferred = app::directory::first_load::defer_upkeep(
        &mut tx,
        &[
            "taxonomy_terms",
            "organizations",
            "locations",
            "services",
            "service_at_locations",
        ],
    )
    .await?;
    write_records(&mut tx, &feed, options, &mut counts, &mut progress).await?;

    if options.full && had_records {
        progress.step("making inactive what the feed no longer lists");
        deactivate_missing(&mut tx, &feed, options, &mut counts).await?;
    }
    progress.step("placing locations in counties");
    derive_location_places(&mut tx, source).await?;
    if !deferred.is_empty() {
        progress.step("building the directory's indexes and checking its references");
    }
    deferred.restore(&mut tx).await?;

    let changed = counts
        .values()
        .any(|c| c.inserted + c.updated + c.deactivated > 0);
    let (indexed_before,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM search_entries WHERE source = $1")
            .bind(source)
            .fetch_one(&mut *tx)
            .await?;
    let indexed = if changed || indexed_before == 0 {
        progress.step("rebuilding the search index");
        Some(app::directory::index::rebuild(&mut tx, source, &options.default_timezone).await?)
    } else {
        None
    };

    let (run_id,): (i64,) = sqlx::query_as(
        "INSERT INTO import_runs (source, format, full_feed, finished_at, counts, rejected, warnings)
         VALUES ($1, $2, $3, now(), $4, $5, $6) RETURNING id",
    )
    .bind(source)
    .bind(&format)
    .bind(options.full)
    .bind(serde_json::to_value(&counts).unwrap_or_default())
    .bind(json_array(&rejected))
    .bind(json_array(&warnings))
    .fetch_one(&mut *tx)
    .await?;
    progress.step("committing");
    tx.commit().await?;
    // This process's copy of the search index, and searches kept from before the import,
    // would show the directory as it was (an import that changed nothing leaves them).
    if indexed.is_some() {
        app::directory::held::forget(pool);
        app::directory::recent::forget(pool);
    }

    Ok(ImportReport {
        run_id,
        source: source.to_string(),
        format,
        full_feed: options.full,
        counts,
        rejected,
        warnings,
        indexed,
    })
}

async fn write_records(
    tx: &mut Transaction<'_, Postgres>,
    feed: &Arc<Feed>,
    options: &ImportOptions,
    counts: &mut BTreeMap<&'static str, Counts>,
    progress: &mut Progress,
) -> Result<(), ImportError> {
    let source = options.source.as_str();

    let encode = move |feed: &Feed, source: &str, chunk: Range<usize>| {
        let c = &feed.taxonomy_terms[chunk];
        arguments!(
            c,
            source,
            "taxonomy_term",
            texts(c, |t| t.code.clone()),
            c.iter().map(|t| t.name.clone()).collect::<Vec<_>>(),
            texts(c, |t| t.description.clone()),
            c.iter()
                .map(|t| id_of(source, "taxonomy_term", &t.parent_id))
                .collect::<Vec<_>>(),
            texts(c, |t| t.taxonomy.clone()),
            texts(c, |t| t.language.clone()),
            texts(c, |t| t.term_uri.clone()),
        )
    };
    upsert(
        tx,
        progress,
        counts.get_mut("taxonomy_terms").expect("counted"),
        &upsert_sql(
            "taxonomy_terms",
            &[
                col("code", "text"),
                col("name", "text"),
                col("description", "text"),
                col("parent_id", "uuid"),
                col("taxonomy", "text"),
                col("language", "text"),
                col("term_uri", "text"),
            ],
            None,
        ),
        feed,
        source,
        feed.taxonomy_terms.len(),
        encode,
    )
    .await?;

    let encode = move |feed: &Feed, source: &str, chunk: Range<usize>| {
        let c = &feed.organizations[chunk];
        arguments!(
            c,
            source,
            "organization",
            c.iter().map(|o| o.name.clone()).collect::<Vec<_>>(),
            texts(c, |o| o.alternate_name.clone()),
            texts(c, |o| o.description.clone()),
            texts(c, |o| o.email.clone()),
            texts(c, |o| o.website.clone()),
            texts(c, |o| o.tax_status.clone()),
            texts(c, |o| o.tax_id.clone()),
            c.iter().map(|o| o.year_incorporated).collect::<Vec<_>>(),
            texts(c, |o| o.legal_status.clone()),
            texts(c, |o| o.logo.clone()),
            texts(c, |o| o.uri.clone()),
            texts(c, |o| o.parent_organization_id.clone()),
            jsons(c, |o| &o.phones),
            c.iter()
                .map(|o| o.last_modified)
                .collect::<Vec<Option<DateTime<Utc>>>>(),
            c.iter().map(|o| o.placeholder).collect::<Vec<_>>(),
        )
    };
    upsert(
        tx,
        progress,
        counts.get_mut("organizations").expect("counted"),
        &upsert_sql(
            "organizations",
            &[
                col("name", "text"),
                col("alternate_name", "text"),
                col("description", "text"),
                col("email", "text"),
                col("website", "text"),
                col("tax_status", "text"),
                col("tax_id", "text"),
                col("year_incorporated", "int4"),
                col("legal_status", "text"),
                col("logo", "text"),
                col("uri", "text"),
                col("parent_source_id", "text"),
                col("phones", "jsonb"),
                col("last_modified", "timestamptz"),
                col("placeholder", "bool"),
            ],
            // A placeholder never overwrites an organization we already have (from an
            // earlier feed): the update is skipped and the record counts as unchanged.
            Some("EXCLUDED.placeholder"),
        ),
        feed,
        source,
        feed.organizations.len(),
        encode,
    )
    .await?;

    let addr = |l: &Location, f: fn(&Address) -> Option<String>| l.address.as_ref().and_then(f);
    let encode = move |feed: &Feed, source: &str, chunk: Range<usize>| {
        let c = &feed.locations[chunk];
        arguments!(
            c,
            source,
            "location",
            c.iter()
                .map(|l| id_of(source, "organization", &l.organization_id))
                .collect::<Vec<_>>(),
            c.iter()
                .map(|l| l.location_type.clone().unwrap_or_else(|| "physical".into()))
                .collect::<Vec<_>>(),
            texts(c, |l| l.name.clone()),
            texts(c, |l| l.alternate_name.clone()),
            texts(c, |l| l.description.clone()),
            texts(c, |l| l.transportation.clone()),
            texts(c, |l| l.url.clone()),
            c.iter().map(|l| l.latitude).collect::<Vec<_>>(),
            c.iter().map(|l| l.longitude).collect::<Vec<_>>(),
            texts(c, |l| addr(l, |a| a.address_1.clone())),
            texts(c, |l| addr(l, |a| a.address_2.clone())),
            texts(c, |l| addr(l, |a| a.city.clone())),
            texts(c, |l| addr(l, |a| a.region.clone())),
            texts(c, |l| addr(l, |a| a.state_province.clone())),
            texts(c, |l| addr(l, |a| a.postal_code.clone())),
            texts(c, |l| addr(l, |a| a.country.clone())),
            jsons(c, |l| &l.phones),
            jsons(c, |l| &l.schedules),
            texts(c, |l| hours_of(&l.schedules)),
            jsons(c, |l| &l.languages),
            jsons(c, |l| &l.accessibility),
            c.iter()
                .map(|l| l.last_modified)
                .collect::<Vec<Option<DateTime<Utc>>>>(),
        )
    };
    upsert(
        tx,
        progress,
        counts.get_mut("locations").expect("counted"),
        &upsert_sql(
            "locations",
            &[
                col("organization_id", "uuid"),
                col("location_type", "text"),
                col("name", "text"),
                col("alternate_name", "text"),
                col("description", "text"),
                col("transportation", "text"),
                col("url", "text"),
                col("latitude", "float8"),
                col("longitude", "float8"),
                col("address_1", "text"),
                col("address_2", "text"),
                col("city", "text"),
                col("region", "text"),
                col("state_province", "text"),
                col("postal_code", "text"),
                col("country", "text"),
                col("phones", "jsonb"),
                col("schedules", "jsonb"),
                derived("weekly_hours", "text", "{}::int4multirange"),
                col("languages", "jsonb"),
                col("accessibility", "jsonb"),
                col("last_modified", "timestamptz"),
            ],
            None,
        ),
        feed,
        source,
        feed.locations.len(),
        encode,
    )
    .await?;

    let counties = Counties::from_places(&crate::places::kentucky());
    let home_state = options.home_state.clone();
    let encode = move |feed: &Feed, source: &str, chunk: Range<usize>| {
        let c = &feed.services[chunk];
        let (tree, term_index) = (CategoryTree::get(), feed.term_index());
        let categories_of = |s: &Service| -> String {
            let refs: Vec<TermRef<'_>> = s
                .taxonomy_term_ids
                .iter()
                .filter_map(|t| term_index.get(t.as_str()))
                .map(|t| TermRef {
                    taxonomy: t.taxonomy.as_deref(),
                    code: t.code.as_deref(),
                    name: &t.name,
                })
                .collect();
            array_literal(tree.classify(&refs, &s.name))
        };
        let coverages: Vec<_> = c
            .iter()
            .map(|s| coverage(&s.service_areas, &home_state, &counties))
            .collect();
        arguments!(
            c,
            source,
            "service",
            c.iter()
                .map(|s| record_id(source, "organization", &s.organization_id))
                .collect::<Vec<_>>(),
            texts(c, |s| s.program_name.clone()),
            c.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
            texts(c, |s| s.alternate_name.clone()),
            texts(c, |s| s.description.clone()),
            texts(c, |s| s.url.clone()),
            texts(c, |s| s.email.clone()),
            c.iter()
                .map(|s| s.status.clone().unwrap_or_else(|| "active".into()))
                .collect::<Vec<_>>(),
            texts(c, |s| s.interpretation_services.clone()),
            texts(c, |s| s.application_process.clone()),
            texts(c, |s| s.fees_description.clone()),
            texts(c, |s| s.wait_time.clone()),
            texts(c, |s| s.eligibility_description.clone()),
            c.iter().map(|s| s.minimum_age).collect::<Vec<_>>(),
            c.iter().map(|s| s.maximum_age).collect::<Vec<_>>(),
            texts(c, |s| s.accreditations.clone()),
            texts(c, |s| s.licenses.clone()),
            texts(c, |s| s.alert.clone()),
            c.iter()
                .map(|s| s.assured_date)
                .collect::<Vec<Option<NaiveDate>>>(),
            c.iter()
                .map(|s| s.last_modified)
                .collect::<Vec<Option<DateTime<Utc>>>>(),
            jsons(c, |s| &s.phones),
            jsons(c, |s| &s.schedules),
            texts(c, |s| hours_of(&s.schedules)),
            jsons(c, |s| &s.languages),
            jsons(c, |s| &s.required_documents),
            jsons(c, |s| &s.cost_options),
            jsons(c, |s| &s.service_areas),
            jsons(c, |s| &s.contacts),
            c.iter()
                .map(|s| array_literal(
                    s.taxonomy_term_ids
                        .iter()
                        .map(|t| record_id(source, "taxonomy_term", t).to_string())
                ))
                .collect::<Vec<_>>(),
            c.iter().map(categories_of).collect::<Vec<_>>(),
            c.iter()
                .map(|s| is_free(s.fees_description.as_deref(), &s.cost_options))
                .collect::<Vec<_>>(),
            coverages
                .iter()
                .map(|v| array_literal(&v.states))
                .collect::<Vec<_>>(),
            coverages
                .iter()
                .map(|v| array_literal(&v.counties))
                .collect::<Vec<_>>(),
            coverages
                .iter()
                .map(|v| array_literal(&v.zips))
                .collect::<Vec<_>>(),
            c.iter()
                .map(|s| share_code(record_id(source, "service", &s.id)))
                .collect::<Vec<_>>(),
        )
    };
    upsert(
        tx,
        progress,
        counts.get_mut("services").expect("counted"),
        &upsert_sql(
            "services",
            &[
                col("organization_id", "uuid"),
                col("program_name", "text"),
                col("name", "text"),
                col("alternate_name", "text"),
                col("description", "text"),
                col("url", "text"),
                col("email", "text"),
                col("status", "text"),
                col("interpretation_services", "text"),
                col("application_process", "text"),
                col("fees_description", "text"),
                col("wait_time", "text"),
                col("eligibility_description", "text"),
                col("minimum_age", "int4"),
                col("maximum_age", "int4"),
                col("accreditations", "text"),
                col("licenses", "text"),
                col("alert", "text"),
                col("assured_date", "date"),
                col("last_modified", "timestamptz"),
                col("phones", "jsonb"),
                col("schedules", "jsonb"),
                derived("weekly_hours", "text", "{}::int4multirange"),
                col("languages", "jsonb"),
                col("required_documents", "jsonb"),
                col("cost_options", "jsonb"),
                col("service_areas", "jsonb"),
                col("contacts", "jsonb"),
                // Lists go as array literals, one text per row (UNNEST cannot take ragged
                // arrays): Postgres reads them far faster than JSON arrays taken apart per row.
                derived("taxonomy_term_ids", "text", "{}::uuid[]"),
                derived("category_ids", "text", "{}::text[]"),
                col("is_free", "bool"),
                derived("coverage_states", "text", "{}::text[]"),
                derived("coverage_counties", "text", "{}::text[]"),
                derived("coverage_zips", "text", "{}::text[]"),
                col("share_code", "text"),
            ],
            None,
        ),
        feed,
        source,
        feed.services.len(),
        encode,
    )
    .await?;

    let encode = move |feed: &Feed, source: &str, chunk: Range<usize>| {
        let c = &feed.service_at_locations[chunk];
        arguments!(
            c,
            source,
            "service_at_location",
            c.iter()
                .map(|s| record_id(source, "service", &s.service_id))
                .collect::<Vec<_>>(),
            c.iter()
                .map(|s| record_id(source, "location", &s.location_id))
                .collect::<Vec<_>>(),
            texts(c, |s| s.description.clone()),
            jsons(c, |s| &s.phones),
            jsons(c, |s| &s.schedules),
            texts(c, |s| hours_of(&s.schedules)),
            c.iter()
                .map(|s| share_code(record_id(source, "service_at_location", &s.id)))
                .collect::<Vec<_>>(),
        )
    };
    upsert(
        tx,
        progress,
        counts.get_mut("service_at_locations").expect("counted"),
        &upsert_sql(
            "service_at_locations",
            &[
                col("service_id", "uuid"),
                col("location_id", "uuid"),
                col("description", "text"),
                col("phones", "jsonb"),
                col("schedules", "jsonb"),
                derived("weekly_hours", "text", "{}::int4multirange"),
                col("share_code", "text"),
            ],
            None,
        ),
        feed,
        source,
        feed.service_at_locations.len(),
        encode,
    )
    .await?;
    Ok(())
}

/// A full feed is the whole truth: what it no longer lists becomes inactive (never deleted).
async fn deactivate_missing(
    tx: &mut Transaction<'_, Postgres>,
    feed: &Feed,
    options: &ImportOptions,
    counts: &mut BTreeMap<&'static str, Counts>,
) -> Result<(), ImportError> {
    let source = options.source.as_str();
    let mut seen: Vec<Uuid> = Vec::new();
    seen.extend(
        feed.organizations
            .iter()
            .map(|x| record_id(source, "organization", &x.id)),
    );
    seen.extend(
        feed.locations
            .iter()
            .map(|x| record_id(source, "location", &x.id)),
    );
    seen.extend(
        feed.services
            .iter()
            .map(|x| record_id(source, "service", &x.id)),
    );
    seen.extend(
        feed.service_at_locations
            .iter()
            .map(|x| record_id(source, "service_at_location", &x.id)),
    );
    seen.extend(
        feed.taxonomy_terms
            .iter()
            .map(|x| record_id(source, "taxonomy_term", &x.id)),
    );
    sqlx::query("CREATE TEMP TABLE import_seen (id uuid PRIMARY KEY) ON COMMIT DROP")
        .execute(&mut **tx)
        .await?;
    for chunk in seen.chunks(50_000) {
        sqlx::query("INSERT INTO import_seen SELECT unnest($1::uuid[]) ON CONFLICT DO NOTHING")
            .bind(chunk)
            .execute(&mut **tx)
            .await?;
    }
    let (active_services,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM services WHERE source = $1 AND active")
            .bind(source)
            .fetch_one(&mut **tx)
            .await?;
    for (table, key) in [
        ("service_at_locations", "service_at_locations"),
        ("services", "services"),
        ("locations", "locations"),
        ("organizations", "organizations"),
        ("taxonomy_terms", "taxonomy_terms"),
    ] {
        let done = sqlx::query(&format!(
            "UPDATE {table} t SET active = false, updated_at = now()
             WHERE t.source = $1 AND t.active AND NOT EXISTS (SELECT 1 FROM import_seen s WHERE s.id = t.id)"
        ))
        .bind(source)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        counts.get_mut(key).expect("counted").deactivated = done;
    }
    let gone = counts["services"].deactivated as i64;
    if !options.allow_mass_deactivation && active_services > 0 && gone * 2 > active_services {
        return Err(ImportError::Refused(format!(
            "this full feed would make {gone} of {active_services} active services inactive; \
             if that is really intended, run again with --allow-mass-deactivation"
        )));
    }
    Ok(())
}

/// County and time zone of each location, from its ZIP code (or the nearest ZIP to its
/// coordinates): what "services in this county" and "open now" need.
async fn derive_location_places(
    tx: &mut Transaction<'_, Postgres>,
    source: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE locations l SET county_fips = p.county_fips, timezone = p.timezone
         FROM places p
         WHERE l.source = $1 AND p.zip = left(l.postal_code, 5)
           AND (l.county_fips IS DISTINCT FROM p.county_fips OR l.timezone IS DISTINCT FROM p.timezone)",
    )
    .bind(source)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE locations l SET (county_fips, timezone) = (
             SELECT p.county_fips, p.timezone FROM places p
             ORDER BY ll_to_earth(p.latitude, p.longitude) <-> ll_to_earth(l.latitude, l.longitude) LIMIT 1)
         WHERE l.source = $1 AND l.latitude IS NOT NULL AND l.county_fips IS NULL AND l.timezone IS NULL
           AND NOT EXISTS (SELECT 1 FROM places p WHERE p.zip = left(l.postal_code, 5))",
    )
    .bind(source)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sent_as_array_literals_with_quotes_escaped() {
        assert_eq!(array_literal(Vec::<String>::new()), "{}");
        assert_eq!(array_literal(["KY", "OH"]), r#"{"KY","OH"}"#);
        assert_eq!(
            array_literal([r#"say "hi""#, r"a\b", "x,y}"]),
            r#"{"say \"hi\"","a\\b","x,y}"}"#
        );
    }

    #[test]
    fn ids_are_stable_and_depend_on_source_and_kind() {
        assert_eq!(
            record_id("ky", "service", "1"),
            record_id("ky", "service", "1")
        );
        assert_ne!(
            record_id("ky", "service", "1"),
            record_id("ky", "location", "1")
        );
        assert_ne!(
            record_id("ky", "service", "1"),
            record_id("oh", "service", "1")
        );
    }

    #[test]
    fn the_upsert_only_touches_changed_rows() {
        let sql = upsert_sql(
            "services",
            &[
                col("name", "text"),
                derived("weekly_hours", "text", "{}::int4multirange"),
            ],
            None,
        );
        assert!(
            sql.contains("SELECT u.id, $2, u.source_id, u.name, u.weekly_hours::int4multirange")
        );
        assert!(sql.contains("UNNEST($1::uuid[], $3::text[], $4::text[], $5::text[])"));
        assert!(sql.contains("WHERE ((t.name, t.weekly_hours) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.weekly_hours) OR NOT t.active)\n"));
    }
}
