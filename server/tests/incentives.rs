//! The monthly incentive report against Postgres: who earns what over two months (mid-month
//! onboarding, United Way closures, hospitals, state agencies, for-profits, an exclusion, a
//! missing mailing address), reports that never change and pay each item once, totals that
//! reconcile, and the calendar job run by two servers at once.

mod common;

use app::incentives::{generate, run_monthly, stored, NotEligible};
use app::policy::Role;
use chrono::{DateTime, NaiveDate, Utc};
use common::*;
use sqlx::PgPool;
use uuid::Uuid;

const ZONE: app::metrics::Tz = app::metrics::Tz::America__New_York;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn month(y: i32, m: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, 1).unwrap()
}

struct Org {
    id: Uuid,
    user: Uuid,
}

async fn org(pool: &PgPool, org_type: &str, onboarded: &str, address: Option<&str>) -> Org {
    let id = receiving_partner(pool).await;
    sqlx::query("UPDATE partner_organizations SET org_type = $2, onboarded_at = $3, mailing_address = $4 WHERE organization_id = $1")
        .bind(id)
        .bind(org_type)
        .bind(at(onboarded))
        .bind(address)
        .execute(pool)
        .await
        .unwrap();
    // The fixture's organization has always been of this type.
    sqlx::query("DELETE FROM partner_org_types WHERE organization_id = $1")
        .bind(id)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO partner_org_types (organization_id, org_type, since) VALUES ($1, $2, '2020-01-01')")
        .bind(id)
        .bind(org_type)
        .execute(pool)
        .await
        .unwrap();
    let role = if org_type == "hospital" {
        Role::HospitalStaff
    } else {
        Role::PartnerStaff
    };
    let user = person(pool, role, Some(id), true).await.0;
    Org { id, user }
}

