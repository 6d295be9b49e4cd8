//! `bench-metrics`: the statewide metrics page and the monthly incentive report with 1 million
//! referrals and 1 million assessments (after `bench-referrals` and `bench-residents`).

use super::{sign_in, stats_row, PARTNER_PASSWORD, PARTNER_SECRET};
use chrono::{Datelike, Utc};
use sqlx::PgPool;
use std::fmt::Write;
use std::time::Instant;

/// Tops the assessments up to 1 million, completed over the past year by partner organizations'
/// people (once).
async fn load(pool: &PgPool) -> anyhow::Result<String> {
    let have: i64 = sqlx::query_scalar("SELECT count(*) FROM assessments")
        .fetch_one(pool)
        .await?;
    if have >= 1_000_000 {
        return Ok(String::new());
    }
    let started = Instant::now();
    sqlx::query(
        "INSERT INTO assessments (resident_id, instrument, instrument_version, mode, administered_by, organization_id,
                                  answers, status, started_at, completed_at)
         SELECT r.id, 'self-assessment', '2026-12', 'partner', u.id, u.organization_id, '{}'::jsonb, 'completed',
                now() - (abs(hashtext(r.id::text)) % 365) * interval '1 day',
                now() - (abs(hashtext(r.id::text)) % 365) * interval '1 day'
           FROM (SELECT id, row_number() OVER () AS n FROM residents WHERE retired_at IS NULL LIMIT $1) r
           JOIN LATERAL (SELECT id, organization_id FROM users WHERE email = CASE WHEN r.n % 2 = 0
                          THEN 'bench.receiver@bench.example' ELSE 'bench.sender@bench.example' END) u ON true",
    )
    .bind(1_000_000 - have)
    .execute(pool)
    .await?;
    // Three indicators per assessment (food, housing, rides), as completing one records them;
    // earlier ones superseded, as a newer assessment does.
    sqlx::query(
        "INSERT INTO sdoh_indicators (resident_id, need, domain, interpretation, sensitive, source, assessment_id,
                                      organization_id, observed_at, superseded_at)
         SELECT a.resident_id, x.need, x.domain,
                CASE WHEN abs(hashtext(a.id::text || x.need)) % 3 = 0 THEN 'positive' ELSE 'negative' END,
                false, 'wraparound', a.id, a.organization_id, a.completed_at, a.completed_at
           FROM assessments a
          CROSS JOIN (VALUES ('food', 'food-insecurity'), ('housing', 'housing-instability'),
                             ('transportation', 'transportation-insecurity')) x (need, domain)
          WHERE a.status = 'completed'
            AND NOT EXISTS (SELECT 1 FROM sdoh_indicators i WHERE i.assessment_id = a.id)",
    )
    .execute(pool)
    .await?;
    sqlx::query("ANALYZE assessments").execute(pool).await?;
    sqlx::query("ANALYZE sdoh_indicators").execute(pool).await?;
    Ok(format!(
        " (assessments topped up to 1,000,000 in {:.0} s)",
        started.elapsed().as_secs_f64()
    ))
}

