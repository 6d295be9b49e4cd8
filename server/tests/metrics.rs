//! Metrics (issue 13) against Postgres: a fixture that reproduces every figure of the seed's
//! statewide page exactly, the edge cases of periods (a year's first and last hours in the
//! deployment's zone, United Way closures, a referral closed twice), scopes, and the pages and
//! CSV as each role may see them.

mod common;

use app::metrics::{compute, Filters, Scope};
use app::policy::Role;
use chrono::{DateTime, Utc};
use common::*;
use sqlx::PgPool;
use uuid::Uuid;

const ZONE: app::metrics::Tz = app::metrics::Tz::America__New_York;

struct World {
    senders: [Uuid; 3],
    receivers: [Uuid; 3],
    user: Uuid,
    resident: Uuid,
}

async fn org_named(pool: &PgPool, id: Uuid) -> String {
    sqlx::query_scalar("SELECT name FROM organizations WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn world(pool: &PgPool) -> World {
    load_small_demo(pool).await;
    let mut orgs = Vec::new();
    for _ in 0..6 {
        orgs.push(receiving_partner(pool).await);
    }
    let user = person(pool, Role::PartnerStaff, Some(orgs[0]), true)
        .await
        .0;
    let resident: Uuid = sqlx::query_scalar(
        "INSERT INTO residents (name, phone, preferred_contact) VALUES ('Fixture Person', '502-555-0100', 'phone') RETURNING id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    World {
        senders: [orgs[0], orgs[1], orgs[2]],
        receivers: [orgs[3], orgs[4], orgs[5]],
        user,
        resident,
    }
}

/// Inserts `n` referrals from `from` to `to`; `shape` is SQL over `i` (1..n) giving, in order,
/// status, outcome_reason, created_at, closed_at, closed_by_united_way.
async fn insert(pool: &PgPool, w: &World, n: i64, from: Uuid, to: Uuid, shape: &str) {
    let (service, program): (Uuid, Uuid) = sqlx::query_as(
        "SELECT s.id, sal.id FROM services s JOIN service_at_locations sal ON sal.service_id = s.id
          WHERE s.organization_id = $1 ORDER BY sal.id LIMIT 1",
    )
    .bind(to)
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query(&format!(
        "INSERT INTO referrals (batch_id, resident_id, from_organization, from_user, service_id, program_id,
                                to_organization, need, status, outcome_reason, created_at, closed_at, closed_by_united_way)
         SELECT gen_random_uuid(), $1, $2, $3, $4, $5, $6, 'food-pantries', x.status, x.reason, x.created, x.closed, x.uw
           FROM generate_series(1, $7) i, LATERAL (SELECT {shape}) AS x(status, reason, created, closed, uw)"
    ))
    .bind(w.resident)
    .bind(from)
    .bind(w.user)
    .bind(service)
    .bind(program)
    .bind(to)
    .bind(n)
    .execute(pool)
    .await
    .unwrap();
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The seed's statewide page: 129,089 referrals created all time and 15,348 in 2024; 126,898
/// closed, 13,157 of the 2024 ones; 44 % provided in the last 30 days; the reasons, creators
/// and closers in their order.
async fn seed_fixture(pool: &PgPool) -> World {
    let w = world(pool).await;
    let [a, b, c] = w.senders;
    let [x, y, z] = w.receivers;
    let provided = "'resource_provided', NULL::text";
    // Before 2024: 113,741, all closed.
    insert(
        pool,
        &w,
        113_741,
        a,
        x,
        &format!(
            "{provided}, timestamptz '2023-01-01 12:00-05' + (i % 360) * interval '1 day',
         timestamptz '2023-01-03 12:00-05' + (i % 360) * interval '1 day', false"
        ),
    )
    .await;
    // 2024, closed before the last 30 days: 12,157 (8,000 sent by A; 157 closed by United Way).
    let spring = format!(
        "{provided}, timestamptz '2024-02-01 12:00-05' + (i % 200) * interval '1 day',
         timestamptz '2024-02-06 12:00-05' + (i % 200) * interval '1 day'"
    );
    insert(pool, &w, 7_000, a, x, &format!("{spring}, false")).await;
    insert(pool, &w, 1_000, a, y, &format!("{spring}, false")).await;
    insert(pool, &w, 4_000, b, y, &format!("{spring}, false")).await;
    insert(pool, &w, 157, b, z, &format!("{spring}, true")).await;
    // The last 30 days: 1,000 closures, 440 provided, 560 not (by reason).
    let recent = "timestamptz '2024-11-01 12:00-05' + (i % 10) * interval '1 day',
                  timestamptz '2024-11-21 12:00-05' + (i % 25) * interval '1 hour', false";
    insert(pool, &w, 440, b, z, &format!("{provided}, {recent}")).await;
    for (n, reason, from) in [
        (250, "unable_to_reach", b),
        (153, "got_help_elsewhere", b),
        (27, "got_help_elsewhere", c),
        (90, "outside_service_area", c),
        (40, "not_eligible", c),
    ] {
        insert(
            pool,
            &w,
            n,
            from,
            z,
            &format!("'resource_not_provided', '{reason}', {recent}"),
        )
        .await;
    }
    // Still open: 2,191, sent by C.
    insert(
        pool,
        &w,
        2_191,
        c,
        x,
        "'sent', NULL::text, timestamptz '2024-12-01 12:00-05', NULL::timestamptz, false",
    )
    .await;
    w
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_seed_figures_are_reproduced_exactly(pool: PgPool) {
    let w = seed_fixture(&pool).await;
    let now = at("2024-12-20T17:00:00Z");
    let f = Filters {
        scope: Scope::State,
        org_type: None,
        year: 2024,
    };
    let m = compute(&pool, &f, ZONE, now).await.unwrap();
    assert_eq!(m.created_all, 129_089);
    assert_eq!(m.created_year, 15_348);
    assert_eq!(m.closed_all, 126_898);
    assert_eq!(m.created_year_closed, 13_157);
    assert_eq!(
        m.created_all - m.closed_all,
        m.created_year - m.created_year_closed,
        "2,191 open either way"
    );
    assert_eq!(m.open_now, 2_191);
    assert_eq!(m.provided_split(), Some((44, 56)));
    let reasons: Vec<&str> = m.top_reasons.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "unable_to_reach",
            "got_help_elsewhere",
            "outside_service_area"
        ]
    );
    let mut creators = Vec::new();
    for (org, n) in [
        (w.senders[0], 8_000),
        (w.senders[1], 5_000),
        (w.senders[2], 2_348),
    ] {
        creators.push((org_named(&pool, org).await, n));
    }
    assert_eq!(m.top_creators, creators);
    let mut closers = Vec::new();
    for (org, n) in [
        (w.receivers[0], 7_000),
        (w.receivers[1], 5_000),
        (w.receivers[2], 1_000),
    ] {
        closers.push((org_named(&pool, org).await, n));
    }
    assert_eq!(m.top_closers, closers, "United Way's closures apart");
    assert_eq!(m.united_way_closures, 157);
    assert_eq!(m.months.len(), 12, "every month shown, zeros too");
    assert_eq!(m.months[0].1, 0, "nothing created in January");
    assert_eq!(m.months.iter().map(|r| r.1).sum::<i64>(), 15_348);
    assert_eq!(m.by_domain, vec![("food-insecurity".to_string(), 15_348)]);
    assert_eq!(m.closure_rate(), Some(86), "13,157 of 15,348");

    // Rendered for a state administrator, and as CSV.
    let app = TestApp::spawn(pool.clone()).await;
    let (_, email, secret) = person(&pool, Role::StateAdmin, None, true).await;
    let admin = browser();
    app.sign_in(&admin, &email, &secret).await;
    let r = app.get_with(&admin, "/state/metrics?year=2024").await;
    assert_eq!(r.status().as_u16(), 200);
    let page = r.text().await.unwrap();
    for figure in ["129,089", "15,348", "126,898", "13,157", "2,191"] {
        assert!(page.contains(figure), "{figure} on the page");
    }
    assert!(
        page.contains("<svg") && page.contains("role=\"img\""),
        "charts with a text alternative"
    );
    let r = app.get_with(&admin, "/state/metrics/csv?year=2024").await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = r.text().await.unwrap();
    assert!(
        csv.contains("\"M1\",\"created all time\",\"129089\""),
        "{}",
        &csv[..300]
    );
    assert!(csv.contains("\"M4\",\"created in 2024 and closed now\",\"13157\""));
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn periods_are_half_open_in_the_deployments_zone(pool: PgPool) {
    let w = world(&pool).await;
    let [a, ..] = w.senders;
    let [x, y, _] = w.receivers;
    let p = "'resource_provided', NULL::text";
    // Created 2023-12-28, closed 2024-01-05: closed in 2024, created in 2023.
    insert(
        &pool,
        &w,
        1,
        a,
        x,
        &format!(
            "{p}, timestamptz '2023-12-28 10:00-05', timestamptz '2024-01-05 10:00-05', false"
        ),
    )
    .await;
    // Closed by United Way.
    insert(
        &pool,
        &w,
        1,
        a,
        y,
        &format!("{p}, timestamptz '2024-03-01 10:00-05', timestamptz '2024-03-10 10:00-05', true"),
    )
    .await;
    // Closed at 23:30 Central on Dec 31: 00:30 Eastern on Jan 1, next year for this deployment.
    insert(
        &pool,
        &w,
        1,
        a,
        x,
        &format!(
            "{p}, timestamptz '2024-12-30 10:00-06', timestamptz '2024-12-31 23:30-06', false"
        ),
    )
    .await;
    // Closed, reopened and closed again in another month: counted once, in the last month.
    insert(
        &pool,
        &w,
        1,
        a,
        x,
        &format!(
            "{p}, timestamptz '2024-04-01 10:00-04', timestamptz '2024-05-20 10:00-04', false"
        ),
    )
    .await;
    let now = at("2025-02-01T12:00:00Z");
    let year = |y| Filters {
        scope: Scope::State,
        org_type: None,
        year: y,
    };
    let m24 = compute(&pool, &year(2024), ZONE, now).await.unwrap();
    assert_eq!(
        m24.created_year, 3,
        "the December 28 one was created in 2023"
    );
    assert_eq!(
        m24.closed_year, 3,
        "Jan 5, Mar 10 and May 20; not the New Year's Eve one"
    );
    assert_eq!(m24.united_way_closures, 1);
    assert_eq!(
        m24.top_closers.iter().map(|(_, n)| n).sum::<i64>(),
        2,
        "United Way's apart"
    );
    let closed_by_month: Vec<i64> = m24.months.iter().map(|r| r.2).collect();
    assert_eq!(closed_by_month, [1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        m24.created_year_closed, 3,
        "created in 2024 and closed: all three"
    );
    let m25 = compute(&pool, &year(2025), ZONE, now).await.unwrap();
    assert_eq!(m25.closed_year, 1);
    assert_eq!(m25.months[0].2, 1);
    let m23 = compute(&pool, &year(2023), ZONE, now).await.unwrap();
    assert_eq!((m23.created_year, m23.closed_year), (1, 0));
    // An organization's scope and an organization type filter.
    let only_y = Filters {
        scope: Scope::Organization(y),
        org_type: None,
        year: 2024,
    };
    assert_eq!(
        compute(&pool, &only_y, ZONE, now)
            .await
            .unwrap()
            .created_all,
        1
    );
    let hospitals = Filters {
        scope: Scope::State,
        org_type: Some("hospital".into()),
        year: 2024,
    };
    assert_eq!(
        compute(&pool, &hospitals, ZONE, now)
            .await
            .unwrap()
            .created_all,
        0
    );
    // A county: the referrals to programs there.
    let fips: Option<String> = sqlx::query_scalar(
        "SELECT county_fips FROM referrals WHERE county_fips IS NOT NULL LIMIT 1",
    )
    .fetch_optional(&pool)
    .await
    .unwrap()
    .flatten();
    if let Some(fips) = fips {
        let expected: i64 =
            sqlx::query_scalar("SELECT count(*) FROM referrals WHERE county_fips = $1")
                .bind(&fips)
                .fetch_one(&pool)
                .await
                .unwrap();
        let county = Filters {
            scope: Scope::Counties(vec![fips]),
            org_type: None,
            year: 2024,
        };
        assert_eq!(
            compute(&pool, &county, ZONE, now)
                .await
                .unwrap()
                .created_all,
            expected
        );
    }
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_chapter_sees_its_counties_with_small_counts_hidden(pool: PgPool) {
    let w = world(&pool).await;
    insert(
        &pool,
        &w,
        3,
        w.senders[0],
        w.receivers[0],
        "'sent', NULL::text, now() - interval '2 days', NULL::timestamptz, false",
    )
    .await;
    let app = TestApp::spawn(pool.clone()).await;
    let (_, email, secret) = person(&pool, Role::ChapterReviewer, None, true).await;
    let reviewer = browser();
    app.sign_in(&reviewer, &email, &secret).await;
    let r = app.get_with(&reviewer, "/united-way/metrics").await;
    assert_eq!(r.status().as_u16(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("Metrics for your counties"));
    assert!(
        !page.contains("name=\"chapter\""),
        "no other chapters to choose"
    );
    // Their chapter's page never shows the state's exact small counts.
    let at = page
        .find("data-testid=\"created-all\"")
        .expect("the figure");
    let cell = &page[at..];
    let value = &cell[cell.find('>').unwrap() + 1..cell.find("</dd>").unwrap()];
    assert!(
        value == "&lt;5" || value == "0",
        "3 is shown as <5 (or none in these counties): {value}"
    );
    // The state view is not theirs, nor its CSV.
    let r = app.get_with(&reviewer, "/state/metrics").await;
    assert!(r.headers().contains_key("x-wraparound-refused"));
    let r = app.get_with(&reviewer, "/state/metrics/csv").await;
    assert!(r.headers().contains_key("x-wraparound-refused"));
    let r = app.get_with(&reviewer, "/united-way/metrics/csv").await;
    assert_eq!(r.status().as_u16(), 200);
    // Partners and residents see none of it.
    let (_, email, secret) = person(&pool, Role::PartnerStaff, Some(w.senders[0]), true).await;
    let partner = browser();
    app.sign_in(&partner, &email, &secret).await;
    for path in [
        "/state/metrics",
        "/united-way/metrics",
        "/united-way/metrics/csv",
    ] {
        let r = app.get_with(&partner, path).await;
        assert!(r.headers().contains_key("x-wraparound-refused"), "{path}");
    }
}

/// The kept counts and the rows give the same figures, before the job folds the changes in and
/// after, for the state and for a county.
async fn counts_agree_with_rows(pool: &PgPool, year: i32, now: DateTime<Utc>) {
    let fips: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT county_fips FROM referrals WHERE county_fips IS NOT NULL ORDER BY 1 LIMIT 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for scope in [Scope::State, Scope::Counties(fips)] {
        let f = Filters {
            scope,
            org_type: None,
            year,
        };
        assert!(app::metrics::counts::answers(pool, &f, ZONE).await.unwrap());
        let rows = app::metrics::compute_from_rows(pool, &f, ZONE, now)
            .await
            .unwrap();
        let counted = app::metrics::counts::compute(pool, &f, ZONE, now)
            .await
            .unwrap();
        assert_eq!(counted, rows, "{:?} before folding", f.scope);
        app::metrics::counts::fold(pool).await.unwrap();
        let counted = app::metrics::counts::compute(pool, &f, ZONE, now)
            .await
            .unwrap();
        assert_eq!(counted, rows, "{:?} after folding", f.scope);
    }
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_kept_counts_give_the_rows_figures(pool: PgPool) {
    let w = seed_fixture(&pool).await;
    // Inside a day (the last 30 days start and end mid-day) and at a local midnight.
    counts_agree_with_rows(&pool, 2024, at("2024-12-20T17:00:00Z")).await;
    counts_agree_with_rows(&pool, 2024, at("2024-12-20T05:00:00Z")).await;
    counts_agree_with_rows(&pool, 2023, at("2024-12-20T17:00:00Z")).await;

    // Changes as people make them: closed, reopened, closed again by someone else, one
    // withdrawn, one removed; each moves the counts.
    let [a, ..] = w.senders;
    let [x, ..] = w.receivers;
    insert(
        &pool,
        &w,
        3,
        a,
        x,
        "'sent', NULL::text, timestamptz '2024-12-10 09:00-05', NULL::timestamptz, false",
    )
    .await;
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM referrals WHERE created_at = timestamptz '2024-12-10 09:00-05' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let set = |sql: &'static str, id: Uuid| {
        let pool = pool.clone();
        async move {
            sqlx::query(sql).bind(id).execute(&pool).await.unwrap();
        }
    };
    set("UPDATE referrals SET status = 'resource_not_provided', outcome_reason = 'unable_to_reach', closed_at = timestamptz '2024-12-12 10:00-05' WHERE id = $1", ids[0]).await;
    counts_agree_with_rows(&pool, 2024, at("2024-12-20T17:00:00Z")).await;
    set("UPDATE referrals SET status = 'in_progress', outcome_reason = NULL, closed_at = NULL WHERE id = $1", ids[0]).await;
    set("UPDATE referrals SET status = 'resource_provided', closed_at = timestamptz '2024-12-19 23:30-05', closed_by_united_way = true WHERE id = $1", ids[0]).await;
    set("UPDATE referrals SET status = 'cancelled', closed_at = timestamptz '2024-12-15 08:00-05' WHERE id = $1", ids[1]).await;
    set(
        "UPDATE referrals SET status = 'accepted' WHERE id = $1",
        ids[2],
    )
    .await;
    counts_agree_with_rows(&pool, 2024, at("2024-12-20T17:00:00Z")).await;
    sqlx::query("DELETE FROM referral_events WHERE referral_id = $1")
        .bind(ids[2])
        .execute(&pool)
        .await
        .unwrap();
    set("DELETE FROM referrals WHERE id = $1", ids[2]).await;
    counts_agree_with_rows(&pool, 2024, at("2024-12-20T17:00:00Z")).await;
    // Counting everything again changes nothing.
    sqlx::query("SELECT metric_rebuild()")
        .execute(&pool)
        .await
        .unwrap();
    counts_agree_with_rows(&pool, 2024, at("2024-12-20T17:00:00Z")).await;
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_new_zone_counts_again(pool: PgPool) {
    let w = world(&pool).await;
    // 23:30 Central on Dec 31, 2024 is 2025 in the East and 2024 in the Central zone.
    insert(
        &pool,
        &w,
        1,
        w.senders[0],
        w.receivers[0],
        "'resource_provided', NULL::text, timestamptz '2024-12-30 10:00-06', timestamptz '2024-12-31 23:30-06', false",
    )
    .await;
    let central = app::metrics::Tz::America__Chicago;
    let f = Filters {
        scope: Scope::State,
        org_type: None,
        year: 2024,
    };
    // Asked in another zone than the counts', the rows answer.
    assert!(!app::metrics::counts::answers(&pool, &f, central)
        .await
        .unwrap());
    assert_eq!(
        compute(&pool, &f, central, at("2025-02-01T12:00:00Z"))
            .await
            .unwrap()
            .closed_year,
        1
    );
    assert!(app::metrics::counts::keep_zone(&pool, central)
        .await
        .unwrap());
    assert!(!app::metrics::counts::keep_zone(&pool, central)
        .await
        .unwrap());
    assert!(app::metrics::counts::answers(&pool, &f, central)
        .await
        .unwrap());
    let m = app::metrics::counts::compute(&pool, &f, central, at("2025-02-01T12:00:00Z"))
        .await
        .unwrap();
    assert_eq!(m.closed_year, 1, "closed on Dec 31 in Central time");
    assert_eq!(m.months[11].2, 1);
}
