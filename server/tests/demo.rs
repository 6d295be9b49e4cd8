//! `make run`'s living demo (issue 13): a year of activity over the Kentucky directory, through
//! the same tables and stores the product uses, so every dashboard, queue, metrics chart and
//! incentive report has figures, and every organization that receives referrals has a person
//! to sign in as.

mod common;

use app::metrics::{Filters, Scope, Tz};
use app::policy::Role;
use common::*;
use sqlx::PgPool;

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_demo_year_is_a_living_system(pool: PgPool) {
    load_small_demo(&pool).await;
    let d = deployment();
    let key = app::identity::sealed::prepare(&pool, &d).await.unwrap();
    server::demo::accounts::seed(&pool, &d.onboarding.default_chapter, key)
        .await
        .unwrap();
    let staff = |local: &str| format!("{local}@{}", server::demo::accounts::DOMAIN);
    server::demo::residents::seed(&pool, &d, &staff("partner.staff"), &staff("hospital.staff"))
        .await
        .unwrap();
    let (hospital, specialist) = (staff("hospital.staff"), staff("referral.specialist"));
    let year = || server::demo::activity::seed(&pool, &d, key, &hospital, &specialist);
    let cards = year().await.unwrap();
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let referrals = count("SELECT count(*) FROM referrals").await;
    assert!(referrals > 1_000, "a year of referrals: {referrals}");
    // Seeding again adds nothing and prints the same accounts.
    let again = year().await.unwrap();
    assert_eq!(count("SELECT count(*) FROM referrals").await, referrals);
    let emails = |c: &[server::demo::accounts::DemoAccount]| {
        let mut e: Vec<String> = c.iter().map(|a| a.email.clone()).collect();
        e.sort();
        e
    };
    assert_eq!(emails(&cards), emails(&again));

    // Whole lives: every outcome, United Way's closures, each with its history.
    for status in [
        "sent",
        "accepted",
        "in_progress",
        "resource_provided",
        "resource_not_provided",
        "declined",
        "cancelled",
    ] {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM referrals WHERE status = $1")
            .bind(status)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert!(n > 0, "some referrals are {status}");
    }
    assert!(count("SELECT count(*) FROM referrals WHERE closed_by_united_way").await > 0);
    assert_eq!(
        count("SELECT count(*) FROM referrals r WHERE NOT EXISTS (SELECT 1 FROM referral_events e WHERE e.referral_id = r.id AND e.kind = 'created')").await,
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM referrals WHERE closed_at IS NOT NULL AND (closed_at < created_at OR closed_at > now())").await,
        0,
        "closed after created, never in the future"
    );
    // Every onboarded organization that receives referrals has a person, on the card.
    assert_eq!(
        count("SELECT count(*) FROM (SELECT DISTINCT to_organization FROM referrals) r
                 JOIN partner_organizations p ON p.organization_id = r.to_organization
                WHERE p.onboarded_at IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM users u WHERE u.organization_id = r.to_organization)").await,
        0
    );
    assert!(cards
        .iter()
        .any(|a| a.email.starts_with("formula.staff@") && a.organization.is_some()));
    assert!(cards.iter().any(|a| a.email.starts_with("ged.staff@")));
    // Some referrals go to programs not on Wraparound.
    assert!(count("SELECT count(*) FROM referrals r WHERE NOT EXISTS (SELECT 1 FROM partner_organizations p WHERE p.organization_id = r.to_organization AND p.onboarded_at IS NOT NULL)").await > 0);
    // A reviewer for every chapter, each with a claim waiting.
    for chapter in &d.onboarding.chapters {
        let reviewers: i64 =
            sqlx::query_scalar("SELECT count(*) FROM users WHERE role = $1 AND chapter = $2")
                .bind(Role::ChapterReviewer.as_str())
                .bind(&chapter.id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert!(reviewers > 0, "a reviewer for {}", chapter.id);
    }
    assert!(count("SELECT count(*) FROM claims WHERE status = 'pending'").await > 0);
    // The three United Way queues have work.
    let queues = app::referrals::support::counts(&pool, &d.referrals, chrono::Utc::now())
        .await
        .unwrap();
    for (q, n) in queues {
        assert!(n > 0, "{q:?} has work");
    }
    // The metrics have figures, and the kept counts agree with the rows.
    let tz: Tz = app::metrics::deployment_zone(&d);
    let now = chrono::Utc::now();
    let f = Filters {
        scope: Scope::State,
        org_type: None,
        year: app::metrics::this_year(tz, now),
    };
    let counted = app::metrics::compute(&pool, &f, tz, now).await.unwrap();
    assert_eq!(
        counted,
        app::metrics::compute_from_rows(&pool, &f, tz, now)
            .await
            .unwrap()
    );
    assert!(counted.created_30 > 0 && counted.provided_30 > 0 && counted.not_provided_30 > 0);
    assert_eq!(counted.top_reasons.len(), 3);
    assert!(!counted.assessment_results.is_empty());
    // Last month's incentive report pays someone, and holds one organization's payment.
    let (months,): (i64,) = sqlx::query_as("SELECT count(*) FROM incentive_reports")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(months, 2);
    let last = app::incentives::previous_month(tz, now);
    let report = app::incentives::stored(&pool, last).await.unwrap().unwrap();
    assert!(report.report.lines.iter().any(|l| l.total_cents > 0));
}
