//! Importing 211 feeds: the official HSDS 3.0 example, a real HSDS 1.1 export, JSON documents,
//! idempotency, updates, deactivation, bad rows and inputs that are not HSDS at all.

mod common;

use common::*;
use server::hsds::{self, ImportError};
use sqlx::PgPool;
use std::path::Path;

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.expect(sql)
}

/// Copies a feed folder so a test can edit it.
fn copy_feed(from: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(from).expect("feed dir") {
        let p = entry.expect("entry").path();
        if p.is_file() {
            std::fs::copy(&p, dir.path().join(p.file_name().expect("name"))).expect("copy");
        }
    }
    dir
}

/// Rewrites a CSV file record by record (quoted fields may span lines): `change` returns the
/// record to write, or `None` to drop it.
fn rewrite_records(
    dir: &Path,
    file: &str,
    change: impl Fn(usize, csv::StringRecord) -> Option<csv::StringRecord>,
) {
    let p = dir.join(file);
    let mut reader = csv::Reader::from_path(&p).expect("csv");
    let headers = reader.headers().expect("headers").clone();
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("record")).collect();
    let mut writer = csv::Writer::from_path(&p).expect("writer");
    writer.write_record(&headers).expect("header");
    for (i, r) in records.into_iter().enumerate() {
        if let Some(r) = change(i, r) {
            writer.write_record(&r).expect("record");
        }
    }
    writer.flush().expect("flush");
}

