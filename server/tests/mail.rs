//! The e-mail outbox against a real SMTP server (aiosmtpd in a child process): nothing is lost
//! while SMTP is down, nothing is sent twice, two workers never send the same message.

mod common;

use server::mail::{drain, send_one, Transport};
use sqlx::PgPool;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

struct Sink {
    child: Child,
    dir: PathBuf,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_sink(port: u16, dir: &std::path::Path) -> Sink {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let child = Command::new(format!("{root}/target/py/bin/python"))
        .arg(format!("{root}/end2end/support/smtp_sink.py"))
        .args(["--port", &port.to_string(), "--dir"])
        .arg(dir)
        .spawn()
        .expect("the SMTP sink (scripts/setup.sh installs aiosmtpd in target/py)");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Sink {
                child,
                dir: dir.to_path_buf(),
            };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("SMTP sink did not start");
}

fn received(sink: &Sink) -> Vec<serde_json::Value> {
    let mut files: Vec<_> = std::fs::read_dir(&sink.dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort_by_key(|e| e.path());
    files
        .iter()
        .map(|e| serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap())
        .collect()
}

async fn queue(pool: &PgPool, to: &str, subject: &str) {
    app::mail::enqueue(
        pool,
        &app::mail::Message::new(to, subject.into(), "Hello.\nLink: http://x/y".into()),
    )
    .await
    .unwrap();
}

const FROM: &str = "Wraparound <no-reply@wraparound.example>";

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn mail_waits_while_smtp_is_down_and_goes_once_when_it_is_back(pool: PgPool) {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let transport = Transport::smtp(&format!("smtp://127.0.0.1:{port}")).unwrap();
    queue(&pool, "casey@partner.example", "Your invitation").await;

    // SMTP is down: the message stays queued, with the error and a later retry time.
    assert!(send_one(&pool, &transport, FROM, "test").await.unwrap());
    let (attempts, sent, error, later): (i32, bool, Option<String>, bool) = sqlx::query_as(
        "SELECT attempts, sent_at IS NOT NULL, last_error, send_after > now() FROM outbox",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((attempts, sent, later), (1, false, true));
    assert!(error.is_some());
    // Not due yet: the worker leaves it alone.
    assert_eq!(drain(&pool, &transport, FROM, "test").await.unwrap(), 0);

    // SMTP is back and the retry is due: it goes, once.
    let sink = start_sink(port, dir.path()).await;
    sqlx::query("UPDATE outbox SET send_after = now()")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(drain(&pool, &transport, FROM, "test").await.unwrap(), 1);
    // A worker restarting (or running again) sends nothing more.
    assert_eq!(drain(&pool, &transport, FROM, "test").await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mails = received(&sink);
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["subject"], "Your invitation");
    assert_eq!(mails[0]["to"][0], "casey@partner.example");
    assert!(mails[0]["body"]
        .as_str()
        .unwrap()
        .contains("Link: http://x/y"));
    let (delivered_by,): (String,) = sqlx::query_as("SELECT delivered_by FROM outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(delivered_by, "smtp");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_secret_link_is_delivered_and_then_gone_from_the_outbox(pool: PgPool) {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let sink = start_sink(port, dir.path()).await;
    let transport = Transport::smtp(&format!("smtp://127.0.0.1:{port}")).unwrap();
    let link = "http://x/invitations/0123456789abcdef";
    app::mail::enqueue(
        &pool,
        &app::mail::Message::new(
            "casey@partner.example",
            "Your invitation".into(),
            format!("Create your account:\n{}\n", app::mail::SECRET),
        )
        .with_secret(link.into()),
    )
    .await
    .unwrap();
    assert_eq!(drain(&pool, &transport, FROM, "test").await.unwrap(), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mails = received(&sink);
    assert!(mails[0]["body"].as_str().unwrap().contains(link));
    // Sent: the outbox keeps no usable token.
    let (body, secret): (String, Option<String>) =
        sqlx::query_as("SELECT body, secret FROM outbox")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(secret, None);
    assert!(!body.contains("0123456789abcdef"));
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn two_workers_never_send_the_same_message(pool: PgPool) {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let sink = start_sink(port, dir.path()).await;
    for i in 0..20 {
        queue(
            &pool,
            &format!("person{i}@partner.example"),
            &format!("Message {i}"),
        )
        .await;
    }
    let transport = Transport::smtp(&format!("smtp://127.0.0.1:{port}")).unwrap();
    let (a, b) = tokio::join!(
        drain(&pool, &transport, FROM, "test"),
        drain(&pool, &transport, FROM, "test"),
    );
    assert_eq!(a.unwrap() + b.unwrap(), 20);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mails = received(&sink);
    let mut subjects: Vec<String> = mails
        .iter()
        .map(|m| m["subject"].as_str().unwrap().to_string())
        .collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!((mails.len(), subjects.len()), (20, 20));
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_message_that_cannot_be_addressed_backs_off_instead_of_blocking_the_queue(pool: PgPool) {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let sink = start_sink(port, dir.path()).await;
    queue(&pool, "not an address", "Broken").await;
    queue(&pool, "ok@partner.example", "Fine").await;
    let transport = Transport::smtp(&format!("smtp://127.0.0.1:{port}")).unwrap();
    assert_eq!(drain(&pool, &transport, FROM, "test").await.unwrap(), 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(received(&sink).len(), 1);
    let waiting: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE sent_at IS NULL AND attempts = 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(waiting, 1);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn an_attachment_arrives_as_a_file(pool: PgPool) {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let sink = start_sink(port, dir.path()).await;
    let transport = Transport::smtp(&format!("smtp://127.0.0.1:{port}")).unwrap();
    let csv = "chapter,organization,total\n\"uw\",\"Café Pantry\",10.00\n";
    app::mail::enqueue(
        &pool,
        &app::mail::Message::new(
            "reviewer@chapter.example",
            "Community Partner incentives for November 2026".into(),
            "Your chapter's lines are attached.".into(),
        )
        .with_attachment(app::mail::Attachment {
            name: "incentives-2026-11-uw.csv".into(),
            content_type: "text/csv; charset=utf-8".into(),
            bytes: csv.as_bytes().to_vec(),
        }),
    )
    .await
    .unwrap();
    assert_eq!(drain(&pool, &transport, FROM, "test").await.unwrap(), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mails = received(&sink);
    assert_eq!(mails.len(), 1);
    assert_eq!(
        mails[0]["body"].as_str().unwrap().trim(),
        "Your chapter's lines are attached."
    );
    let a = &mails[0]["attachments"][0];
    assert_eq!(a["name"], "incentives-2026-11-uw.csv");
    assert_eq!(a["type"], "text/csv");
    assert_eq!(a["content"].as_str().unwrap().replace("\r\n", "\n"), csv);
}
