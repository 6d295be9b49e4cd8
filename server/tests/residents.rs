//! Residents over HTTP against Postgres: one record across partners (possible matches shown as
//! glimpses), consent asked by text with a one-time link and code, the detail screen with and
//! without consent, households and append-only notes, sealed sensitive needs, revocation on the
//! next request, linking a resident's account by code, My Plan, self-referrals, merges, and the
//! consent matrix: every resident route for every role in every consent state, with its audit
//! entry counted.

mod common;

use app::policy::Role;
use common::*;
use sqlx::PgPool;
use uuid::Uuid;

const AMY_PHONE: &str = "270-555-0142";

struct Partner {
    org: Uuid,
    user: Uuid,
    client: reqwest::Client,
}

async fn partner_in(pool: &PgPool, app: &TestApp, org: Uuid, role: Role) -> Partner {
    let (user, email, secret) = person(pool, role, Some(org), true).await;
    let client = browser();
    assert_eq!(app.sign_in(&client, &email, &secret).await, "/partner");
    Partner { org, user, client }
}

async fn partner(pool: &PgPool, app: &TestApp) -> Partner {
    let org = partner_organization(pool, "nonprofit").await;
    partner_in(pool, app, org, Role::PartnerStaff).await
}

async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let r = app.get_with(client, path).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

/// "Add a resident": Amy Brand, texted, with consent given in person when `consent`.
async fn add_amy(app: &TestApp, p: &Partner, consent: bool, confirm_new: bool) -> String {
    let mut form = vec![
        ("name", "Amy Brand"),
        ("date_of_birth", "1990-04-02"),
        ("phone", AMY_PHONE),
        ("preferred_contact", "text"),
        ("preferred_language", "en"),
        ("address", "12 Elm St, Bowling Green, KY 42101"),
    ];
    if consent {
        form.push(("consent", "yes"));
    }
    if confirm_new {
        form.push(("confirm_new", "yes"));
    }
    location(&app.post_form(&p.client, "/fn/create_resident", &form).await)
}

fn id_in(location: &str) -> Uuid {
    location
        .trim_start_matches("/residents/")
        .split(['?', '#'])
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("no resident in {location}"))
}

