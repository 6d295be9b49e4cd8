//! The state's and counties' figures from counts kept as the rows change (the
//! `metric_counts` migration): a day's, a month's or a county's facts are a handful of counted
//! rows instead of a scan of every referral, so `/state/metrics` answers in milliseconds at a
//! million referrals and a million assessments.
//!
//! The counts are per local day in the zone they were kept in. A period made of whole local days
//! (a year, a month) is a sum of counts; the last 30 days, which start and end inside a day, are
//! the whole days between from the counts plus the two part days from the rows (both found by
//! index). The figures are therefore the same as counting the rows, which a test checks.

use super::{
    by_domain, local_midnight, month_series, network, push_filters, Filters, Metrics, Scope, Tz,
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sqlx::{PgPool, QueryBuilder};
use uuid::Uuid;

/// Whether the counts answer `f` counted in `tz`: the state or counties, no filter by
/// organization type (a count knows the receiving organization's county, not its type), and
/// the zone the counts were kept in.
pub async fn answers(pool: &PgPool, f: &Filters, tz: Tz) -> sqlx::Result<bool> {
    if f.org_type.is_some() || !matches!(f.scope, Scope::State | Scope::Counties(_)) {
        return Ok(false);
    }
    let zone: Option<String> = sqlx::query_scalar("SELECT zone FROM metric_settings")
        .fetch_optional(pool)
        .await?;
    Ok(zone.as_deref() == Some(tz.name()))
}

/// Keeps the counts in the deployment's zone: at start, a changed zone counts everything again.
/// Returns whether it did.
pub async fn keep_zone(pool: &PgPool, tz: Tz) -> sqlx::Result<bool> {
    let mut tx = pool.begin().await?;
    let zone: String = sqlx::query_scalar("SELECT zone FROM metric_settings FOR UPDATE")
        .fetch_one(&mut *tx)
        .await?;
    if zone == tz.name() {
        return Ok(false);
    }
    sqlx::query("UPDATE metric_settings SET zone = $1")
        .bind(tz.name())
        .execute(&mut *tx)
        .await?;
    sqlx::query("SELECT metric_rebuild()")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Folds the changes counted since the last fold into the counts (the job runs it every
/// minute; figures are exact without it, only slower to add up). Returns the counts touched.
pub async fn fold(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT metric_fold()")
        .fetch_one(pool)
        .await
}

/// Kinds counted for all time (M1, M3, M4, M5).
const ALL_TIME: &str = "('created', 'open', 'created_closed')";
/// Kinds counted per day that the last 30 days need day by day.
const DAILY: &str = "('created', 'closed', 'reason')";
/// Kinds only summed over the year.
const YEARLY: &str = "('need', 'creator', 'closer', 'uw_closed', 'days', 'result')";

#[derive(sqlx::FromRow)]
struct Count {
    kind: String,
    /// A day of the last 30 days (otherwise a month of the year, or none).
    daily: bool,
    bucket: Option<NaiveDate>,
    org: Option<Uuid>,
    key: String,
    n: i64,
}

/// Every figure for `f` (which [`answers`] said the counts answer), as of `now`.
pub async fn compute(
    pool: &PgPool,
    f: &Filters,
    tz: Tz,
    now: DateTime<Utc>,
) -> sqlx::Result<Metrics> {
    let y0 = NaiveDate::from_ymd_opt(f.year, 1, 1).expect("a year");
    let y1 = NaiveDate::from_ymd_opt(f.year + 1, 1, 1).expect("a year");
    let today = now.with_timezone(&tz).date_naive();
    // The last 30 days: the part of the first day from the rows, whole days from the counts,
    // today (up to now) from the rows.
    let window_start = now - Duration::days(30);
    let first_day = window_start.with_timezone(&tz).date_naive();
    let whole_from = if local_midnight(tz, first_day) == window_start {
        first_day
    } else {
        first_day + Duration::days(1)
    };
    let parts = [
        (window_start, local_midnight(tz, whole_from)),
        (local_midnight(tz, today), now),
    ];

    let mut q = QueryBuilder::new("WITH m AS (");
    match &f.scope {
        Scope::State => {
            q.push(
                "SELECT kind, day, org, key, n FROM metric_counts WHERE county = '*'
                 UNION ALL SELECT kind, day, org, key, n FROM metric_counts
                  WHERE county = '' AND kind IN ('assessed', 'result')
                 UNION ALL SELECT kind, day, org, key, n FROM metric_deltas",
            );
        }
        Scope::Counties(fips) => {
            // Referrals to programs in the counties; assessments by organizations with a
            // program there.
            for (i, table) in ["metric_counts", "metric_deltas"].into_iter().enumerate() {
                if i > 0 {
                    q.push(" UNION ALL ");
                }
                q.push(format_args!(
                    "SELECT kind, day, org, key, n FROM {table}
                      WHERE county = ANY("
                ))
                .push_bind(fips.clone())
                .push(format_args!(
                    ") AND kind NOT IN ('assessed', 'result')
                     UNION ALL SELECT kind, day, org, key, n FROM {table}
                      WHERE county = '' AND kind IN ('assessed', 'result')
                        AND org IN (SELECT organization_id FROM search_entries WHERE county_fips = ANY("
                ))
                .push_bind(fips.clone())
                .push("))");
            }
        }
        Scope::Organization(_) | Scope::Received(_) | Scope::Sent(_) => {
            unreachable!("answers() sends an organization to the rows")
        }
    }
    q.push(format_args!(
        ") SELECT kind,
                  (kind IN {DAILY} AND day >= "
    ))
    .push_bind(whole_from)
    .push(" AND day < ")
    .push_bind(today)
    .push(format_args!(
        ") AS daily,
                  CASE WHEN kind IN {DAILY} AND day >= "
    ))
    .push_bind(whole_from)
    .push(" AND day < ")
    .push_bind(today)
    .push(format_args!(
        " THEN day
                       WHEN kind IN {YEARLY} THEN NULL
                       WHEN day >= "
    ))
    .push_bind(y0)
    .push(" AND day < ")
    .push_bind(y1)
    .push(
        " THEN date_trunc('month', day)::date END AS bucket,
                  CASE WHEN kind IN ('creator', 'closer') THEN org END AS org,
                  key, sum(n)::bigint AS n
             FROM m
            WHERE kind IN ",
    )
    .push(ALL_TIME)
    .push(" OR (day >= ")
    .push_bind(y0)
    .push(" AND day < ")
    .push_bind(y1)
    .push(format_args!(") OR (kind IN {DAILY} AND day >= "))
    .push_bind(whole_from)
    .push(" AND day < ")
    .push_bind(today)
    .push(") GROUP BY 1, 2, 3, 4, 5");
    let counts: Vec<Count> = q.build_query_as().fetch_all(pool).await?;

    let in_year = |c: &Count| c.bucket.is_some_and(|d| d >= y0 && d < y1);
    let month_of = |c: &Count| c.bucket.map(|d| d.with_day(1).expect("a first day"));
    let sum =
        |keep: &dyn Fn(&Count) -> bool| counts.iter().filter(|c| keep(c)).map(|c| c.n).sum::<i64>();
    let kind = |k: &'static str| move |c: &Count| c.kind == k;

    // The part days of the last 30, from the rows.
    let mut q = QueryBuilder::new("SELECT count(*) FROM referrals r WHERE (");
    for (i, (from, to)) in parts.iter().enumerate() {
        if i > 0 {
            q.push(" OR ");
        }
        q.push("(r.created_at >= ")
            .push_bind(*from)
            .push(" AND r.created_at < ")
            .push_bind(*to)
            .push(")");
    }
    q.push(") AND");
    push_filters(&mut q, f);
    let created_parts: i64 = q.build_query_scalar().fetch_one(pool).await?;
    let mut q = QueryBuilder::new(
        "SELECT r.status, coalesce(r.outcome_reason, ''), count(*) FROM referrals r WHERE (",
    );
    for (i, (from, to)) in parts.iter().enumerate() {
        if i > 0 {
            q.push(" OR ");
        }
        q.push("(r.closed_at >= ")
            .push_bind(*from)
            .push(" AND r.closed_at < ")
            .push_bind(*to)
            .push(")");
    }
    q.push(") AND");
    push_filters(&mut q, f);
    q.push(" GROUP BY 1, 2");
    let closed_parts: Vec<(String, String, i64)> = q.build_query_as().fetch_all(pool).await?;

    let window = |k: &'static str| move |c: &Count| c.kind == k && c.daily;
    let closed_as = |status: &'static str| {
        sum(&|c: &Count| window("closed")(c) && c.key == status)
            + closed_parts
                .iter()
                .filter(|(s, _, _)| s == status)
                .map(|(_, _, n)| n)
                .sum::<i64>()
    };

    // M9: reasons, from the whole days and the parts.
    let mut reasons: Vec<(String, i64)> = Vec::new();
    let mut add = |reason: &str, n: i64| match reasons.iter_mut().find(|(r, _)| r == reason) {
        Some((_, total)) => *total += n,
        None => reasons.push((reason.to_string(), n)),
    };
    for c in counts.iter().filter(|c| window("reason")(c)) {
        add(&c.key, c.n);
    }
    for (_, reason, n) in closed_parts
        .iter()
        .filter(|(s, _, _)| s == "resource_not_provided")
    {
        add(reason, *n);
    }
    reasons.retain(|(_, n)| *n > 0);
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    reasons.truncate(3);

    // M10, M11: organizations by name (two with one name are one line, as from the rows).
    let top = |k: &'static str| {
        let mut orgs: Vec<Uuid> = Vec::new();
        let mut ns: Vec<i64> = Vec::new();
        for c in counts.iter().filter(|c| c.kind == k) {
            if let Some(org) = c.org {
                orgs.push(org);
                ns.push(c.n);
            }
        }
        (orgs, ns)
    };
    let mut names = Vec::new();
    for k in ["creator", "closer"] {
        let (orgs, ns) = top(k);
        let named: Vec<(String, i64)> = sqlx::query_as(
            "SELECT o.name, sum(x.n)::bigint FROM unnest($1::uuid[], $2::bigint[]) x (org, n)
               JOIN organizations o ON o.id = x.org
              GROUP BY o.name HAVING sum(x.n) > 0 ORDER BY 2 DESC, o.name LIMIT 5",
        )
        .bind(&orgs)
        .bind(&ns)
        .fetch_all(pool)
        .await?;
        names.push(named);
    }
    let top_closers = names.pop().unwrap_or_default();
    let top_creators = names.pop().unwrap_or_default();

    // M12.
    let monthly = |k: &'static str| -> Vec<(NaiveDate, i64)> {
        counts
            .iter()
            .filter(|c| c.kind == k && in_year(c))
            .filter_map(|c| Some((month_of(c)?, c.n)))
            .collect()
    };
    let months = month_series(
        f.year,
        &monthly("created"),
        &monthly("closed"),
        &monthly("assessed"),
    );

    // M13.
    let needs = counts
        .iter()
        .filter(|c| c.kind == "need")
        .map(|c| (c.key.clone(), c.n))
        .collect();

    // M14: "domain|positive" and "domain|negative".
    let mut results: Vec<(String, i64, i64)> = Vec::new();
    for c in counts.iter().filter(|c| c.kind == "result") {
        let Some((domain, interpretation)) = c.key.split_once('|') else {
            continue;
        };
        let positive = if interpretation == "positive" { c.n } else { 0 };
        match results.iter_mut().find(|(d, _, _)| d == domain) {
            Some((_, p, a)) => {
                *p += positive;
                *a += c.n;
            }
            None => results.push((domain.to_string(), positive, c.n)),
        }
    }
    results.retain(|(_, _, answered)| *answered > 0);
    results.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));

    // M16: the median of the whole days, from their histogram.
    let mut days: Vec<(i64, i64)> = counts
        .iter()
        .filter(|c| c.kind == "days" && c.n > 0)
        .filter_map(|c| Some((c.key.parse().ok()?, c.n)))
        .collect();
    days.sort();

    Ok(Metrics {
        year: f.year,
        created_all: sum(&kind("created")),
        created_year: sum(&|c: &Count| c.kind == "created" && in_year(c)),
        closed_all: sum(&kind("created_closed")),
        created_year_closed: sum(&|c: &Count| c.kind == "created_closed" && in_year(c)),
        closed_year: sum(&|c: &Count| c.kind == "closed" && in_year(c)),
        open_now: sum(&kind("open")),
        created_30: sum(&window("created")) + created_parts,
        closed_30: sum(&window("closed")) + closed_parts.iter().map(|(_, _, n)| n).sum::<i64>(),
        network: network(pool, f).await?,
        provided_30: closed_as("resource_provided"),
        not_provided_30: closed_as("resource_not_provided"),
        top_reasons: reasons,
        top_creators,
        top_closers,
        united_way_closures: sum(&kind("uw_closed")),
        months,
        by_domain: by_domain(needs),
        assessment_results: results,
        median_days_to_close: median(&days),
    })
}

/// The median (halfway between the two middle values for an even count, as Postgres's
/// `percentile_cont(0.5)`) of values given as (value, how many), sorted by value.
fn median(histogram: &[(i64, i64)]) -> Option<f64> {
    let total: i64 = histogram.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let at = |i: i64| {
        let mut seen = 0;
        for (v, n) in histogram {
            seen += n;
            if i < seen {
                return *v as f64;
            }
        }
        unreachable!("i is below the total")
    };
    let (lo, hi) = ((total - 1) / 2, total / 2);
    Some((at(lo) + at(hi)) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn the_median_of_a_histogram_is_percentile_cont() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[(3, 1)]), Some(3.0));
        assert_eq!(median(&[(1, 1), (4, 1)]), Some(2.5));
        assert_eq!(median(&[(0, 2), (2, 1)]), Some(0.0));
        assert_eq!(median(&[(0, 1), (2, 2), (9, 1)]), Some(2.0));
        assert_eq!(median(&[(1, 3), (5, 1)]), Some(1.0));
    }
}
