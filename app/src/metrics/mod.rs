//! Statewide metrics, defined once over a [`Scope`] (the state, a United Way chapter's counties,
//! one county, one organization), so the state view, a chapter's and an organization's agree by
//! construction. Periods are half-open, `[start, end)`, in the deployment's time zone
//! (`region.timezone` in `Leptos.toml`): a referral closed at 23:30 Central on December 31 is
//! 00:30 Eastern on January 1 and counts in the next year when the deployment is Eastern.
//!
//! The definitions (also in the README):
//! - M1 referrals created, all time; M2 created in year Y;
//! - M3 closed now (every referral whose status is final: provided, not provided, declined,
//!   cancelled); M4 created in Y and closed now (the seed's "closed in 2024" cohort), and M4b
//!   closed in Y by closing date, shown apart and labelled;
//! - M5 open now; M6 created in the last 30 days; M7 the Community Partner Network (onboarded
//!   organizations);
//! - M8 provided % over the closures of the last 30 days with an outcome (provided or not),
//!   rounded half up, the two adding to 100, none when there were none; M9 the top three
//!   not-provided reasons in the same 30 days (ties by reason code);
//! - M10 top creators in Y (the sending organization; a resident's own request is not one);
//!   M11 top closers in Y (closures by the receiving organization; United Way's counted apart);
//! - M12 each month of Y: referrals created, closed, assessments completed (zero months shown);
//! - M13 referrals created in Y by the SDoH domain of their need; M14 assessment results in Y
//!   per domain (positive of answered); M15 closure rate (M4 / M2); M16 median of the whole
//!   days from created to closed for referrals closed in Y.
//!
//! The state's and counties' figures come from counts kept as the rows change ([`counts`]); an
//! organization's, or a filter by organization type, count the rows themselves
//! ([`compute_from_rows`]). A test holds the two to the same figures.

pub mod charts;
pub mod counts;
pub mod pages;

use crate::assessments::instrument::Instrument;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
pub use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

/// Whose figures.
#[derive(Clone, Debug, PartialEq)]
pub enum Scope {
    State,
    /// Referrals to programs in these counties (FIPS codes): a chapter's counties, or one.
    Counties(Vec<String>),
    /// One organization's referrals, received or sent.
    Organization(Uuid),
    /// The referrals an organization received (its partner dashboard's work and outcomes).
    Received(Uuid),
    /// The referrals an organization sent.
    Sent(Uuid),
}

/// The filters of a metrics page.
#[derive(Clone, Debug, PartialEq)]
pub struct Filters {
    pub scope: Scope,
    /// Only referrals received by organizations of this type (`partner_organizations.org_type`).
    pub org_type: Option<String>,
    pub year: i32,
}

/// The deployment's time zone (`region.timezone` in `Leptos.toml`), Eastern when it does not
/// parse: the zone every period is counted in.
pub fn deployment_zone(d: &crate::config::Deployment) -> Tz {
    d.region
        .timezone
        .parse()
        .unwrap_or(chrono_tz::America::New_York)
}

/// The start of a local calendar day, as an instant.
pub fn local_midnight(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    let naive = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    tz.from_local_datetime(&naive)
        .earliest()
        // A zone that skips midnight (none in the US): an hour later.
        .unwrap_or_else(|| tz.from_utc_datetime(&(naive + Duration::hours(1))))
        .with_timezone(&Utc)
}

/// Year `y` in the deployment's zone: `[Jan 1 00:00, next Jan 1 00:00)`.
pub fn year_bounds(tz: Tz, y: i32) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        local_midnight(tz, NaiveDate::from_ymd_opt(y, 1, 1).expect("a year")),
        local_midnight(tz, NaiveDate::from_ymd_opt(y + 1, 1, 1).expect("a year")),
    )
}

/// Month `m` of year `y` in the deployment's zone.
pub fn month_bounds(tz: Tz, y: i32, m: u32) -> (DateTime<Utc>, DateTime<Utc>) {
    let first = NaiveDate::from_ymd_opt(y, m, 1).expect("a month");
    let next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)
    }
    .expect("a month");
    (local_midnight(tz, first), local_midnight(tz, next))
}