async fn closed(pool: &PgPool, to: &Org, by: Uuid, united_way: bool, when: &str) -> Uuid {
    let resident: Uuid = sqlx::query_scalar(
        "INSERT INTO residents (name, phone, preferred_contact) VALUES ('Paid Person', '502-555-0111', 'phone') RETURNING id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query_scalar(
        "INSERT INTO referrals (batch_id, resident_id, from_user, service_id, program_id, to_organization, need,
                                status, created_at, closed_at, closed_by, closed_by_united_way)
         SELECT gen_random_uuid(), $1, $2, s.id, sal.id, $3, 'food-pantries', 'resource_provided',
                $4::timestamptz - interval '3 days', $4, $2, $5
           FROM services s JOIN service_at_locations sal ON sal.service_id = s.id
          WHERE s.organization_id = $3 ORDER BY sal.id LIMIT 1
         RETURNING id",
    )
    .bind(resident)
    .bind(by)
    .bind(to.id)
    .bind(at(when))
    .bind(united_way)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn assessed(pool: &PgPool, by: &Org, mode: &str, when: &str) -> Uuid {
    let resident: Uuid = sqlx::query_scalar(
        "INSERT INTO residents (name, phone, preferred_contact) VALUES ('Assessed Person', '502-555-0112', 'phone') RETURNING id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query_scalar(
        "INSERT INTO assessments (resident_id, instrument, instrument_version, mode, administered_by, organization_id,
                                  status, started_at, completed_at)
         VALUES ($1, 'self-assessment', '2026-12', $2, $3, $4, 'completed', $5, $5) RETURNING id",
    )
    .bind(resident)
    .bind(mode)
    .bind(by.user)
    .bind(by.id)
    .bind(at(when))
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn two_months_of_incentives_pay_each_thing_once_and_never_change(pool: PgPool) {
    load_small_demo(&pool).await;
    // Onboarded on March 15: its first $100 is March's; what it did before then earns nothing.
    let n = org(
        &pool,
        "nonprofit",
        "2026-03-15T15:00:00Z",
        Some("1 Main St, Bowling Green, KY 42101"),
    )
    .await;
    let held = org(&pool, "nonprofit", "2026-01-10T15:00:00Z", None).await;
    let hospital = org(&pool, "hospital", "2026-01-10T15:00:00Z", Some("2 Main St")).await;
    let agency = org(
        &pool,
        "state_agency",
        "2026-01-10T15:00:00Z",
        Some("3 Main St"),
    )
    .await;
    let company = org(
        &pool,
        "for_profit",
        "2026-01-10T15:00:00Z",
        Some("4 Main St"),
    )
    .await;
    let excluded = org(
        &pool,
        "nonprofit",
        "2026-01-10T15:00:00Z",
        Some("5 Main St"),
    )
    .await;
    sqlx::query("INSERT INTO incentive_overrides (organization_id, eligible, reason) VALUES ($1, false, 'fiscal sponsor already paid')")
        .bind(excluded.id)
        .execute(&pool)
        .await
        .unwrap();
    let specialist = person(&pool, Role::ReferralSpecialist, None, true).await.0;

    let before_onboarding = closed(&pool, &n, n.user, false, "2026-03-10T15:00:00Z").await;
    let march_closure = closed(&pool, &n, n.user, false, "2026-03-20T15:00:00Z").await;
    let by_united_way = closed(&pool, &n, specialist, true, "2026-03-21T15:00:00Z").await;
    let march_assessment = assessed(&pool, &n, "partner", "2026-03-22T15:00:00Z").await;
    let _hospital_screening = assessed(&pool, &hospital, "hospital", "2026-03-22T15:00:00Z").await;
    let _hospital_closure = closed(
        &pool,
        &hospital,
        hospital.user,
        false,
        "2026-03-23T15:00:00Z",
    )
    .await;
    let held_closure = closed(&pool, &held, held.user, false, "2026-03-24T15:00:00Z").await;
    let _agency_closure = closed(&pool, &agency, agency.user, false, "2026-03-24T15:00:00Z").await;
    let _excluded_closure = closed(
        &pool,
        &excluded,
        excluded.user,
        false,
        "2026-03-25T15:00:00Z",
    )
    .await;
    // 23:30 Eastern on March 31 is March; 00:30 on April 1 is April.
    let last_minute = closed(&pool, &n, n.user, false, "2026-04-01T03:30:00Z").await;
    let april_closure = closed(&pool, &n, n.user, false, "2026-04-01T04:30:00Z").await;
    let april_assessment = assessed(&pool, &n, "partner", "2026-04-02T15:00:00Z").await;

    let (march, made) = generate(&pool, ZONE, month(2026, 3)).await.unwrap();
    assert!(made);
    let r = &march.report;
    let line = |id: Uuid| r.lines.iter().find(|l| l.organization_id == id);
    let n_line = line(n.id).expect("the nonprofit's line");
    assert_eq!(n_line.onboarding_cents, 10_000);
    assert_eq!(n_line.assessments, vec![march_assessment]);
    let mut closures = n_line.closures.clone();
    closures.sort();
    let mut expected = vec![march_closure, last_minute];
    expected.sort();
    assert_eq!(
        closures, expected,
        "not before onboarding, not United Way's, the last minute in"
    );
    assert!(
        !n_line.closures.contains(&before_onboarding) && !n_line.closures.contains(&by_united_way)
    );
    assert_eq!(n_line.total_cents, 10_000 + 1_000 + 2_000);
    let held_line = line(held.id).expect("listed although held");
    assert!(held_line.held());
    assert_eq!(held_line.closures, vec![held_closure]);
    for (o, reason) in [
        (&hospital, NotEligible::Hospital),
        (&agency, NotEligible::StateAgency),
        (&company, NotEligible::ForProfit),
        (&excluded, NotEligible::Excluded),
    ] {
        assert!(line(o.id).is_none());
        let e = r
            .excluded
            .iter()
            .find(|e| e.organization_id == o.id)
            .expect("in the appendix");
        assert_eq!(e.reason, reason);
    }
    assert_eq!(
        r.total_cents,
        r.lines.iter().map(|l| l.total_cents).sum::<i64>()
    );

    // Asking again returns the same report; edits afterwards change nothing already made.
    sqlx::query(
        "UPDATE partner_organizations SET mailing_address = '9 New St' WHERE organization_id = $1",
    )
    .bind(held.id)
    .execute(&pool)
    .await
    .unwrap();
    let (again, made) = generate(&pool, ZONE, month(2026, 3)).await.unwrap();
    assert!(!made);
    assert_eq!(again.sha256, march.sha256);
    assert_eq!(again.report, march.report);
    assert_eq!(app::incentives::content_hash(&again.report), again.sha256);
    assert!(sqlx::query("UPDATE incentive_reports SET sha256 = 'x'")
        .execute(&pool)
        .await
        .is_err());
    assert!(sqlx::query("DELETE FROM incentive_paid_items")
        .execute(&pool)
        .await
        .is_err());

    // April: its own activity; March's never again; onboarding paid once.
    let (april, _) = generate(&pool, ZONE, month(2026, 4)).await.unwrap();
    let n_april = april
        .report
        .lines
        .iter()
        .find(|l| l.organization_id == n.id)
        .unwrap();
    assert_eq!(n_april.onboarding_cents, 0);
    assert_eq!(n_april.closures, vec![april_closure]);
    assert_eq!(n_april.assessments, vec![april_assessment]);
    // Reconciliation: every paid item is in exactly one line of one month, and the totals add.
    let mut seen = std::collections::HashSet::new();
    let mut cents = 0;
    for s in [&march, &april] {
        for l in &s.report.lines {
            for id in l.assessments.iter().chain(&l.closures) {
                assert!(seen.insert(*id), "{id} paid twice");
            }
            cents += l.total_cents;
        }
    }
    let paid: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(CASE kind WHEN 'onboarding' THEN 10000 ELSE 1000 END), 0)::bigint FROM incentive_paid_items",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(paid, cents);
    assert!(stored(&pool, month(2026, 5)).await.unwrap().is_none());
}

