//! Text messages against a real HTTP peer (the fake carrier speaks the provider's API): queued
//! in the outbox, sent once, retried while the provider is down, never sent to a number that
//! replied STOP; replies arrive signed, and unsigned ones are refused.

mod common;

use common::*;
use server::sms::{drain, signature, HttpSms};
use sqlx::PgPool;
use std::time::Duration;

const ACCOUNT: &str = "ACtest0000000000000000000000000000";
const TOKEN: &str = "test-token";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The fake carrier on a free port, keeping its messages in a temporary folder.
async fn carrier(webhook: Option<String>) -> (u16, tempfile::TempDir) {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    tokio::spawn(server::sms::fake_carrier::run(
        port,
        dir.path().to_path_buf(),
        ACCOUNT.into(),
        TOKEN.into(),
        webhook,
    ));
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (port, dir)
}

async fn carried(port: u16) -> Vec<serde_json::Value> {
    let v: serde_json::Value = reqwest::get(format!("http://127.0.0.1:{port}/messages.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["messages"].as_array().cloned().unwrap_or_default()
}

async fn queue(pool: &PgPool, to: &str, body: &str) -> app::sms::Queued {
    let mut tx = pool.begin().await.unwrap();
    let q = app::sms::enqueue(&mut tx, &app::contact::Phone::parse(to).unwrap(), body)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    q
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn texts_go_once_wait_while_the_provider_is_down_and_never_to_a_stopped_number(pool: PgPool) {
    // The provider is down: the text stays queued with the error, due later.
    let down = HttpSms::new(
        &format!("http://127.0.0.1:{}", free_port()),
        ACCOUNT,
        TOKEN,
        "+15025550000",
    );
    assert_eq!(
        queue(&pool, "502-555-0101", "Hello").await,
        app::sms::Queued::Queued
    );
    assert_eq!(drain(&pool, &down).await.unwrap(), 1);
    let (sent, error): (bool, Option<String>) =
        sqlx::query_as("SELECT sent_at IS NOT NULL, last_error FROM outbox")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(!sent && error.is_some());

    // Up again and due: it goes, once, with the provider's API and our number.
    let (port, _dir) = carrier(None).await;
    let up = HttpSms::new(
        &format!("http://127.0.0.1:{port}"),
        ACCOUNT,
        TOKEN,
        "+15025550000",
    );
    sqlx::query("UPDATE outbox SET send_after = now()")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(drain(&pool, &up).await.unwrap(), 1);
    assert_eq!(drain(&pool, &up).await.unwrap(), 0);
    let messages = carried(port).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["to"], "+15025550101");
    assert_eq!(messages[0]["from"], "+15025550000");
    assert_eq!(messages[0]["body"], "Hello");

    // A wrong token is refused by the provider: the text waits, it is not lost.
    let wrong = HttpSms::new(
        &format!("http://127.0.0.1:{port}"),
        ACCOUNT,
        "wrong",
        "+15025550000",
    );
    queue(&pool, "502-555-0102", "Second").await;
    drain(&pool, &wrong).await.unwrap();
    assert_eq!(carried(port).await.len(), 1);

    // STOP after the text was queued: it is never sent; and nothing new is queued.
    let phone = app::contact::Phone::parse("502-555-0102").unwrap();
    app::sms::record_reply(&pool, &phone, "Stop", Some("SMx"))
        .await
        .unwrap();
    sqlx::query("UPDATE outbox SET send_after = now()")
        .execute(&pool)
        .await
        .unwrap();
    drain(&pool, &up).await.unwrap();
    assert_eq!(carried(port).await.len(), 1, "never texted after STOP");
    let how: String =
        sqlx::query_scalar("SELECT delivered_by FROM outbox WHERE to_address = '+15025550102'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(how, "not sent: opted out");
    assert_eq!(
        queue(&pool, "502-555-0102", "Third").await,
        app::sms::Queued::OptedOut
    );
    // START resumes.
    app::sms::record_reply(&pool, &phone, "START", None)
        .await
        .unwrap();
    assert_eq!(
        queue(&pool, "502-555-0102", "Fourth").await,
        app::sms::Queued::Queued
    );
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn replies_arrive_signed_and_stop_is_kept_as_evidence(pool: PgPool) {
    let mut d = deployment();
    d.sms.token = TOKEN.into();
    let app = TestApp::spawn_with(pool.clone(), d.clone()).await;
    let url = format!("{}/sms/inbound", d.site.public_url);
    let params = |body: &str| -> Vec<(String, String)> {
        vec![
            ("AccountSid".into(), ACCOUNT.into()),
            ("Body".into(), body.into()),
            ("From".into(), "+15025550103".into()),
            ("MessageSid".into(), "SM123".into()),
        ]
    };
    let post = |params: Vec<(String, String)>, sig: String| {
        let client = app.client.clone();
        let base = app.base.clone();
        async move {
            client
                .post(format!("{base}/sms/inbound"))
                .header("X-Twilio-Signature", sig)
                .form(&params)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Unsigned or wrongly signed: refused, nothing recorded.
    assert_eq!(post(params("STOP"), "bogus".into()).await, 403);
    assert_eq!(
        post(params("STOP"), signature("other", &url, &params("STOP"))).await,
        403
    );
    let none: i64 = sqlx::query_scalar("SELECT count(*) FROM sms_opt_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(none, 0);
    // Signed by the provider: recorded, audited.
    assert_eq!(
        post(params("stop"), signature(TOKEN, &url, &params("stop"))).await,
        200
    );
    let phone = app::contact::Phone::parse("+15025550103").unwrap();
    assert!(app::sms::opted_out(&pool, &phone).await.unwrap());
    assert_eq!(audited(&pool, "sms.opted_out").await.len(), 1);
    // Anything else a resident writes is not kept.
    assert_eq!(
        post(
            params("thank you"),
            signature(TOKEN, &url, &params("thank you"))
        )
        .await,
        200
    );
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM sms_opt_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(kept, 1);
}