/// Provided and not provided as whole percentages that add up to 100 (half up); `None`
/// without closures.
pub fn split_percent(provided: i64, not_provided: i64) -> Option<(i64, i64)> {
    let total = provided + not_provided;
    if total == 0 {
        return None;
    }
    // Half up in integers: floor((200 * p + total) / (2 * total)).
    let p = (200 * provided + total) / (2 * total);
    Some((p, 100 - p))
}

/// The SDoH domain (SDOHCC code) a directory category's need belongs to, from the instruments'
/// rules; `None` for a category no assessment asks about.
pub fn domain_of(category: &str) -> Option<String> {
    let tree = crate::directory::categories::CategoryTree::get();
    let parent = tree.sub(category).map(|(p, _)| p.id.clone());
    Instrument::all()
        .iter()
        .flat_map(|i| i.rules.iter())
        .find_map(|r| {
            r.categories
                .iter()
                .any(|c| c == category || Some(c) == parent.as_ref())
                .then(|| r.domain.as_str().to_string())
        })
}

/// Every figure of one scope and year.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub year: i32,
    pub created_all: i64,
    pub created_year: i64,
    pub closed_all: i64,
    pub created_year_closed: i64,
    pub closed_year: i64,
    pub open_now: i64,
    pub created_30: i64,
    /// Closed in the last 30 days, whatever the outcome.
    pub closed_30: i64,
    pub network: i64,
    pub provided_30: i64,
    pub not_provided_30: i64,
    pub top_reasons: Vec<(String, i64)>,
    pub top_creators: Vec<(String, i64)>,
    pub top_closers: Vec<(String, i64)>,
    pub united_way_closures: i64,
    /// (first day of the month, created, closed, assessments completed), January first.
    pub months: Vec<(NaiveDate, i64, i64, i64)>,
    /// (SDOHCC domain or "other", referrals created in the year), most first.
    pub by_domain: Vec<(String, i64)>,
    /// (domain, positive, answered), most positive first.
    pub assessment_results: Vec<(String, i64, i64)>,
    pub median_days_to_close: Option<f64>,
}

impl Metrics {
    /// M8.
    pub fn provided_split(&self) -> Option<(i64, i64)> {
        split_percent(self.provided_30, self.not_provided_30)
    }

    /// M15: of the referrals created in the year, the share closed now.
    pub fn closure_rate(&self) -> Option<i64> {
        (self.created_year > 0)
            .then(|| (200 * self.created_year_closed + self.created_year) / (2 * self.created_year))
    }
}

/// Appends the scope's and filters' conditions on referrals `r`.
fn push_filters(q: &mut QueryBuilder<'_, Postgres>, f: &Filters) {
    match &f.scope {
        Scope::State => {
            q.push(" TRUE");
        }
        Scope::Counties(fips) => {
            q.push(" r.county_fips = ANY(");
            q.push_bind(fips.clone());
            q.push(")");
        }
        Scope::Organization(org) => {
            q.push(" (r.to_organization = ");
            q.push_bind(*org);
            q.push(" OR r.from_organization = ");
            q.push_bind(*org);
            q.push(")");
        }
        Scope::Received(org) => {
            q.push(" r.to_organization = ").push_bind(*org);
        }
        Scope::Sent(org) => {
            q.push(" r.from_organization = ").push_bind(*org);
        }
    }
    if let Some(t) = &f.org_type {
        q.push(" AND EXISTS (SELECT 1 FROM partner_organizations p WHERE p.organization_id = r.to_organization AND p.org_type = ");
        q.push_bind(t.clone());
        q.push(")");
    }
}

