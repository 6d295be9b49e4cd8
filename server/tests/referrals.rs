//! Referrals against Postgres and over HTTP: creating several at once with pre-consent, what the
//! receiving side may see (and that each look is audited), the state machine's moves, two people
//! closing the same referral, the dashboard's figures, and a server killed mid-creation.

mod common;

use app::policy::Role;
use common::*;
use sqlx::PgPool;
use uuid::Uuid;

struct Scene {
    app: TestApp,
    sender: reqwest::Client,
    receiver: reqwest::Client,
    receiver_two: reqwest::Client,
    to_org: Uuid,
    programs: Vec<Uuid>,
}

async fn scene(pool: &PgPool) -> Scene {
    load_small_demo(pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let from_org = partner_organization(pool, "nonprofit").await;
    let to_org = receiving_partner(pool).await;
    let programs = programs_of(pool, to_org, 2).await;
    let (_, s_email, s_secret) = person(pool, Role::PartnerStaff, Some(from_org), true).await;
    let (_, r_email, r_secret) = person(pool, Role::PartnerStaff, Some(to_org), true).await;
    let (_, r2_email, r2_secret) = person(pool, Role::PartnerAdmin, Some(to_org), true).await;
    let (sender, receiver, receiver_two) = (browser(), browser(), browser());
    assert_eq!(app.sign_in(&sender, &s_email, &s_secret).await, "/partner");
    assert_eq!(
        app.sign_in(&receiver, &r_email, &r_secret).await,
        "/partner"
    );
    assert_eq!(
        app.sign_in(&receiver_two, &r2_email, &r2_secret).await,
        "/partner"
    );
    Scene {
        app,
        sender,
        receiver,
        receiver_two,
        to_org,
        programs,
    }
}

/// Refers a new resident to the scene's programs (formula and childcare) with pre-consent.
async fn refer(s: &Scene, consent: bool) -> String {
    for p in &s.programs {
        let r = s
            .app
            .post_form(
                &s.sender,
                "/fn/add_to_referral",
                &[("program_id", &p.to_string())],
            )
            .await;
        assert_eq!(location(&r), "/referrals/new");
    }
    let mut form = vec![
        ("name", "Maria Lopez"),
        ("date_of_birth", "1994-03-12"),
        ("phone", "502-555-0188"),
        ("preferred_contact", "text"),
        ("preferred_language", "es"),
        ("needs[0]", "baby-formula"),
        ("needs[1]", "childcare-centers"),
        ("note", "Working on her GED; needs formula and childcare."),
    ];
    if consent {
        form.push(("consent", "yes"));
    }
    let r = s
        .app
        .post_form(&s.sender, "/fn/send_referrals", &form)
        .await;
    location(&r)
}

async fn referral_ids(pool: &PgPool) -> Vec<(Uuid, i32)> {
    sqlx::query_as("SELECT id, version FROM referrals ORDER BY created_at, id")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn several_referrals_in_one_go_with_pre_consent_and_a_private_email(pool: PgPool) {
    let s = scene(&pool).await;
    let landed = refer(&s, true).await;
    assert!(landed.starts_with("/referrals/batch/"), "{landed}");
    let ids = referral_ids(&pool).await;
    assert_eq!(ids.len(), 2);
    let consents: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM consent_events WHERE channel = 'at_referral' AND granted AND organization_id = $1",
    )
    .bind(s.to_org)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(consents, 1, "one consent per receiving organization");
    // The receiving organization's people are e-mailed a link, never the resident's details.
    let bodies: Vec<String> =
        sqlx::query_scalar("SELECT body FROM outbox WHERE subject LIKE 'New referral%'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(bodies.len(), 4, "two people × two referrals");
    // The phone number is looked for whole: the link carries the referral's random UUID, which
    // can hold "555" by chance (it did, and failed CI once).
    assert!(bodies.iter().all(|b| !b.contains("Maria")
        && !b.contains("Lopez")
        && !b.contains("555-0188")
        && !b.contains("5025550188")
        && !b.contains("1994-03-12")
        && b.contains("/referrals/")));
    // The summary page prints, and the inbox lists both, oldest first.
    assert_eq!(
        s.app.get_with(&s.sender, &landed).await.status().as_u16(),
        200
    );
    let inbox = s
        .app
        .get_with(&s.receiver, "/referrals/inbox")
        .await
        .text()
        .await
        .unwrap();
    assert!(inbox.contains("New (2)"), "{inbox}");
    // With consent, the receiver sees the profile, and the look is audited.
    let page = s
        .app
        .get_with(&s.receiver, &format!("/referrals/{}", ids[0].0))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Maria Lopez") && page.contains("(502) 555-0188"));
    assert!(openings(&pool, "profile", Some("referral")).await > 0);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn without_consent_the_receiver_sees_only_a_first_name(pool: PgPool) {
    let s = scene(&pool).await;
    refer(&s, false).await;
    let ids = referral_ids(&pool).await;
    let page = s
        .app
        .get_with(&s.receiver, &format!("/referrals/{}", ids[0].0))
        .await
        .text()
        .await
        .unwrap();
    // Minimum necessary: the first name, the need, and how she asked to be reached (a text to
    // her phone) — not her last name or date of birth.
    assert!(page.contains("Maria") && !page.contains("Lopez") && !page.contains("1994-03-12"));
    assert!(
        page.contains("sms:+15025550188") && page.contains("Text message"),
        "how to reach her"
    );
    assert!(openings(&pool, "first name and contact", Some("referral")).await > 0);
    // Another organization sees nothing at all.
    let other = partner_organization(&pool, "for_profit").await;
    let (_, email, secret) = person(&pool, Role::PartnerStaff, Some(other), true).await;
    let stranger = browser();
    s.app.sign_in(&stranger, &email, &secret).await;
    let r = s
        .app
        .get_with(&stranger, &format!("/referrals/{}", ids[0].0))
        .await;
    assert_eq!(r.status().as_u16(), 404);
    assert!(!r.text().await.unwrap().contains("Maria"));
}

async fn act(
    s: &Scene,
    who: &reqwest::Client,
    id: Uuid,
    version: i32,
    form: &[(&str, &str)],
) -> String {
    let id = id.to_string();
    let version = version.to_string();
    let mut all = vec![("referral_id", id.as_str()), ("version", version.as_str())];
    all.extend_from_slice(form);
    location(&s.app.post_form(who, "/fn/update_referral", &all).await)
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_referral_is_worked_and_closed_once(pool: PgPool) {
    let s = scene(&pool).await;
    refer(&s, true).await;
    let (id, v) = referral_ids(&pool).await[0];
    // The sender cannot work the receiver's referral.
    assert!(act(&s, &s.sender, id, v, &[("action", "accept")])
        .await
        .ends_with("error=denied"));
    assert!(act(&s, &s.receiver, id, v, &[("action", "accept")])
        .await
        .ends_with("done=accept"));
    // Accepting twice is not a move the state machine has.
    assert!(act(&s, &s.receiver, id, v + 1, &[("action", "accept")])
        .await
        .ends_with("error=not_allowed_now"));
    assert!(act(
        &s,
        &s.receiver,
        id,
        v + 1,
        &[("action", "contact"), ("result", "reached")]
    )
    .await
    .ends_with("done=contact"));
    // Two people close it at once from the same page: one wins, the other is told, nothing is
    // overwritten.
    let (a, b) = tokio::join!(
        act(&s, &s.receiver, id, v + 2, &[("action", "close_provided")]),
        act(
            &s,
            &s.receiver_two,
            id,
            v + 2,
            &[("action", "close_not_provided"), ("reason", "no_capacity")]
        ),
    );
    let outcomes = [a, b];
    assert_eq!(
        outcomes
            .iter()
            .filter(|l| l.ends_with("error=stale"))
            .count(),
        1,
        "{outcomes:?}"
    );
    let (status, version, closed): (String, i32, bool) = sqlx::query_as(
        "SELECT status, version, closed_at IS NOT NULL FROM referrals WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(closed && version == v + 3);
    assert!(status == "resource_provided" || status == "resource_not_provided");
    // Closed is closed.
    assert!(act(
        &s,
        &s.receiver,
        id,
        version,
        &[("action", "contact"), ("result", "reached")]
    )
    .await
    .ends_with("error=not_allowed_now"));
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM referral_events WHERE referral_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(events, 4, "created, accepted, contact, closed");
    // Closing without a reason from the list is refused.
    let (other, ov) = referral_ids(&pool).await[1];
    assert!(act(
        &s,
        &s.receiver,
        other,
        ov,
        &[("action", "close_not_provided"), ("reason", "made up")]
    )
    .await
    .ends_with("error=reason_needed"));
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_dashboard_counts_exactly_the_rows(pool: PgPool) {
    use app::metrics::{compute, this_year, Filters, Scope, Tz};
    let s = scene(&pool).await;
    for _ in 0..3 {
        refer(&s, true).await;
    }
    // Six referrals: 2 provided, 3 not provided (2 × no capacity, 1 × not eligible), 1 open;
    // made at known times.
    let ids = referral_ids(&pool).await;
    let now = chrono::Utc::now();
    let plan: [(&str, Option<&str>, i64, Option<i64>); 6] = [
        ("resource_provided", None, 400, Some(396)),
        ("resource_provided", None, 20, Some(18)),
        ("resource_not_provided", Some("no_capacity"), 10, Some(9)),
        ("resource_not_provided", Some("no_capacity"), 5, Some(4)),
        ("resource_not_provided", Some("not_eligible"), 3, Some(2)),
        ("sent", None, 1, None),
    ];
    for ((id, _), (status, reason, created_days_ago, closed_days_ago)) in ids.iter().zip(plan) {
        sqlx::query(
            "UPDATE referrals SET status = $2, outcome_reason = $3,
                    created_at = $5 - make_interval(days => $4::int),
                    closed_at = CASE WHEN $6::int IS NULL THEN NULL ELSE $5 - make_interval(days => $6::int) END
              WHERE id = $1",
        )
        .bind(id)
        .bind(status)
        .bind(reason)
        .bind(created_days_ago as i32)
        .bind(now)
        .bind(closed_days_ago.map(|d| d as i32))
        .execute(&pool)
        .await
        .unwrap();
    }
    // The statewide metrics' definitions, over what the organization received.
    let tz = Tz::America__New_York;
    let year = this_year(tz, now);
    let over = |scope| Filters {
        scope,
        org_type: None,
        year,
    };
    let f = compute(&pool, &over(Scope::Received(s.to_org)), tz, now)
        .await
        .unwrap();
    assert_eq!((f.created_all, f.closed_all), (6, 5));
    assert_eq!((f.created_30, f.closed_30), (5, 4));
    // The dashboard's subset is the same figures.
    let d = app::metrics::compute_for_dashboard(&pool, &over(Scope::Received(s.to_org)), tz, now)
        .await
        .unwrap();
    assert_eq!(
        (
            d.created_all,
            d.created_year,
            d.closed_all,
            d.closed_year,
            d.closed_30,
            d.provided_30
        ),
        (
            f.created_all,
            f.created_year,
            f.closed_all,
            f.closed_year,
            f.closed_30,
            f.provided_30
        )
    );
    assert_eq!(
        (d.top_reasons.clone(), d.median_days_to_close),
        (f.top_reasons.clone(), f.median_days_to_close)
    );
    assert_eq!(
        d.months.iter().map(|m| (m.1, m.2)).collect::<Vec<_>>(),
        f.months.iter().map(|m| (m.1, m.2)).collect::<Vec<_>>()
    );
    assert_eq!((f.provided_30, f.not_provided_30), (1, 3));
    // Days to close of those closed this year: 2, 1, 1, 1 → median 1 (when the last 20 days
    // are all this year).
    let jan = (now - chrono::Duration::days(21)).with_timezone(&tz);
    use chrono::Datelike;
    if jan.year() == year {
        assert_eq!(f.closure_rate(), Some(80), "4 of the 5 received this year");
        assert_eq!(f.median_days_to_close, Some(1.0));
    }
    assert_eq!(
        f.top_reasons,
        vec![
            ("no_capacity".to_string(), 2),
            ("not_eligible".to_string(), 1)
        ]
    );
    // The page shows the same numbers.
    let page = s
        .app
        .get_with(&s.receiver, "/partner")
        .await
        .text()
        .await
        .unwrap();
    let rate = format!("{}%", f.closure_rate().unwrap_or_default());
    assert!(page.contains(&rate), "closure rate on the page: {rate}");
    // What the organization received is labelled received, not "created"; it sent nothing.
    assert!(
        page.contains("Received and closed") && !page.contains(">Created<"),
        "labels"
    );
    let sent = compute(&pool, &over(Scope::Sent(s.to_org)), tz, now)
        .await
        .unwrap();
    assert_eq!(sent.created_all, 0);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_referral_with_a_bad_program_creates_nothing(pool: PgPool) {
    let s = scene(&pool).await;
    s.app
        .post_form(
            &s.sender,
            "/fn/add_to_referral",
            &[("program_id", &s.programs[0].to_string())],
        )
        .await;
    s.app
        .post_form(
            &s.sender,
            "/fn/add_to_referral",
            &[("program_id", &Uuid::nil().to_string())],
        )
        .await;
    let r = s
        .app
        .post_form(
            &s.sender,
            "/fn/send_referrals",
            &[
                ("name", "Maria Lopez"),
                ("phone", "502-555-0188"),
                ("preferred_contact", "phone"),
                ("needs[0]", "baby-formula"),
                ("needs[1]", "baby-formula"),
            ],
        )
        .await;
    assert!(
        location(&r).ends_with("error=not_found"),
        "{}",
        location(&r)
    );
    for table in [
        "residents",
        "referrals",
        "referral_events",
        "consent_events",
    ] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn united_way_queues_follow_the_clock_and_reminders_go_once_a_day(pool: PgPool) {
    use app::referrals::support::{counts, queue, send_reminders, Queue};
    let s = scene(&pool).await;
    refer(&s, true).await;
    let settings = deployment().referrals;
    let now = chrono::Utc::now();
    let in_days = |d: i64| now + chrono::Duration::days(d);
    // Fresh referrals are in no queue.
    assert!(counts(&pool, &settings, now)
        .await
        .unwrap()
        .iter()
        .all(|(_, n)| *n == 0));
    // A week later they wait at the partner: queue 1, and one reminder digest for the organization.
    // At noon in Kentucky, so that an hour later is the same day there whenever the test runs.
    let zone = app::metrics::deployment_zone(&deployment());
    let later = in_days(settings.stale_after_days as i64 + 1)
        .with_timezone(&zone)
        .date_naive()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_local_timezone(zone)
        .unwrap()
        .with_timezone(&chrono::Utc);
    assert_eq!(
        queue(&pool, Queue::StalePartner, &settings, later)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        send_reminders(&pool, &settings, "http://x", zone, later)
            .await
            .unwrap(),
        Some(1)
    );
    let digests: Vec<String> =
        sqlx::query_scalar("SELECT body FROM outbox WHERE subject LIKE '%referrals waiting%'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        digests.len(),
        2,
        "one digest to each of the organization's two people"
    );
    assert!(digests.iter().all(|b| !b.contains("Maria")));
    // The job is not due again for an hour; when it is, the same day sends nothing new.
    assert_eq!(
        send_reminders(&pool, &settings, "http://x", zone, later)
            .await
            .unwrap(),
        None
    );
    let hour_later = later + chrono::Duration::minutes(61);
    assert_eq!(
        send_reminders(&pool, &settings, "http://x", zone, hour_later)
            .await
            .unwrap(),
        Some(0)
    );

    // A referral to an organization that never onboarded: queue 2 after two weeks, closed by
    // a specialist, recorded as closed by United Way.
    sqlx::query("UPDATE partner_organizations SET onboarded_at = NULL WHERE organization_id = $1")
        .bind(s.to_org)
        .execute(&pool)
        .await
        .unwrap();
    let two_weeks = in_days(settings.not_onboarded_close_after_days as i64 + 1);
    let waiting = queue(&pool, Queue::NotOnboarded, &settings, two_weeks)
        .await
        .unwrap();
    assert_eq!(waiting.len(), 2);
    let (_, email, secret) = person(&pool, Role::ReferralSpecialist, None, true).await;
    let specialist = browser();
    assert_eq!(
        s.app.sign_in(&specialist, &email, &secret).await,
        "/united-way/referrals"
    );
    let (id, version) = referral_ids(&pool).await[0];
    // The receiving organization (no longer onboarded) cannot work it; the specialist can.
    assert!(act(&s, &s.receiver, id, version, &[("action", "accept")])
        .await
        .ends_with("error=denied"));
    let done = act(
        &s,
        &specialist,
        id,
        version,
        &[
            ("action", "close_not_provided"),
            ("reason", "unable_to_reach"),
        ],
    )
    .await;
    assert!(done.ends_with("done=close_not_provided"), "{done}");
    let by_uw: bool =
        sqlx::query_scalar("SELECT closed_by_united_way FROM referrals WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(by_uw);

    // Resident follow-up: closed as provided two weeks ago, until the outreach is logged.
    let (other, v) = referral_ids(&pool).await[1];
    act(&s, &specialist, other, v, &[("action", "close_provided")]).await;
    // Outreach is logged only for referrals in the queue now: not yet...
    let early = s
        .app
        .post_form(
            &specialist,
            "/fn/log_outreach",
            &[
                ("referral_id", &other.to_string()),
                ("queue", "resident_follow_up"),
                ("method", "phone"),
                ("result", "Too early"),
            ],
        )
        .await;
    assert!(
        location(&early).ends_with("error=not_found"),
        "{}",
        location(&early)
    );
    // ...and once it closed two weeks ago (the server's clock is the real one: move the closing).
    sqlx::query(
        "UPDATE referrals SET closed_at = closed_at - make_interval(days => $2) WHERE id = $1",
    )
    .bind(other)
    .bind(settings.follow_up_after_days as i32 + 1)
    .execute(&pool)
    .await
    .unwrap();
    let follow = in_days(settings.follow_up_after_days as i64 + 1);
    assert_eq!(
        queue(&pool, Queue::ResidentFollowUp, &settings, follow)
            .await
            .unwrap()
            .len(),
        1
    );
    let r = s
        .app
        .post_form(
            &specialist,
            "/fn/log_outreach",
            &[
                ("referral_id", &other.to_string()),
                ("queue", "resident_follow_up"),
                ("method", "phone"),
                ("result", "Need met, has formula"),
            ],
        )
        .await;
    assert!(location(&r).contains("done=1"), "{}", location(&r));
    assert_eq!(
        queue(&pool, Queue::ResidentFollowUp, &settings, follow)
            .await
            .unwrap()
            .len(),
        0
    );
    // The queue page itself renders for the specialist.
    assert_eq!(
        s.app
            .get_with(&specialist, "/united-way/referrals?queue=not_onboarded")
            .await
            .status()
            .as_u16(),
        200
    );
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn frequently_paired_comes_from_referrals_once_enough_residents_share_a_pair(pool: PgPool) {
    use app::directory::store::{program_page, ProgramKey};
    use app::referrals::support::refresh_pairs;
    let s = scene(&pool).await;
    let first = s.programs[0];
    for i in 0..3 {
        refer(&s, true).await;
        let now = chrono::Utc::now();
        sqlx::query("UPDATE jobs SET run_after = $1 WHERE name = 'paired_services'")
            .bind(now)
            .execute(&pool)
            .await
            .unwrap();
        refresh_pairs(&pool, now).await.unwrap();
        let page = program_page(&pool, ProgramKey::Id(first), 3).await.unwrap();
        // Below three residents nothing shows; at three, the other program does.
        assert_eq!(
            page.paired_by_referrals.len(),
            usize::from(i == 2),
            "after {} residents",
            i + 1
        );
    }
    let page = program_page(&pool, ProgramKey::Id(first), 3).await.unwrap();
    let service_of = |id: Uuid| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, Uuid>(
                "SELECT service_id FROM service_at_locations WHERE id = $1",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(
        service_of(page.paired_by_referrals[0].id).await,
        service_of(s.programs[1]).await
    );
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_server_killed_while_creating_a_referral_leaves_nothing_half_written(pool: PgPool) {
    load_small_demo(&pool).await;
    let from_org = partner_organization(&pool, "nonprofit").await;
    let to_org = receiving_partner(&pool).await;
    let program = programs_of(&pool, to_org, 1).await[0];
    let (_, email, secret) = person(&pool, Role::PartnerStaff, Some(from_org), true).await;

    // The real server binary, on its own port, with a name we can find in pg_stat_activity.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // `serve` runs as the runtime role, as in production (it refuses a superuser).
    let url = url_as(&pool, runtime_role(&pool).await, "killed-referral");
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("serve")
        .current_dir(root)
        .env("DATABASE_URL", url)
        .env_remove("WRAPAROUND_OWNER_URL")
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LEPTOS_OUTPUT_NAME", "wraparound")
        .env("LEPTOS_SITE_ROOT", "target/site")
        .env("WRAPAROUND_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env_remove("WRAPAROUND_SMTP_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let app = TestApp {
        base: format!("http://127.0.0.1:{port}"),
        client: browser(),
        pool: pool.clone(),
    };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let partner = browser();
    assert_eq!(app.sign_in(&partner, &email, &secret).await, "/partner");
    app.post_form(
        &partner,
        "/fn/add_to_referral",
        &[("program_id", &program.to_string())],
    )
    .await;

    // Hold the audit trail's lock: the referral's transaction writes its rows, then waits there.
    let mut blocker = pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(7220431)")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let sending = {
        let partner = partner.clone();
        let base = app.base.clone();
        tokio::spawn(async move {
            partner
                .post(format!("{base}/fn/send_referrals"))
                .header("Origin", &base)
                .form(&[
                    ("name", "Maria Lopez"),
                    ("phone", "502-555-0188"),
                    ("preferred_contact", "phone"),
                    ("needs[0]", "baby-formula"),
                    ("consent", "yes"),
                ])
                .send()
                .await
        })
    };
    let waiting = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'killed-referral'
                   AND wait_event_type = 'Lock' AND state = 'active'";
    let started = std::time::Instant::now();
    loop {
        let n: i64 = sqlx::query_scalar(waiting).fetch_one(&pool).await.unwrap();
        if n > 0 {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 30,
            "the referral never reached the audit write"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Mid-write: the server dies.
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    assert!(
        sending.await.unwrap().is_err(),
        "the request died with the server"
    );
    sqlx::query("SELECT pg_advisory_unlock(7220431)")
        .execute(&mut *blocker)
        .await
        .unwrap();
    drop(blocker);
    until_backends_are_gone(&pool, "killed-referral").await;
    for table in [
        "residents",
        "referrals",
        "referral_events",
        "consent_events",
    ] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(n, 0, "{table} holds half a referral");
    }
    let mails: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE subject LIKE 'New referral%'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(mails, 0, "no e-mail about a referral that does not exist");
}

/// What the sending organization's page shows of the resident (the referral page).
async fn sender_sees_full_profile(s: &Scene, referral: Uuid) -> bool {
    let page = s
        .app
        .get_with(&s.sender, &format!("/referrals/{referral}"))
        .await
        .text()
        .await
        .unwrap();
    page.contains("1994-03-12") || page.contains("Lopez")
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn access_comes_from_the_consent_ledger_alone(pool: PgPool) {
    let s = scene(&pool).await;
    // Without consent, having created the record and sent the referral grants nothing.
    refer(&s, false).await;
    let (first, _) = referral_ids(&pool).await[0];
    assert!(!sender_sees_full_profile(&s, first).await);
    let consents: i64 = sqlx::query_scalar("SELECT count(*) FROM consent_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(consents, 0);

    // With pre-consent, the sender's own consent is recorded too: both sides see the profile...
    let landed = refer(&s, true).await;
    let batch: Uuid = landed
        .trim_end_matches("?sent=1")
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let (second, resident): (Uuid, Uuid) = sqlx::query_as(
        "SELECT id, resident_id FROM referrals WHERE batch_id = $1 ORDER BY id LIMIT 1",
    )
    .bind(batch)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(sender_sees_full_profile(&s, second).await);
    // ...until the resident revokes it: the next request sees only the first name.
    let grant = |granted: bool| {
        sqlx::query(
            "INSERT INTO consent_events (resident_id, organization_id, granted, scope, channel, text_version)
             SELECT resident_id, organization_id, $2, 'profile', 'self', '2026-12'
               FROM consent_events WHERE resident_id = $1 GROUP BY 1, 2",
        )
        .bind(resident)
        .bind(granted)
        .execute(&pool)
    };
    grant(false).await.unwrap();
    assert!(!sender_sees_full_profile(&s, second).await);
    let limited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'resident.open' AND subject = $1
            AND details->>'shown' = 'first name and contact'",
    )
    .bind(format!("resident:{resident}"))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(limited > 0, "the limited look is audited as such");

    // An organization holding consent cannot pass the resident on with "pre-consent": ticking
    // it for someone it found is recorded for nobody.
    grant(true).await.unwrap();
    let third_org = receiving_partner(&pool).await;
    let third_program = programs_of(&pool, third_org, 1).await[0];
    s.app
        .post_form(
            &s.sender,
            "/fn/add_to_referral",
            &[("program_id", &third_program.to_string())],
        )
        .await;
    let r = s
        .app
        .post_form(
            &s.sender,
            "/fn/send_referrals",
            &[
                ("resident_id", &resident.to_string()),
                ("needs[0]", "baby-formula"),
                ("consent", "yes"),
            ],
        )
        .await;
    assert!(
        location(&r).starts_with("/referrals/batch/"),
        "{}",
        location(&r)
    );
    let third_consent: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM consent_events WHERE resident_id = $1 AND organization_id = $2",
    )
    .bind(resident)
    .bind(third_org)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(third_consent, 0);
    // A resident this organization has neither consent for nor a referral with cannot be picked.
    let stranger: Uuid = sqlx::query_scalar(
        "INSERT INTO residents (name, phone, preferred_contact) VALUES ('Stranger Person', '(502) 555-0177', 'phone') RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    s.app
        .post_form(
            &s.sender,
            "/fn/add_to_referral",
            &[("program_id", &third_program.to_string())],
        )
        .await;
    let r = s
        .app
        .post_form(
            &s.sender,
            "/fn/send_referrals",
            &[
                ("resident_id", &stranger.to_string()),
                ("needs[0]", "baby-formula"),
            ],
        )
        .await;
    assert!(location(&r).ends_with("error=denied"), "{}", location(&r));
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_double_submitted_referral_is_sent_once(pool: PgPool) {
    let s = scene(&pool).await;
    for p in &s.programs {
        s.app
            .post_form(
                &s.sender,
                "/fn/add_to_referral",
                &[("program_id", &p.to_string())],
            )
            .await;
    }
    let key = app::idempotency::new_key();
    let form = [
        ("name", "Maria Lopez"),
        ("phone", "502-555-0188"),
        ("preferred_contact", "text"),
        ("needs[0]", "baby-formula"),
        ("needs[1]", "childcare-centers"),
        ("idempotency_key", key.as_str()),
    ];
    let (a, b) = tokio::join!(
        s.app.post_form(&s.sender, "/fn/send_referrals", &form),
        s.app.post_form(&s.sender, "/fn/send_referrals", &form),
    );
    let (a, b) = (location(&a), location(&b));
    let batches: i64 = sqlx::query_scalar("SELECT count(DISTINCT batch_id) FROM referrals")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(batches, 1, "{a} {b}");
    let residents: i64 = sqlx::query_scalar("SELECT count(*) FROM residents")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(residents, 1);
    // Whichever came second went where the first went (or found the basket already sent).
    assert!(
        a.starts_with("/referrals/batch/") || b.starts_with("/referrals/batch/"),
        "{a} {b}"
    );
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn bad_arguments_and_long_text_are_field_errors_that_store_nothing(pool: PgPool) {
    let s = scene(&pool).await;
    refer(&s, true).await;
    let (id, version) = referral_ids(&pool).await[0];
    let back = format!("/referrals/{id}");
    // A version that is not a number: back to the page, stale, not "/" with an internal message.
    let r = s
        .app
        .post_form(
            &s.receiver,
            "/fn/update_referral",
            &[
                ("referral_id", &id.to_string()),
                ("version", "abc"),
                ("action", "accept"),
            ],
        )
        .await;
    assert_eq!(location(&r), format!("{back}?error=stale"));
    let events_before: i64 = sqlx::query_scalar("SELECT count(*) FROM referral_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    let long = "a".repeat(app::text::limits::NOTE + 1);
    let r = s
        .app
        .post_form(
            &s.receiver,
            "/fn/add_referral_note",
            &[("referral_id", &id.to_string()), ("note", &long)],
        )
        .await;
    assert_eq!(location(&r), format!("{back}?error=too_long"));
    let r = s
        .app
        .post_form(
            &s.receiver,
            "/fn/update_referral",
            &[
                ("referral_id", &id.to_string()),
                ("version", &version.to_string()),
                ("action", "decline"),
                ("reason", &"r".repeat(5000)),
            ],
        )
        .await;
    assert_eq!(location(&r), format!("{back}?error=too_long"));
    let events_after: i64 = sqlx::query_scalar("SELECT count(*) FROM referral_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(events_before, events_after);
}