fn edit(dir: &Path, file: &str, f: impl Fn(String) -> String) {
    let p = dir.join(file);
    let text = std::fs::read_to_string(&p).expect("read");
    std::fs::write(&p, f(text)).expect("write");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_official_hsds_3_example_lands_with_its_details(pool: PgPool) {
    prepare(&pool).await;
    let report = import(&pool, &shared("hsds/spec-3.0/examples/csv"), "spec", true).await;
    assert_eq!(report.format, "HSDS 3.0 tabular");
    for kind in [
        "services",
        "organizations",
        "locations",
        "service_at_locations",
        "taxonomy_terms",
    ] {
        assert_eq!(report.counts[kind].inserted, 1, "{kind}");
    }
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    // The example's location has latitude 100 and names an organization that is not in the feed.
    assert!(report.warnings.iter().any(|w| w.file == "locations.csv"
        && w.line == 2
        && w.reason.contains("not a place on Earth")));
    assert!(report
        .warnings
        .iter()
        .any(|w| w.file == "locations.csv" && w.reason.contains("organization")));

    let row: (String, String, i32, i32, chrono::NaiveDate, Option<String>, String, bool) = sqlx::query_as(
        "SELECT name, fees_description, minimum_age, maximum_age, assured_date, weekly_hours::text, source_id, is_free FROM services",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(row.0, "Community Counselling");
    assert!(row.1.starts_with("Non-NHS patients are expected to pay"));
    assert_eq!((row.2, row.3), (12, 100));
    assert_eq!(row.4.to_string(), "2005-01-01");
    assert_eq!(
        row.5, None,
        "the weekly schedule belongs to the service at location, not the service"
    );
    assert_eq!(
        row.6, "ac148810-d857-441c-9679-408f346de14b",
        "the source's id is kept"
    );
    assert!(!row.7, "£35 a session is not free");

    // Thursdays and Fridays, 10:00-18:00, at the service at location; its phone without quotes.
    let (hours, phone): (String, String) =
        sqlx::query_as("SELECT weekly_hours::text, phones->0->>'number' FROM service_at_locations")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(hours, "{[4920,5400),[6360,6840)}");
    assert_eq!(phone, "+44 1234 234567");

    let (language, area, document, amount): (String, String, String, f64) = sqlx::query_as(
        "SELECT languages->0->>'code', service_areas->0->>'name', required_documents->0->>'document', (cost_options->0->>'amount')::float8 FROM services",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(language, "ur");
    assert!(area.contains("MyCity"));
    assert!(document.starts_with("Any official identification"));
    assert_eq!(amount, 35.0);
    let (lat,): (Option<f64>,) = sqlx::query_as("SELECT latitude FROM locations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        lat, None,
        "impossible coordinates are dropped, the location kept"
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM search_entries").await, 1);
}

/// The ILAO export holds 429 service records (650 lines: descriptions span lines), 33 of the
/// 152 organizations its services name, 520 locations, and 520 service-at-location rows of
/// which 185 have no service.
#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_real_211_style_hsds_1_1_export_lands(pool: PgPool) {
    prepare(&pool).await;
    let report = import(&pool, &shared("hsds/ilao-1.1"), "ilao", true).await;
    assert_eq!(report.format, "HSDS 1.x tabular");
    assert_eq!(report.counts["services"].inserted, 429);
    assert_eq!(report.counts["locations"].inserted, 520);
    // The 33 organizations in the file, and 125 placeholders for the ones it leaves out.
    assert_eq!(report.counts["organizations"].inserted, 158);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM organizations WHERE NOT placeholder"
        )
        .await,
        33
    );
    let placeholder_warnings = report
        .warnings
        .iter()
        .filter(|w| w.reason.contains("placeholder organization"))
        .count();
    assert_eq!(
        placeholder_warnings, 340,
        "one warning per service kept under a placeholder"
    );
    // A placeholder is named after where its service is offered.
    let (name,): (String,) =
        sqlx::query_as("SELECT o.name FROM organizations o WHERE o.source_id = '25596'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(!name.is_empty() && name != "25596");

    assert_eq!(report.counts["service_at_locations"].read, 335);
    assert_eq!(report.counts["service_at_locations"].inserted, 297);
    let rejected = |file: &str, reason: &str| {
        report
            .rejected
            .iter()
            .filter(|r| r.file == file && r.reason.contains(reason))
            .count()
    };
    assert_eq!(
        rejected(
            "service_at_location.csv",
            "needs both service_id and location_id"
        ),
        185
    );
    assert_eq!(
        rejected("service_at_location.csv", "is not in the feed"),
        38
    );
    assert_eq!(rejected("phones.csv", "phone has no number"), 19);
    assert_eq!(report.rejected.len(), 185 + 38 + 19);
    assert!(
        report
            .rejected
            .iter()
            .any(|r| r.file == "phones.csv" && r.line == 193),
        "line numbers are the file's"
    );

    assert_eq!(
        count(&pool, "SELECT count(*) FROM services WHERE active").await,
        429
    );
    // Weekday-name schedules became weekly hours.
    // Every location with weekday-name schedule rows (356 of them) got weekly hours.
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM locations WHERE weekly_hours IS NOT NULL"
        )
        .await,
        356
    );
    // Messy fees text: "Free to everyone" is free.
    let free: bool = sqlx::query_scalar("SELECT is_free FROM services WHERE source_id = '135836'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(free);
    assert!(count(&pool, "SELECT count(*) FROM services WHERE is_free").await > 300);
    // No taxonomy in this export: legal services land in Legal by keywords in their names.
    assert!(count(&pool, "SELECT count(*) FROM services WHERE category_ids && ARRAY['legal-aid','family-law','eviction-help','expungement','immigration']").await > 100);
    assert!(
        count(
            &pool,
            "SELECT count(*) FROM services WHERE eligibility_description IS NOT NULL"
        )
        .await
            > 0
    );
    // Searchable: each service at a location, and each service offered at none.
    let without_location =
        count(&pool, "SELECT count(*) FROM services s WHERE NOT EXISTS (SELECT 1 FROM service_at_locations sal WHERE sal.service_id = s.id)").await;
    assert_eq!(
        count(&pool, "SELECT count(*) FROM search_entries").await,
        297 + without_location
    );
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn re_importing_the_same_feed_changes_nothing(pool: PgPool) {
    prepare(&pool).await;
    let feed = shared("hsds/ilao-1.1");
    let first = import(&pool, &feed, "ilao", true).await;
    let before: Vec<(uuid::Uuid, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("SELECT id, updated_at FROM services ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let again = import(&pool, &feed, "ilao", true).await;
    for (kind, c) in &again.counts {
        assert_eq!(
            (c.inserted, c.updated, c.deactivated),
            (0, 0, 0),
            "{kind}: {c:?}"
        );
        assert_eq!(c.unchanged, first.counts[kind].inserted, "{kind}");
    }
    assert_eq!(again.indexed, None, "an unchanged feed keeps the index");
    let after: Vec<(uuid::Uuid, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("SELECT id, updated_at FROM services ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(before, after);
}

/// The directory's and the search index's own indexes and foreign keys, by name and definition.
async fn upkeep(pool: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT indexname::text, indexdef FROM pg_indexes
          WHERE tablename IN ('search_entries', 'taxonomy_terms', 'organizations', 'locations',
                              'services', 'service_at_locations')
         UNION ALL
         SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint
          WHERE contype = 'f' AND conrelid::regclass::text IN ('taxonomy_terms', 'organizations',
                'locations', 'services', 'service_at_locations')
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_first_load_builds_indexes_and_checks_references_after_the_rows_and_keeps_every_one(
    pool: PgPool,
) {
    prepare(&pool).await;
    let migrated = upkeep(&pool).await;
    assert!(migrated.len() > 25, "{migrated:?}");
    assert!(migrated
        .iter()
        .any(|(name, _)| name == "services_organization_id_fkey"));
    import(&pool, &shared("hsds/ilao-1.1"), "ilao", true).await;
    assert_eq!(upkeep(&pool).await, migrated);
    // A second source's first load finds rows to keep serving: everything stays as it is.
    import(&pool, &shared("hsds/spec-3.0/examples/csv"), "spec", true).await;
    assert_eq!(upkeep(&pool).await, migrated);
    // Rows written while the indexes were away are found through them.
    sqlx::query("SET enable_seqscan = off")
        .execute(&pool)
        .await
        .unwrap();
    let found = count(
        &pool,
        "SELECT count(*) FROM search_entries WHERE document @@ plainto_tsquery('english', 'legal')",
    )
    .await;
    assert!(found > 0);
    // And the references are checked again: a service of no organization is refused.
    let orphan = sqlx::query(
        "INSERT INTO services (id, source, source_id, organization_id, name, share_code)
         VALUES (gen_random_uuid(), 'ilao', 'orphan', gen_random_uuid(), 'x', 'orphan-code')",
    )
    .execute(&pool)
    .await;
    assert!(orphan
        .unwrap_err()
        .to_string()
        .contains("services_organization_id_fkey"),);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn two_first_loads_at_once_both_land_one_after_the_other(pool: PgPool) {
    prepare(&pool).await;
    let migrated = upkeep(&pool).await;
    // Each would find the directory empty and take its tables: they take turns instead of
    // deadlocking.
    let (ilao_feed, spec_feed) = (
        shared("hsds/ilao-1.1"),
        shared("hsds/spec-3.0/examples/csv"),
    );
    let (ilao, spec) = tokio::join!(
        import(&pool, &ilao_feed, "ilao", true),
        import(&pool, &spec_feed, "spec", true),
    );
    assert!(ilao.counts["services"].inserted > 400);
    assert!(spec.counts["services"].inserted > 0);
    assert_eq!(upkeep(&pool).await, migrated);
    let sources = count(
        &pool,
        "SELECT count(DISTINCT source) FROM search_entries WHERE source IN ('ilao', 'spec')",
    )
    .await;
    assert_eq!(sources, 2);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_changed_record_is_updated_and_a_missing_one_becomes_inactive(pool: PgPool) {
    prepare(&pool).await;
    let feed = copy_feed(&shared("hsds/ilao-1.1"));
    import(&pool, feed.path(), "ilao", true).await;

    // Rename one service and drop the North Lawndale clinic's.
    rewrite_records(feed.path(), "services.csv", |_, r| match &r[0] {
        "132741" => None,
        "135836" => Some(
            r.iter()
                .enumerate()
                .map(|(i, v)| {
                    if i == 3 {
                        "Free legal forms (Cook County)"
                    } else {
                        v
                    }
                })
                .collect(),
        ),
        _ => Some(r),
    });
    let report = import(&pool, feed.path(), "ilao", true).await;
    assert_eq!(report.counts["services"].updated, 1);
    assert_eq!(report.counts["services"].deactivated, 1);
    assert_eq!(report.counts["services"].unchanged, 427);
    assert!(report
        .rejected
        .iter()
        .any(|r| r.file == "service_at_location.csv" && r.reason.contains("132741")));

    let (name,): (String,) = sqlx::query_as("SELECT name FROM services WHERE source_id = '135836'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(name, "Free legal forms (Cook County)");
    let (active, still_there): (bool, i64) =
        sqlx::query_as("SELECT bool_or(active), count(*) FROM services WHERE source_id = '132741'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((active, still_there), (false, 1), "inactive, never deleted");
    assert_eq!(
        count(&pool, "SELECT count(*) FROM search_entries e JOIN services s ON s.id = e.service_id WHERE s.source_id = '132741'").await,
        0,
        "inactive services are not found"
    );

    // Putting it back makes it active again.
    let report = import(&pool, &shared("hsds/ilao-1.1"), "ilao", true).await;
    assert_eq!(report.counts["services"].updated, 2);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM services WHERE active").await,
        429
    );
}

/// A feed that leaves out an organization we already have, while its services still name it,
/// keeps that organization as it was: the stand-in made for those services never overwrites
/// it.
#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn an_organization_a_later_feed_leaves_out_is_kept_as_it_was(pool: PgPool) {
    prepare(&pool).await;
    let ilao = shared("hsds/ilao-1.1");
    import(&pool, &ilao, "ilao", true).await;
    let laf = "SELECT name, placeholder, active FROM organizations WHERE source = 'ilao' AND source_id = '25231'";
    let before: (String, bool, bool) = sqlx::query_as(laf).fetch_one(&pool).await.unwrap();
    assert_eq!(before, ("LAF".to_string(), false, true));

    let dir = copy_feed(&ilao);
    rewrite_records(dir.path(), "organizations.csv", |_, r| {
        (r.get(0) != Some("25231")).then_some(r)
    });
    let report = import(&pool, dir.path(), "ilao", true).await;
    let after: (String, bool, bool) = sqlx::query_as(laf).fetch_one(&pool).await.unwrap();
    assert_eq!(after, before, "the organization we had is unchanged");
    assert_eq!(report.counts["organizations"].updated, 0);
    assert_eq!(report.counts["organizations"].deactivated, 0);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_partial_feed_deactivates_nothing_and_a_truncated_full_feed_is_refused(pool: PgPool) {
    prepare(&pool).await;
    let feed = copy_feed(&shared("hsds/ilao-1.1"));
    import(&pool, feed.path(), "ilao", true).await;
    rewrite_records(feed.path(), "services.csv", |i, r| (i < 10).then_some(r));

    let partial = import(&pool, feed.path(), "ilao", false).await;
    assert_eq!(partial.counts["services"].deactivated, 0);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM services WHERE active").await,
        429
    );

    let err = hsds::import(&pool, feed.path(), &options("ilao", true))
        .await
        .unwrap_err();
    assert!(matches!(err, ImportError::Refused(_)), "{err}");
    assert!(err.to_string().contains("--allow-mass-deactivation"));
    assert_eq!(
        count(&pool, "SELECT count(*) FROM services WHERE active").await,
        429,
        "nothing changed"
    );
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn bad_rows_are_reported_and_never_abort_good_ones(pool: PgPool) {
    prepare(&pool).await;
    let feed = copy_feed(&shared("hsds/ilao-1.1"));
    edit(feed.path(), "services.csv", |t| {
        format!(
            "{t}\n,91676,,A service with no id,,,,,,,,,,,\n999001,424242,,A service of an unknown organization,,,,,,,,,,,\n135836,91676,,A duplicate id,,,,,,,,,,,\n999002,91676,,Ages that are not numbers,,,,,,,,,,,"
        )
    });
    let report = import(&pool, feed.path(), "ilao", true).await;
    let reasons: Vec<String> = report
        .rejected
        .iter()
        .map(|r| format!("{}:{}: {}", r.file, r.line, r.reason))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("services.csv:") && r.contains("no id")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("duplicate service id \"135836\"")),
        "{reasons:?}"
    );
    assert_eq!(
        reasons
            .iter()
            .filter(|r| r.starts_with("services.csv:"))
            .count(),
        2,
        "{reasons:?}"
    );
    assert!(report
        .warnings
        .iter()
        .any(|w| w.reason.contains("\"424242\"") && w.reason.contains("placeholder")));
    assert_eq!(
        report.counts["services"].inserted, 431,
        "the 429 good rows and the two new good ones"
    );
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn input_that_is_not_hsds_fails_clearly_and_changes_nothing(pool: PgPool) {
    prepare(&pool).await;
    import(&pool, &shared("hsds/spec-3.0/examples/csv"), "spec", true).await;
    let runs_before = count(&pool, "SELECT count(*) FROM import_runs").await;

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("people.csv"), "first,last\nAda,Lovelace\n").unwrap();
    let not_hsds = hsds::import(&pool, dir.path(), &options("spec", true))
        .await
        .unwrap_err();
    assert!(
        not_hsds.to_string().contains("not an HSDS export"),
        "{not_hsds}"
    );

    std::fs::write(dir.path().join("services.csv"), "title,body\nx,y\n").unwrap();
    std::fs::write(dir.path().join("organizations.csv"), "id,name\n1,Org\n").unwrap();
    let wrong_columns = hsds::import(&pool, dir.path(), &options("spec", true))
        .await
        .unwrap_err();
    assert!(
        wrong_columns
            .to_string()
            .contains("services.csv has no \"id\" column"),
        "{wrong_columns}"
    );

    let json = dir.path().join("feed.json");
    std::fs::write(&json, "{\"hello\": \"world\"}").unwrap();
    let not_services = hsds::import(&pool, &json, &options("spec", true))
        .await
        .unwrap_err();
    assert!(
        not_services.to_string().contains("no HSDS services"),
        "{not_services}"
    );
    std::fs::write(&json, "{ this is not json").unwrap();
    let broken = hsds::import(&pool, &json, &options("spec", true))
        .await
        .unwrap_err();
    assert!(broken.to_string().contains("not valid JSON"), "{broken}");

    let single_csv = hsds::import(
        &pool,
        &shared("hsds/ilao-1.1/services.csv"),
        &options("x", true),
    )
    .await
    .unwrap_err();
    assert!(
        single_csv.to_string().contains("give the folder"),
        "{single_csv}"
    );

    for e in [
        &not_hsds,
        &wrong_columns,
        &not_services,
        &broken,
        &single_csv,
    ] {
        assert!(matches!(e, ImportError::NotHsds(_)), "{e}");
    }
    assert_eq!(
        count(&pool, "SELECT count(*) FROM import_runs").await,
        runs_before
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM services WHERE active").await,
        1
    );
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn hsds_3_json_documents_go_through_the_same_pipeline(pool: PgPool) {
    prepare(&pool).await;
    let report = import(
        &pool,
        &shared("hsds/spec-3.0/examples/service_full.json"),
        "json",
        false,
    )
    .await;
    assert_eq!(report.format, "HSDS 3.0 JSON");
    assert_eq!(report.counts["services"].inserted, 1);
    assert_eq!(report.counts["organizations"].inserted, 1);
    assert_eq!(report.counts["service_at_locations"].inserted, 1);
    assert_eq!(report.counts["taxonomy_terms"].inserted, 1);
    let (name, terms): (String, i64) =
        sqlx::query_as("SELECT name, cardinality(taxonomy_term_ids)::int8 FROM services")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(name, "Community Counselling");
    assert_eq!(terms, 1);

    // An organization document with nested services, and a list page.
    let org = import(
        &pool,
        &shared("hsds/spec-3.0/examples/organization_full.json"),
        "json",
        false,
    )
    .await;
    assert!(org.counts["organizations"].read >= 1);
    let list = import(
        &pool,
        &shared("hsds/spec-3.0/examples/service_list.json"),
        "json",
        false,
    )
    .await;
    assert!(list.counts["services"].read >= 1);
    assert!(list.rejected.is_empty(), "{:?}", list.rejected);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_kentucky_demo_directory_covers_every_county(pool: PgPool) {
    let report = load_small_demo(&pool).await;
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert!(report.counts["services"].inserted >= 2500);
    let counties = count(
        &pool,
        "SELECT count(DISTINCT county_fips) FROM locations WHERE county_fips LIKE '21%'",
    )
    .await;
    assert_eq!(counties, 120);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM services WHERE category_ids = '{}'"
        )
        .await,
        0,
        "every demo service has a category"
    );
    assert!(
        count(
            &pool,
            "SELECT count(*) FROM services WHERE 'KY' = ANY(coverage_states)"
        )
        .await
            > 0,
        "statewide programs"
    );
    assert!(
        count(
            &pool,
            "SELECT count(*) FROM services WHERE cardinality(coverage_counties) > 0"
        )
        .await
            > 0,
        "county-wide programs"
    );
    assert!(
        count(
            &pool,
            "SELECT count(*) FROM search_entries WHERE location_id IS NULL"
        )
        .await
            > 0,
        "programs with no office"
    );
    assert!(
        count(
            &pool,
            "SELECT count(*) FROM locations WHERE timezone = 'America/Chicago'"
        )
        .await
            > 0,
        "western Kentucky is Central time"
    );
}

/// The URL of the database a test runs in (sqlx::test makes one per test).
async fn url_of(pool: &PgPool) -> String {
    let name: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(pool)
        .await
        .unwrap();
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let (head, query) = base
        .split_once('?')
        .map(|(h, q)| (h.to_string(), format!("?{q}")))
        .unwrap_or((base.clone(), String::new()));
    let (server, _) = head.rsplit_once('/').expect("a database in DATABASE_URL");
    format!("{server}/{name}{query}")
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn an_import_killed_mid_write_leaves_nothing_half_written(pool: PgPool) {
    prepare(&pool).await;
    let feed = tempfile::tempdir().unwrap();
    server::demo::generate(feed.path(), server::demo::Scale::Kentucky, Some(12_000)).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args([
            "import-hsds",
            feed.path().to_str().unwrap(),
            "--source",
            "ky-demo",
            "--full",
        ])
        .env("DATABASE_URL", {
            let url = url_of(&pool).await;
            format!(
                "{url}{}application_name=killed-import",
                if url.contains('?') { '&' } else { '?' }
            )
        })
        .env_remove("WRAPAROUND_OWNER_URL")
        .env(
            "WRAPAROUND_CONFIG",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../Leptos.toml"),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Whatever happens below, the import does not outlive the test.
    let mut child = KillOnDrop(child);
    // Kill it once services are written in its open transaction: while it writes them, or any
    // statement that comes after (a wide window, so a fast machine cannot slip through it).
    let writing = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'killed-import'
                   AND state = 'active' AND (query LIKE 'INSERT INTO services%'
                        OR query LIKE 'INSERT INTO service_at_locations%' OR query LIKE 'ANALYZE%'
                        OR query LIKE '%search_entries%' OR query LIKE '%search_words%')";
    let started = std::time::Instant::now();
    while count(&pool, writing).await == 0 {
        assert!(
            started.elapsed().as_secs() < 120,
            "the import never started writing services"
        );
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "the import finished before it could be killed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    until_backends_are_gone(&pool, "killed-import").await;
    for table in [
        "organizations",
        "locations",
        "services",
        "service_at_locations",
        "search_entries",
        "import_runs",
    ] {
        assert_eq!(
            count(&pool, &format!("SELECT count(*) FROM {table}")).await,
            0,
            "{table} has half an import"
        );
    }
    // Running it again works from a clean slate.
    let report = import(&pool, feed.path(), "ky-demo", true).await;
    assert!(report.counts["services"].inserted > 11_000);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn control_bytes_and_broken_text_in_a_feed_are_dropped_values_not_a_failed_import(
    pool: PgPool,
) {
    prepare(&pool).await;
    let feed = copy_feed(&shared("hsds/ilao-1.1"));
    // A NUL inside a description, broken UTF-8 in a name, and a whole row whose name is only
    // a control character.
    let p = feed.path().join("services.csv");
    let mut bytes = std::fs::read(&p).unwrap();
    bytes.extend_from_slice(b"\n999101,91676,,Clean name,,,Desc with \x00 a NUL,,,,,,,,");
    bytes.extend_from_slice(b"\n999102,91676,,Broken \xff\xfe name,,,,,,,,,,,");
    bytes.extend_from_slice(b"\n999103,91676,,\x1b,,,,,,,,,,,");
    std::fs::write(&p, bytes).unwrap();
    let report = import(&pool, feed.path(), "ilao", true).await;
    let warnings: Vec<String> = report
        .warnings
        .iter()
        .map(|w| format!("{}:{}: {}", w.file, w.line, w.reason))
        .collect();
    let line = |needle: &str| {
        warnings
            .iter()
            .any(|w| w.starts_with("services.csv:") && w.contains(needle))
    };
    assert!(line("control character"), "{warnings:?}");
    assert!(line("not valid UTF-8"), "{warnings:?}");
    // The row with nothing usable as a name is rejected with its line; the others land.
    assert!(
        report
            .rejected
            .iter()
            .any(|r| r.file == "services.csv" && r.line > 1),
        "{:?}",
        report.rejected
    );
    let (name, description): (String, Option<String>) =
        sqlx::query_as("SELECT name, description FROM services WHERE source_id = '999101'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(name, "Clean name");
    assert_eq!(description, None);
    let stored_nul: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM services WHERE position(chr(27) in name) > 0 OR name LIKE '%\u{fffd}%'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stored_nul, 0);
}