/// Conditions on assessments `a` for the same scope: by the organization that administered
/// them (a county or a chapter: organizations with a program there).
fn push_assessment_filters(q: &mut QueryBuilder<'_, Postgres>, f: &Filters) {
    match &f.scope {
        Scope::State => {
            q.push(" TRUE");
        }
        Scope::Counties(fips) => {
            q.push(" a.organization_id IN (SELECT organization_id FROM search_entries WHERE county_fips = ANY(");
            q.push_bind(fips.clone());
            q.push("))");
        }
        Scope::Organization(org) | Scope::Received(org) => {
            q.push(" a.organization_id = ");
            q.push_bind(*org);
        }
        // Sending a referral is not assessing anyone.
        Scope::Sent(_) => {
            q.push(" FALSE");
        }
    }
    if let Some(t) = &f.org_type {
        q.push(" AND EXISTS (SELECT 1 FROM partner_organizations p WHERE p.organization_id = a.organization_id AND p.org_type = ");
        q.push_bind(t.clone());
        q.push(")");
    }
}

#[derive(sqlx::FromRow)]
struct Counts {
    created_all: i64,
    created_year: i64,
    closed_all: i64,
    created_year_closed: i64,
    closed_year: i64,
    open_now: i64,
    created_30: i64,
    closed_30: i64,
    provided_30: i64,
    not_provided_30: i64,
    median_days: Option<f64>,
}

/// Every figure for `f`, as of `now`: from the kept counts where they answer it (the state or
/// counties, no organization-type filter, counted in `tz`), from the rows otherwise.
pub async fn compute(
    pool: &PgPool,
    f: &Filters,
    tz: Tz,
    now: DateTime<Utc>,
) -> sqlx::Result<Metrics> {
    if counts::answers(pool, f, tz).await? {
        counts::compute(pool, f, tz, now).await
    } else {
        compute_from_rows(pool, f, tz, now).await
    }
}

/// Every figure for `f`, as of `now`, counted from the referral and assessment rows (the
/// queries at once, each on its own connection).
pub async fn compute_from_rows(
    pool: &PgPool,
    f: &Filters,
    tz: Tz,
    now: DateTime<Utc>,
) -> sqlx::Result<Metrics> {
    let r = Rows::new(pool, f, tz, now);
    let (
        counts,
        top_reasons,
        top_creators,
        top_closers,
        united_way_closures,
        months,
        needs,
        assessment_results,
        network,
    ) = tokio::try_join!(
        r.counts(),
        r.reasons(),
        r.top(true),
        r.top(false),
        r.united_way_closures(),
        r.months(true),
        r.needs(),
        r.assessment_results(),
        network(pool, f),
    )?;
    Ok(r.metrics(counts, top_reasons, months, network, |m| {
        m.top_creators = top_creators;
        m.top_closers = top_closers;
        m.united_way_closures = united_way_closures;
        m.by_domain = by_domain(needs);
        m.assessment_results = assessment_results;
    }))
}

/// The figures an organization's dashboard shows (M1-M6, M8, M9, M12 without assessments,
/// M15, M16), on the same definitions, without the statewide lists it does not show.
pub async fn compute_for_dashboard(
    pool: &PgPool,
    f: &Filters,
    tz: Tz,
    now: DateTime<Utc>,
) -> sqlx::Result<Metrics> {
    let r = Rows::new(pool, f, tz, now);
    let (counts, top_reasons, months) = tokio::try_join!(r.counts(), r.reasons(), r.months(false))?;
    Ok(r.metrics(counts, top_reasons, months, 0, |_| {}))
}

/// The row queries of one scope and year.
struct Rows<'a> {
    pool: &'a PgPool,
    f: &'a Filters,
    zone: String,
    y0: DateTime<Utc>,
    y1: DateTime<Utc>,
    d30: DateTime<Utc>,
    now: DateTime<Utc>,
}

impl<'a> Rows<'a> {
    fn new(pool: &'a PgPool, f: &'a Filters, tz: Tz, now: DateTime<Utc>) -> Self {
        let (y0, y1) = year_bounds(tz, f.year);
        Rows {
            pool,
            f,
            zone: tz.name().to_string(),
            y0,
            y1,
            d30: now - Duration::days(30),
            now,
        }
    }

