//! Connecting to Postgres, migrating, and loading the reference places shipped with the app.

use anyhow::Context;
use app::config::Deployment;
use app::identity::sealed;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use std::str::FromStr;
use std::time::Duration;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Opens the pool named by `DATABASE_URL`.
pub async fn connect(max_connections: u32) -> anyhow::Result<PgPool> {
    let url = std::env::var("DATABASE_URL").context(
        "DATABASE_URL is not set. Use `make run` (it starts a private Postgres under target/) or set it to a Postgres URL",
    )?;
    let options = PgConnectOptions::from_str(&url)
        .context("DATABASE_URL is not a valid Postgres URL")?
        // Imports rebuild the search index in one statement; only log what is really slow.
        .log_slow_statements(log::LevelFilter::Warn, Duration::from_secs(30))
        // No JIT: our queries take milliseconds, and JIT compiling one costs 50-300 ms whenever
        // the planner's cost estimate crosses jit_above_cost (as the nearest-first walk's
        // does, with sorting priced out of it).
        .options([("jit", "off")]);
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .context("cannot connect to Postgres at DATABASE_URL")?;
    Ok(pool)
}

/// Brings the schema up to date, makes sure the reference places are loaded, and seals TOTP
/// secrets stored before sealing existed (checking the secrets key on the way).
pub async fn prepare(pool: &PgPool, deployment: &Deployment) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("database migration failed")?;
    crate::places::load(pool)
        .await
        .context("loading reference places failed")?;
    let key = sealed::key(deployment)?;
    let sealed = sealed::seal_stored_secrets(pool, key)
        .await
        .context("sealing stored TOTP secrets failed")?;
    if sealed > 0 {
        tracing::info!(sealed, "sealed TOTP secrets stored in the clear");
    }
    Ok(())
}
