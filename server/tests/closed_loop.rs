//! The closed loop as people live it (issue 10), over HTTP against Postgres: outcome data that
//! is true, the resident's summary, the partner's screens, forms that keep what was typed, the
//! search page's words.

mod common;

use app::policy::Role;
use common::*;
use sqlx::PgPool;
use uuid::Uuid;

struct Loop {
    app: TestApp,
    sender: reqwest::Client,
    receiver: reqwest::Client,
    from_org: Uuid,
    to_org: Uuid,
    /// A program of an organization not on Wraparound.
    outside: Uuid,
    programs: Vec<Uuid>,
}

async fn setup(pool: &PgPool) -> Loop {
    load_small_demo(pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let from_org = partner_organization(pool, "nonprofit").await;
    let to_org: Uuid = sqlx::query_scalar(
        "SELECT s.organization_id FROM services s JOIN service_at_locations sal ON sal.service_id = s.id
          WHERE s.active AND NOT EXISTS (SELECT 1 FROM partner_organizations p WHERE p.organization_id = s.organization_id)
          GROUP BY s.organization_id HAVING count(*) >= 2 ORDER BY s.organization_id LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO partner_organizations (organization_id, org_type, chapter, onboarded_at) VALUES ($1, 'nonprofit', 'uw-kentucky', now())")
        .bind(to_org)
        .execute(pool)
        .await
        .unwrap();
    let outside: Uuid = sqlx::query_scalar(
        "SELECT sal.id FROM service_at_locations sal JOIN services s ON s.id = sal.service_id
          WHERE s.active AND NOT EXISTS (SELECT 1 FROM partner_organizations p WHERE p.organization_id = s.organization_id)
            AND jsonb_array_length(coalesce(sal.phones, '[]') || s.phones) > 0
          ORDER BY sal.id LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let programs = programs_of(pool, to_org, 1).await;
    let (_, s_email, s_secret) = person(pool, Role::PartnerStaff, Some(from_org), true).await;
    let (_, r_email, r_secret) = person(pool, Role::PartnerStaff, Some(to_org), true).await;
    let (sender, receiver) = (browser(), browser());
    assert_eq!(app.sign_in(&sender, &s_email, &s_secret).await, "/partner");
    assert_eq!(
        app.sign_in(&receiver, &r_email, &r_secret).await,
        "/partner"
    );
    Loop {
        app,
        sender,
        receiver,
        from_org,
        to_org,
        outside,
        programs,
    }
}

async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let r = app.get_with(client, path).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Adds programs and sends them for a new resident; returns where the form went.
async fn send(l: &Loop, programs: &[Uuid], extra: &[(&str, &str)]) -> String {
    for p in programs {
        l.app
            .post_form(
                &l.sender,
                "/fn/add_to_referral",
                &[("program_id", &p.to_string())],
            )
            .await;
    }
    let needs: Vec<String> = (0..programs.len()).map(|i| format!("needs[{i}]")).collect();
    let mut form: Vec<(&str, &str)> = vec![
        ("name", "Maria Lopez"),
        ("date_of_birth", "1994-03-12"),
        ("phone", "502-555-0188"),
        ("preferred_contact", "text"),
        ("preferred_language", "es"),
        ("consent", "yes"),
    ];
    for n in &needs {
        form.push((n.as_str(), "baby-formula"));
    }
    form.extend_from_slice(extra);
    location(
        &l.app
            .post_form(&l.sender, "/fn/send_referrals", &form)
            .await,
    )
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_provided_closure_stores_no_not_provided_reason(pool: PgPool) {
    let l = setup(&pool).await;
    send(&l, &l.programs, &[]).await;
    let (id, version): (Uuid, i32) = sqlx::query_as("SELECT id, version FROM referrals")
        .fetch_one(&pool)
        .await
        .unwrap();
    let l = &l;
    let act = |form: Vec<(&'static str, String)>| {
        let mut all = vec![
            ("referral_id", id.to_string()),
            ("version", version.to_string()),
        ];
        all.extend(form);
        async move {
            let pairs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
            location(
                &l.app
                    .post_form(&l.receiver, "/fn/update_referral", &pairs)
                    .await,
            )
        }
    };
    // A provided closure sent with a reason (the old shared form did that) is refused...
    let refused = act(vec![
        ("action", "close_provided".into()),
        ("reason", "unable_to_reach".into()),
    ])
    .await;
    assert!(refused.ends_with("error=reason_not_allowed"), "{refused}");
    // ...and without one it is stored without one.
    let done = act(vec![("action", "close_provided".into())]).await;
    assert!(done.ends_with("done=close_provided"), "{done}");
    let (status, reason): (String, Option<String>) =
        sqlx::query_as("SELECT status, outcome_reason FROM referrals WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), reason), ("resource_provided", None));
    // The database refuses it too, whatever writes.
    let e = sqlx::query("UPDATE referrals SET outcome_reason = 'unable_to_reach' WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("referrals_provided_has_no_reason"),
        "{e}"
    );
    // The page shows the outcome alone.
    let (_, body) = page(&l.app, &l.receiver, &format!("/referrals/{id}")).await;
    assert!(body.contains("Resource provided") && !body.contains("Unable to reach"));
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn provided_closures_stored_with_a_reason_are_corrected_and_say_so(pool: PgPool) {
    // The data as the old shared form left it: the constraint is what the migration adds.
    let l = setup(&pool).await;
    send(&l, &l.programs, &[]).await;
    sqlx::query("ALTER TABLE referrals DROP CONSTRAINT referrals_provided_has_no_reason")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE referrals SET status = 'resource_provided', outcome_reason = 'unable_to_reach', closed_at = now()")
        .execute(&pool)
        .await
        .unwrap();
    let migration = include_str!("../../migrations/20261202000002_closed_loop.sql");
    let correction = &migration[..migration.find("ALTER TABLE referrals").unwrap()];
    sqlx::raw_sql(correction).execute(&pool).await.unwrap();
    let reason: Option<String> = sqlx::query_scalar("SELECT outcome_reason FROM referrals")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(reason, None);
    let history: serde_json::Value =
        sqlx::query_scalar("SELECT detail FROM referral_events WHERE kind = 'corrected'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(history["removed"], "unable_to_reach");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_residents_summary_tells_the_truth_in_their_language(pool: PgPool) {
    let l = setup(&pool).await;
    let landed = send(&l, &[l.programs[0], l.outside], &[]).await;
    assert!(
        landed.starts_with("/referrals/batch/") && landed.ends_with("?sent=1"),
        "{landed}"
    );
    let (status, body) = page(&l.app, &l.sender, &landed).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("Referral sent."),
        "the success banner after sending"
    );
    // Maria chose Spanish: the part for her is in Spanish.
    assert!(
        body.contains("Sus envíos") && body.contains("lang=\"es\""),
        "in Spanish"
    );
    // The organization on Wraparound will contact her; the one that is not has not seen it.
    assert!(body.contains("tiene su envío y se comunicará con usted por mensaje de texto"));
    assert!(body.contains("todavía no está en Wraparound"));
    assert!(
        body.contains("Not on Wraparound yet — United Way will follow up"),
        "the sender is told"
    );
    // Every program with its phone, and a print button.
    assert!(body.matches("Teléfono:").count() >= 1);
    assert!(body.contains("Print the summary"));
    // Sent to her by text, as she chose: a text in the outbox, in Spanish.
    let batch = landed
        .trim_start_matches("/referrals/batch/")
        .trim_end_matches("?sent=1");
    let r = l
        .app
        .post_form(
            &l.sender,
            "/fn/send_referral_summary",
            &[("batch_id", batch)],
        )
        .await;
    assert_eq!(
        location(&r),
        format!("/referrals/batch/{batch}?summary=text")
    );
    let (to, text): (String, String) =
        sqlx::query_as("SELECT to_address, body FROM outbox WHERE channel = 'sms'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(to, "+15025550188");
    assert!(
        text.starts_with("Hola, Maria.") && text.contains("2. "),
        "{text}"
    );
    assert_eq!(
        openings(&pool, "profile", Some("contact_resident")).await,
        1
    );
    // She replied STOP once: no text is queued, and the partner is told why.
    let phone = app::contact::Phone::parse("502-555-0188").unwrap();
    app::sms::record_reply(&pool, &phone, "STOP", None)
        .await
        .unwrap();
    let r = l
        .app
        .post_form(
            &l.sender,
            "/fn/send_referral_summary",
            &[("batch_id", batch)],
        )
        .await;
    assert!(location(&r).ends_with("summary=opted_out"));
    let texts: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE channel = 'sms'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(texts, 1);
    // A batch that is not there is a 404 with no success banner.
    let (status, body) = page(
        &l.app,
        &l.sender,
        &format!("/referrals/batch/{}?sent=1", Uuid::nil()),
    )
    .await;
    assert_eq!(status, 404);
    assert!(!body.contains("Referral sent."));
    // Someone else's batch too.
    let (status, _) = page(&l.app, &l.receiver, &landed).await;
    assert_eq!(status, 404);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn partners_see_their_work_first_and_where_referrals_cannot_be_seen(pool: PgPool) {
    let l = setup(&pool).await;
    // The program page offers "Refer" at the top; once added, it says so.
    let program = format!("/programs/{}", l.outside);
    let (_, before) = page(&l.app, &l.sender, &program).await;
    let refer_at = before
        .find("Refer someone to this program")
        .expect("refer button");
    assert!(
        refer_at < before.find("What it costs").unwrap(),
        "the main action is at the top"
    );
    l.app
        .post_form(
            &l.sender,
            "/fn/add_to_referral",
            &[("program_id", &l.outside.to_string())],
        )
        .await;
    let (_, after) = page(&l.app, &l.sender, &program).await;
    assert!(after.contains("In your referral") && after.contains("Referral (1)"));
    // The basket marks the organization that is not on Wraparound, and can remove it.
    let (_, basket) = page(&l.app, &l.sender, "/referrals/new").await;
    assert!(basket.contains("Not on Wraparound yet"));
    let r = l
        .app
        .post_form(
            &l.sender,
            "/fn/remove_from_referral",
            &[("program_id", &l.outside.to_string())],
        )
        .await;
    assert_eq!(location(&r), "/referrals/new");
    let (_, empty) = page(&l.app, &l.sender, "/referrals/new").await;
    assert!(empty.contains("Find services"), "the basket is empty again");

    // Home: the work first, then the numbers; the header has the inbox and a way out; no
    // resident banner or partner sign-in footer.
    send(&l, &l.programs, &[]).await;
    let (_, home) = page(&l.app, &l.receiver, "/partner").await;
    let work = home
        .find("Referral inbox (1 new)")
        .expect("inbox with its count");
    assert!(work < home.find("Referral dashboard").unwrap_or(usize::MAX));
    assert!(home.contains("Inbox (1 new)") && home.contains("Sign out"));
    assert!(!home.contains("No account needed") && !home.contains("Community Partner sign-in"));
    // Times are local and as people write them.
    let (_, list) = page(&l.app, &l.receiver, "/referrals/inbox").await;
    assert!(!list.contains("UTC"));
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_form_that_comes_back_keeps_what_was_typed_and_says_what_is_wrong_where(pool: PgPool) {
    let l = setup(&pool).await;
    l.app
        .post_form(
            &l.sender,
            "/fn/add_to_referral",
            &[("program_id", &l.programs[0].to_string())],
        )
        .await;
    let r = l
        .app
        .post_form(
            &l.sender,
            "/fn/send_referrals",
            &[
                ("name", "Ana Ruiz"),
                ("phone", "555-0100"),
                ("preferred_contact", "text"),
                ("note", "Needs help this week"),
                ("needs[0]", "baby-formula"),
            ],
        )
        .await;
    assert!(
        location(&r).ends_with("error=bad_phone"),
        "{}",
        location(&r)
    );
    let (_, form) = page(&l.app, &l.sender, "/referrals/new?error=bad_phone").await;
    assert!(
        form.contains("value=\"Ana Ruiz\"") && form.contains("Needs help this week"),
        "kept"
    );
    assert!(
        form.contains("id=\"phone-error\"") && form.contains("aria-invalid=\"true\""),
        "at the field"
    );
    // Shown once: the next visit is a fresh form.
    let (_, again) = page(&l.app, &l.sender, "/referrals/new").await;
    assert!(!again.contains("Ana Ruiz"));
    // Too long is its own message.
    let long = "x".repeat(201);
    let r = l
        .app
        .post_form(
            &l.sender,
            "/fn/send_referrals",
            &[
                ("name", &long),
                ("phone", "502-555-0100"),
                ("preferred_contact", "text"),
                ("needs[0]", "baby-formula"),
            ],
        )
        .await;
    assert!(location(&r).ends_with("error=too_long"), "{}", location(&r));
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_referral_page_speaks_plainly_and_offers_only_what_is_allowed(pool: PgPool) {
    let l = setup(&pool).await;
    send(&l, &l.programs, &[]).await;
    let id: Uuid = sqlx::query_scalar("SELECT id FROM referrals")
        .fetch_one(&pool)
        .await
        .unwrap();
    let (_, body) = page(&l.app, &l.receiver, &format!("/referrals/{id}?from=inbox")).await;
    assert!(
        body.contains("Text message") && body.contains("Spanish"),
        "plain words"
    );
    assert!(body.contains("sms:+15025550188") && body.contains("tel:+15025550188"));
    assert!(body.contains("Back to your inbox"));
    assert!(
        body.contains("Choose a reason"),
        "the not-provided form asks for one"
    );
    // The sender may only withdraw (with a reason and a confirmation).
    let (_, sender_view) = page(&l.app, &l.sender, &format!("/referrals/{id}")).await;
    assert!(
        sender_view.contains("Withdraw this referral")
            && !sender_view.contains("Close: resource provided")
    );
    let version: i32 = sqlx::query_scalar("SELECT version FROM referrals")
        .fetch_one(&pool)
        .await
        .unwrap();
    let r = l
        .app
        .post_form(
            &l.sender,
            "/fn/update_referral",
            &[
                ("referral_id", &id.to_string()),
                ("version", &version.to_string()),
                ("action", "cancel"),
                ("reason", "Sent by mistake"),
            ],
        )
        .await;
    assert!(
        location(&r).ends_with("error=confirm_needed"),
        "{}",
        location(&r)
    );
    let r = l
        .app
        .post_form(
            &l.sender,
            "/fn/update_referral",
            &[
                ("referral_id", &id.to_string()),
                ("version", &version.to_string()),
                ("action", "cancel"),
                ("reason", "Sent by mistake"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert!(location(&r).ends_with("done=cancel"), "{}", location(&r));
    // Withdrawn: no moves left for anyone.
    let (_, closed) = page(&l.app, &l.receiver, &format!("/referrals/{id}")).await;
    for gone in [
        "Accept",
        "Close: resource provided",
        "Withdraw this referral",
        "Record a contact",
    ] {
        assert!(
            !closed.contains(gone),
            "{gone} offered on a withdrawn referral"
        );
    }
    assert!(
        closed.contains("Withdrawn") && closed.contains("Sent by mistake"),
        "the history says why"
    );
    let _ = (l.from_org, l.to_org);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_search_page_says_which_filter_emptied_it_and_decodes_once(pool: PgPool) {
    load_small_demo(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    // A hundred-percent sign is searched as typed.
    let (_, body) = app.page("/search?q=100%2541").await;
    assert!(body.contains("100%41"), "decoded once");
    // Somali-speaking help for food near Frankfort: none in the demo. The page says which filter
    // emptied it and offers to drop it.
    let (status, body) = app
        .page("/search?q=food&near=40601&language=so&category=")
        .await;
    assert_eq!(status, 200);
    assert!(body.contains("No results in Soomaali"), "which filter");
    assert!(body.contains("in any language?"));
    // An empty category is not a filter.
    assert!(
        body.contains(">Filters (1)<"),
        "counts only filters that are set"
    );
    // The sort choice is on the page.
    let (_, results) = app.page("/search?q=food&near=40601").await;
    assert!(results.contains("id=\"sort-choice\""));
}