    fn metrics(
        &self,
        counts: Counts,
        top_reasons: Vec<(String, i64)>,
        months: Vec<(NaiveDate, i64, i64, i64)>,
        network: i64,
        rest: impl FnOnce(&mut Metrics),
    ) -> Metrics {
        let mut m = Metrics {
            year: self.f.year,
            created_all: counts.created_all,
            created_year: counts.created_year,
            closed_all: counts.closed_all,
            created_year_closed: counts.created_year_closed,
            closed_year: counts.closed_year,
            open_now: counts.open_now,
            created_30: counts.created_30,
            closed_30: counts.closed_30,
            network,
            provided_30: counts.provided_30,
            not_provided_30: counts.not_provided_30,
            top_reasons,
            months,
            median_days_to_close: counts.median_days,
            ..Metrics::default()
        };
        rest(&mut m);
        m
    }

    async fn counts(&self) -> sqlx::Result<Counts> {
        // M1-M6, M8, M16: one pass over the scope's referrals.
        let mut q = QueryBuilder::new(
            "SELECT count(*) AS created_all, count(*) FILTER (WHERE r.created_at >= ",
        );
        q.push_bind(self.y0)
            .push(" AND r.created_at < ")
            .push_bind(self.y1)
            .push(") AS created_year, ");
        q.push("count(*) FILTER (WHERE r.closed_at IS NOT NULL) AS closed_all, ");
        q.push("count(*) FILTER (WHERE r.closed_at IS NOT NULL AND r.created_at >= ")
            .push_bind(self.y0)
            .push(" AND r.created_at < ")
            .push_bind(self.y1)
            .push(") AS created_year_closed, ");
        q.push("count(*) FILTER (WHERE r.closed_at >= ")
            .push_bind(self.y0)
            .push(" AND r.closed_at < ")
            .push_bind(self.y1)
            .push(") AS closed_year, ");
        q.push(
            "count(*) FILTER (WHERE r.status IN ('sent', 'accepted', 'in_progress')) AS open_now, ",
        );
        q.push("count(*) FILTER (WHERE r.created_at >= ")
            .push_bind(self.d30)
            .push(" AND r.created_at < ")
            .push_bind(self.now)
            .push(") AS created_30, ");
        q.push("count(*) FILTER (WHERE r.closed_at >= ")
            .push_bind(self.d30)
            .push(" AND r.closed_at < ")
            .push_bind(self.now)
            .push(") AS closed_30, ");
        for (name, status) in [
            ("provided_30", "resource_provided"),
            ("not_provided_30", "resource_not_provided"),
        ] {
            q.push("count(*) FILTER (WHERE r.status = '")
                .push(status)
                .push("' AND r.closed_at >= ")
                .push_bind(self.d30)
                .push(" AND r.closed_at < ")
                .push_bind(self.now)
                .push(") AS ")
                .push(name)
                .push(", ");
        }
        q.push("(percentile_cont(0.5) WITHIN GROUP (ORDER BY floor(extract(epoch FROM r.closed_at - r.created_at) / 86400)) FILTER (WHERE r.closed_at >= ")
        .push_bind(self.y0)
        .push(" AND r.closed_at < ")
        .push_bind(self.y1)
        .push("))::float8 AS median_days FROM referrals r WHERE");
        push_filters(&mut q, self.f);
        q.build_query_as().fetch_one(self.pool).await
    }

    async fn reasons(&self) -> sqlx::Result<Vec<(String, i64)>> {
        // M9: the not-provided reasons of the last 30 days.
        let mut q = QueryBuilder::new("SELECT r.outcome_reason, count(*) FROM referrals r WHERE r.status = 'resource_not_provided' AND r.closed_at >= ");
        q.push_bind(self.d30)
            .push(" AND r.closed_at < ")
            .push_bind(self.now)
            .push(" AND");
        push_filters(&mut q, self.f);
        q.push(" GROUP BY r.outcome_reason ORDER BY count(*) DESC, r.outcome_reason LIMIT 3");
        q.build_query_as().fetch_all(self.pool).await
    }

