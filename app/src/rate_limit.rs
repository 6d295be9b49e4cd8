//! Rate limits for forms that attract abuse (sign-in, claims), counted in Postgres so every app
//! server shares them. Fixed windows: simple, and good enough against guessing.

use sqlx::PgPool;

#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub name: &'static str,
    pub max: i32,
    pub window_seconds: i64,
}

/// Sign-in attempts from one address: a ceiling far above what the people behind one shared
/// address (a hospital, a library) do; guessing is slowed by `identity::backoff` instead.
pub const SIGN_IN_PER_IP: Limit = Limit {
    name: "sign-in-ip",
    max: 600,
    window_seconds: 900,
};
/// "Someone is trying to sign in as you": at most one e-mail a day.
pub const BACKOFF_NOTICE: Limit = Limit {
    name: "backoff-notice",
    max: 1,
    window_seconds: 86_400,
};
pub const CLAIMS_PER_IP: Limit = Limit {
    name: "claim-ip",
    max: 5,
    window_seconds: 3600,
};
pub const CLAIMS_PER_EMAIL: Limit = Limit {
    name: "claim-email",
    max: 3,
    window_seconds: 3600,
};

/// Codes sent to link a resident's account to a record: a handful an hour per account.
pub const LINK_CODES: Limit = Limit {
    name: "link-code",
    max: 5,
    window_seconds: 3600,
};

/// Counts one attempt for `who` and says whether it is still within the limit.
pub async fn allow(pool: &PgPool, limit: Limit, who: &str) -> sqlx::Result<bool> {
    let hits: i32 = sqlx::query_scalar(
        "INSERT INTO rate_limits (key, window_start, hits)
         VALUES ($1, to_timestamp(floor(extract(epoch FROM now()) / $2) * $2), 1)
         ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limits.hits + 1
         RETURNING hits",
    )
    .bind(format!("{}:{}", limit.name, who.to_lowercase()))
    .bind(limit.window_seconds as f64)
    .fetch_one(pool)
    .await?;
    // Old windows are dead weight; clearing them now and then keeps the table small.
    if hits == 1 {
        sqlx::query("DELETE FROM rate_limits WHERE window_start < now() - interval '1 day'")
            .execute(pool)
            .await?;
    }
    Ok(hits <= limit.max)
}