/// A not-for-profit that becomes a for-profit on March 15 earns for March 1-14 only; its type
/// changes are dated by the database whoever makes them.
#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_type_change_mid_month_counts_from_that_moment(pool: PgPool) {
    load_small_demo(&pool).await;
    let n = org(
        &pool,
        "nonprofit",
        "2026-02-02T15:00:00Z",
        Some("1 Main St"),
    )
    .await;
    let before = closed(&pool, &n, n.user, false, "2026-03-05T15:00:00Z").await;
    let after = closed(&pool, &n, n.user, false, "2026-03-20T15:00:00Z").await;
    sqlx::query(
        "UPDATE partner_organizations SET org_type = 'for_profit' WHERE organization_id = $1",
    )
    .bind(n.id)
    .execute(&pool)
    .await
    .unwrap();
    let dated: Vec<String> = sqlx::query_scalar(
        "SELECT org_type FROM partner_org_types WHERE organization_id = $1 ORDER BY since",
    )
    .bind(n.id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        dated,
        vec!["nonprofit", "for_profit"],
        "the change is dated"
    );
    // As if it had been made on March 15.
    sqlx::query("UPDATE partner_org_types SET since = '2026-03-15T12:00:00Z' WHERE organization_id = $1 AND org_type = 'for_profit'")
        .bind(n.id)
        .execute(&pool)
        .await
        .unwrap();
    let (march, _) = generate(&pool, ZONE, month(2026, 3)).await.unwrap();
    let line = march
        .report
        .lines
        .iter()
        .find(|l| l.organization_id == n.id)
        .expect("eligible for part of the month");
    assert_eq!(line.closures, vec![before]);
    assert!(!line.closures.contains(&after));
    // April: a for-profit all month, in the appendix.
    let (april, _) = generate(&pool, ZONE, month(2026, 4)).await.unwrap();
    assert!(april
        .report
        .excluded
        .iter()
        .any(|e| e.organization_id == n.id && e.reason == NotEligible::ForProfit));
}

