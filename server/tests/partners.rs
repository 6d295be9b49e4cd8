//! Partners over HTTP against Postgres: claims and their review, invitations, sign-in with its
//! lockout and MFA, sessions, CSRF, organization scope — each refusal checked and audited.

mod common;

use app::policy::Role;
use common::*;
use sqlx::PgPool;

async fn claim(app: &TestApp, org: uuid::Uuid, email: &str) -> reqwest::Response {
    app.post_form(
        &browser(),
        "/fn/claim_site",
        &[
            ("organization_id", &org.to_string()),
            ("name", "Jordan Claimant"),
            ("email", email),
            ("phone", "(606) 555-0142"),
            ("job_title", "Director"),
            ("org_type", "nonprofit"),
        ],
    )
    .await
}

async fn unclaimed_organization(pool: &PgPool) -> uuid::Uuid {
    sqlx::query_scalar(
        "SELECT o.id FROM organizations o WHERE NOT o.placeholder AND NOT EXISTS
           (SELECT 1 FROM partner_organizations p WHERE p.organization_id = o.id)
          ORDER BY o.name DESC LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_claim_is_filed_once_reviewed_once_and_the_approval_invites(pool: PgPool) {
    load_small_demo(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let org = unclaimed_organization(&pool).await;

    let r = claim(&app, org, "jordan@partner.example").await;
    assert!(location(&r).starts_with("/claim-sent"), "{}", location(&r));
    // A double submit files nothing new.
    claim(&app, org, "jordan@partner.example").await;
    let claims: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("SELECT id, chapter FROM claims WHERE organization_id = $1")
            .bind(org)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(claims.len(), 1);
    let (claim_id, chapter) = claims[0].clone();
    // The claimant's address is confirmed first: one e-mail with a link, and nothing they typed
    // in it; the chapter hears nothing yet.
    let mails: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT to_address, body, secret FROM outbox ORDER BY created_at")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(mails.len(), 1, "one confirmation e-mail: {mails:?}");
    let (to, body, secret) = &mails[0];
    assert_eq!(to, "jordan@partner.example");
    assert!(
        !body.contains("Jordan") && !body.contains("Director"),
        "{body}"
    );
    let link = secret.clone().expect("the confirmation link");
    assert!(
        !body.contains(&link),
        "the link is kept apart from the body"
    );
    let token = link.rsplit('/').next().unwrap().to_string();
    let (status, _) = app.page(&format!("/united-way/claims/{claim_id}")).await;
    assert_ne!(status, 200);
    let unconfirmed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM claims WHERE status = 'unconfirmed'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(unconfirmed, 1);
    // Opening the link changes nothing (a mail scanner may fetch it); the button confirms.
    let (status, page) = app.page(&format!("/claims/confirm/{token}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Confirm my claim"));
    let r = app
        .post_form(&browser(), "/fn/confirm_claim", &[("token", &token)])
        .await;
    assert!(
        location(&r).starts_with("/claim-sent?confirmed=1"),
        "{}",
        location(&r)
    );
    // Used once.
    let r = app
        .post_form(&browser(), "/fn/confirm_claim", &[("token", &token)])
        .await;
    assert!(location(&r).contains("error="), "{}", location(&r));
    let status: String = sqlx::query_scalar("SELECT status FROM claims WHERE id = $1")
        .bind(claim_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "pending");

    // Bad input is a clear error, never a new claim.
    let r = claim(&app, org, "not-an-email").await;
    assert!(
        location(&r).ends_with("error=bad_email"),
        "{}",
        location(&r)
    );

    // Two reviewers decide at once: one wins, the other is told, nothing is overwritten.
    let (reviewer, a_email, a_secret) = person(&pool, Role::ChapterReviewer, None, true).await;
    let (_, b_email, b_secret) = person(&pool, Role::StateAdmin, None, true).await;
    // A reviewer of another chapter may not decide it.
    let (_, other_email, other_secret) = person(&pool, Role::ChapterReviewer, None, true).await;
    sqlx::query("UPDATE users SET chapter = 'metro-united-way' WHERE email = $1")
        .bind(&other_email)
        .execute(&pool)
        .await
        .unwrap();
    let other = browser();
    app.sign_in(&other, &other_email, &other_secret).await;
    let r = app
        .post_form(
            &other,
            "/fn/decide_claim",
            &[("claim_id", &claim_id.to_string()), ("decision", "approve")],
        )
        .await;
    assert!(location(&r).ends_with("error=denied"), "{}", location(&r));
    assert_eq!(
        app.get_with(&other, &format!("/united-way/claims/{claim_id}"))
            .await
            .status()
            .as_u16(),
        403
    );
    sqlx::query("UPDATE users SET chapter = $2 WHERE id = $1")
        .bind(reviewer)
        .bind(&chapter)
        .execute(&pool)
        .await
        .unwrap();
    let (a, b) = (browser(), browser());
    app.sign_in(&a, &a_email, &a_secret).await;
    app.sign_in(&b, &b_email, &b_secret).await;
    let id = claim_id.to_string();
    let approve = [("claim_id", id.as_str()), ("decision", "approve")];
    let deny = [
        ("claim_id", id.as_str()),
        ("decision", "deny"),
        ("reason", "Not confirmed"),
    ];
    let (ra, rb) = tokio::join!(
        app.post_form(&a, "/fn/decide_claim", &approve),
        app.post_form(&b, "/fn/decide_claim", &deny),
    );
    let outcomes = [location(&ra), location(&rb)];
    assert_eq!(
        outcomes
            .iter()
            .filter(|l| l.contains("error=already_decided"))
            .count(),
        1,
        "{outcomes:?}"
    );
    let (status, invitations): (String, i64) = sqlx::query_as(
        "SELECT c.status, (SELECT count(*) FROM invitations i WHERE i.claim_id = c.id) FROM claims c WHERE c.id = $1",
    )
    .bind(claim_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(invitations, i64::from(status == "approved"));
    assert_eq!(audited(&pool, &format!("claim.{status}")).await.len(), 1);
}

/// An invitation to a partner organization, as its admin would send; returns the token.
async fn invite(pool: &PgPool, org: uuid::Uuid, email: &str) -> String {
    let mut tx = pool.begin().await.unwrap();
    let token = app::partners::store::invite(
        &mut tx,
        &app::partners::store::NewInvitation {
            email,
            name: "Casey",
            role: Role::PartnerStaff,
            organization_id: Some(org),
            chapter: None,
            claim_id: None,
            invited_by: None,
            valid_days: 7,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    token
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn invitation_links_work_once_and_expire(pool: PgPool) {
    load_small_demo(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let org = partner_organization(&pool, "nonprofit").await;
    let token = invite(&pool, org, "casey@partner.example").await;
    let path = format!("/invitations/{token}");
    let form = [
        ("token", token.as_str()),
        ("name", "Casey"),
        ("password", PASSWORD),
        ("confirm", PASSWORD),
    ];

    // A weak password is refused with the reason, and the invitation still works.
    let weak = [
        ("token", token.as_str()),
        ("name", "Casey"),
        ("password", "password1234"),
        ("confirm", "password1234"),
    ];
    let r = app
        .post_form(&browser(), "/fn/accept_invitation", &weak)
        .await;
    assert!(
        location(&r).ends_with("error=password_common"),
        "{}",
        location(&r)
    );

    let client = browser();
    let r = app.post_form(&client, "/fn/accept_invitation", &form).await;
    assert_eq!(location(&r), "/onboarding/mfa");
    // Signed in, but only to finish onboarding: partner pages refuse.
    let r = app.get_with(&client, "/partner").await;
    assert_eq!(r.status().as_u16(), 303);
    assert!(r.headers().contains_key("x-wraparound-refused"));
    assert!(audited(&pool, "request.denied")
        .await
        .iter()
        .any(|(_, who, _)| who.as_deref() == Some("casey@partner.example")));

    // Used: the page says so and a second account cannot be made with it.
    assert_eq!(app.get(&path).await.status().as_u16(), 410);
    let r = app
        .post_form(&browser(), "/fn/accept_invitation", &form)
        .await;
    assert!(location(&r).ends_with("error=invitation_invalid"));

    // Expired.
    let old = invite(&pool, org, "late@partner.example").await;
    sqlx::query("UPDATE invitations SET expires_at = now() - interval '1 minute' WHERE email = 'late@partner.example'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        app.get(&format!("/invitations/{old}"))
            .await
            .status()
            .as_u16(),
        410
    );
    let expired = [
        ("token", old.as_str()),
        ("name", "Late"),
        ("password", PASSWORD),
        ("confirm", PASSWORD),
    ];
    let r = app
        .post_form(&browser(), "/fn/accept_invitation", &expired)
        .await;
    assert!(location(&r).ends_with("error=invitation_invalid"));
    assert!(audited(&pool, "invitation.redeem")
        .await
        .iter()
        .all(|(o, ..)| o == "denied"));
    assert!(audited(&pool, "invitation.redeem").await.len() >= 2);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn wrong_tries_make_that_place_wait_not_the_owner_and_unknown_accounts_look_the_same(
    pool: PgPool,
) {
    // Behind a proxy the test trusts, so each request can come from its own address.
    let mut deployment = deployment();
    deployment.site.trusted_proxies = vec![app::config::IpRange::parse("127.0.0.1").unwrap()];
    let app = TestApp::spawn_with(pool.clone(), deployment).await;
    let (_, email, secret) = person(&pool, Role::StateAdmin, None, true).await;
    let from = |ip: &'static str| move |r: reqwest::RequestBuilder| r.header("X-Forwarded-For", ip);
    let attacker = browser();
    let sign_in =
        |client: &reqwest::Client, ip: &'static str, email: String, password: &'static str| {
            let request = client
                .post(format!("{}/fn/sign_in", app.base))
                .header("Origin", &app.base)
                .header("Sec-Fetch-Site", "same-origin")
                .form(&[("email", email), ("password", password.to_string())]);
            async move { location(&from(ip)(request).send().await.unwrap()) }
        };
    let mut real = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..7 {
        real.push(
            sign_in(
                &attacker,
                "203.0.113.9",
                email.clone(),
                "wrong but long enough",
            )
            .await,
        );
        unknown.push(
            sign_in(
                &attacker,
                "203.0.113.9",
                "nobody@test.example".into(),
                "wrong but long enough",
            )
            .await,
        );
    }
    // Five free tries, then a wait that says how long; the same for an address with no account.
    assert!(
        real[..5]
            .iter()
            .all(|l| l.ends_with("error=wrong_password")),
        "{real:?}"
    );
    assert!(real[5].ends_with("error=locked&wait=1"), "{real:?}");
    assert_eq!(real, unknown, "answers must not tell which accounts exist");
    // While it waits, even the right password from there is refused...
    let r = sign_in(&attacker, "203.0.113.9", email.clone(), PASSWORD).await;
    assert!(r.contains("error=locked&wait="), "{r}");
    // ...but the owner, somewhere else, signs in as usual.
    let owner = browser();
    assert_eq!(
        sign_in(&owner, "198.51.100.7", email.clone(), PASSWORD).await,
        "/sign-in/code"
    );
    // The owner heard about it, once.
    let notices: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE to_address = $1 AND subject LIKE 'Someone tried to sign in%'",
    )
    .bind(&email)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(notices, 1);
    let nobody: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE to_address = 'nobody@test.example'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(nobody, 0);

    // The code step: wrong codes count the same way, and the page says it is waiting.
    let code_from = |ip: &'static str, code: &'static str| {
        let request = owner
            .post(format!("{}/fn/verify_sign_in_code", app.base))
            .header("Origin", &app.base)
            .header("Sec-Fetch-Site", "same-origin")
            .form(&[("code", code)]);
        async move { location(&from(ip)(request).send().await.unwrap()) }
    };
    let now = chrono::Utc::now().timestamp() as u64;
    let wrong_code = if app::identity::mfa::code_at(&secret, now) == "000000" {
        "000001"
    } else {
        "000000"
    };
    let mut answers = Vec::new();
    for _ in 0..6 {
        answers.push(code_from("198.51.100.7", wrong_code).await);
    }
    assert!(
        answers[..5].iter().all(|l| l.ends_with("error=wrong_code")),
        "{answers:?}"
    );
    assert!(
        answers[5].starts_with("/sign-in/code?error=locked&wait="),
        "{answers:?}"
    );
    let (status, page) = {
        let r = from("198.51.100.7")(
            owner.get(format!("{}/sign-in/code?error=locked&wait=1", app.base)),
        )
        .send()
        .await
        .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };
    assert_eq!(status, 200);
    assert!(
        page.contains("Please wait 1 minutes"),
        "the code page says it is waiting"
    );
    let failures = audited(&pool, "sign_in").await;
    assert!(failures.iter().filter(|(o, ..)| o == "failed").count() >= 12);

    // Once the wait is over, the right code works.
    sqlx::query("UPDATE sign_in_backoff SET blocked_until = NULL")
        .execute(&pool)
        .await
        .unwrap();
    let code = app::identity::mfa::code_at(&secret, chrono::Utc::now().timestamp() as u64);
    let request = owner
        .post(format!("{}/fn/verify_sign_in_code", app.base))
        .header("Origin", &app.base)
        .header("Sec-Fetch-Site", "same-origin")
        .header("X-Forwarded-For", "198.51.100.7")
        .form(&[("code", code)]);
    assert_eq!(location(&request.send().await.unwrap()), "/account");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn signing_in_gives_a_new_session_id(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let (_, email, secret) = person(&pool, Role::StateAdmin, None, true).await;
    // An attacker plants a session (here: one made by starting a sign-in).
    let attacker = browser();
    let r = app
        .post_form(
            &attacker,
            "/fn/sign_in",
            &[("email", email.as_str()), ("password", PASSWORD)],
        )
        .await;
    let planted = session_cookie(&r).expect("a session cookie");
    // The victim signs in with that session id.
    let victim = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |path: &'static str, form: Vec<(&'static str, String)>, cookie: String| {
        victim
            .post(format!("{}{path}", app.base))
            .header("Cookie", format!("wraparound_session={cookie}"))
            .header("Accept", "text/html")
            .form(&form)
            .send()
    };
    let r = post(
        "/fn/sign_in",
        vec![("email", email.clone()), ("password", PASSWORD.into())],
        planted.clone(),
    )
    .await
    .unwrap();
    let pending = session_cookie(&r).unwrap_or(planted.clone());
    assert_ne!(pending, planted, "the id changes after the password");
    let code = app::identity::mfa::code_at(&secret, chrono::Utc::now().timestamp() as u64);
    let r = post(
        "/fn/verify_sign_in_code",
        vec![("code", code)],
        pending.clone(),
    )
    .await
    .unwrap();
    let signed_in = session_cookie(&r).expect("new session");
    assert_ne!(signed_in, pending, "and again when signed in");
    // The planted id is worth nothing.
    let r = app
        .client
        .get(format!("{}/account", app.base))
        .header("Cookie", format!("wraparound_session={planted}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let r = app
        .client
        .get(format!("{}/account", app.base))
        .header("Cookie", format!("wraparound_session={signed_in}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let cookie = r.headers().get_all("set-cookie").iter().count();
    let _ = cookie;
}

fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers().get_all("set-cookie").iter().find_map(|v| {
        let v = v.to_str().ok()?;
        let rest = v.strip_prefix("wraparound_session=")?;
        assert!(v.contains("HttpOnly") && v.contains("SameSite=Lax"), "{v}");
        Some(rest.split(';').next()?.to_string())
    })
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn cross_site_posts_are_refused_and_audited(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let (_, email, secret) = person(&pool, Role::StateAdmin, None, true).await;
    let client = browser();
    app.sign_in(&client, &email, &secret).await;
    let r = client
        .post(format!("{}/fn/sign_out", app.base))
        .header("Origin", "https://evil.example")
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let r = client
        .post(format!("{}/fn/sign_out", app.base))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // A page sent without a referrer posts `Origin: null`: refused unless the browser says the
    // post came from this site.
    let r = client
        .post(format!("{}/fn/sign_out", app.base))
        .header("Origin", "null")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(audited(&pool, "request.cross_site_refused").await.len(), 3);
    let r = browser()
        .post(format!("{}/fn/save_program", app.base))
        .header("Origin", "null")
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[("program_id", uuid::Uuid::nil().to_string())])
        .send()
        .await
        .unwrap();
    assert_ne!(
        r.status().as_u16(),
        403,
        "a same-origin post from a no-referrer page"
    );
    // Still signed in: the forged sign-out did nothing.
    assert_eq!(
        app.get_with(&client, "/account").await.status().as_u16(),
        200
    );
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_partner_admin_manages_only_their_own_organization(pool: PgPool) {
    load_small_demo(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let mine = partner_organization(&pool, "nonprofit").await;
    let theirs = partner_organization(&pool, "for_profit").await;
    let (_, admin, secret) = person(&pool, Role::PartnerAdmin, Some(mine), true).await;
    let (colleague, ..) = person(&pool, Role::PartnerStaff, Some(mine), true).await;
    let (stranger, ..) = person(&pool, Role::PartnerStaff, Some(theirs), true).await;
    let client = browser();
    assert_eq!(app.sign_in(&client, &admin, &secret).await, "/partner");

    let r = app
        .post_form(
            &client,
            "/fn/deactivate_user",
            &[("user_id", &stranger.to_string())],
        )
        .await;
    assert!(location(&r).ends_with("error=denied"), "{}", location(&r));
    let active: bool = sqlx::query_scalar("SELECT active FROM users WHERE id = $1")
        .bind(stranger)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(active);
    assert_eq!(audited(&pool, "user.deactivated").await[0].0, "denied");

    // Hospital staff is only for hospitals.
    let r = app
        .post_form(
            &client,
            "/fn/change_user_role",
            &[
                ("user_id", &colleague.to_string()),
                ("role", "hospital_staff"),
            ],
        )
        .await;
    assert!(location(&r).ends_with("error=bad_role"));
    let r = app
        .post_form(
            &client,
            "/fn/change_user_role",
            &[
                ("user_id", &colleague.to_string()),
                ("role", "partner_admin"),
            ],
        )
        .await;
    assert_eq!(location(&r), "/partner/team?done=role");
    let r = app
        .post_form(
            &client,
            "/fn/deactivate_user",
            &[("user_id", &colleague.to_string())],
        )
        .await;
    assert_eq!(location(&r), "/partner/team?done=deactivated");
    // Deactivated people cannot sign in; their history stays.
    let email: String = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(colleague)
        .fetch_one(&pool)
        .await
        .unwrap();
    let r = app
        .post_form(
            &browser(),
            "/fn/sign_in",
            &[("email", email.as_str()), ("password", PASSWORD)],
        )
        .await;
    assert!(location(&r).ends_with("error=wrong_password"));
    assert_eq!(audited(&pool, "user.role_changed").await.len(), 1);

    // An invitation from the admin queues an e-mail with a working link.
    let r = app
        .post_form(
            &client,
            "/fn/invite_user",
            &[
                ("name", "Drew"),
                ("email", "drew@partner.example"),
                ("role", "partner_staff"),
            ],
        )
        .await;
    assert_eq!(location(&r), "/partner/team?done=invited");
    let (body, secret): (String, Option<String>) =
        sqlx::query_as("SELECT body, secret FROM outbox WHERE to_address = 'drew@partner.example'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        !body.contains("/invitations/"),
        "the token waits apart from the body"
    );
    let body = app::mail::delivered_body(&body, secret.as_deref());
    let link = body
        .split_whitespace()
        .find(|w| w.contains("/invitations/"))
        .unwrap();
    let path = &link[link.find("/invitations/").unwrap()..];
    assert_eq!(app.get(path).await.status().as_u16(), 200);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn final_onboarding_makes_the_organization_a_partner_and_a_nonprofit_an_incentive_earner(
    pool: PgPool,
) {
    load_small_demo(&pool).await;
    let org = unclaimed_organization(&pool).await;
    sqlx::query("INSERT INTO partner_organizations (organization_id, org_type, chapter) VALUES ($1, 'nonprofit', 'uw-kentucky')")
        .bind(org)
        .execute(&pool)
        .await
        .unwrap();
    let (user, ..) = person(&pool, Role::PartnerAdmin, Some(org), true).await;
    sqlx::query("DELETE FROM agreement_acceptances WHERE user_id = $1")
        .bind(user)
        .execute(&pool)
        .await
        .unwrap();
    let actor = app::audit::Actor {
        id: Some(user),
        ..Default::default()
    };
    app::partners::store::accept_agreement(&pool, user, Some(org), &actor)
        .await
        .unwrap();
    app::partners::store::accept_agreement(&pool, user, Some(org), &actor)
        .await
        .unwrap();
    let (onboarded, incentive): (bool, bool) = sqlx::query_as(
        "SELECT onboarded_at IS NOT NULL, EXISTS (SELECT 1 FROM incentive_enrollments WHERE organization_id = $1)
           FROM partner_organizations WHERE organization_id = $1",
    )
    .bind(org)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(onboarded && incentive);
    assert_eq!(
        audited(&pool, "organization.onboarded").await.len(),
        1,
        "onboarded once"
    );
    let accepted: (String,) =
        sqlx::query_as("SELECT version FROM agreement_acceptances WHERE user_id = $1")
            .bind(user)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(accepted.0, app::partners::onboarding::AGREEMENT_VERSION);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_audit_chain_reports_the_first_altered_entry(pool: PgPool) {
    use app::audit::{record, verify, Actor, ChainCheck, Outcome};
    let actor = Actor {
        email: Some("a@test.example".into()),
        ..Default::default()
    };
    for i in 0..5 {
        record(
            &pool,
            &actor,
            "test.entry",
            Some(&format!("n:{i}")),
            Outcome::Ok,
            serde_json::json!({ "i": i }),
        )
        .await
        .unwrap();
    }
    assert_eq!(
        verify(&pool).await.unwrap(),
        ChainCheck::Intact { entries: 5 }
    );
    // The table refuses changes...
    assert!(sqlx::query("UPDATE audit_log SET outcome = 'denied'")
        .execute(&pool)
        .await
        .is_err());
    assert!(sqlx::query("DELETE FROM audit_log")
        .execute(&pool)
        .await
        .is_err());
    // ...and someone who gets round that is caught.
    let third: i64 = sqlx::query_scalar("SELECT seq FROM audit_log ORDER BY seq OFFSET 2 LIMIT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_chain")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET actor_email = 'someone-else@test.example' WHERE seq = $1")
        .bind(third)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        verify(&pool).await.unwrap(),
        ChainCheck::BrokenAt {
            seq: third,
            entries_before: 2
        }
    );
    // Deleting an entry breaks the next link.
    sqlx::query("UPDATE audit_log SET actor_email = 'a@test.example' WHERE seq = $1")
        .bind(third)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_log WHERE seq = $1")
        .bind(third)
        .execute(&pool)
        .await
        .unwrap();
    assert!(matches!(
        verify(&pool).await.unwrap(),
        ChainCheck::BrokenAt { .. }
    ));
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn claims_are_rate_limited_with_a_clear_message(pool: PgPool) {
    load_small_demo(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let org = unclaimed_organization(&pool).await;
    let mut last = String::new();
    for i in 0..6 {
        last = location(&claim(&app, org, &format!("person{i}@partner.example")).await);
    }
    assert!(last.ends_with("error=rate_limited"), "{last}");
    let filed: i64 = sqlx::query_scalar("SELECT count(*) FROM claims")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(filed, 5);
    assert_eq!(audited(&pool, "claim.filed").await[0].0, "denied");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn totp_secrets_are_sealed_at_rest_and_old_clear_ones_get_sealed(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let (id, email, secret) = person(&pool, Role::StateAdmin, None, true).await;
    let stored = || async {
        sqlx::query_scalar::<_, String>("SELECT totp_secret FROM users WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let sealed = stored().await;
    assert!(sealed.starts_with("v1.") && !sealed.contains(&secret));

    // A database from before sealing: the secret in the clear. Start-up seals it...
    sqlx::query("UPDATE users SET totp_secret = $2 WHERE id = $1")
        .bind(id)
        .bind(&secret)
        .execute(&pool)
        .await
        .unwrap();
    server::db::prepare(&pool, &deployment()).await.unwrap();
    let resealed = stored().await;
    assert!(resealed.starts_with("v1.") && !resealed.contains(&secret));
    // ...and the authenticator the person already has keeps working.
    let to = app.sign_in(&browser(), &email, &secret).await;
    assert!(
        !to.is_empty() && !to.starts_with("/sign-in"),
        "signed in: {to}"
    );
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn checkpoints_kept_outside_catch_the_end_of_the_trail_cut_off(pool: PgPool) {
    use app::audit::{checkpoint, missing_checkpoint, record, verify, Actor, ChainCheck, Outcome};
    let actor = Actor {
        email: Some("a@test.example".into()),
        ..Default::default()
    };
    let mut kept = Vec::new();
    for i in 0..6 {
        record(
            &pool,
            &actor,
            "test.entry",
            None,
            Outcome::Ok,
            serde_json::json!({ "i": i }),
        )
        .await
        .unwrap();
        if i == 2 || i == 5 {
            // What `server audit checkpoint FILE` writes, read back as `verify` reads it.
            let line = checkpoint(&pool)
                .await
                .unwrap()
                .unwrap()
                .to_line(chrono::Utc::now());
            kept.push(app::audit::Checkpoint::parse(&line).unwrap());
        }
    }
    assert_eq!(missing_checkpoint(&pool, &kept).await.unwrap(), None);

    // Someone with the power to get round the trigger removes the last two entries: the chain
    // that is left is intact, but the last checkpoint is gone.
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_chain")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "DELETE FROM audit_log WHERE seq IN (SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 2)",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(
        verify(&pool).await.unwrap(),
        ChainCheck::Intact { entries: 4 }
    );
    assert_eq!(
        missing_checkpoint(&pool, &kept).await.unwrap(),
        Some(kept[1].clone())
    );
    assert_eq!(app::audit::Checkpoint::parse("not a checkpoint"), None);
}
