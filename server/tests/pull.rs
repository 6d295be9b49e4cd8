//! Pulling a 211 from its HSDS 3.0 API, end to end: a second Wraparound pulls what the first
//! serves (through a front that fails some requests), and their directories match; then only
//! what changed; then a full pull makes inactive what the first no longer lists.

mod common;

use app::config::PullSettings;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use common::*;
use server::hsds::pull::{pull, Client, Mode, PullError};
use sqlx::PgPool;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A second database on the same server, migrated, with the reference places: the second
/// instance's.
async fn second_database(pool: &PgPool) -> (PgPool, String) {
    let db = pool.connect_options().get_database().unwrap().to_string();
    // Database names are cut at 63 bytes: the test's own name may already be that long.
    let name = format!("second_{}", &db[db.len().saturating_sub(40)..]);
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\""))
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(pool)
        .await
        .unwrap();
    let options = (*pool.connect_options()).clone().database(&name);
    let b = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .unwrap();
    server::db::MIGRATOR.run(&b).await.unwrap();
    prepare(&b).await;
    (b, name)
}

/// Forwards to the first instance; every third request answers 503 instead (a 211 having a bad
/// minute).
async fn flaky_front(target: String) -> (String, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let state = (target, seen.clone(), reqwest::Client::new());
    async fn forward(
        State((target, seen, client)): State<(String, Arc<AtomicUsize>, reqwest::Client)>,
        uri: Uri,
    ) -> axum::response::Response {
        if seen.fetch_add(1, Ordering::SeqCst) % 3 == 1 {
            return (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response();
        }
        let r = client.get(format!("{target}{uri}")).send().await.unwrap();
        let status = StatusCode::from_u16(r.status().as_u16()).unwrap();
        (status, r.bytes().await.unwrap()).into_response()
    }
    let app = axum::Router::new()
        .fallback(axum::routing::get(forward))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

/// Forwards to the first instance, but past the first page says there is one service more
/// (a 211 whose directory changes while it is paged through).
async fn moving_front(target: String) -> String {
    async fn forward(
        State((target, client)): State<(String, reqwest::Client)>,
        uri: Uri,
    ) -> axum::response::Response {
        let r = client.get(format!("{target}{uri}")).send().await.unwrap();
        let mut page: serde_json::Value = r.json().await.unwrap();
        let first = uri.query().unwrap_or("").split('&').any(|p| p == "page=1");
        if !first {
            page["total_items"] = (page["total_items"].as_i64().unwrap() + 1).into();
        }
        axum::Json(page).into_response()
    }
    let app = axum::Router::new()
        .fallback(axum::routing::get(forward))
        .with_state((target, reqwest::Client::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// What a resident would see of a directory: every active service with its organization, its
/// places, categories and fees, as comparable text.
async fn directory(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT concat_ws(' | ', s.name, o.name, coalesce(s.description, ''), s.is_free::text,
                array_to_string(ARRAY(SELECT unnest(s.category_ids) ORDER BY 1), ','),
                s.minimum_age::text, s.maximum_age::text, jsonb_array_length(s.phones)::text,
                array_to_string(ARRAY(
                    SELECT concat_ws(' ', round(l.latitude::numeric, 5), round(l.longitude::numeric, 5),
                                     l.address_1, l.city, l.postal_code, l.county_fips)
                    FROM service_at_locations sal JOIN locations l ON l.id = sal.location_id
                    WHERE sal.service_id = s.id AND sal.active ORDER BY 1), ';'))
         FROM services s JOIN organizations o ON o.id = s.organization_id
         WHERE s.active ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn searchable(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM search_entries")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_second_instance_pulls_the_first_and_their_directories_match(pool: PgPool) {
    load_small_demo(&pool).await;
    import(&pool, &shared("hsds/spec-3.0/examples/csv"), "spec", true).await;
    // The first instance's records were last changed yesterday.
    for table in [
        "organizations",
        "locations",
        "services",
        "service_at_locations",
    ] {
        sqlx::query(&format!(
            "UPDATE {table} SET updated_at = now() - interval '3 days'"
        ))
        .execute(&pool)
        .await
        .unwrap();
    }
    let first = TestApp::spawn(pool).await;
    let (second, second_name) = second_database(&first.pool).await;
    let (front, requests) = flaky_front(first.base.clone()).await;
    let settings = PullSettings {
        source: "first-211".into(),
        url: format!("{front}/api/hsds/"),
        every_minutes: 360,
        full_every_days: 7,
    };
    let client = Client::with_waits(4, Duration::from_millis(10));
    let d = deployment();

    // 1. The first pull is full, survives the failed requests, and rejects nothing.
    let report = pull(&second, &d, &settings, Mode::Scheduled, &client, false)
        .await
        .expect("pull");
    assert!(report.full);
    assert!(report.retries > 0, "the front failed some requests");
    let import = report.import.as_ref().expect("an import");
    assert_eq!(import.rejected, vec![], "nothing rejected");
    assert!(report.pages > 1, "paged: {} pages", report.pages);
    assert_eq!(directory(&first.pool).await, directory(&second).await);
    assert_eq!(searchable(&first.pool).await, searchable(&second).await);
    let (status, pulls): (String, i64) = sqlx::query_as(
        "SELECT status, count(*) OVER () FROM directory_pulls WHERE source = 'first-211'",
    )
    .fetch_one(&second)
    .await
    .unwrap();
    assert_eq!((status.as_str(), pulls), ("succeeded", 1));
    assert!(requests.load(Ordering::SeqCst) as u32 > report.pages);

    // 2. One service changes at the first: the next pull asks only for what changed.
    let (changed,): (uuid::Uuid,) = sqlx::query_as(
        "UPDATE services SET description = 'Now open Saturdays too.', updated_at = now()
         WHERE id = (SELECT id FROM services WHERE active ORDER BY name LIMIT 1) RETURNING id",
    )
    .fetch_one(&first.pool)
    .await
    .unwrap();
    let report = pull(&second, &d, &settings, Mode::Scheduled, &client, false)
        .await
        .expect("incremental pull");
    assert!(!report.full && report.modified_after.is_some());
    assert_eq!(report.services, 1, "only the changed service");
    // The second keeps the first's id as the record's source id.
    let description: String = sqlx::query_scalar(
        "SELECT description FROM services WHERE source_id = $1 AND source = 'first-211'",
    )
    .bind(changed.to_string())
    .fetch_one(&second)
    .await
    .unwrap();
    assert_eq!(description, "Now open Saturdays too.");
    assert_eq!(directory(&first.pool).await, directory(&second).await);

    // 3. Nothing changed since: nothing to store. (Changes are asked for from a day before the
    // last pull began, so the service changed just now comes again, unchanged.)
    let report = pull(&second, &d, &settings, Mode::Incremental, &client, false)
        .await
        .expect("a pull with nothing new");
    assert!(report.services <= 1);
    assert!(report.import.as_ref().is_none_or(|r| !r.changed()));

    // 4. The first stops listing a service: a full pull makes it inactive here too.
    let (gone, source): (uuid::Uuid, String) = sqlx::query_as(
        "UPDATE services SET active = false, updated_at = now()
         WHERE id = (SELECT id FROM services WHERE active ORDER BY name DESC LIMIT 1) RETURNING id, source",
    )
    .fetch_one(&first.pool)
    .await
    .unwrap();
    // As the first's own import would: its search index rebuilt without the service.
    let mut tx = first.pool.begin().await.unwrap();
    app::directory::index::rebuild(&mut tx, &source, &options(&source, true).default_timezone)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // An incremental pull already hears of it (listed as "inactive"): residents of the second
    // stop finding it now, not at the next full pull.
    let report = pull(&second, &d, &settings, Mode::Incremental, &client, false)
        .await
        .expect("incremental pull with a removal");
    assert!(report.services >= 1);
    let searchable: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM search_entries e JOIN services s ON s.id = e.service_id
          WHERE s.source_id = $1 AND s.source = 'first-211'",
    )
    .bind(gone.to_string())
    .fetch_one(&second)
    .await
    .unwrap();
    assert_eq!(searchable, 0, "{gone} is no longer found at the second");
    let report = pull(&second, &d, &settings, Mode::Full, &client, false)
        .await
        .expect("full pull");
    assert_eq!(
        report.import.as_ref().unwrap().counts["services"].deactivated,
        1
    );
    let active: bool = sqlx::query_scalar(
        "SELECT active FROM services WHERE source_id = $1 AND source = 'first-211'",
    )
    .bind(gone.to_string())
    .fetch_one(&second)
    .await
    .unwrap();
    assert!(!active, "{gone} is inactive at the second too");
    assert_eq!(directory(&first.pool).await, directory(&second).await);

    // 4b. The 211's directory changes while a full pull pages through it (its total moves):
    // nothing is stored, since a record may have slid between pages and would be made inactive.
    let moving = moving_front(first.base.clone()).await;
    let before = directory(&second).await;
    let err = pull(
        &second,
        &d,
        &PullSettings {
            url: format!("{moving}/api/hsds"),
            ..settings.clone()
        },
        Mode::Full,
        &client,
        false,
    )
    .await
    .expect_err("the total moved");
    assert!(err.to_string().contains("changed during the pull"), "{err}");
    assert_eq!(before, directory(&second).await);

    // 5. A 211 that is down: the pull fails after its tries, says why, and changes nothing.
    let before = directory(&second).await;
    let down = PullSettings {
        url: "http://127.0.0.1:9/api/hsds".into(),
        ..settings.clone()
    };
    let err = pull(&second, &d, &down, Mode::Full, &client, false)
        .await
        .expect_err("nothing answers");
    assert!(matches!(err, PullError::Fetch { .. }), "{err}");
    assert!(err.to_string().contains("tried 4 times"), "{err}");
    let failed: (String, Option<String>) =
        sqlx::query_as("SELECT status, error FROM directory_pulls ORDER BY id DESC LIMIT 1")
            .fetch_one(&second)
            .await
            .unwrap();
    assert_eq!(failed.0, "failed");
    assert!(failed.1.unwrap().contains("tried 4 times"));
    assert_eq!(before, directory(&second).await);

    // 6. Not an HSDS API: refused, nothing changed.
    let not_hsds = PullSettings {
        url: format!("{}/", first.base),
        ..settings.clone()
    };
    let err = pull(&second, &d, &not_hsds, Mode::Full, &client, false)
        .await
        .expect_err("the home page is not an API");
    assert!(matches!(err, PullError::Fetch { .. }), "{err}");
    assert_eq!(before, directory(&second).await);

    // 7. The second's state administrator sees every pull; a chapter reviewer does not.
    let second_app = TestApp::spawn(second.clone()).await;
    let (_, email, secret) = person(&second, app::policy::Role::StateAdmin, None, true).await;
    let admin = browser();
    second_app.sign_in(&admin, &email, &secret).await;
    let r = second_app.get_with(&admin, "/state/directory").await;
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    for expected in [
        "Directory sources",
        "first-211",
        "everything",
        "changes since",
        "succeeded",
        "failed",
        "tried 4 times",
        "retried",
        "1 made inactive",
    ] {
        assert!(html.contains(expected), "the page shows {expected:?}");
    }
    let (_, email, secret) = person(&second, app::policy::Role::ChapterReviewer, None, true).await;
    let reviewer = browser();
    second_app.sign_in(&reviewer, &email, &secret).await;
    let r = second_app.get_with(&reviewer, "/state/directory").await;
    assert_eq!(r.status().as_u16(), 403);

    second.close().await;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{second_name}\""))
        .execute(&first.pool)
        .await;
}

/// A pull cut off by a stopped server is marked as such by the next one, and two servers never
/// pull the same source at once.
#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn an_interrupted_pull_is_recorded_and_pulls_never_overlap(pool: PgPool) {
    prepare(&pool).await;
    sqlx::query(
        "INSERT INTO directory_pulls (source, url, full_pull, started_at) VALUES ('x-211', 'http://127.0.0.1:9', true, now() - interval '1 hour')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let settings = PullSettings {
        source: "x-211".into(),
        url: "http://127.0.0.1:9/api/hsds".into(),
        every_minutes: 360,
        full_every_days: 7,
    };
    let client = Client::with_waits(1, Duration::from_millis(1));
    // Another server holds the source.
    let mut other = pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(hashtext('directory pull:x-211'))")
        .execute(&mut *other)
        .await
        .unwrap();
    let busy = pull(&pool, &deployment(), &settings, Mode::Full, &client, false).await;
    assert!(matches!(busy, Err(PullError::Busy(_))));
    sqlx::query("SELECT pg_advisory_unlock(hashtext('directory pull:x-211'))")
        .execute(&mut *other)
        .await
        .unwrap();
    let _ = pull(&pool, &deployment(), &settings, Mode::Full, &client, false).await;
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT status, error FROM directory_pulls ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0, "failed");
    assert!(rows[0].1.as_deref().unwrap().starts_with("interrupted"));
    assert_eq!(rows[1].0, "failed");
}
