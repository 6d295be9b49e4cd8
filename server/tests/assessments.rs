//! Assessments over HTTP against Postgres: the self-assessment anyone takes without an account
//! (nothing stored until they save it after signing in), the AHC screening for hospital users
//! only and with consent, indicators on the detail screen (a declined safety item is "not
//! answered", sensitive needs sealed from other organizations), double submits, answers that
//! are not choices, and merges moving assessments with the record.

mod common;

use app::policy::Role;
use common::*;
use sqlx::PgPool;
use uuid::Uuid;

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn body(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let r = app.get_with(client, path).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Posts one page of answers (`item=code` pairs) and returns where it leads.
async fn answer(
    app: &TestApp,
    client: &reqwest::Client,
    endpoint: &str,
    extra: &[(&str, &str)],
    page: &str,
    answers: &[&str],
) -> String {
    let mut form: Vec<(&str, &str)> = extra.to_vec();
    form.push(("page", page));
    for a in answers {
        form.push(("answers[]", a));
    }
    form.push(("go", "next"));
    location(&app.post_form(client, endpoint, &form).await)
}

async fn resident(pool: &PgPool, name: &str) -> Uuid {
    sqlx::query_scalar(
        "INSERT INTO residents (name, date_of_birth, phone, preferred_contact) VALUES ($1, '1988-07-14', '502-555-0199', 'text') RETURNING id",
    )
    .bind(name)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn grant(pool: &PgPool, resident: Uuid, org: Uuid, scope: &str) {
    sqlx::query(
        "INSERT INTO consent_events (resident_id, organization_id, granted, scope, channel, text_version)
         VALUES ($1, $2, true, $3, 'in_person', '2026-12')",
    )
    .bind(resident)
    .bind(org)
    .bind(scope)
    .execute(pool)
    .await
    .unwrap();
}

async fn signed_in(pool: &PgPool, app: &TestApp, role: Role, org: Option<Uuid>) -> reqwest::Client {
    let (_, email, secret) = person(pool, role, org, true).await;
    let client = browser();
    app.sign_in(&client, &email, &secret).await;
    client
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn anyone_takes_the_self_assessment_and_keeps_it_only_by_saving(pool: PgPool) {
    load_small_demo(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let me = browser();
    let (status, start) = body(&app, &me, "/assessment").await;
    assert_eq!(status, 200);
    assert!(
        start.contains("/assessment/questions/home"),
        "a plain link to start"
    );
    let sa = "/fn/answer_self_assessment";
    assert_eq!(
        answer(
            &app,
            &me,
            sa,
            &[],
            "home",
            &["self-home=worried", "self-home-problems=mold"]
        )
        .await,
        "/assessment/questions/food-bills"
    );
    // The second page shows the progress and keeps what was answered on the way back.
    let (_, second) = body(&app, &me, "/assessment/questions/food-bills").await;
    assert!(second.contains("Step 2 of 6"), "progress");
    assert_eq!(
        answer(
            &app,
            &me,
            sa,
            &[],
            "food-bills",
            &[
                "self-food-worry=sometimes",
                "self-food-ran-out=never",
                "self-utilities=no",
                "self-money=LA30122-8"
            ]
        )
        .await,
        "/assessment/questions/rides-work"
    );
    let back = location(
        &app.post_form(&me, sa, &[("page", "rides-work"), ("go", "back")])
            .await,
    );
    assert_eq!(back, "/assessment/questions/food-bills");
    let (_, again) = body(&app, &me, "/assessment/questions/food-bills").await;
    let at = again
        .find(r#"value="self-food-worry=sometimes""#)
        .expect("the option");
    assert!(
        again[at..at + 60].contains("checked"),
        "kept on the way back"
    );
    for (page, answers) in [
        (
            "food-bills",
            vec![
                "self-food-worry=sometimes",
                "self-food-ran-out=never",
                "self-utilities=no",
                "self-money=LA30122-8",
            ],
        ),
        (
            "rides-work",
            vec!["self-rides=yes", "self-work=no", "self-school=no"],
        ),
        ("family", vec!["self-kids=no", "self-lonely=rarely"]),
        (
            "health",
            vec!["self-insurance=yes", "self-care=yes", "self-stress=no"],
        ),
    ] {
        answer(&app, &me, sa, &[], page, &answers).await;
    }
    // A declined safety question: not answered, never "no".
    assert_eq!(
        answer(
            &app,
            &me,
            sa,
            &[],
            "safety",
            &["self-hurt=LA30122-8", "self-afraid=no"]
        )
        .await,
        "/assessment/results"
    );
    let (status, results) = body(&app, &me, "/assessment/results?near=42101").await;
    assert_eq!(status, 200);
    for need in ["Food", "Transportation"] {
        assert!(results.contains(need), "{need} in the needs");
    }
    assert!(
        results.contains("Programs near you") && results.contains("/programs/"),
        "programs near the ZIP"
    );
    assert!(
        results.contains("chose not to answer"),
        "declined said as such"
    );
    let (_, bad_zip) = body(&app, &me, "/assessment/results?near=abc").await;
    assert!(
        bad_zip.contains("5-digit ZIP"),
        "a clear error for a bad ZIP: {}",
        &bad_zip[bad_zip.find("<main").unwrap_or(0)..]
    );
    // Nothing is stored for someone who did not save.
    assert_eq!(count(&pool, "assessments").await, 0);
    assert_eq!(count(&pool, "sdoh_indicators").await, 0);
    // Saving asks them to sign in; the answers wait in the session and are kept after it.
    let to = location(&app.post_form(&me, "/fn/save_self_assessment", &[]).await);
    assert_eq!(to, "/sign-in?next=/assessment/results");
    let (_, email, secret) = person(&pool, Role::Resident, None, true).await;
    app.sign_in(&me, &email, &secret).await;
    let (_, results) = body(&app, &me, "/assessment/results").await;
    assert!(results.contains("Save to My Plan"));
    let to = location(&app.post_form(&me, "/fn/save_self_assessment", &[]).await);
    assert_eq!(to, "/my-plan?done=assessment_saved");
    let (instrument, status, resident): (String, String, Option<Uuid>) =
        sqlx::query_as("SELECT instrument, status, resident_id FROM assessments")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (instrument.as_str(), status.as_str(), resident),
        ("self-assessment", "completed", None)
    );
    let (_, plan) = body(&app, &me, "/my-plan").await;
    assert!(plan.contains("What help do you need?"), "My Plan lists it");
    // Saved once: a second press finds nothing left to save.
    let to = location(&app.post_form(&me, "/fn/save_self_assessment", &[]).await);
    assert!(to.contains("error=nothing_to_save"), "{to}");
    assert_eq!(count(&pool, "assessments").await, 1);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn answers_that_are_not_choices_are_refused_and_change_nothing(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let me = browser();
    let sa = "/fn/answer_self_assessment";
    for bad in [
        vec!["self-home=castle"],
        vec!["self-food-worry=often"],
        vec!["no-such-item=yes"],
        vec!["self-home=steady", "self-home=none"],
        vec!["self-home=LA30122-8", "self-home=steady"],
        vec!["self-home"],
    ] {
        let to = answer(&app, &me, sa, &[], "home", &bad).await;
        assert!(to.contains("error=bad_answer"), "{bad:?}: {to}");
    }
    let to = answer(&app, &me, sa, &[], "no-such-page", &[]).await;
    assert!(to.contains("error=not_found"), "{to}");
    let r = app
        .get_with(&me, "/assessment/questions/no-such-page")
        .await;
    assert_eq!(r.status().as_u16(), 404);
    let (_, results) = body(&app, &me, "/assessment/results").await;
    assert!(results.contains("not finished"), "nothing answered yet");
    assert_eq!(count(&pool, "assessments").await, 0);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn hospital_users_screen_with_ahc_after_consent_and_others_see_it_sealed(pool: PgPool) {
    load_small_demo(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let hospital = partner_organization(&pool, "hospital").await;
    let nonprofit = partner_organization(&pool, "nonprofit").await;
    let nurse = signed_in(&pool, &app, Role::HospitalStaff, Some(hospital)).await;
    let caseworker = signed_in(&pool, &app, Role::PartnerStaff, Some(nonprofit)).await;
    let amy = resident(&pool, "Amy Screened").await;
    let start = |client: &reqwest::Client, instrument: &'static str| {
        let app = &app;
        let client = client.clone();
        async move {
            location(
                &app.post_form(
                    &client,
                    "/fn/start_assessment",
                    &[
                        ("resident_id", &amy.to_string()),
                        ("instrument", instrument),
                    ],
                )
                .await,
            )
        }
    };
    // Without consent, nobody starts one.
    assert!(start(&nurse, "ahc-hrsn-core")
        .await
        .contains("error=no_consent"));
    grant(&pool, amy, hospital, "profile").await;
    grant(&pool, amy, nonprofit, "profile").await;
    // AHC is for hospital users only.
    assert!(start(&caseworker, "ahc-hrsn-core")
        .await
        .contains("error=hospital_only"));
    assert!(start(&nurse, "no-such-instrument")
        .await
        .contains("error=not_found"));
    let first = start(&nurse, "ahc-hrsn-core").await;
    assert!(
        first.starts_with("/assessments/") && first.ends_with("/living"),
        "{first}"
    );
    let id: Uuid = first.split('/').nth(2).unwrap().parse().unwrap();
    let (status, living) = body(&app, &nurse, &first).await;
    assert_eq!(status, 200);
    assert!(living.contains("Step 1 of 4"), "progress");
    let extra = [("assessment_id", id.to_string())];
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let aa = "/fn/answer_assessment";
    answer(
        &app,
        &nurse,
        aa,
        &extra,
        "living",
        &["71802-3=LA31993-1", "96778-6=LA9-3"],
    )
    .await;
    // Partial until finished, and another organization's partner cannot continue it.
    let (_, partial) = body(&app, &nurse, &format!("/assessments/{id}")).await;
    assert!(partial.contains("Partial"), "explicitly partial");
    let to = answer(
        &app,
        &caseworker,
        aa,
        &extra,
        "food",
        &["88122-7=LA28397-0"],
    )
    .await;
    assert!(to.contains("error="), "{to}");
    answer(
        &app,
        &nurse,
        aa,
        &extra,
        "food",
        &["88122-7=LA28397-0", "88123-5=LA28398-8"],
    )
    .await;
    answer(
        &app,
        &nurse,
        aa,
        &extra,
        "other-risks",
        &["93030-5=LA32-8", "96779-4=LA32-8"],
    )
    .await;
    let (_, safety) = body(&app, &nurse, &format!("/assessments/{id}/safety")).await;
    assert!(
        safety.contains("Leave this page quickly"),
        "the quick exit on safety questions"
    );
    let last = [
        "95618-5=LA6270-8",
        "95617-7=LA30122-8",
        "95616-9=LA6270-8",
        "95615-1=LA6270-8",
    ];
    let done = answer(&app, &nurse, aa, &extra, "safety", &last).await;
    assert_eq!(done, format!("/assessments/{id}?done=completed"));
    // A second press of "Finish" changes nothing.
    let again = answer(&app, &nurse, aa, &extra, "safety", &last).await;
    assert_eq!(again, done);
    let indicators: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT need, interpretation, absent_reason FROM sdoh_indicators WHERE resident_id = $1 AND superseded_at IS NULL ORDER BY need",
    )
    .bind(amy)
    .fetch_all(&pool)
    .await
    .unwrap();
    let of = |need: &str| indicators.iter().find(|i| i.0 == need).cloned().unwrap();
    assert_eq!(of("food").1, "positive");
    assert_eq!(of("housing-instability").1, "negative");
    assert_eq!(
        of("safety"),
        (
            "safety".into(),
            "not-answered".into(),
            Some("declined".into())
        )
    );
    let (status, mode, org): (String, String, Option<Uuid>) =
        sqlx::query_as("SELECT status, mode, organization_id FROM assessments WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (status.as_str(), mode.as_str(), org),
        ("completed", "hospital", Some(hospital))
    );
    // The hospital's detail screen: needs first, the declined safety item "not answered".
    let (_, screen) = body(&app, &nurse, &format!("/residents/{amy}")).await;
    assert!(screen.contains("Social needs (SDoH)") && screen.contains("Not answered"));
    assert!(
        screen.contains("Last assessment"),
        "the assessments tab says when and where from"
    );
    // Another organization sees the food need but not the sensitive one or its answers.
    let (_, theirs) = body(&app, &caseworker, &format!("/residents/{amy}")).await;
    assert!(theirs.contains("Food"));
    assert!(
        theirs.contains("sensitive need(s) found by another organization"),
        "sealed"
    );
    let (_, answers) = body(&app, &caseworker, &format!("/assessments/{id}")).await;
    assert!(
        answers.contains("Sealed: only the organization"),
        "safety answers sealed"
    );
    // Someone without consent reads nothing of it.
    let other = partner_organization(&pool, "nonprofit").await;
    let stranger = signed_in(&pool, &app, Role::PartnerStaff, Some(other)).await;
    let (status, refused) = body(&app, &stranger, &format!("/assessments/{id}")).await;
    assert_eq!(status, 403);
    assert!(!refused.contains("Amy"));
    // A newer assessment supersedes per need; history is kept.
    let second = start(&nurse, "ahc-hrsn-core").await;
    let id2: Uuid = second.split('/').nth(2).unwrap().parse().unwrap();
    let extra2 = [("assessment_id", id2.to_string())];
    let extra2: Vec<(&str, &str)> = extra2.iter().map(|(k, v)| (*k, v.as_str())).collect();
    answer(
        &app,
        &nurse,
        aa,
        &extra2,
        "living",
        &["71802-3=LA31993-1", "96778-6=LA9-3"],
    )
    .await;
    answer(
        &app,
        &nurse,
        aa,
        &extra2,
        "food",
        &["88122-7=LA28398-8", "88123-5=LA28398-8"],
    )
    .await;
    answer(
        &app,
        &nurse,
        aa,
        &extra2,
        "other-risks",
        &["93030-5=LA32-8", "96779-4=LA32-8"],
    )
    .await;
    answer(
        &app,
        &nurse,
        aa,
        &extra2,
        "safety",
        &[
            "95618-5=LA6270-8",
            "95617-7=LA6270-8",
            "95616-9=LA6270-8",
            "95615-1=LA6270-8",
        ],
    )
    .await;
    let food: Vec<(String, Option<chrono::DateTime<chrono::Utc>>)> = sqlx::query_as(
        "SELECT interpretation, superseded_at FROM sdoh_indicators WHERE resident_id = $1 AND need = 'food' ORDER BY id",
    )
    .bind(amy)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(food.len(), 2);
    assert!(food[0].1.is_some() && food[1].1.is_none() && food[1].0 == "negative");
    // Every reading went through the gate with its purpose.
    let purposes: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'resident.open' AND details->>'purpose' = 'assessment'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(purposes >= 10, "{purposes}");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_merge_moves_assessments_and_keeps_the_newer_indicator(pool: PgPool) {
    use app::assessments::{instrument::Instrument, store};
    let a = resident(&pool, "Merge One").await;
    let b = resident(&pool, "Merge Two").await;
    let own = Instrument::get("self-assessment").unwrap();
    let mut answers = app::assessments::instrument::Answers::new();
    answers.insert(
        "self-food-worry".into(),
        app::assessments::instrument::Answer::Choice(vec!["often".into()]),
    );
    let user = person(&pool, Role::Resident, None, true).await.0;
    store::keep_self_assessment(&pool, user, Some(a), own, &answers)
        .await
        .unwrap();
    answers.insert(
        "self-food-worry".into(),
        app::assessments::instrument::Answer::Choice(vec!["never".into()]),
    );
    answers.insert(
        "self-food-ran-out".into(),
        app::assessments::instrument::Answer::Choice(vec!["never".into()]),
    );
    store::keep_self_assessment(&pool, user, Some(b), own, &answers)
        .await
        .unwrap();
    let mut tx = pool.begin().await.unwrap();
    let moved = store::move_for_merge(&mut tx, a, b).await.unwrap();
    tx.commit().await.unwrap();
    let current = store::indicators(&pool, a).await.unwrap();
    let food = current.iter().find(|i| i.need == "food").unwrap();
    assert_eq!(
        food.interpretation, "negative",
        "the newer one stays current"
    );
    assert_eq!(
        store::summaries(&pool, Some(a), None).await.unwrap().len(),
        2
    );
    let mut tx = pool.begin().await.unwrap();
    store::undo_move(&mut tx, b, &moved).await.unwrap();
    tx.commit().await.unwrap();
    let food_a = store::indicators(&pool, a).await.unwrap();
    assert_eq!(
        food_a
            .iter()
            .find(|i| i.need == "food")
            .unwrap()
            .interpretation,
        "positive"
    );
    assert_eq!(
        store::summaries(&pool, Some(b), None).await.unwrap().len(),
        1
    );
}