pub async fn metrics(
    pool: &PgPool,
    base_url: &str,
    n: usize,
    key: &app::identity::sealed::SealingKey,
) -> anyhow::Result<String> {
    let load_note = load(pool).await?;
    // What the minute job does, so the page reads folded counts (as it would a minute later).
    let started = Instant::now();
    let folded = app::metrics::counts::fold(pool).await?;
    let fold_note = format!(
        "; {folded} kept counts folded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    sqlx::query(
        "INSERT INTO users (email, name, role, password_hash, totp_secret, mfa_enrolled_at, training_passed_at)
         VALUES ('bench.state@bench.example', 'Bench State', 'state_admin', $1, $2, now(), now())
         ON CONFLICT (lower(email)) WHERE role <> 'resident' DO UPDATE SET password_hash = $1, totp_secret = $2, last_totp_step = NULL",
    )
    .bind(app::identity::passwords::hash(PARTNER_PASSWORD))
    .bind(key.seal(PARTNER_SECRET))
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO agreement_acceptances (user_id, version) SELECT id, $1 FROM users WHERE email = 'bench.state@bench.example' ON CONFLICT DO NOTHING",
    )
    .bind(app::partners::onboarding::AGREEMENT_VERSION)
    .execute(pool)
    .await?;
    let (referrals, assessments): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM referrals), (SELECT count(*) FROM assessments)",
    )
    .fetch_one(pool)
    .await?;
    let client = sign_in(base_url, "bench.state@bench.example").await?;
    let tz = app::metrics::Tz::America__New_York;
    let year = Utc::now().with_timezone(&tz).year();
    // The state, then each county in turn (as the filter is used).
    let counties: Vec<String> = sqlx::query_scalar(
        "SELECT regexp_replace(county, ' County$', '') FROM places WHERE state = 'KY' AND county IS NOT NULL
          GROUP BY 1 ORDER BY count(*) DESC LIMIT 20",
    )
    .fetch_all(pool)
    .await?;
    for _ in 0..3 {
        client
            .get(format!("{base_url}/state/metrics"))
            .send()
            .await?
            .bytes()
            .await?;
    }
    let mut state_page = Vec::new();
    let mut county_page = Vec::new();
    for i in 0..n {
        let started = Instant::now();
        let r = client
            .get(format!("{base_url}/state/metrics?year={year}"))
            .send()
            .await?;
        anyhow::ensure!(
            r.status().is_success(),
            "metrics page answered {}",
            r.status()
        );
        r.bytes().await?;
        state_page.push(started.elapsed());
        let county = &counties[i % counties.len().max(1)];
        let started = Instant::now();
        let r = client
            .get(format!("{base_url}/state/metrics"))
            .query(&[("year", year.to_string()), ("county", county.clone())])
            .send()
            .await?;
        anyhow::ensure!(
            r.status().is_success(),
            "metrics page answered {}",
            r.status()
        );
        r.bytes().await?;
        county_page.push(started.elapsed());
    }
    let filters = app::metrics::Filters {
        scope: app::metrics::Scope::State,
        org_type: None,
        year,
    };
    let mut floor = Vec::new();
    for _ in 0..n {
        let started = Instant::now();
        app::metrics::compute(pool, &filters, tz, Utc::now()).await?;
        floor.push(started.elapsed());
    }
    // The peer: the same figures counted from the rows, as the page did before the kept counts.
    let mut rows = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        app::metrics::compute_from_rows(pool, &filters, tz, Utc::now()).await?;
        rows.push(started.elapsed());
    }
    // The incentive report for last month, built (not stored) a few times.
    let month = app::incentives::previous_month(tz, Utc::now());
    let mut report = Vec::new();
    let mut lines = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let r = app::incentives::build(pool, tz, month).await?;
        report.push(started.elapsed());
        lines = r.lines.len();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### Metrics and incentives: {referrals} referrals, {assessments} assessments{load_note}{fold_note}\n"
    );
    let _ = writeln!(
        out,
        "A state administrator's `/state/metrics` (every figure M1-M16 for a year), the state and each of the 20 largest counties in turn, one request at a time over loopback. \
         **SQL floor** = the same figures straight from the kept counts (no HTTP, no page); **from the rows** = the same figures counted from the referral and assessment rows, as the page did before the kept counts (three runs). The incentive report for {} is built (not stored) five times: {lines} organization lines.\n",
        month.format("%B %Y")
    );
    let _ = writeln!(
        out,
        "| path | n | p50 ms | p95 ms | p99 ms | mean ms | max ms |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for (name, times) in [
        ("**State metrics page** (`/state/metrics`)", &state_page),
        ("State metrics page, one county", &county_page),
        ("SQL floor: every figure, the state", &floor),
        ("Peer: every figure from the rows, the state", &rows),
        ("**Incentive report build** (one month)", &report),
    ] {
        let _ = writeln!(out, "{}", stats_row(name, times));
    }
    let _ = writeln!(out);
    Ok(out)
}
