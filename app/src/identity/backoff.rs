//! Sign-in backoff, in place of locking accounts. Wrong passwords and wrong codes are counted
//! per e-mail address *and client address*: after a few free tries that pair waits, 30 seconds
//! at first and doubling to 15 minutes. Someone guessing from one place slows only themselves;
//! the owner, elsewhere, signs in as usual. Failures for one address from everywhere count too,
//! with a much higher ceiling, against guessing spread over many machines. Addresses with no
//! account are counted exactly the same way, so the answers never tell which accounts exist.
//! The owner of a real account hears about it by e-mail (at most once a day).

use sqlx::PgPool;

/// Wrong tries allowed before the first wait.
pub const FREE_FAILURES: i32 = 5;
pub const FIRST_WAIT_SECONDS: i64 = 30;
pub const MAX_WAIT_SECONDS: i64 = 15 * 60;
/// Wrong tries for one e-mail address from anywhere (within a day) before everyone waits.
pub const ADDRESS_CEILING: i32 = 50;

fn pair_key(email: &str, ip: &str) -> String {
    format!("{}|{ip}", email.trim().to_lowercase())
}

fn address_key(email: &str) -> String {
    format!("{}|*", email.trim().to_lowercase())
}

/// The wait after the `failures`-th wrong try in a row from one place.
pub fn wait_after(failures: i32) -> Option<i64> {
    let over = failures - FREE_FAILURES;
    (over > 0).then(|| {
        FIRST_WAIT_SECONDS
            .saturating_mul(1i64 << (over - 1).clamp(0, 20))
            .min(MAX_WAIT_SECONDS)
    })
}

/// Seconds this person must still wait before trying again, if any.
pub async fn waiting(pool: &PgPool, email: &str, ip: &str) -> sqlx::Result<Option<i64>> {
    let secs: Option<f64> = sqlx::query_scalar(
        "SELECT max(extract(epoch FROM blocked_until - now()))::float8 FROM sign_in_backoff
          WHERE key IN ($1, $2) AND blocked_until > now()",
    )
    .bind(pair_key(email, ip))
    .bind(address_key(email))
    .fetch_one(pool)
    .await?;
    Ok(secs.map(|s| s.ceil().max(1.0) as i64))
}

/// Counts a wrong try. Returns the wait it starts, if it starts one (this try is the one that
/// tips the count over), so the caller can tell the owner.
pub async fn failed(pool: &PgPool, email: &str, ip: &str) -> sqlx::Result<Option<i64>> {
    // Counts older than a day start again.
    let bump = "INSERT INTO sign_in_backoff AS b (key, failures, updated_at) VALUES ($1, 1, now())
                ON CONFLICT (key) DO UPDATE SET
                    failures = CASE WHEN b.updated_at < now() - interval '1 day' THEN 1 ELSE b.failures + 1 END,
                    updated_at = now()
                RETURNING failures";
    let pair: i32 = sqlx::query_scalar(bump)
        .bind(pair_key(email, ip))
        .fetch_one(pool)
        .await?;
    let address: i32 = sqlx::query_scalar(bump)
        .bind(address_key(email))
        .fetch_one(pool)
        .await?;
    let mut started = None;
    if let Some(wait) = wait_after(pair) {
        set_wait(pool, &pair_key(email, ip), wait).await?;
        started = Some(wait);
    }
    if address >= ADDRESS_CEILING {
        set_wait(pool, &address_key(email), MAX_WAIT_SECONDS).await?;
        started = Some(started.unwrap_or(0).max(MAX_WAIT_SECONDS));
    }
    Ok(started)
}

async fn set_wait(pool: &PgPool, key: &str, seconds: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE sign_in_backoff SET blocked_until = now() + make_interval(secs => $2) WHERE key = $1",
    )
    .bind(key)
    .bind(seconds as f64)
    .execute(pool)
    .await?;
    Ok(())
}

/// A successful sign-in clears the count for this place (not the address-wide one: a guesser
/// elsewhere is still guessing).
pub async fn succeeded(pool: &PgPool, email: &str, ip: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sign_in_backoff WHERE key = $1")
        .bind(pair_key(email, ip))
        .execute(pool)
        .await?;
    Ok(())
}

/// "about 2 minutes": the wait in whole minutes, at least one.
pub fn minutes(seconds: i64) -> i64 {
    ((seconds + 59) / 60).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_starts_after_the_free_tries_and_doubles_to_a_ceiling() {
        for n in 0..=FREE_FAILURES {
            assert_eq!(wait_after(n), None, "{n}");
        }
        assert_eq!(wait_after(FREE_FAILURES + 1), Some(30));
        assert_eq!(wait_after(FREE_FAILURES + 2), Some(60));
        assert_eq!(wait_after(FREE_FAILURES + 3), Some(120));
        assert_eq!(wait_after(FREE_FAILURES + 10), Some(MAX_WAIT_SECONDS));
        assert_eq!(wait_after(10_000), Some(MAX_WAIT_SECONDS));
        assert_eq!(minutes(1), 1);
        assert_eq!(minutes(60), 1);
        assert_eq!(minutes(61), 2);
    }
}
