//! What was found from outside (issue 9), each closed with a test at the level it lives: the
//! audit hash, the database roles, the secrets key, the dev mailbox and the demo loader,
//! consent from the ledger alone, double submissions, `next=`, headers, limits.

mod common;

use app::identity::sealed::{open_checked, KeyError, SealingKey};
use app::policy::Role;
use common::*;
use sqlx::PgPool;

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_audit_hash_tells_fields_apart(pool: PgPool) {
    // Two entries that differ only in where a '|' splits two fields, or in a NULL.
    let hash = |version: i16, email: Option<&str>, role: Option<&str>| {
        let row = serde_json::json!({
            "seq": 1, "at": "2026-12-01T00:00:00Z", "actor_email": email, "actor_role": role,
            "action": "sign_in", "outcome": "ok", "details": {}, "prev_hash": "\\x",
            "hash": "\\x", "hash_version": version,
        });
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, Vec<u8>>(
                "SELECT audit_entry_hash('\\x'::bytea, jsonb_populate_record(NULL::audit_log, $1))",
            )
            .bind(row)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    // Version 1 (kept so old entries verify) could not tell them apart...
    assert_eq!(
        hash(1, Some("a|b"), None).await,
        hash(1, Some("a"), Some("b")).await
    );
    // ...version 2 can.
    assert_ne!(
        hash(2, Some("a|b"), None).await,
        hash(2, Some("a"), Some("b")).await
    );
    assert_ne!(
        hash(2, Some("a"), None).await,
        hash(2, None, Some("a")).await
    );
    // New entries are version 2, and the chain of old and new entries verifies.
    let actor = app::audit::Actor::default();
    for action in ["one", "two"] {
        app::audit::record(
            &pool,
            &actor,
            action,
            None,
            app::audit::Outcome::Ok,
            serde_json::json!({}),
        )
        .await
        .unwrap();
    }
    let versions: Vec<i16> = sqlx::query_scalar("SELECT hash_version FROM audit_log ORDER BY seq")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(versions, vec![2, 2]);
    assert!(matches!(
        app::audit::verify(&pool).await.unwrap(),
        app::audit::ChainCheck::Intact { entries: 2 }
    ));
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_serving_role_can_append_to_the_audit_trail_and_nothing_more(pool: PgPool) {
    let role = runtime_role(&pool).await;
    let runtime = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&url_as(&pool, role, "roles-test"))
        .await
        .unwrap();
    server::db::check_serving_role(&runtime).await.unwrap();
    server::db::check_schema(&runtime).await.unwrap();
    // The superuser the tests (and careless deployments) connect as is refused.
    let refused = server::db::check_serving_role(&pool)
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("superuser"), "{refused}");

    app::audit::record(
        &runtime,
        &app::audit::Actor::default(),
        "sign_in",
        None,
        app::audit::Outcome::Ok,
        serde_json::json!({}),
    )
    .await
    .expect("the runtime role appends");
    for statement in [
        "UPDATE audit_log SET action = 'edited'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_chain",
        "DROP TRIGGER audit_log_chain ON audit_log",
        "CREATE TABLE mine (x int)",
        "UPDATE _sqlx_migrations SET success = false",
    ] {
        let e = sqlx::query(statement).execute(&runtime).await.unwrap_err();
        let message = e.to_string();
        assert!(
            message.contains("permission denied") || message.contains("must be owner"),
            "{statement}: {message}"
        );
    }
    // It does its work: reads and writes the application's tables.
    sqlx::query("INSERT INTO rate_limits (key, window_start, hits) VALUES ('x', now(), 1)")
        .execute(&runtime)
        .await
        .unwrap();
    let entries: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&runtime)
        .await
        .unwrap();
    assert_eq!(entries, 1);
}

