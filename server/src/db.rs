//! Connecting to Postgres, migrating, and the two database roles.
//!
//! The running server is not trusted with the schema: it connects as a **runtime role**
//! (`DATABASE_URL`) that owns nothing, may read and write the application's tables, and may only
//! append to and read the audit trail — it cannot update, delete, truncate, or disable the
//! trigger that chains it. Migrations, imports and the demo loader are operator commands that
//! connect as the **owner role** (`WRAPAROUND_OWNER_URL`), which owns the tables; `server
//! migrate` grants the runtime role what it needs. `server serve` refuses to start as a
//! superuser or as (a member of) the owner.

use anyhow::Context;
use app::config::Deployment;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use std::str::FromStr;
use std::time::Duration;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

fn options(var: &str, url: &str) -> anyhow::Result<PgConnectOptions> {
    Ok(PgConnectOptions::from_str(url)
        .with_context(|| format!("{var} is not a valid Postgres URL"))?
        // Imports rebuild the search index in one statement; only log what is really slow.
        .log_slow_statements(log::LevelFilter::Warn, Duration::from_secs(30))
        // No JIT: our queries take milliseconds, and JIT compiling one costs 50-300 ms whenever
        // the planner's cost estimate crosses jit_above_cost (as the nearest-first walk's
        // does, with sorting priced out of it).
        .options([("jit", "off")]))
}

async fn pool(var: &str, url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options(var, url)?)
        .await
        .with_context(|| format!("cannot connect to Postgres at {var}"))
}

fn runtime_url() -> anyhow::Result<String> {
    std::env::var("DATABASE_URL").context(
        "DATABASE_URL is not set. Use `make run` (it starts a private Postgres under target/) or set it to a Postgres URL",
    )
}

/// The runtime role's pool (`DATABASE_URL`): what `serve` uses.
pub async fn connect(max_connections: u32) -> anyhow::Result<PgPool> {
    pool("DATABASE_URL", &runtime_url()?, max_connections).await
}

/// The owner role's pool (`WRAPAROUND_OWNER_URL`, or `DATABASE_URL` when a deployment uses one
/// role for everything but serving): for migrations, imports and loading the demo.
pub async fn connect_owner(max_connections: u32) -> anyhow::Result<PgPool> {
    match std::env::var("WRAPAROUND_OWNER_URL") {
        Ok(url) if !url.is_empty() => pool("WRAPAROUND_OWNER_URL", &url, max_connections).await,
        _ => connect(max_connections).await,
    }
}

/// Brings the schema up to date (as the owner), loads the reference places, and grants the
/// runtime role named by `DATABASE_URL` its privileges.
pub async fn migrate(owner: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(owner)
        .await
        .context("database migration failed")?;
    crate::places::load(owner)
        .await
        .context("loading reference places failed")?;
    let runtime = std::env::var("DATABASE_URL")
        .ok()
        .and_then(|url| PgConnectOptions::from_str(&url).ok())
        .map(|o| o.get_username().to_string());
    let me: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(owner)
        .await?;
    if let Some(role) = runtime.filter(|r| *r != me) {
        grant_runtime(owner, &role).await?;
    }
    Ok(())
}

/// What the runtime role may do: read and write the application's tables, but only read and
/// append to the audit trail. Run after every migration so new tables are covered.
pub async fn grant_runtime(owner: &PgPool, role: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        !role.is_empty()
            && role
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
        "the runtime role name {role:?} must be lower-case letters, digits and _"
    );
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
            .bind(role)
            .fetch_one(owner)
            .await?;
    anyhow::ensure!(
        exists,
        "the runtime role {role} (the user in DATABASE_URL) does not exist"
    );
    let mut tx = owner.begin().await?;
    for statement in [
        format!("GRANT USAGE ON SCHEMA public, tower_sessions TO \"{role}\""),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public, tower_sessions TO \"{role}\""),
        format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO \"{role}\""),
        // The audit trail is append-only for the application, whatever the trigger says.
        format!("REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM \"{role}\""),
        // So are the consent ledger and residents' notes: a correction is a new row.
        format!("REVOKE UPDATE, DELETE, TRUNCATE ON consent_events, resident_notes FROM \"{role}\""),
        format!("REVOKE INSERT, UPDATE, DELETE ON _sqlx_migrations FROM \"{role}\""),
    ] {
        sqlx::query(&statement).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// `serve` refuses to run as a role that could rewrite the audit trail: a superuser, the owner
/// of the tables, or a member of the owner role.
pub async fn check_serving_role(pool: &PgPool) -> anyhow::Result<()> {
    let (me, superuser, owner_privileges): (String, bool, bool) = sqlx::query_as(
        "SELECT current_user::text, r.rolsuper,
                EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE n.nspname IN ('public', 'tower_sessions')
                           AND pg_has_role(current_user, c.relowner, 'USAGE'))
           FROM pg_roles r WHERE r.rolname = current_user",
    )
    .fetch_one(pool)
    .await?;
    anyhow::ensure!(
        !superuser,
        "refusing to serve as {me}, a Postgres superuser: set DATABASE_URL to the runtime role (see README, Security)"
    );
    anyhow::ensure!(
        !owner_privileges,
        "refusing to serve as {me}, which owns (or may act as the owner of) the tables: set DATABASE_URL to the runtime role and WRAPAROUND_OWNER_URL to the owner (see README, Security)"
    );
    Ok(())
}

/// The schema must be the one this binary was built for: migrations are run by `server
/// migrate` (as the owner), never by the serving process.
pub async fn check_schema(pool: &PgPool) -> anyhow::Result<()> {
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(pool)
            .await
            .unwrap_or_default();
    let missing: Vec<i64> = MIGRATOR
        .iter()
        .map(|m| m.version)
        .filter(|v| !applied.contains(v))
        .collect();
    anyhow::ensure!(
        missing.is_empty(),
        "the database schema is not up to date ({} migrations to run): run `server migrate` with WRAPAROUND_OWNER_URL set to the owner role",
        missing.len()
    );
    // An empty index is current whichever version made it.
    let (made_by, empty): (i32, bool) = sqlx::query_as(
        "SELECT document_version, NOT EXISTS (SELECT 1 FROM search_entries) FROM search_generation",
    )
    .fetch_one(pool)
    .await?;
    anyhow::ensure!(
        empty || made_by >= app::directory::index::DOCUMENT_VERSION,
        "the search index was made by an older version: run `server migrate` with WRAPAROUND_OWNER_URL set to the owner role"
    );
    Ok(())
}

/// The sign-in secrets key checked against the database, and secrets stored before sealing
/// existed sealed with it.
pub async fn prepare_secrets(pool: &PgPool, deployment: &Deployment) -> anyhow::Result<()> {
    let key = app::identity::sealed::prepare(pool, deployment).await?;
    let sealed = app::identity::sealed::seal_stored_secrets(pool, key)
        .await
        .context("sealing stored TOTP secrets failed")?;
    if sealed > 0 {
        tracing::info!(sealed, "sealed TOTP secrets stored in the clear");
    }
    Ok(())
}

/// What operator commands that write (import, demo) need: the schema migrated, the search
/// index made by this version, and the key.
pub async fn prepare(owner: &PgPool, deployment: &Deployment) -> anyhow::Result<()> {
    migrate(owner).await?;
    let rebuilt = app::directory::index::rebuild_if_outdated(owner, &deployment.region.timezone)
        .await
        .context("rebuilding the search index made by an older version failed")?;
    if !rebuilt.is_empty() {
        tracing::info!(sources = ?rebuilt, "search index rebuilt: an older version made it");
    }
    prepare_secrets(owner, deployment).await
}
