//! Text messages. A text is queued in the same durable outbox as e-mail (`channel = 'sms'`),
//! in the transaction of the change that caused it; the worker in server/src/sms.rs hands it
//! to the SMS provider. People who reply STOP are never texted again until they reply START:
//! the replies are kept as evidence (`sms_opt_events`) and checked when a text is queued and
//! again when it is sent.

use crate::contact::Phone;
use sqlx::PgExecutor;

/// The words that stop texts (the FCC's list), and those that resume them.
pub const STOP_WORDS: &[&str] = &[
    "STOP",
    "STOPALL",
    "QUIT",
    "END",
    "REVOKE",
    "OPT OUT",
    "OPTOUT",
    "CANCEL",
    "UNSUBSCRIBE",
];
pub const START_WORDS: &[&str] = &["START", "UNSTOP"];

/// What a reply asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    Stop,
    Start,
    Other,
}

/// A reply is a stop or a start when that is all it says (any case, spaces and punctuation
/// around it ignored): "Stop", " stop. ", "OPT-OUT" stop; "please don't stop" does not.
pub fn reply(body: &str) -> Reply {
    let words: String = body
        .trim()
        .trim_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace())
        .to_uppercase()
        .replace(['-', '_'], " ");
    let words = words.split_whitespace().collect::<Vec<_>>().join(" ");
    if STOP_WORDS.contains(&words.as_str()) {
        Reply::Stop
    } else if START_WORDS.contains(&words.as_str()) {
        Reply::Start
    } else {
        Reply::Other
    }
}

/// Has this number asked not to be texted (its latest stop or start is a stop)?
pub async fn opted_out<'e>(db: impl PgExecutor<'e>, phone: &Phone) -> sqlx::Result<bool> {
    let latest: Option<bool> = sqlx::query_scalar(
        "SELECT opted_out FROM sms_opt_events WHERE phone = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(phone.e164())
    .fetch_optional(db)
    .await?;
    Ok(latest.unwrap_or(false))
}

/// What became of a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Queued {
    Queued,
    /// The number replied STOP: nothing was queued.
    OptedOut,
}

/// Queues a text to `to` (a 160-character-ish message; longer ones go as several segments).
/// Refused for a number that opted out.
pub async fn enqueue(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    to: &Phone,
    body: &str,
) -> sqlx::Result<Queued> {
    enqueue_with_secret(tx, to, body, None).await
}

/// [`enqueue`] for a text carrying a secret link: `body` holds [`crate::mail::SECRET`] where
/// the link goes; the link is kept apart and dropped once the text is delivered.
pub async fn enqueue_with_secret(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    to: &Phone,
    body: &str,
    secret: Option<&str>,
) -> sqlx::Result<Queued> {
    if opted_out(&mut **tx, to).await? {
        return Ok(Queued::OptedOut);
    }
    sqlx::query(
        "INSERT INTO outbox (channel, to_address, subject, body, secret) VALUES ('sms', $1, '', $2, $3)",
    )
    .bind(to.e164())
    .bind(body)
    .bind(secret)
    .execute(&mut **tx)
    .await?;
    Ok(Queued::Queued)
}

/// Records a reply from a number: a stop or a start is kept as evidence; anything else is not
/// kept (we do not read residents' messages here).
pub async fn record_reply<'e>(
    db: impl PgExecutor<'e>,
    from: &Phone,
    body: &str,
    message_sid: Option<&str>,
) -> sqlx::Result<Reply> {
    let r = reply(body);
    if r != Reply::Other {
        sqlx::query(
            "INSERT INTO sms_opt_events (phone, opted_out, body, message_sid) VALUES ($1, $2, $3, $4)",
        )
        .bind(from.e164())
        .bind(r == Reply::Stop)
        .bind(body.chars().take(160).collect::<String>())
        .bind(message_sid)
        .execute(db)
        .await?;
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_and_start_are_read_however_they_are_typed() {
        for stop in [
            "STOP",
            "stop",
            " Stop. ",
            "opt out",
            "OPT-OUT",
            "Unsubscribe!",
            "quit",
            "END",
            "revoke",
            "cancel",
            "stopall",
        ] {
            assert_eq!(reply(stop), Reply::Stop, "{stop:?}");
        }
        for start in ["START", "start", "Unstop"] {
            assert_eq!(reply(start), Reply::Start, "{start:?}");
        }
        for other in [
            "please don't stop",
            "stop texting me at night maybe",
            "yes",
            "",
            "STOP STOP",
        ] {
            assert_eq!(reply(other), Reply::Other, "{other:?}");
        }
    }
}