fn temp_key_path(name: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "wraparound-keytest-{}-{name}-{nanos}",
        std::process::id()
    ));
    dir.join("secrets.key")
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn no_new_key_while_sealed_secrets_exist_and_no_wrong_key(pool: PgPool) {
    // An empty database: the key is created.
    let path = temp_key_path("first");
    let key = open_checked(&pool, &path).await.unwrap();
    assert!(path.exists());
    sqlx::query(
        "INSERT INTO users (email, name, role, totp_secret) VALUES ('a@test.example', 'A', 'state_admin', $1)",
    )
    .bind(key.seal("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"))
    .execute(&pool)
    .await
    .unwrap();
    // The same key still opens it.
    open_checked(&pool, &path).await.unwrap();
    // The key file gone (a redeploy without it, a typo in its path): refused, nothing created.
    let missing = temp_key_path("missing");
    let e = open_checked(&pool, &missing).await.err().unwrap();
    assert!(
        matches!(e, KeyError::MissingWithSealedSecrets { .. }),
        "{e}"
    );
    assert!(!missing.exists());
    // Another key: refused.
    let other = temp_key_path("other");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    std::fs::write(&other, "11".repeat(32)).unwrap();
    let e = open_checked(&pool, &other).await.err().unwrap();
    assert!(matches!(e, KeyError::WrongKey { .. }), "{e}");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_secret_that_cannot_be_opened_never_lets_a_code_in(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let (id, email, _) = person(&pool, Role::StateAdmin, None, true).await;
    // Sealed with some other key (or damaged): the server cannot open it.
    let foreign = SealingKey::load(&{
        let p = temp_key_path("foreign");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, "22".repeat(32)).unwrap();
        p
    })
    .unwrap()
    .unwrap();
    sqlx::query("UPDATE users SET totp_secret = $2 WHERE id = $1")
        .bind(id)
        .bind(foreign.seal("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"))
        .execute(&pool)
        .await
        .unwrap();
    let client = browser();
    let r = app
        .post_form(
            &client,
            "/fn/sign_in",
            &[("email", &email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(location(&r), "/sign-in/code");
    // The code an empty key gives is public: it must not work, nor any other.
    use totp_rs::{Algorithm, TOTP};
    let now = chrono::Utc::now().timestamp() as u64;
    let empty_key_code =
        TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, vec![], None, String::new()).generate(now);
    let r = app
        .post_form(
            &client,
            "/fn/verify_sign_in_code",
            &[("code", &empty_key_code)],
        )
        .await;
    assert_eq!(location(&r), "/sign-in/code?error=unavailable");
    assert_eq!(
        app.get_with(&client, "/state/audit")
            .await
            .status()
            .as_u16(),
        303
    );
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_dev_mailbox_is_for_this_machine_only(pool: PgPool) {
    let mut d = deployment();
    d.mail.dev_mailbox = true;
    d.site.trusted_proxies = vec![app::config::IpRange::parse("127.0.0.1").unwrap()];
    let app = TestApp::spawn_with(pool.clone(), d.clone()).await;
    assert_eq!(app.get("/dev/mailbox").await.status().as_u16(), 200);
    let remote = app
        .client
        .get(format!("{}/dev/mailbox", app.base))
        .header("X-Forwarded-For", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(remote.status().as_u16(), 404);

    // Start-up refuses it where the site is public.
    let options = |addr: &str| {
        leptos::prelude::LeptosOptions::builder()
            .output_name("wraparound")
            .site_addr(addr.parse::<std::net::SocketAddr>().unwrap())
            .build()
    };
    server::http::check_deployment(&pool, &d, &options("127.0.0.1:3000"))
        .await
        .unwrap();
    assert!(
        server::http::check_deployment(&pool, &d, &options("0.0.0.0:3000"))
            .await
            .is_err()
    );
    let mut public = d.clone();
    public.site.public_url = "https://wraparound.example".into();
    assert!(
        server::http::check_deployment(&pool, &public, &options("127.0.0.1:3000"))
            .await
            .is_err()
    );
    // ...and refuses to serve demo accounts at a public address.
    public.mail.dev_mailbox = false;
    server::http::check_deployment(&pool, &public, &options("0.0.0.0:3000"))
        .await
        .unwrap();
    sqlx::query(&format!(
        "INSERT INTO users (email, name, role) VALUES ('state.admin@{}', 'Demo', 'state_admin')",
        server::demo::accounts::DOMAIN
    ))
    .execute(&pool)
    .await
    .unwrap();
    let e = server::http::check_deployment(&pool, &public, &options("0.0.0.0:3000"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("demo accounts"), "{e}");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn demo_accounts_go_only_into_a_demo_database(pool: PgPool) {
    server::demo::check_demo_only(&pool, false).await.unwrap();
    // Someone's real account: refused, unless asked for explicitly.
    sqlx::query("INSERT INTO users (email, name, role) VALUES ('dana@agency.ky.gov', 'Dana', 'state_admin')")
        .execute(&pool)
        .await
        .unwrap();
    let e = server::demo::check_demo_only(&pool, false)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not a demo database"), "{e}");
    server::demo::check_demo_only(&pool, true).await.unwrap();
    // A database seeded before stays a demo database (people made accounts while trying it).
    sqlx::query(&format!(
        "INSERT INTO users (email, name, role) VALUES ('partner.staff@{}', 'Pat', 'state_admin')",
        server::demo::accounts::DOMAIN
    ))
    .execute(&pool)
    .await
    .unwrap();
    server::demo::check_demo_only(&pool, false).await.unwrap();
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn next_never_leaves_the_site_nor_breaks_sign_in(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let (_, email, secret) = person(&pool, Role::StateAdmin, None, true).await;
    for next in [
        "/\t/evil.example/x",
        "/%09/evil.example/x",
        "/x\ny",
        "//evil.example",
        "/\\evil.example",
    ] {
        let client = browser();
        let r = app
            .post_form(
                &client,
                "/fn/sign_in",
                &[("email", &email), ("password", PASSWORD), ("next", next)],
            )
            .await;
        assert_eq!(location(&r), "/sign-in/code", "{next:?}");
        let code = app::identity::mfa::code_at(&secret, chrono::Utc::now().timestamp() as u64);
        let r = app
            .post_form(&client, "/fn/verify_sign_in_code", &[("code", &code)])
            .await;
        let to = location(&r);
        assert!(
            to.starts_with('/') && !to.starts_with("//") && !to.contains("evil"),
            "{next:?} → {to:?}"
        );
        // Codes work once: wait for the next step before signing in again.
        sqlx::query("UPDATE users SET last_totp_step = NULL WHERE lower(email) = $1")
            .bind(&email)
            .execute(&pool)
            .await
            .unwrap();
    }
    // A good next is followed.
    let client = browser();
    app.post_form(
        &client,
        "/fn/sign_in",
        &[
            ("email", &email),
            ("password", PASSWORD),
            ("next", "/state/audit?action=sign_in"),
        ],
    )
    .await;
    let code = app::identity::mfa::code_at(&secret, chrono::Utc::now().timestamp() as u64);
    let r = app
        .post_form(&client, "/fn/verify_sign_in_code", &[("code", &code)])
        .await;
    assert_eq!(location(&r), "/state/audit?action=sign_in");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn signed_in_answers_are_never_stored_and_headers_are_strict(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let anonymous = app.get("/sign-in").await;
    assert_eq!(anonymous.headers()["cache-control"], "no-cache");
    assert!(anonymous.headers()["permissions-policy"]
        .to_str()
        .unwrap()
        .contains("camera=()"));
    assert!(anonymous
        .headers()
        .get("strict-transport-security")
        .is_none());
    let (_, email, secret) = person(&pool, Role::StateAdmin, None, true).await;
    let client = browser();
    app.sign_in(&client, &email, &secret).await;
    for path in ["/account", "/state/audit", "/", "/no/such/page", "/partner"] {
        let r = app.get_with(&client, path).await;
        assert_eq!(r.headers()["cache-control"], "no-store", "{path}");
    }
    let mut https = deployment();
    https.site.public_url = "https://wraparound.example".into();
    let secure = TestApp::spawn_with(pool.clone(), https).await;
    assert!(secure.get("/").await.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .starts_with("max-age="));
}

#[test]
fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
    use server::http::forwarded_client;
    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    let proxies = vec![app::config::IpRange::parse("10.0.0.0/8").unwrap()];
    // Not from a proxy: the header is whatever the client wrote.
    assert_eq!(
        forwarded_client(ip("198.51.100.7"), Some("1.2.3.4"), &proxies),
        ip("198.51.100.7")
    );
    // From the proxy: the nearest address that is not a proxy.
    assert_eq!(
        forwarded_client(
            ip("10.0.0.5"),
            Some("1.2.3.4, 198.51.100.7, 10.0.0.9"),
            &proxies
        ),
        ip("198.51.100.7")
    );
    assert_eq!(
        forwarded_client(ip("10.0.0.5"), None, &proxies),
        ip("10.0.0.5")
    );
    assert_eq!(
        forwarded_client(ip("10.0.0.5"), Some("garbage"), &proxies),
        ip("10.0.0.5")
    );
    assert_eq!(
        forwarded_client(ip("10.0.0.5"), Some("1.2.3.4"), &[]),
        ip("10.0.0.5")
    );
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn an_invitation_redeemed_twice_at_once_makes_one_account(pool: PgPool) {
    load_small_demo(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let org = partner_organization(&pool, "nonprofit").await;
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let mut tx = pool.begin().await.unwrap();
        tokens.push(
            app::partners::store::invite(
                &mut tx,
                &app::partners::store::NewInvitation {
                    email: "twice@partner.example",
                    name: "Twice",
                    role: Role::PartnerStaff,
                    organization_id: Some(org),
                    chapter: None,
                    claim_id: None,
                    invited_by: None,
                    valid_days: 7,
                },
            )
            .await
            .unwrap(),
        );
        tx.commit().await.unwrap();
    }
    let form = |t: &str| {
        vec![
            ("token", t.to_string()),
            ("name", "Twice".to_string()),
            ("password", PASSWORD.to_string()),
            ("confirm", PASSWORD.to_string()),
        ]
    };
    let (fa, fb) = (form(&tokens[0]), form(&tokens[1]));
    let pa: Vec<(&str, &str)> = fa.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let pb: Vec<(&str, &str)> = fb.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (ca, cb) = (browser(), browser());
    let (ra, rb) = tokio::join!(
        app.post_form(&ca, "/fn/accept_invitation", &pa),
        app.post_form(&cb, "/fn/accept_invitation", &pb),
    );
    let mut outcomes = vec![location(&ra), location(&rb)];
    outcomes.sort();
    assert!(
        outcomes[0].ends_with("error=account_exists"),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[1], "/onboarding/mfa");
    let accounts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE email = 'twice@partner.example'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(accounts, 1);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_server_function_called_with_missing_arguments_answers_plainly(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    // A browser goes back to the form it came from, with a message for the field...
    let r = app
        .browser_post(
            &browser(),
            "/fn/sign_in",
            "email=a@b.org",
            Some("/sign-in?next=/partner"),
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), "/sign-in?next=/partner&error=missing_fields");
    // ...a script gets a 400 in words; neither sees the framework's message.
    let r = app
        .client
        .post(format!("{}/fn/sign_in", app.base))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("email=a@b.org")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body = r.text().await.unwrap();
    assert!(
        !body.contains("missing field") && !body.contains("Args"),
        "{body}"
    );
    // A referer from another site is not followed.
    let r = app
        .browser_post(
            &browser(),
            "/fn/sign_in",
            "",
            Some("https://evil.example/x"),
        )
        .await;
    assert_eq!(location(&r), "/?error=missing_fields");
}