/// A correction after a report went out changes nothing in it: what is owed for the earlier
/// month is paid in the next report as adjustment lines, once.
#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_correction_is_paid_next_month_as_adjustments(pool: PgPool) {
    load_small_demo(&pool).await;
    let n = org(
        &pool,
        "nonprofit",
        "2026-03-02T15:00:00Z",
        Some("1 Main St"),
    )
    .await;
    let closure = closed(&pool, &n, n.user, false, "2026-03-10T15:00:00Z").await;
    let assessment = assessed(&pool, &n, "partner", "2026-03-12T15:00:00Z").await;
    let set = |eligible: bool| {
        let pool = pool.clone();
        async move {
            sqlx::query("INSERT INTO incentive_overrides (organization_id, eligible, reason) VALUES ($1, $2, 'test')")
                .bind(n.id)
                .bind(eligible)
                .execute(&pool)
                .await
                .unwrap();
        }
    };
    set(false).await;
    let (march, _) = generate(&pool, ZONE, month(2026, 3)).await.unwrap();
    assert!(march.report.lines.iter().all(|l| l.organization_id != n.id));
    assert!(march
        .report
        .excluded
        .iter()
        .any(|e| e.organization_id == n.id));
    // The exclusion was a mistake: April pays March's work as adjustments.
    set(true).await;
    let (april, _) = generate(&pool, ZONE, month(2026, 4)).await.unwrap();
    let line = april
        .report
        .lines
        .iter()
        .find(|l| l.organization_id == n.id)
        .expect("its line");
    assert_eq!(line.onboarding_cents, 0);
    assert!(line.closures.is_empty() && line.assessments.is_empty());
    let mut got: Vec<(String, Uuid, NaiveDate, i64)> = line
        .adjustments
        .iter()
        .map(|a| (a.kind.clone(), a.item_id, a.earned_in, a.cents))
        .collect();
    got.sort();
    let mut want = vec![
        ("assessment".to_string(), assessment, month(2026, 3), 1_000),
        ("closure".to_string(), closure, month(2026, 3), 1_000),
        ("onboarding".to_string(), n.id, month(2026, 3), 10_000),
    ];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(line.total_cents, 12_000);
    let csv = app::incentives::to_csv(&april.report);
    assert!(csv.contains(",3,120.00,120.00"), "{csv}");
    // March's report is as it was; May owes nothing more.
    assert_eq!(
        stored(&pool, month(2026, 3)).await.unwrap().unwrap().sha256,
        march.sha256
    );
    let (may, _) = generate(&pool, ZONE, month(2026, 5)).await.unwrap();
    assert!(may
        .report
        .lines
        .iter()
        .filter(|l| l.organization_id == n.id)
        .all(|l| l.adjustments.is_empty() && l.total_cents == 0));
    let paid: i64 =
        sqlx::query_scalar("SELECT count(*) FROM incentive_paid_items WHERE organization_id = $1")
            .bind(n.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(paid, 3);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_calendar_job_makes_last_month_once_with_two_servers(pool: PgPool) {
    load_small_demo(&pool).await;
    let n = org(
        &pool,
        "nonprofit",
        "2026-10-15T15:00:00Z",
        Some("1 Main St"),
    )
    .await;
    closed(&pool, &n, n.user, false, "2026-11-05T15:00:00Z").await;
    person(&pool, Role::ChapterReviewer, None, true).await;
    let d = deployment();
    // The last run scheduled this one for midnight on December 1 (Eastern).
    sqlx::query(
        "UPDATE jobs SET run_after = '2026-12-01T05:00:00Z' WHERE name = 'incentive_report'",
    )
    .execute(&pool)
    .await
    .unwrap();
    // The server was down at midnight: the first check after, on two servers at once.
    let now = at("2026-12-01T09:00:00Z");
    let (a, b) = tokio::join!(run_monthly(&pool, &d, now), run_monthly(&pool, &d, now));
    let ran: Vec<NaiveDate> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(ran, vec![month(2026, 11)], "one server ran it");
    let reports: i64 = sqlx::query_scalar("SELECT count(*) FROM incentive_reports")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(reports, 1);
    let next: DateTime<Utc> =
        sqlx::query_scalar("SELECT run_after FROM jobs WHERE name = 'incentive_report'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        next,
        at("2027-01-01T05:00:00Z"),
        "midnight on the 1st, Eastern"
    );
    let mails: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE subject LIKE 'Community Partner incentives%'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(mails >= 1, "the chapter's reviewers are told");
    // Each with its chapter's lines attached as CSV.
    let (name, kind, csv): (String, String, Vec<u8>) = sqlx::query_as(
        "SELECT attachment_name, attachment_type, attachment FROM outbox
          WHERE subject LIKE 'Community Partner incentives%' LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(name.starts_with("incentives-2026-11-") && name.ends_with(".csv"));
    assert!(kind.starts_with("text/csv"));
    assert!(String::from_utf8(csv)
        .unwrap()
        .starts_with("chapter,organization,"));
    // Not due again before then.
    assert_eq!(
        run_monthly(&pool, &d, at("2026-12-15T09:00:00Z"))
            .await
            .unwrap(),
        None
    );

    // The report's page and CSV: the state all of it, the chapter its own lines, partners nothing.
    let app = TestApp::spawn(pool.clone()).await;
    let (_, email, secret) = person(&pool, Role::StateAdmin, None, true).await;
    let admin = browser();
    app.sign_in(&admin, &email, &secret).await;
    let r = app.get_with(&admin, "/state/incentives/2026-11").await;
    assert_eq!(r.status().as_u16(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("$10.00"), "the closure paid");
    let r = app.get_with(&admin, "/state/incentives/2026-11/csv").await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().starts_with("chapter,organization,"));
    let r = app.get_with(&admin, "/state/incentives/2026-13").await;
    assert_eq!(r.status().as_u16(), 404);
    let (_, email, secret) = person(&pool, Role::PartnerStaff, Some(n.id), true).await;
    let partner = browser();
    app.sign_in(&partner, &email, &secret).await;
    let r = app.get_with(&partner, "/state/incentives/2026-11").await;
    assert!(r.headers().contains_key("x-wraparound-refused"));
}