async fn texts(pool: &PgPool) -> Vec<(String, String, Option<String>)> {
    sqlx::query_as(
        "SELECT to_address, body, secret FROM outbox WHERE channel = 'sms' ORDER BY created_at, id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn opens_of(pool: &PgPool, resident: Uuid) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'resident.open' AND subject = $1",
    )
    .bind(format!("resident:{resident}"))
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn grant(pool: &PgPool, resident: Uuid, org: Uuid, scope: &str, granted: bool) {
    sqlx::query(
        "INSERT INTO consent_events (resident_id, organization_id, granted, scope, channel, text_version)
         VALUES ($1, $2, $3, $4, 'in_person', '2026-12')",
    )
    .bind(resident)
    .bind(org)
    .bind(granted)
    .bind(scope)
    .execute(pool)
    .await
    .unwrap();
}

async fn resident(pool: &PgPool, name: &str, phone: &str) -> Uuid {
    sqlx::query_scalar(
        "INSERT INTO residents (name, date_of_birth, phone, preferred_contact) VALUES ($1, '1988-07-14', $2, 'text') RETURNING id",
    )
    .bind(name)
    .bind(phone)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// A referral straight into the tables (the referral flow has its own tests): from `from`'s
/// user to a program of `to`, for `need`.
async fn referral(pool: &PgPool, resident: Uuid, from: &Partner, to: Uuid, need: &str) -> Uuid {
    let program = programs_of(pool, to, 1).await[0];
    sqlx::query_scalar(
        "INSERT INTO referrals (batch_id, resident_id, from_organization, from_user, service_id, program_id, to_organization, need)
         SELECT gen_random_uuid(), $1, $2, $3, sal.service_id, sal.id, $4, $5 FROM service_at_locations sal WHERE sal.id = $6
         RETURNING id",
    )
    .bind(resident)
    .bind(from.org)
    .bind(from.user)
    .bind(to)
    .bind(need)
    .bind(program)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn one_record_across_partners_and_others_see_only_a_glimpse(pool: PgPool) {
    load_small_demo(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let (a, b) = (partner(&pool, &app).await, partner(&pool, &app).await);
    // Nobody yet: the first partner adds Amy (she agrees in person).
    let landed = add_amy(&app, &a, true, false).await;
    assert!(landed.ends_with("?done=created"), "{landed}");
    let amy = id_in(&landed);
    let (status, body) = page(&app, &a.client, &format!("/residents/{amy}")).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("Amy Brand")
            && body.contains("Apr 2, 1990")
            && body.contains("has consent since")
    );
    // The second partner searches her phone: a possible match, not her record.
    let searches = audited(&pool, "resident.search").await.len();
    let (_, found) = page(&app, &b.client, "/residents?q=270-555-0142").await;
    assert!(
        found.contains("Amy B., born 1990") && found.contains("Same phone number"),
        "{found}"
    );
    assert!(!found.contains("Brand") && !found.contains("Elm St"));
    assert_eq!(
        audited(&pool, "resident.search").await.len(),
        searches + 1,
        "one search, one entry"
    );
    // Adding her again is stopped with the matches shown; going on anyway is a choice.
    let again = add_amy(&app, &b, false, false).await;
    assert!(
        again.starts_with("/residents/new?error=possible_match"),
        "{again}"
    );
    let (_, form) = page(&app, &b.client, "/residents/new").await;
    assert!(
        form.contains("Amy B., born 1990") && form.contains("value=\"Amy Brand\""),
        "kept and shown"
    );
    let residents: i64 = sqlx::query_scalar("SELECT count(*) FROM residents")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(residents, 1);
    let second = add_amy(&app, &b, false, true).await;
    assert!(second.ends_with("?done=created"), "{second}");
    // Her own partner finds her in full. The second made a record without her consent: it
    // sees what helping needs (her first name, how to reach her) and a way to ask; the first
    // record stays closed to it.
    let (_, mine) = page(&app, &a.client, "/residents?q=Amy%20Brand").await;
    assert!(mine.contains("Amy Brand"));
    let (status, limited) = page(&app, &b.client, &format!("/residents/{}", id_in(&second))).await;
    assert_eq!(status, 200);
    assert!(!limited.contains("Brand") && limited.contains("Send a consent request"));
    let (status, refused) = page(&app, &b.client, &format!("/residents/{amy}")).await;
    assert_eq!(status, 403);
    assert!(!refused.contains("Brand"));
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn consent_asked_by_text_is_given_with_a_code_from_the_link(pool: PgPool) {
    load_small_demo(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let (a, b) = (partner(&pool, &app).await, partner(&pool, &app).await);
    let amy = id_in(&add_amy(&app, &a, true, false).await);
    // The second partner found her as a possible match and asks her by text.
    let r = app
        .post_form(
            &b.client,
            "/fn/request_consent",
            &[("resident_id", &amy.to_string()), ("channel", "link")],
        )
        .await;
    assert_eq!(
        location(&r),
        format!("/residents/{amy}?done=consent_requested#consent")
    );
    let sent = texts(&pool).await;
    let (to, body, link) = sent.last().unwrap().clone();
    assert_eq!(to, "+12705550142");
    assert!(
        body.contains("asks to see your profile") && body.contains("[[secret link]]"),
        "{body}"
    );
    let link = link.expect("the link is kept apart");
    let token = link.rsplit('/').next().unwrap().to_string();
    assert!(
        !body.contains(&token),
        "the token is never in the stored body"
    );
    // Amy opens it without an account: the text in her language, and no answer without a code.
    let amy_phone = browser();
    let (status, page_body) = page(&app, &amy_phone, &format!("/consent/{token}")).await;
    assert_eq!(status, 200);
    let b_name: String =
        sqlx::query_scalar("SELECT replace(name, '&', '&amp;') FROM organizations WHERE id = $1")
            .bind(b.org)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        page_body.contains(&format!("{b_name} asks to see your profile")),
        "{page_body}"
    );
    let r = app
        .post_form(
            &amy_phone,
            "/fn/answer_consent",
            &[("token", &token), ("answer", "yes")],
        )
        .await;
    assert!(
        location(&r).contains("error=missing_fields"),
        "{}",
        location(&r)
    );
    app.post_form(&amy_phone, "/fn/send_consent_code", &[("token", &token)])
        .await;
    let code = texts(&pool)
        .await
        .last()
        .unwrap()
        .2
        .clone()
        .expect("the code is kept apart");
    assert_eq!(code.len(), 6);
    // Asking again at once is refused; a wrong code counts against the request.
    let r = app
        .post_form(&amy_phone, "/fn/send_consent_code", &[("token", &token)])
        .await;
    assert!(location(&r).contains("error=too_soon"), "{}", location(&r));
    let r = app
        .post_form(
            &amy_phone,
            "/fn/answer_consent",
            &[("token", &token), ("answer", "yes"), ("code", "000000")],
        )
        .await;
    let wrong = if code == "000000" {
        "done=granted"
    } else {
        "error=wrong_code"
    };
    assert!(location(&r).contains(wrong), "{}", location(&r));
    if code != "000000" {
        let r = app
            .post_form(
                &amy_phone,
                "/fn/answer_consent",
                &[("token", &token), ("answer", "yes"), ("code", &code)],
            )
            .await;
        assert!(location(&r).ends_with("?done=granted"), "{}", location(&r));
    }
    // The ledger has her word, by text, with no partner recording it; the partner sees her now.
    let (channel, recorded_by, version): (String, Option<Uuid>, String) = sqlx::query_as(
        "SELECT channel, recorded_by, text_version FROM consent_events WHERE resident_id = $1 AND organization_id = $2",
    )
    .bind(amy)
    .bind(b.org)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (channel.as_str(), recorded_by, version.as_str()),
        ("text", None, "2026-12")
    );
    let (status, screen) = page(&app, &b.client, &format!("/residents/{amy}")).await;
    assert_eq!(status, 200);
    assert!(screen.contains("Amy Brand"));
    // The link is spent.
    let (_, spent) = page(&app, &amy_phone, &format!("/consent/{token}")).await;
    assert!(spent.contains("already answered"));
    // A number that replied STOP gets no request; the partner is told why.
    let phone = app::contact::Phone::parse(AMY_PHONE).unwrap();
    app::sms::record_reply(&pool, &phone, "STOP", None)
        .await
        .unwrap();
    let c = partner(&pool, &app).await;
    let r = app
        .post_form(
            &c.client,
            "/fn/request_consent",
            &[("resident_id", &amy.to_string()), ("channel", "link")],
        )
        .await;
    assert!(location(&r).contains("error=opted_out"), "{}", location(&r));
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_detail_screen_household_notes_and_sealed_needs(pool: PgPool) {
    load_small_demo(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let a = partner(&pool, &app).await;
    let b_org = receiving_partner(&pool).await;
    let b = partner_in(&pool, &app, b_org, Role::PartnerStaff).await;
    let amy = id_in(&add_amy(&app, &a, true, false).await);
    // A referral from the first partner for counseling (a sensitive need) to the second.
    referral(&pool, amy, &a, b_org, "counseling").await;
    // The receiver without consent: the limited view — her first name, how to reach her.
    let (status, limited) = page(&app, &b.client, &format!("/residents/{amy}")).await;
    assert_eq!(status, 200);
    assert!(limited.contains("Amy") && !limited.contains("Brand") && !shows_amys_birth(&limited));
    assert!(limited.contains("sms:+12705550142"));
    // The sender with consent: household and notes.
    let id = amy.to_string();
    let r = app
        .post_form(
            &a.client,
            "/fn/add_household_member",
            &[
                ("resident_id", &id),
                ("name", "Jordan Brand"),
                ("relationship", "son"),
                ("date_of_birth", "2016-09-01"),
            ],
        )
        .await;
    assert!(location(&r).contains("done=household"), "{}", location(&r));
    let member: Uuid = sqlx::query_scalar("SELECT id FROM household_members")
        .fetch_one(&pool)
        .await
        .unwrap();
    app.post_form(
        &a.client,
        "/fn/remove_household_member",
        &[("resident_id", &id), ("member_id", &member.to_string())],
    )
    .await;
    let removed: bool = sqlx::query_scalar("SELECT removed_at IS NOT NULL FROM household_members")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(removed, "removing is recorded, the row stays");
    let key = app::idempotency::new_key();
    for _ in 0..2 {
        let r = app
            .post_form(
                &a.client,
                "/fn/add_resident_note",
                &[
                    ("resident_id", &id),
                    ("kind", "phone"),
                    ("body", "Called about formula; she will come Tuesday."),
                    ("shared", "yes"),
                    ("idempotency_key", &key),
                ],
            )
            .await;
        assert!(location(&r).contains("done=note"), "{}", location(&r));
    }
    app.post_form(
        &a.client,
        "/fn/add_resident_note",
        &[
            ("resident_id", &id),
            ("kind", "note"),
            ("body", "Private to us."),
        ],
    )
    .await;
    let notes: i64 = sqlx::query_scalar("SELECT count(*) FROM resident_notes")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(notes, 2, "a double submission is one note");
    // Notes are never edited: the table refuses it; a correction is a new note.
    assert!(sqlx::query("UPDATE resident_notes SET body = 'changed'")
        .execute(&pool)
        .await
        .is_err());
    let first: Uuid = sqlx::query_scalar("SELECT id FROM resident_notes WHERE shared")
        .fetch_one(&pool)
        .await
        .unwrap();
    app.post_form(
        &a.client,
        "/fn/add_resident_note",
        &[
            ("resident_id", &id),
            ("kind", "phone"),
            ("body", "She will come Wednesday, not Tuesday."),
            ("corrects", &first.to_string()),
        ],
    )
    .await;
    let (_, screen) = page(&app, &a.client, &format!("/residents/{amy}")).await;
    assert!(screen.contains("Corrects an earlier note") && screen.contains("Private to us."));
    assert!(
        screen.contains("Counseling"),
        "the sending organization knows the need it referred"
    );
    // A third partner with consent to the profile: the shared note, not the private one, and
    // the counseling referral sealed.
    let c = partner(&pool, &app).await;
    grant(&pool, amy, c.org, "profile", true).await;
    let (_, third) = page(&app, &c.client, &format!("/residents/{amy}")).await;
    assert!(third.contains("Called about formula") && !third.contains("Private to us."));
    assert!(
        third.contains("Sealed (sensitive need)") && !third.contains("Counseling"),
        "sealed"
    );
    assert!(
        !third.contains("Elm St") || third.contains("12 Elm St"),
        "address shown when not at risk"
    );
    // Breaking the seal needs consent to sensitive needs...
    let r = app
        .post_form(
            &c.client,
            "/fn/break_seal",
            &[("resident_id", &id), ("reason", "Coordinating care")],
        )
        .await;
    assert!(
        location(&r).contains("error=no_consent"),
        "{}",
        location(&r)
    );
    // ...and with it, a reason the resident will see.
    grant(&pool, amy, c.org, "sensitive", true).await;
    let r = app
        .post_form(
            &c.client,
            "/fn/break_seal",
            &[("resident_id", &id), ("reason", "Coordinating care")],
        )
        .await;
    assert!(location(&r).contains("done=seal"), "{}", location(&r));
    let (_, open) = page(&app, &c.client, &format!("/residents/{amy}")).await;
    assert!(open.contains("Counseling") && open.contains("You opened 1 sealed need"));
    assert_eq!(audited(&pool, "seal.broken").await.len(), 1);
    // At risk: the address disappears from every partner screen and printout.
    sqlx::query("UPDATE residents SET at_risk = true")
        .execute(&pool)
        .await
        .unwrap();
    for path in [
        format!("/residents/{amy}"),
        format!("/residents/{amy}/print"),
    ] {
        let (_, body) = page(&app, &a.client, &path).await;
        assert!(!body.contains("Elm St"), "{path}");
    }
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_resident_links_by_code_sees_my_plan_and_revokes_on_the_next_request(pool: PgPool) {
    load_small_demo(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let a = partner(&pool, &app).await;
    let amy = id_in(&add_amy(&app, &a, true, false).await);
    let (_, email, secret) = person(&pool, Role::Resident, None, true).await;
    let me = browser();
    // Saved while signed out, kept when she signs in.
    let program = programs_of(&pool, receiving_partner(&pool).await, 1).await[0];
    let r = app
        .post_form(
            &me,
            "/fn/save_program",
            &[("program_id", &program.to_string())],
        )
        .await;
    assert!(location(&r).ends_with("?saved=1"), "{}", location(&r));
    let (_, signed_out) = page(&app, &me, "/my-plan").await;
    assert!(signed_out.contains("Sign in to keep my plan") && signed_out.contains("Remove"));
    assert_eq!(app.sign_in(&me, &email, &secret).await, "/my-plan");
    let saved: i64 = sqlx::query_scalar("SELECT count(*) FROM saved_programs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(saved, 1);
    // A phone that is on no record: the same answer, and nothing is sent.
    let r = app
        .post_form(&me, "/fn/start_link", &[("contact", "502-555-0999")])
        .await;
    assert_eq!(location(&r), "/my-plan/link?step=code");
    assert!(texts(&pool)
        .await
        .iter()
        .all(|(to, ..)| to != "+15025550999"));
    // Her phone: a code to it; a wrong code does not link, the right one does.
    app.post_form(&me, "/fn/start_link", &[("contact", AMY_PHONE)])
        .await;
    let code = texts(&pool).await.last().unwrap().2.clone().unwrap();
    let r = app
        .post_form(
            &me,
            "/fn/finish_link",
            &[("code", if code == "111111" { "222222" } else { "111111" })],
        )
        .await;
    assert!(location(&r).contains("error=wrong_code"));
    let r = app
        .post_form(&me, "/fn/finish_link", &[("code", &code)])
        .await;
    assert_eq!(location(&r), "/my-plan?done=linked");
    // The partner opens her record; My Plan names the organization holding consent and who
    // opened her data.
    page(&app, &a.client, &format!("/residents/{amy}")).await;
    let org_name: String =
        sqlx::query_scalar("SELECT replace(name, '&', '&amp;') FROM organizations WHERE id = $1")
            .bind(a.org)
            .fetch_one(&pool)
            .await
            .unwrap();
    let (status, plan) = page(&app, &me, "/my-plan").await;
    assert_eq!(status, 200);
    assert!(
        plan.contains("Who can see my profile")
            && plan.contains(&format!("Stop sharing with {org_name}"))
    );
    assert!(
        plan.contains("Who opened my data") && plan.contains("To help you (your record)"),
        "{plan}"
    );
    // She takes it back: on its next request that organization sees only what finishing its
    // work needs (her first name, how to reach her), and it is told.
    let r = app
        .post_form(
            &me,
            "/fn/revoke_consent",
            &[("organization_id", &a.org.to_string())],
        )
        .await;
    assert_eq!(location(&r), "/my-plan?done=revoked#consent");
    let (status, body) = page(&app, &a.client, &format!("/residents/{amy}")).await;
    assert_eq!(status, 200);
    assert!(!body.contains("Brand") && !shows_amys_birth(&body) && body.contains("Amy"));
    let told: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE subject = 'A resident took back their consent'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(told >= 1);
    let mail: String = sqlx::query_scalar(
        "SELECT body FROM outbox WHERE subject = 'A resident took back their consent' LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(!mail.contains("Amy"), "the notice says nothing about her");
    // The ledger kept both rows.
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM consent_events WHERE resident_id = $1")
            .bind(amy)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(rows, 2);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_resident_connects_to_a_program_themselves(pool: PgPool) {
    load_small_demo(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let to = receiving_partner(&pool).await;
    let receiver = partner_in(&pool, &app, to, Role::PartnerStaff).await;
    let program = programs_of(&pool, to, 1).await[0];
    let (_, email, secret) = person(&pool, Role::Resident, None, true).await;
    let me = browser();
    app.sign_in(&me, &email, &secret).await;
    // Without a record she is asked to set one up first.
    let r = app
        .post_form(
            &me,
            "/fn/connect_to_program",
            &[("program_id", &program.to_string())],
        )
        .await;
    assert!(
        location(&r).starts_with("/my-plan/link"),
        "{}",
        location(&r)
    );
    let r = app
        .post_form(
            &me,
            "/fn/create_own_record",
            &[
                ("phone", "859-555-0123"),
                ("preferred_contact", "text"),
                ("preferred_language", "es"),
            ],
        )
        .await;
    assert_eq!(location(&r), "/my-plan?done=record_created");
    for _ in 0..2 {
        let r = app
            .post_form(
                &me,
                "/fn/connect_to_program",
                &[("program_id", &program.to_string()), ("share", "yes")],
            )
            .await;
        assert_eq!(location(&r), "/my-plan?done=connected#referrals");
    }
    let (n, from_org): (i64, Option<Uuid>) =
        sqlx::query_as("SELECT count(*), max(from_organization::text)::uuid FROM referrals")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (n, from_org),
        (1, None),
        "one self-referral, no sending organization"
    );
    let (channel, recorded_by): (String, Option<Uuid>) = sqlx::query_as(
        "SELECT channel, recorded_by FROM consent_events WHERE organization_id = $1",
    )
    .bind(to)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((channel.as_str(), recorded_by), ("self", None));
    // The receiver works it like any other, and sees her (she shared her profile).
    let (_, inbox) = page(&app, &receiver.client, "/referrals/inbox").await;
    assert!(inbox.contains("The resident (self-referral)"), "{inbox}");
    let id: Uuid = sqlx::query_scalar("SELECT id FROM referrals")
        .fetch_one(&pool)
        .await
        .unwrap();
    let (status, referral_page) = page(&app, &receiver.client, &format!("/referrals/{id}")).await;
    assert_eq!(status, 200);
    assert!(
        referral_page.contains("KOG") || referral_page.contains("Test Person"),
        "her name from her account"
    );
    let (_, plan) = page(&app, &me, "/my-plan").await;
    assert!(
        plan.contains("My referrals") && plan.contains("sent by you"),
        "{plan}"
    );
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn duplicates_are_merged_after_review_and_the_merge_undone(pool: PgPool) {
    load_small_demo(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let a = partner(&pool, &app).await;
    let first = id_in(&add_amy(&app, &a, true, false).await);
    let second = resident(&pool, "Amy Brandt", AMY_PHONE).await;
    grant(&pool, second, a.org, "profile", true).await;
    let to = receiving_partner(&pool).await;
    let moved = referral(&pool, second, &a, to, "baby-formula").await;
    let (_, email, secret) = person(&pool, Role::ReferralSpecialist, None, true).await;
    let uw = browser();
    app.sign_in(&uw, &email, &secret).await;
    let (status, review) = page(&app, &uw, "/united-way/duplicates").await;
    assert_eq!(status, 200);
    assert!(
        review.contains("Amy Brand")
            && review.contains("Amy Brandt")
            && review.contains("Same phone number")
    );
    // Partners cannot merge.
    let r = app
        .post_form(
            &a.client,
            "/fn/merge_residents",
            &[
                ("first", &first.to_string()),
                ("second", &second.to_string()),
                ("keep", "first"),
                ("reason", "x"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);
    let r = app
        .post_form(
            &uw,
            "/fn/merge_residents",
            &[
                ("first", &first.to_string()),
                ("second", &second.to_string()),
                ("keep", "first"),
                ("reason", "Same phone and birth year; confirmed by phone"),
            ],
        )
        .await;
    assert_eq!(location(&r), "/united-way/duplicates?done=merged");
    let owner: Uuid = sqlx::query_scalar("SELECT resident_id FROM referrals WHERE id = $1")
        .bind(moved)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(owner, first, "the referral moved to the survivor");
    let (retired, into): (bool, Option<Uuid>) =
        sqlx::query_as("SELECT retired_at IS NOT NULL, merged_into FROM residents WHERE id = $1")
            .bind(second)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (retired, into),
        (true, Some(first)),
        "retired, never deleted"
    );
    let (_, old) = page(&app, &a.client, &format!("/residents/{second}")).await;
    assert!(old.contains("merged into another") && old.contains(&format!("/residents/{first}")));
    // Undone: everything back where it was.
    let merge: Uuid = sqlx::query_scalar("SELECT id FROM resident_merges")
        .fetch_one(&pool)
        .await
        .unwrap();
    let r = app
        .post_form(&uw, "/fn/undo_merge", &[("merge_id", &merge.to_string())])
        .await;
    assert_eq!(location(&r), "/united-way/duplicates?done=unmerged");
    let owner: Uuid = sqlx::query_scalar("SELECT resident_id FROM referrals WHERE id = $1")
        .bind(moved)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(owner, second);
    let (status, back) = page(&app, &a.client, &format!("/residents/{second}")).await;
    assert_eq!(status, 200);
    assert!(back.contains("Amy Brandt"));
    for action in ["resident.merged", "resident.unmerged"] {
        assert_eq!(audited(&pool, action).await.len(), 1, "{action}");
    }
    let r = app
        .post_form(&uw, "/fn/undo_merge", &[("merge_id", &merge.to_string())])
        .await;
    assert!(location(&r).contains("error=already_decided"));
}

/// What a partner should get on the detail screen in a consent state.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    Full,
    Limited,
    Sealed,
    Unsealed,
    Refused,
}

/// The consent matrix: each resident route (the detail screen, its printout, adding a note,
/// breaking the seal) for every role, against residents in every consent state — none,
/// granted, revoked, another organization's, a referral without consent, sensitive needs
/// sealed and unsealed — gives the view the rule says, and each request past the policy writes
/// exactly one `resident.open` entry; requests the policy refuses reach no resident data.
#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn every_resident_route_for_every_role_and_consent_state(pool: PgPool) {
    load_small_demo(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let x = partner_organization(&pool, "hospital").await;
    let y = partner(&pool, &app).await;
    let z = receiving_partner(&pool).await;
    // One resident per state, each with a surname to look for.
    let none = resident(&pool, "Nora None", "502-555-0101").await;
    let granted = resident(&pool, "Gail Granted", "502-555-0102").await;
    grant(&pool, granted, x, "profile", true).await;
    let revoked = resident(&pool, "Rita Revoked", "502-555-0103").await;
    grant(&pool, revoked, x, "profile", true).await;
    grant(&pool, revoked, x, "profile", false).await;
    let other = resident(&pool, "Omar Otherorg", "502-555-0104").await;
    grant(&pool, other, y.org, "profile", true).await;
    let referred = resident(&pool, "Rosa Referred", "502-555-0105").await;
    let sealed = resident(&pool, "Sam Sealed", "502-555-0106").await;
    grant(&pool, sealed, x, "profile", true).await;
    referral(&pool, sealed, &y, z, "counseling").await;
    let unsealed = resident(&pool, "Una Unsealed", "502-555-0107").await;
    grant(&pool, unsealed, x, "profile", true).await;
    grant(&pool, unsealed, x, "sensitive", true).await;
    referral(&pool, unsealed, &y, z, "counseling").await;
    let states = [
        (none, "None", Expect::Refused),
        (granted, "Granted", Expect::Full),
        (revoked, "Revoked", Expect::Refused),
        (other, "Otherorg", Expect::Refused),
        (referred, "Referred", Expect::Limited),
        (sealed, "Sealed", Expect::Sealed),
        (unsealed, "Unsealed", Expect::Unsealed),
    ];
    let mut people: Vec<(Role, reqwest::Client)> = vec![(Role::Anonymous, browser())];
    for role in Role::ALL.into_iter().filter(|r| *r != Role::Anonymous) {
        let (stored, onboarded) = if role == Role::Onboarding {
            (Role::PartnerStaff, false)
        } else {
            (role, true)
        };
        let (_, email, secret) =
            person(&pool, stored, stored.is_partner().then_some(x), onboarded).await;
        let client = browser();
        app.sign_in(&client, &email, &secret).await;
        people.push((role, client));
    }
    // The referral-without-consent state needs a referral to or from X: one from a user of X.
    let x_user: Uuid = sqlx::query_scalar("SELECT id FROM users WHERE organization_id = $1 AND role = 'partner_staff' AND mfa_enrolled_at IS NOT NULL LIMIT 1")
        .bind(x)
        .fetch_one(&pool)
        .await
        .unwrap();
    referral(
        &pool,
        referred,
        &Partner {
            org: x,
            user: x_user,
            client: browser(),
        },
        z,
        "baby-formula",
    )
    .await;
    let mut checked = 0;
    for (role, client) in &people {
        let partner = role.is_partner();
        for (resident, surname, expect) in states {
            let expect = if partner { expect } else { Expect::Refused };
            for path in [
                format!("/residents/{resident}"),
                format!("/residents/{resident}/print"),
            ] {
                let before = opens_of(&pool, resident).await;
                let r = app.get_with(client, &path).await;
                let status = r.status().as_u16();
                let refused_by_policy = r.headers().contains_key("x-wraparound-refused");
                let body = r.text().await.unwrap();
                let after = opens_of(&pool, resident).await;
                let what = format!("{role:?} {path} ({surname})");
                assert_eq!(
                    after - before,
                    if partner { 1 } else { 0 },
                    "one audit entry: {what} {status} {}",
                    &body[..body.len().min(2000)]
                );
                assert_eq!(refused_by_policy, !partner, "{what}");
                match expect {
                    Expect::Refused => {
                        assert_ne!(status, 200, "{what}");
                        assert!(!body.contains(surname), "{what} shows the name");
                    }
                    Expect::Limited => {
                        assert_eq!(status, 200, "{what}");
                        assert!(!body.contains(surname) && body.contains("Rosa"), "{what}");
                    }
                    Expect::Full | Expect::Sealed | Expect::Unsealed => {
                        assert_eq!(status, 200, "{what}");
                        assert!(body.contains(surname), "{what}");
                    }
                }
                if matches!(expect, Expect::Sealed | Expect::Unsealed) {
                    assert!(
                        body.contains("Sealed (sensitive need)") && !body.contains("Counseling"),
                        "{what}: sealed until opened"
                    );
                }
                checked += 1;
            }
            // Writing a note: only with the full view.
            let before = opens_of(&pool, resident).await;
            let r = app
                .post_form(
                    client,
                    "/fn/add_resident_note",
                    &[
                        ("resident_id", &resident.to_string()),
                        ("kind", "note"),
                        ("body", "matrix"),
                    ],
                )
                .await;
            let to = location(&r);
            let what = format!("{role:?} note ({surname})");
            match expect {
                Expect::Full | Expect::Sealed | Expect::Unsealed => {
                    assert!(to.contains("done=note"), "{what}: {to}")
                }
                Expect::Limited => assert!(to.contains("error=no_consent"), "{what}: {to}"),
                Expect::Refused if partner => assert!(to.contains("error=denied"), "{what}: {to}"),
                Expect::Refused => assert!(
                    matches!(r.status().as_u16(), 401 | 403),
                    "{what}: {}",
                    r.status()
                ),
            }
            assert_eq!(
                opens_of(&pool, resident).await - before,
                if partner { 1 } else { 0 },
                "{what}"
            );
            // Breaking the seal: only with consent to sensitive needs.
            let r = app
                .post_form(
                    client,
                    "/fn/break_seal",
                    &[("resident_id", &resident.to_string()), ("reason", "matrix")],
                )
                .await;
            let to = location(&r);
            match expect {
                Expect::Unsealed => {
                    assert!(to.contains("done=seal"), "{role:?} seal: {to}");
                    let (_, open) = page(&app, client, &format!("/residents/{resident}")).await;
                    assert!(
                        open.contains("Counseling"),
                        "{role:?}: open after breaking the seal"
                    );
                }
                Expect::Refused if !partner => assert!(matches!(r.status().as_u16(), 401 | 403)),
                _ => assert!(to.contains("error="), "{role:?} seal ({surname}): {to}"),
            }
            checked += 2;
            // Assessing them: only with consent (the limited view is not enough), audited.
            let before = opens_of(&pool, resident).await;
            let r = app
                .get_with(client, &format!("/residents/{resident}/assess"))
                .await;
            let (status, refused) = (
                r.status().as_u16(),
                r.headers().contains_key("x-wraparound-refused"),
            );
            let body = r.text().await.unwrap();
            let what = format!("{role:?} assess ({surname})");
            match expect {
                Expect::Full | Expect::Sealed | Expect::Unsealed => {
                    assert_eq!(status, 200, "{what}");
                    assert!(body.contains("Start an assessment with"), "{what}");
                }
                _ if partner => {
                    assert_eq!(status, 403, "{what}");
                    assert!(!body.contains(surname), "{what}");
                }
                _ => assert!(refused, "{what}"),
            }
            let r = app
                .post_form(
                    client,
                    "/fn/start_assessment",
                    &[
                        ("resident_id", &resident.to_string()),
                        ("instrument", "self-assessment"),
                    ],
                )
                .await;
            let to = location(&r);
            match expect {
                Expect::Full | Expect::Sealed | Expect::Unsealed => {
                    assert!(to.starts_with("/assessments/"), "{what}: {to}")
                }
                _ if partner => assert!(to.contains("error=no_consent"), "{what}: {to}"),
                _ => assert!(matches!(r.status().as_u16(), 303 | 401 | 403), "{what}"),
            }
            assert_eq!(
                opens_of(&pool, resident).await - before,
                if partner { 2 } else { 0 },
                "{what}"
            );
            checked += 2;
        }
    }
    assert_eq!(checked, people.len() * states.len() * 6);
    // System clients pass the same gate, each for its own purpose only, audited as themselves.
    use app::residents::{gate, Principal, Purpose, SystemClient};
    let hie = Principal::System(SystemClient::HealthExchange);
    assert!(gate::open(&pool, &hie, none, Purpose::HealthExchange)
        .await
        .unwrap()
        .is_full());
    assert!(gate::open(&pool, &hie, none, Purpose::DetailScreen)
        .await
        .is_err());
    let feed = Principal::System(SystemClient::EligibilityFeed);
    assert!(gate::open(&pool, &feed, none, Purpose::HealthExchange)
        .await
        .is_err());
    let roles: Vec<(String, String)> = sqlx::query_as(
        "SELECT actor_role, outcome FROM audit_log WHERE action = 'resident.open' AND actor_role LIKE 'system:%' ORDER BY seq",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        roles,
        vec![
            ("system:health_exchange".into(), "ok".into()),
            ("system:health_exchange".into(), "denied".into()),
            ("system:eligibility_feed".into(), "denied".into()),
        ]
    );
}

/// `make run`'s residents: Amy Brand with consent to both demo partners, her household, notes
/// and referrals (one sealed for the nonprofit), residents without consent, one at risk, a
/// duplicate pair, and Amy's account linked to her record. Seeding twice changes nothing.
#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_demo_residents_tell_the_seed_story(pool: PgPool) {
    load_small_demo(&pool).await;
    let d = deployment();
    let key = app::identity::sealed::prepare(&pool, &d).await.unwrap();
    let accounts = server::demo::accounts::seed(&pool, "uw-kentucky", key)
        .await
        .unwrap();
    let staff = |local: &str| format!("{local}@{}", server::demo::accounts::DOMAIN);
    for _ in 0..2 {
        let card = server::demo::residents::seed(
            &pool,
            &d,
            &staff("partner.staff"),
            &staff("hospital.staff"),
        )
        .await
        .unwrap();
        assert!(card.contains(server::demo::residents::RESIDENT_EMAIL));
    }
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(count("SELECT count(*) FROM residents").await, 5);
    assert_eq!(count("SELECT count(DISTINCT organization_id) FROM consent_events c JOIN residents r ON r.id = c.resident_id WHERE r.name = 'Amy Brand'").await, 2);
    assert_eq!(count("SELECT count(*) FROM household_members").await, 2);
    assert_eq!(count("SELECT count(*) FROM resident_notes").await, 2);
    assert!(count("SELECT count(*) FROM referrals r JOIN residents x ON x.id = r.resident_id WHERE x.name = 'Amy Brand'").await >= 1);
    assert_eq!(
        count("SELECT count(*) FROM users WHERE role = 'resident' AND resident_id IS NOT NULL")
            .await,
        1
    );
    assert_eq!(
        count("SELECT count(*) FROM residents WHERE at_risk").await,
        1
    );
    // The nonprofit's staff sees Amy's screen.
    let app = TestApp::spawn(pool.clone()).await;
    let pat = accounts
        .iter()
        .find(|a| a.role == Role::PartnerStaff)
        .unwrap();
    let client = browser();
    app.post_form(
        &client,
        "/fn/sign_in",
        &[
            ("email", &pat.email),
            ("password", server::demo::accounts::PASSWORD),
        ],
    )
    .await;
    let code = app::identity::mfa::code_at(&pat.totp_secret, chrono::Utc::now().timestamp() as u64);
    app.post_form(&client, "/fn/verify_sign_in_code", &[("code", &code)])
        .await;
    let amy: Uuid = sqlx::query_scalar("SELECT id FROM residents WHERE name = 'Amy Brand'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let (status, screen) = page(&app, &client, &format!("/residents/{amy}")).await;
    assert_eq!(status, 200);
    assert!(
        screen.contains("Amy Brand")
            && screen.contains("Jordan Brand")
            && screen.contains("Called Amy")
    );
}

/// Whether a page shows Amy's date of birth in any of the ways the app writes it. Looked for
/// whole: pages carry random UUIDs, which can hold "1990" by chance.
fn shows_amys_birth(page: &str) -> bool {
    ["1990-04-02", "Apr 2, 1990", "born 1990"]
        .iter()
        .any(|shown| page.contains(shown))
}
