//! Create forms carry a key made when the form was shown (a hidden `idempotency_key` field). The
//! server function takes the key in the same transaction as what it creates: a double click or a
//! resubmitted form finds the key taken (waiting, if need be, for the first submission to
//! commit) and goes where the first submission went, creating nothing twice.

use sqlx::{Postgres, Transaction};
use uuid::Uuid;

/// A fresh key for a form being rendered.
pub fn new_key() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}

/// The key a form sent, if it is one. Forms without one (scripts, old pages) are not deduplicated.
pub fn parse(field: Option<&str>) -> Option<Uuid> {
    field.and_then(|k| Uuid::parse_str(k.trim()).ok())
}

/// Takes `key` for `action`. `Ok(None)`: first time, go ahead. `Ok(Some(next))`: this form was
/// submitted before; `next` is where the first submission went (a form key reused for another
/// action or by another person is treated as stale: back to the start).
pub async fn take(
    tx: &mut Transaction<'_, Postgres>,
    key: Option<Uuid>,
    user: Option<Uuid>,
    action: &str,
) -> sqlx::Result<Option<String>> {
    let Some(key) = key else { return Ok(None) };
    let fresh: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO idempotency_keys (key, user_id, action) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO NOTHING RETURNING key",
    )
    .bind(key)
    .bind(user)
    .bind(action)
    .fetch_optional(&mut **tx)
    .await?;
    if fresh.is_some() {
        return Ok(None);
    }
    let before: Option<Option<String>> = sqlx::query_scalar(
        "SELECT result FROM idempotency_keys
          WHERE key = $1 AND action = $3 AND user_id IS NOT DISTINCT FROM $2",
    )
    .bind(key)
    .bind(user)
    .bind(action)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(Some(before.flatten().unwrap_or_else(|| "/".to_string())))
}

/// Records where the first submission went, in its transaction.
pub async fn complete(
    tx: &mut Transaction<'_, Postgres>,
    key: Option<Uuid>,
    next: &str,
) -> sqlx::Result<()> {
    if let Some(key) = key {
        sqlx::query("UPDATE idempotency_keys SET result = $2 WHERE key = $1")
            .bind(key)
            .bind(next)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