    /// M10 (`creators`) or M11.
    async fn top(&self, creators: bool) -> sqlx::Result<Vec<(String, i64)>> {
        if creators {
            // M10: who sent the year's referrals.
            let mut q = QueryBuilder::new("SELECT o.name, count(*) FROM referrals r JOIN organizations o ON o.id = r.from_organization WHERE r.created_at >= ");
            q.push_bind(self.y0)
                .push(" AND r.created_at < ")
                .push_bind(self.y1)
                .push(" AND");
            push_filters(&mut q, self.f);
            q.push(" GROUP BY o.name ORDER BY count(*) DESC, o.name LIMIT 5");
            q.build_query_as().fetch_all(self.pool).await
        } else {
            let mut q = QueryBuilder::new("SELECT o.name, count(*) FROM referrals r JOIN organizations o ON o.id = r.to_organization WHERE NOT r.closed_by_united_way AND r.closed_at >= ");
            q.push_bind(self.y0)
                .push(" AND r.closed_at < ")
                .push_bind(self.y1)
                .push(" AND");
            push_filters(&mut q, self.f);
            q.push(" GROUP BY o.name ORDER BY count(*) DESC, o.name LIMIT 5");
            q.build_query_as().fetch_all(self.pool).await
        }
    }

    async fn united_way_closures(&self) -> sqlx::Result<i64> {
        let mut q = QueryBuilder::new(
            "SELECT count(*) FROM referrals r WHERE r.closed_by_united_way AND r.closed_at >= ",
        );
        q.push_bind(self.y0)
            .push(" AND r.closed_at < ")
            .push_bind(self.y1)
            .push(" AND");
        push_filters(&mut q, self.f);
        q.build_query_scalar().fetch_one(self.pool).await
    }

    /// M12: created and closed per month (and assessments completed, when asked), the three
    /// counts at once.
    async fn months(&self, assessments: bool) -> sqlx::Result<Vec<(NaiveDate, i64, i64, i64)>> {
        let (created, closed, assessed) = tokio::try_join!(
            self.per_month("referrals r", "r.created_at"),
            self.per_month("referrals r", "r.closed_at"),
            async {
                match assessments {
                    true => self.per_month("assessments a", "a.completed_at").await,
                    false => Ok(Vec::new()),
                }
            },
        )?;
        Ok(month_series(self.f.year, &created, &closed, &assessed))
    }

    /// Rows of the scope per month of the year (in the deployment's zone) by one of their
    /// times: `from` is `referrals r` or `assessments a` (completed ones).
    async fn per_month(&self, from: &str, at: &str) -> sqlx::Result<Vec<(NaiveDate, i64)>> {
        let mut q = QueryBuilder::new(format!("SELECT date_trunc('month', {at} AT TIME ZONE "));
        q.push_bind(self.zone.clone())
            .push(format!(
                ")::date AS month, count(*) FROM {from} WHERE {at} >= "
            ))
            .push_bind(self.y0)
            .push(format!(" AND {at} < "))
            .push_bind(self.y1)
            .push(" AND");
        if from.starts_with("assessments") {
            q.push(" a.status = 'completed' AND");
            push_assessment_filters(&mut q, self.f);
        } else {
            push_filters(&mut q, self.f);
        }
        q.push(" GROUP BY 1");
        q.build_query_as().fetch_all(self.pool).await
    }

    async fn needs(&self) -> sqlx::Result<Vec<(String, i64)>> {
        // M13: the year's referrals by the SDoH domain of their need.
        let mut q =
            QueryBuilder::new("SELECT r.need, count(*) FROM referrals r WHERE r.created_at >= ");
        q.push_bind(self.y0)
            .push(" AND r.created_at < ")
            .push_bind(self.y1)
            .push(" AND");
        push_filters(&mut q, self.f);
        q.push(" GROUP BY r.need");
        q.build_query_as().fetch_all(self.pool).await
    }

