//! The outbox worker: sends queued e-mail over SMTP (lettre), oldest first. A message is locked
//! (`FOR UPDATE SKIP LOCKED`) while it is sent and marked sent in the same transaction, so two
//! servers never send the same message and a failed send stays queued with a backoff. The one
//! window left is a crash between the SMTP server's "250 OK" and our commit: then the message
//! goes again, with the same Message-ID so mail systems can drop the copy.

use lettre::message::header::ContentType;
use lettre::message::{Attachment as LettreAttachment, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

/// Where mail goes. SMTP for real; the dev mailbox (the outbox table itself, shown at
/// /dev/mailbox) when no SMTP server is configured and the deployment allows it.
#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    DevMailbox,
}

impl Transport {
    /// From `$WRAPAROUND_SMTP_URL` (e.g. `smtp://127.0.0.1:2525`, `smtps://user:pass@host`).
    pub fn from_env(dev_mailbox: bool) -> anyhow::Result<Option<Transport>> {
        match std::env::var("WRAPAROUND_SMTP_URL") {
            Ok(url) if !url.is_empty() => Ok(Some(Transport::smtp(&url)?)),
            _ if dev_mailbox => Ok(Some(Transport::DevMailbox)),
            _ => Ok(None),
        }
    }

    pub fn smtp(url: &str) -> anyhow::Result<Transport> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?
            .timeout(Some(Duration::from_secs(15)))
            .build();
        Ok(Transport::Smtp(transport))
    }

    fn name(&self) -> &'static str {
        match self {
            Transport::Smtp(_) => "smtp",
            Transport::DevMailbox => "dev-mailbox",
        }
    }
}

#[derive(sqlx::FromRow)]
struct Queued {
    id: Uuid,
    to_address: String,
    subject: String,
    body: String,
    secret: Option<String>,
    attempts: i32,
    attachment_name: Option<String>,
    attachment_type: Option<String>,
    attachment: Option<Vec<u8>>,
}

fn build(m: &Queued, from: &str, host: &str) -> Result<Message, String> {
    let builder = Message::builder()
        .from(from.parse().map_err(|e| format!("bad From address: {e}"))?)
        .to(m
            .to_address
            .parse()
            .map_err(|e| format!("bad To address: {e}"))?)
        .subject(&m.subject)
        .message_id(Some(format!("<{}@{}>", m.id, host)));
    let text = app::mail::delivered_body(&m.body, m.secret.as_deref());
    match (&m.attachment_name, &m.attachment_type, &m.attachment) {
        (Some(name), Some(kind), Some(bytes)) => {
            let kind = ContentType::parse(kind).map_err(|e| format!("bad attachment type: {e}"))?;
            builder.multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(text))
                    .singlepart(LettreAttachment::new(name.clone()).body(bytes.clone(), kind)),
            )
        }
        _ => builder.header(ContentType::TEXT_PLAIN).body(text),
    }
    .map_err(|e| e.to_string())
}

/// Waits before the next try: 10 s, 20 s, 40 s ... up to an hour.
pub fn backoff(attempts: i32) -> Duration {
    let secs = 10u64.saturating_mul(1u64 << attempts.clamp(0, 12) as u64);
    Duration::from_secs(secs.min(3600))
}

/// Sends at most one due message. Returns whether there was one to try.
pub async fn send_one(
    pool: &PgPool,
    transport: &Transport,
    from: &str,
    host: &str,
) -> anyhow::Result<bool> {
    let mut tx = pool.begin().await?;
    let Some(m): Option<Queued> = sqlx::query_as(
        "SELECT id, to_address, subject, body, secret, attempts, attachment_name, attachment_type, attachment FROM outbox
          WHERE channel = 'email' AND sent_at IS NULL AND send_after <= now()
          ORDER BY send_after, created_at
          LIMIT 1 FOR UPDATE SKIP LOCKED",
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(false);
    };
    let result = match transport {
        Transport::DevMailbox => Ok(()),
        Transport::Smtp(smtp) => match build(&m, from, host) {
            Ok(message) => smtp
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            // A message that cannot be built (a bad address) fails like a refused send: it
            // backs off instead of blocking the queue.
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => {
            sqlx::query(
                // Once delivered, the outbox keeps no usable link (the dev mailbox still shows
                // it: it is the delivery).
                "UPDATE outbox SET sent_at = now(), delivered_by = $2, attempts = attempts + 1,
                        secret = CASE WHEN $2 = 'dev-mailbox' THEN secret END
                  WHERE id = $1",
            )
            .bind(m.id)
            .bind(transport.name())
            .execute(&mut *tx)
            .await?;
        }
        Err(error) => {
            tracing::warn!(message = %m.id, attempts = m.attempts + 1, %error, "e-mail not sent; will retry");
            sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2,
                        send_after = now() + make_interval(secs => $3)
                  WHERE id = $1",
            )
            .bind(m.id)
            .bind(error.chars().take(500).collect::<String>())
            .bind(backoff(m.attempts).as_secs_f64())
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(true)
}

/// Sends everything due, then returns how many it tried.
pub async fn drain(
    pool: &PgPool,
    transport: &Transport,
    from: &str,
    host: &str,
) -> anyhow::Result<usize> {
    let mut n = 0;
    while send_one(pool, transport, from, host).await? {
        n += 1;
    }
    Ok(n)
}

/// The background worker: drains the outbox whenever a message is queued (LISTEN outbox) and
/// every few seconds (for retries and other servers' messages).
pub fn spawn(pool: PgPool, transport: Transport, from: String, host: String) {
    tokio::spawn(async move {
        let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await.ok();
        if let Some(l) = listener.as_mut() {
            let _ = l.listen("outbox").await;
        }
        loop {
            if let Err(e) = drain(&pool, &transport, &from, &host).await {
                tracing::error!(error = %e, "outbox worker");
            }
            let wait = tokio::time::sleep(Duration::from_secs(5));
            match listener.as_mut() {
                Some(l) => {
                    tokio::select! {
                        _ = l.recv() => {}
                        _ = wait => {}
                    }
                }
                None => wait.await,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn retries_back_off_to_an_hour() {
        assert_eq!(backoff(0).as_secs(), 10);
        assert_eq!(backoff(1).as_secs(), 20);
        assert_eq!(backoff(20).as_secs(), 3600);
    }
}
