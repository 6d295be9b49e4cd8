//! Scheduled work: every minute each server asks whether a job is due; the jobs table hands each
//! due job to exactly one server (`FOR UPDATE SKIP LOCKED`), so adding servers never doubles a
//! reminder.

use app::config::Deployment;
use app::referrals::{clock_now, support};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;

/// Runs every due job once.
pub async fn run_due(pool: &PgPool, deployment: &Deployment) -> sqlx::Result<()> {
    let now = clock_now();
    if let Some(n) = support::send_reminders(
        pool,
        &deployment.referrals,
        &deployment.site.public_url,
        app::metrics::deployment_zone(deployment),
        now,
    )
    .await?
    {
        tracing::info!(digests = n, "referral reminders");
    }
    if let Some(n) = support::refresh_pairs(pool, now).await? {
        tracing::info!(pairs = n, "frequently paired together refreshed");
    }
    let folded = app::metrics::counts::fold(pool).await?;
    if folded > 0 {
        tracing::debug!(counts = folded, "metric changes folded");
    }
    if let Some(month) = app::incentives::run_monthly(pool, deployment, now).await? {
        tracing::info!(%month, "incentive report");
    }
    Ok(())
}

pub fn spawn(pool: PgPool, deployment: Arc<Deployment>) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = run_due(&pool, &deployment).await {
                tracing::error!(error = %e, "scheduled jobs");
            }
            if let Err(e) = crate::hsds::pull::start_due(&pool, &deployment).await {
                tracing::error!(error = %e, "directory pulls");
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    });
}