    async fn assessment_results(&self) -> sqlx::Result<Vec<(String, i64, i64)>> {
        // M14: the year's completed assessments' results per domain.
        let mut q = QueryBuilder::new(
            "SELECT i.domain, count(*) FILTER (WHERE i.interpretation = 'positive'),
                count(*) FILTER (WHERE i.interpretation IN ('positive', 'negative'))
           FROM sdoh_indicators i JOIN assessments a ON a.id = i.assessment_id
          WHERE a.status = 'completed' AND i.interpretation IN ('positive', 'negative')
            AND a.completed_at >= ",
        );
        q.push_bind(self.y0)
            .push(" AND a.completed_at < ")
            .push_bind(self.y1)
            .push(" AND");
        push_assessment_filters(&mut q, self.f);
        q.push(" GROUP BY i.domain ORDER BY 2 DESC, i.domain");
        q.build_query_as().fetch_all(self.pool).await
    }
}

/// M12: the twelve months of `year`, January first, zero months shown.
fn month_series(
    year: i32,
    created: &[(NaiveDate, i64)],
    closed: &[(NaiveDate, i64)],
    assessed: &[(NaiveDate, i64)],
) -> Vec<(NaiveDate, i64, i64, i64)> {
    let of = |list: &[(NaiveDate, i64)], m: NaiveDate| {
        list.iter()
            .filter(|(d, _)| *d == m)
            .map(|(_, n)| *n)
            .sum::<i64>()
    };
    (1..=12)
        .map(|m| {
            let first = NaiveDate::from_ymd_opt(year, m, 1).expect("a month");
            (
                first,
                of(created, first),
                of(closed, first),
                of(assessed, first),
            )
        })
        .collect()
}

/// M13: counts per need, gathered by the SDoH domain of the need ("other" for none), most first.
fn by_domain(needs: Vec<(String, i64)>) -> Vec<(String, i64)> {
    let mut by_domain: Vec<(String, i64)> = Vec::new();
    for (need, n) in needs {
        let domain = domain_of(&need).unwrap_or_else(|| "other".to_string());
        match by_domain.iter_mut().find(|(d, _)| *d == domain) {
            Some((_, total)) => *total += n,
            None => by_domain.push((domain, n)),
        }
    }
    by_domain.retain(|(_, n)| *n != 0);
    by_domain.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    by_domain
}

/// M7: onboarded organizations in the scope.
async fn network(pool: &PgPool, f: &Filters) -> sqlx::Result<i64> {
    let mut q = QueryBuilder::new(
        "SELECT count(*) FROM partner_organizations p WHERE p.onboarded_at IS NOT NULL AND ",
    );
    match &f.scope {
        Scope::State => {
            q.push("TRUE");
        }
        Scope::Counties(fips) => {
            q.push("p.organization_id IN (SELECT organization_id FROM search_entries WHERE county_fips = ANY(");
            q.push_bind(fips.clone()).push("))");
        }
        Scope::Organization(org) | Scope::Received(org) | Scope::Sent(org) => {
            q.push("p.organization_id = ").push_bind(*org);
        }
    }
    if let Some(t) = &f.org_type {
        q.push(" AND p.org_type = ").push_bind(t.clone());
    }
    q.build_query_scalar().fetch_one(pool).await
}

/// The FIPS codes of Kentucky counties by name ("Warren", or "Warren County").
pub async fn county_fips(
    pool: &PgPool,
    state: &str,
    names: &[String],
) -> sqlx::Result<Vec<String>> {
    let wanted: Vec<String> = names
        .iter()
        .map(|n| n.trim().trim_end_matches(" County").to_lowercase())
        .collect();
    sqlx::query_scalar(
        "SELECT DISTINCT county_fips FROM places
          WHERE state = $1 AND county_fips IS NOT NULL
            AND lower(regexp_replace(county, ' County$', '')) = ANY($2)",
    )
    .bind(state)
    .bind(&wanted)
    .fetch_all(pool)
    .await
}

/// Every county of the state, by name (for the county filter).
pub async fn counties(pool: &PgPool, state: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT DISTINCT regexp_replace(county, ' County$', '') FROM places
          WHERE state = $1 AND county IS NOT NULL ORDER BY 1",
    )
    .bind(state)
    .fetch_all(pool)
    .await
}

/// The counties a chapter covers: those it lists, or, for the default chapter, every county
/// no other chapter lists.
pub async fn chapter_counties(
    pool: &PgPool,
    state: &str,
    onboarding: &crate::config::OnboardingSettings,
    chapter: &str,
) -> sqlx::Result<Vec<String>> {
    let Some(c) = onboarding.chapters.iter().find(|c| c.id == chapter) else {
        return Ok(Vec::new());
    };
    if c.id != onboarding.default_chapter || !c.counties.is_empty() {
        return Ok(c.counties.clone());
    }
    let listed: Vec<String> = onboarding
        .chapters
        .iter()
        .flat_map(|c| c.counties.iter().map(|n| n.to_lowercase()))
        .collect();
    Ok(counties(pool, state)
        .await?
        .into_iter()
        .filter(|n| !listed.contains(&n.to_lowercase()))
        .collect())
}

/// A count as a screen outside the state administrator's shows it: under 5 (but not 0) is "<5",
/// so nobody can be singled out.
pub fn shown(n: i64, exact: bool) -> String {
    if !exact && (1..5).contains(&n) {
        "<5".to_string()
    } else {
        group_digits(n)
    }
}

/// 129089 → "129,089".
pub fn group_digits(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// Every figure as CSV rows (`figure,label,value`), counts under 5 hidden unless `exact`.
pub fn to_csv(m: &Metrics, exact: bool) -> String {
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let n = |v: i64| {
        if !exact && (1..5).contains(&v) {
            "<5".to_string()
        } else {
            v.to_string()
        }
    };
    let y = m.year;
    for (code, label, v) in [
        ("M1", "created all time".to_string(), m.created_all),
        ("M2", format!("created in {y}"), m.created_year),
        ("M3", "closed now".to_string(), m.closed_all),
        (
            "M4",
            format!("created in {y} and closed now"),
            m.created_year_closed,
        ),
        (
            "M4b",
            format!("closed in {y} (by closing date)"),
            m.closed_year,
        ),
        ("M5", "open now".to_string(), m.open_now),
        (
            "M6",
            "created in the last 30 days".to_string(),
            m.created_30,
        ),
        ("M6b", "closed in the last 30 days".to_string(), m.closed_30),
        ("M7", "community partner network".to_string(), m.network),
    ] {
        rows.push((code.into(), label, n(v)));
    }
    match m.provided_split() {
        Some((p, np)) => {
            rows.push((
                "M8".into(),
                "provided % (last 30 days)".into(),
                p.to_string(),
            ));
            rows.push((
                "M8".into(),
                "not provided % (last 30 days)".into(),
                np.to_string(),
            ));
        }
        None => rows.push(("M8".into(), "provided % (last 30 days)".into(), "-".into())),
    }
    for (reason, v) in &m.top_reasons {
        rows.push(("M9".into(), format!("not provided: {reason}"), n(*v)));
    }
    for (org, v) in &m.top_creators {
        rows.push(("M10".into(), format!("created by {org}"), n(*v)));
    }
    for (org, v) in &m.top_closers {
        rows.push(("M11".into(), format!("closed by {org}"), n(*v)));
    }
    rows.push((
        "M11".into(),
        "closed by United Way".into(),
        n(m.united_way_closures),
    ));
    for (month, created, closed, assessed) in &m.months {
        let label = month.format("%Y-%m").to_string();
        rows.push(("M12".into(), format!("{label} created"), n(*created)));
        rows.push(("M12".into(), format!("{label} closed"), n(*closed)));
        rows.push((
            "M12".into(),
            format!("{label} assessments completed"),
            n(*assessed),
        ));
    }
    for (domain, v) in &m.by_domain {
        rows.push(("M13".into(), format!("created for {domain}"), n(*v)));
    }
    for (domain, positive, answered) in &m.assessment_results {
        rows.push(("M14".into(), format!("{domain} positive"), n(*positive)));
        rows.push(("M14".into(), format!("{domain} answered"), n(*answered)));
    }
    rows.push((
        "M15".into(),
        format!("closure rate % (created in {y})"),
        m.closure_rate().map_or("-".into(), |r| r.to_string()),
    ));
    rows.push((
        "M16".into(),
        format!("median days to close (closed in {y})"),
        m.median_days_to_close
            .map_or("-".into(), |d| format!("{d:.1}")),
    ));
    let quote = |s: &str| {
        // A cell a spreadsheet would run as a formula is written as text.
        let s = if s.starts_with(['=', '+', '-', '@']) && s != "-" {
            format!("'{s}")
        } else {
            s.to_string()
        };
        format!("\"{}\"", s.replace('"', "\"\""))
    };
    let mut out = String::from("figure,label,value\n");
    for (code, label, value) in rows {
        out.push_str(&format!(
            "{},{},{}\n",
            quote(&code),
            quote(&label),
            quote(&value)
        ));
    }
    out
}

/// The current year in the deployment's zone.
pub fn this_year(tz: Tz, now: DateTime<Utc>) -> i32 {
    now.with_timezone(&tz).year()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_half_up_and_add_to_100() {
        assert_eq!(split_percent(44, 56), Some((44, 56)));
        assert_eq!(split_percent(1, 1), Some((50, 50)));
        assert_eq!(split_percent(1, 2), Some((33, 67)));
        assert_eq!(split_percent(1, 7), Some((13, 87)), "12.5 rounds up");
        assert_eq!(split_percent(0, 3), Some((0, 100)));
        assert_eq!(split_percent(0, 0), None);
    }

    #[test]
    fn years_are_half_open_in_the_deployments_zone() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let (start, end) = year_bounds(tz, 2024);
        assert_eq!(start.to_rfc3339(), "2024-01-01T05:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2025-01-01T05:00:00+00:00");
        // 23:30 Central on Dec 31 is 00:30 Eastern on Jan 1: next year.
        let central: Tz = "America/Chicago".parse().unwrap();
        let late = central
            .with_ymd_and_hms(2024, 12, 31, 23, 30, 0)
            .unwrap()
            .with_timezone(&Utc);
        assert!(late >= end);
        let (m0, m1) = month_bounds(tz, 2024, 3);
        assert_eq!(m0.to_rfc3339(), "2024-03-01T05:00:00+00:00");
        assert_eq!(
            m1.to_rfc3339(),
            "2024-04-01T04:00:00+00:00",
            "daylight saving starts in March"
        );
    }

    #[test]
    fn small_counts_are_hidden_outside_the_state_view() {
        assert_eq!(shown(3, false), "<5");
        assert_eq!(shown(0, false), "0");
        assert_eq!(shown(3, true), "3");
        assert_eq!(shown(129_089, false), "129,089");
        assert_eq!(group_digits(1_000_000), "1,000,000");
        assert_eq!(group_digits(999), "999");
    }

    #[test]
    fn needs_map_to_sdoh_domains() {
        assert_eq!(
            domain_of("food-pantries").as_deref(),
            Some("food-insecurity")
        );
        assert_eq!(
            domain_of("rent-help").as_deref(),
            Some("housing-instability")
        );
        assert_eq!(domain_of("no-such-category"), None);
    }

    #[test]
    fn csv_cells_never_run_as_formulas() {
        let m = Metrics {
            year: 2024,
            top_creators: vec![("=HYPERLINK(\"x\")".into(), 7)],
            ..Default::default()
        };
        let csv = to_csv(&m, true);
        assert!(csv.starts_with("figure,label,value\n"));
        assert!(
            csv.contains("\"created by =HYPERLINK(\"\"x\"\")\""),
            "{csv}"
        );
        assert!(!csv.contains(",\"=HYPERLINK"));
        let hidden = to_csv(
            &Metrics {
                year: 2024,
                created_all: 3,
                ..Default::default()
            },
            false,
        );
        assert!(hidden.contains("\"M1\",\"created all time\",\"<5\""));
    }
}
