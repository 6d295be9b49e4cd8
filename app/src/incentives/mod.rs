//! The Community Partner Incentive Initiative: each month's report to United Way of what eligible
//! not-for-profits earned the month before — $100 once for finishing onboarding, $10 for each
//! referral they closed as the receiving organization, $10 for each assessment they completed
//! with a resident — paid by check to their mailing address.
//!
//! Rules ([`eligibility`], [`price`]) are pure and in integer cents. A report is built once per
//! month, stored with the SHA-256 of its content and never changed: asking for a month again
//! returns the stored report, and each paid item (a referral, an assessment, an onboarding) is
//! recorded so it pays once, ever.

pub mod pages;

use crate::metrics::month_bounds;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::collections::BTreeMap;
use uuid::Uuid;

pub const ONBOARDING_CENTS: i64 = 10_000;
pub const ASSESSMENT_CENTS: i64 = 1_000;
pub const CLOSURE_CENTS: i64 = 1_000;

/// Why an organization earns nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotEligible {
    /// Not onboarded (yet) at the time.
    NotOnboarded,
    Hospital,
    StateAgency,
    ForProfit,
    /// A type we do not know: not paid until a state administrator says so.
    UnknownType,
    /// A state administrator excluded it.
    Excluded,
}

impl NotEligible {
    pub fn as_str(self) -> &'static str {
        match self {
            NotEligible::NotOnboarded => "not_onboarded",
            NotEligible::Hospital => "hospital",
            NotEligible::StateAgency => "state_agency",
            NotEligible::ForProfit => "for_profit",
            NotEligible::UnknownType => "unknown_type",
            NotEligible::Excluded => "excluded",
        }
    }
}

/// What is known about an organization when it did something.
#[derive(Clone, Debug, PartialEq)]
pub struct Standing<'a> {
    pub org_type: &'a str,
    pub onboarded_at: Option<DateTime<Utc>>,
    /// A state administrator's decision, when there is one (it wins over the type).
    pub override_eligible: Option<bool>,
}

/// May this organization earn for something it did at `at`? Approved, onboarded
/// not-for-profits only; hospitals, state agencies and for-profits never, unless a state
/// administrator decided otherwise.
pub fn eligibility(s: &Standing, at: DateTime<Utc>) -> Result<(), NotEligible> {
    if !s.onboarded_at.is_some_and(|o| o <= at) {
        return Err(NotEligible::NotOnboarded);
    }
    match s.override_eligible {
        Some(true) => return Ok(()),
        Some(false) => return Err(NotEligible::Excluded),
        None => {}
    }
    match s.org_type {
        "nonprofit" => Ok(()),
        "hospital" => Err(NotEligible::Hospital),
        "state_agency" => Err(NotEligible::StateAgency),
        "for_profit" => Err(NotEligible::ForProfit),
        _ => Err(NotEligible::UnknownType),
    }
}

/// A month's amount for one organization, in cents.
pub fn price(onboarded: bool, assessments: usize, closures: usize) -> i64 {
    (if onboarded { ONBOARDING_CENTS } else { 0 })
        + assessments as i64 * ASSESSMENT_CENTS
        + closures as i64 * CLOSURE_CENTS
}

/// "$1,230.00".
pub fn dollars(cents: i64) -> String {
    format!(
        "${}.{:02}",
        crate::metrics::group_digits(cents / 100),
        (cents % 100).abs()
    )
}

/// One organization's line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub organization_id: Uuid,
    pub name: String,
    pub chapter: String,
    pub mailing_address: Option<String>,
    pub onboarding_cents: i64,
    /// What was paid for: ids only, never a resident.
    pub assessments: Vec<Uuid>,
    pub closures: Vec<Uuid>,
    /// Corrections: what was earned in an earlier month already reported but not paid then (an
    /// override or a corrected organization type made it eligible since). Absent from reports
    /// made before adjustments existed, so their content hash is unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adjustments: Vec<Adjustment>,
    pub total_cents: i64,
}

/// One correction line: an item of an earlier month, paid now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Adjustment {
    /// onboarding | assessment | closure
    pub kind: String,
    /// The referral, the assessment, or the organization (onboarding).
    pub item_id: Uuid,
    /// The first day of the month it was earned in.
    pub earned_in: NaiveDate,
    pub cents: i64,
}

impl Line {
    /// Owed but nowhere to send the check.
    pub fn held(&self) -> bool {
        self.total_cents > 0 && self.mailing_address.is_none()
    }
}

/// An organization listed in the appendix: not eligible, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Excluded {
    pub organization_id: Uuid,
    pub name: String,
    pub chapter: String,
    pub reason: NotEligible,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The first day of the month reported.
    pub month: NaiveDate,
    /// Eligible organizations (those with $0 too), by chapter then name.
    pub lines: Vec<Line>,
    pub excluded: Vec<Excluded>,
    pub total_cents: i64,
}

/// A report as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    pub report: Report,
    pub sha256: String,
    pub generated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Org {
    id: Uuid,
    name: String,
    chapter: String,
    org_type: String,
    onboarded_at: Option<DateTime<Utc>>,
    mailing_address: Option<String>,
    override_eligible: Option<bool>,
}

/// Each organization's types with the moment each began, oldest first.
type TypeHistory = BTreeMap<Uuid, Vec<(DateTime<Utc>, String)>>;

/// The organization's type at `at`, from its dated history (the earliest known before it was
/// first dated; the current type when it has none).
fn type_at<'a>(history: &'a TypeHistory, o: &'a Org, at: DateTime<Utc>) -> &'a str {
    let Some(dated) = history.get(&o.id).filter(|d| !d.is_empty()) else {
        return &o.org_type;
    };
    let began = dated.partition_point(|(since, _)| *since <= at);
    &dated[began.saturating_sub(1)].1
}

/// What is known about an organization at `at`.
fn standing<'a>(history: &'a TypeHistory, o: &'a Org, at: DateTime<Utc>) -> Standing<'a> {
    Standing {
        org_type: type_at(history, o, at),
        onboarded_at: o.onboarded_at,
        override_eligible: o.override_eligible,
    }
}

/// Builds a month's report from the data as it is now (not stored: see [`generate`]).
pub async fn build(pool: &PgPool, tz: Tz, month: NaiveDate) -> sqlx::Result<Report> {
    let (start, end) = month_bounds(tz, month.year(), month.month());
    // Earlier months already reported can still owe something (adjustments); months before the
    // first report never do (the program starts with its first report).
    let first_reported: Option<NaiveDate> =
        sqlx::query_scalar("SELECT min(month) FROM incentive_reports WHERE month < $1")
            .bind(month)
            .fetch_one(pool)
            .await?;
    let from = first_reported.map_or(start, |m| month_bounds(tz, m.year(), m.month()).0);
    let month_of = |at: DateTime<Utc>| {
        let local = at.with_timezone(&tz).date_naive();
        NaiveDate::from_ymd_opt(local.year(), local.month(), 1).expect("a month")
    };
    let orgs: Vec<Org> = sqlx::query_as(
        "SELECT p.organization_id AS id, o.name, p.chapter, p.org_type, p.onboarded_at, p.mailing_address,
                (SELECT v.eligible FROM incentive_overrides v WHERE v.organization_id = p.organization_id
                  ORDER BY v.id DESC LIMIT 1) AS override_eligible
           FROM partner_organizations p JOIN organizations o ON o.id = p.organization_id
          ORDER BY p.chapter, o.name, p.organization_id",
    )
    .fetch_all(pool)
    .await?;
    // Closures by the receiving organization's own people (United Way's pay nobody), not paid
    // before.
    let closures: Vec<(Uuid, Uuid, DateTime<Utc>)> = sqlx::query_as(
        "SELECT r.id, r.to_organization, r.closed_at FROM referrals r JOIN users u ON u.id = r.closed_by
          WHERE r.closed_at >= $1 AND r.closed_at < $2 AND NOT r.closed_by_united_way
            AND u.organization_id = r.to_organization
            AND NOT EXISTS (SELECT 1 FROM incentive_paid_items i WHERE i.kind = 'closure' AND i.item_id = r.id)
          ORDER BY r.closed_at, r.id",
    )
    .bind(from)
    .bind(end)
    .fetch_all(pool)
    .await?;
    // Assessments completed with a resident by the organization's people (self-assessments pay
    // nobody; hospital screenings never pay).
    let assessments: Vec<(Uuid, Uuid, DateTime<Utc>)> = sqlx::query_as(
        "SELECT a.id, a.organization_id, a.completed_at FROM assessments a JOIN users u ON u.id = a.administered_by
          WHERE a.status = 'completed' AND a.mode = 'partner' AND a.completed_at >= $1 AND a.completed_at < $2
            AND u.organization_id = a.organization_id
            AND NOT EXISTS (SELECT 1 FROM incentive_paid_items i WHERE i.kind = 'assessment' AND i.item_id = a.id)
          ORDER BY a.completed_at, a.id",
    )
    .bind(from)
    .bind(end)
    .fetch_all(pool)
    .await?;
    let onboarding_paid: Vec<Uuid> =
        sqlx::query_scalar("SELECT item_id FROM incentive_paid_items WHERE kind = 'onboarding'")
            .fetch_all(pool)
            .await?;
    // This month's items, and earlier months' as adjustments.
    // The type each organization had when: the type in effect at a moment decides.
    let mut history = TypeHistory::new();
    let dated: Vec<(Uuid, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT organization_id, org_type, since FROM partner_org_types ORDER BY organization_id, since",
    )
    .fetch_all(pool)
    .await?;
    for (org, org_type, since) in dated {
        history.entry(org).or_default().push((since, org_type));
    }
    #[derive(Default)]
    struct Earned {
        assessments: Vec<Uuid>,
        closures: Vec<Uuid>,
        adjustments: Vec<Adjustment>,
    }
    let mut by_org: BTreeMap<Uuid, Earned> = BTreeMap::new();

    let find = |id: Uuid| orgs.iter().find(|o| o.id == id);
    for (kind, items, cents) in [
        ("assessment", &assessments, ASSESSMENT_CENTS),
        ("closure", &closures, CLOSURE_CENTS),
    ] {
        for (id, org, at) in items {
            let Some(o) = find(*org) else { continue };
            if eligibility(&standing(&history, o, *at), *at).is_err() {
                continue;
            }
            let earned = by_org.entry(*org).or_default();
            if *at >= start {
                match kind {
                    "assessment" => earned.assessments.push(*id),
                    _ => earned.closures.push(*id),
                }
            } else {
                earned.adjustments.push(Adjustment {
                    kind: kind.to_string(),
                    item_id: *id,
                    earned_in: month_of(*at),
                    cents,
                });
            }
        }
    }
    // Onboarding finished in an earlier reported month and not paid then.
    for o in &orgs {
        if let Some(at) = o.onboarded_at.filter(|t| *t >= from && *t < start) {
            if !onboarding_paid.contains(&o.id)
                && eligibility(&standing(&history, o, at), at).is_ok()
            {
                by_org.entry(o.id).or_default().adjustments.insert(
                    0,
                    Adjustment {
                        kind: "onboarding".to_string(),
                        item_id: o.id,
                        earned_in: month_of(at),
                        cents: ONBOARDING_CENTS,
                    },
                );
            }
        }
    }
    let last_moment = end - chrono::Duration::seconds(1);
    let mut lines = Vec::new();
    let mut excluded = Vec::new();
    for o in &orgs {
        let onboarded = o.onboarded_at.is_some_and(|t| t >= start && t < end)
            && !onboarding_paid.contains(&o.id)
            && eligibility(
                &standing(&history, o, o.onboarded_at.unwrap_or(start)),
                o.onboarded_at.unwrap_or(start),
            )
            .is_ok();
        let Earned {
            assessments: a,
            closures: c,
            adjustments,
        } = by_org.remove(&o.id).unwrap_or_default();
        let earned = onboarded || !a.is_empty() || !c.is_empty() || !adjustments.is_empty();
        match eligibility(&standing(&history, o, last_moment), last_moment) {
            Err(reason) if !earned => {
                // Not onboarded by the month's end and nothing earned: not a partner yet.
                if reason != NotEligible::NotOnboarded {
                    excluded.push(Excluded {
                        organization_id: o.id,
                        name: o.name.clone(),
                        chapter: o.chapter.clone(),
                        reason,
                    });
                }
            }
            _ => {
                let total = price(onboarded, a.len(), c.len())
                    + adjustments.iter().map(|x| x.cents).sum::<i64>();
                lines.push(Line {
                    organization_id: o.id,
                    name: o.name.clone(),
                    chapter: o.chapter.clone(),
                    mailing_address: o.mailing_address.clone().filter(|m| !m.trim().is_empty()),
                    onboarding_cents: if onboarded { ONBOARDING_CENTS } else { 0 },
                    assessments: a,
                    closures: c,
                    adjustments,
                    total_cents: total,
                });
            }
        }
    }
    let total_cents = lines.iter().map(|l| l.total_cents).sum();
    Ok(Report {
        month,
        lines,
        excluded,
        total_cents,
    })
}

/// The hex SHA-256 of a report's canonical JSON.
pub fn content_hash(report: &Report) -> String {
    let json = serde_json::to_vec(report).unwrap_or_default();
    Sha256::digest(&json)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The stored report of a month, if it was made.
pub async fn stored(pool: &PgPool, month: NaiveDate) -> sqlx::Result<Option<Stored>> {
    let row: Option<(serde_json::Value, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT report, sha256, generated_at FROM incentive_reports WHERE month = $1",
    )
    .bind(month)
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|(report, sha256, generated_at)| {
        serde_json::from_value(report).ok().map(|report| Stored {
            report,
            sha256,
            generated_at,
        })
    }))
}

/// The months with a report, newest first.
pub async fn months(pool: &PgPool) -> sqlx::Result<Vec<(NaiveDate, i64)>> {
    sqlx::query_as(
        "SELECT month, (report->>'total_cents')::bigint FROM incentive_reports ORDER BY month DESC LIMIT 120",
    )
    .fetch_all(pool)
    .await
}

/// A month's report: the stored one, or built now, stored with its hash and its paid items
/// (one transaction; two servers at once store it once). Returns it and whether it was made now.
pub async fn generate(pool: &PgPool, tz: Tz, month: NaiveDate) -> sqlx::Result<(Stored, bool)> {
    if let Some(s) = stored(pool, month).await? {
        return Ok((s, false));
    }
    let report = build(pool, tz, month).await?;
    let sha256 = content_hash(&report);
    let mut tx = pool.begin().await?;
    let made: Option<DateTime<Utc>> = sqlx::query_scalar(
        "INSERT INTO incentive_reports (month, report, sha256) VALUES ($1, $2, $3)
         ON CONFLICT (month) DO NOTHING RETURNING generated_at",
    )
    .bind(month)
    .bind(serde_json::to_value(&report).unwrap_or_default())
    .bind(&sha256)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(generated_at) = made else {
        drop(tx);
        let s = stored(pool, month).await?.ok_or(sqlx::Error::RowNotFound)?;
        return Ok((s, false));
    };
    for line in &report.lines {
        let mut items: Vec<(&str, Uuid)> = Vec::new();
        if line.onboarding_cents > 0 {
            items.push(("onboarding", line.organization_id));
        }
        items.extend(line.assessments.iter().map(|id| ("assessment", *id)));
        items.extend(line.closures.iter().map(|id| ("closure", *id)));
        items.extend(
            line.adjustments
                .iter()
                .map(|x| (x.kind.as_str(), x.item_id)),
        );
        for (kind, id) in items {
            sqlx::query(
                "INSERT INTO incentive_paid_items (kind, item_id, month, organization_id) VALUES ($1, $2, $3, $4)",
            )
            .bind(kind)
            .bind(id)
            .bind(month)
            .bind(line.organization_id)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok((
        Stored {
            report,
            sha256,
            generated_at,
        },
        true,
    ))
}

/// The month before the one `now` is in (deployment's zone): what the report on the 1st is for.
pub fn previous_month(tz: Tz, now: DateTime<Utc>) -> NaiveDate {
    let local = now.with_timezone(&tz).date_naive();
    let first = NaiveDate::from_ymd_opt(local.year(), local.month(), 1).expect("a month");
    first
        .pred_opt()
        .and_then(|d| NaiveDate::from_ymd_opt(d.year(), d.month(), 1))
        .expect("a month")
}

/// The calendar job: at 00:00 on the 1st (or at the first check after, if every server was
/// down), the previous month's report is made and each chapter's reviewers are told where it
/// is. One server runs it; a month is never made twice.
pub async fn run_monthly(
    pool: &PgPool,
    deployment: &crate::config::Deployment,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<NaiveDate>> {
    let tz = crate::metrics::deployment_zone(deployment);
    let mut tx = pool.begin().await?;
    if !crate::jobs::take(&mut tx, "incentive_report", now).await? {
        return Ok(None);
    }
    let month = previous_month(tz, now);
    let (report, made) = generate(pool, tz, month).await?;
    if made {
        let link = format!(
            "{}/state/incentives/{}",
            deployment.site.public_url,
            month.format("%Y-%m")
        );
        for chapter in &deployment.onboarding.chapters {
            let lines: Vec<&Line> = report
                .report
                .lines
                .iter()
                .filter(|l| l.chapter == chapter.id)
                .collect();
            let total: i64 = lines.iter().map(|l| l.total_cents).sum();
            // The chapter's own lines (and appendix) as the CSV attached.
            let theirs = Report {
                month,
                lines: lines.iter().map(|l| (*l).clone()).collect(),
                excluded: report
                    .report
                    .excluded
                    .iter()
                    .filter(|e| e.chapter == chapter.id)
                    .cloned()
                    .collect(),
                total_cents: total,
            };
            let csv = crate::mail::Attachment {
                name: format!("incentives-{}-{}.csv", month.format("%Y-%m"), chapter.id),
                content_type: "text/csv; charset=utf-8".into(),
                bytes: to_csv(&theirs).into_bytes(),
            };
            for to in crate::partners::store::reviewer_emails(pool, &chapter.id).await? {
                crate::mail::enqueue(
                    &mut *tx,
                    &crate::mail::Message::new(
                        &to,
                        format!("Community Partner incentives for {}", month.format("%B %Y")),
                        format!(
                            "The incentive report for {} is ready: {} organizations of {}, {} in all. Your chapter's lines are attached as CSV.\n\nView, print or download the whole report:\n\n{link}\n{link}/csv\n\nSHA-256 of the report: {}\n",
                            month.format("%B %Y"),
                            lines.len(),
                            chapter.name,
                            dollars(total),
                            report.sha256
                        ),
                    )
                    .with_attachment(csv.clone()),
                )
                .await?;
            }
        }
    }
    let next = crate::jobs::Schedule::MonthStart.next_after(now, tz);
    crate::jobs::finish(
        &mut tx,
        "incentive_report",
        now,
        next,
        &format!(
            "{} {}",
            month.format("%Y-%m"),
            if made { "made" } else { "already made" }
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(month))
}

/// The report as CSV: one row per organization (amounts in dollars), then the appendix.
pub fn to_csv(report: &Report) -> String {
    let q = |s: &str| {
        let s = if s.starts_with(['=', '+', '-', '@']) {
            format!("'{s}")
        } else {
            s.to_string()
        };
        format!("\"{}\"", s.replace('"', "\"\""))
    };
    let money = |c: i64| format!("{}.{:02}", c / 100, c % 100);
    let mut out = String::from(
        "chapter,organization,mailing_address,status,onboarding,assessments,assessments_amount,closed_referrals,closed_referrals_amount,adjustments,adjustments_amount,total\n",
    );
    for l in &report.lines {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{}\n",
            q(&l.chapter),
            q(&l.name),
            q(l.mailing_address.as_deref().unwrap_or("")),
            q(if l.held() {
                "payment held: no mailing address"
            } else {
                "eligible"
            }),
            money(l.onboarding_cents),
            l.assessments.len(),
            money(l.assessments.len() as i64 * ASSESSMENT_CENTS),
            l.closures.len(),
            money(l.closures.len() as i64 * CLOSURE_CENTS),
            l.adjustments.len(),
            money(l.adjustments.iter().map(|x| x.cents).sum()),
            money(l.total_cents)
        ));
    }
    for e in &report.excluded {
        out.push_str(&format!(
            "{},{},\"\",{},0.00,0,0.00,0,0.00,0,0.00,0.00\n",
            q(&e.chapter),
            q(&e.name),
            q(&format!("not eligible: {}", e.reason.as_str()))
        ));
    }
    out
}

/// The first of a month from "2026-11".
pub fn parse_month(s: &str) -> Option<NaiveDate> {
    let (y, m) = s.trim().split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn only_onboarded_not_for_profits_earn_unless_the_state_decides() {
        let onboarded = Some(at("2026-03-15T12:00:00Z"));
        let s = |t, o| Standing {
            org_type: t,
            onboarded_at: onboarded,
            override_eligible: o,
        };
        let later = at("2026-03-20T00:00:00Z");
        assert_eq!(eligibility(&s("nonprofit", None), later), Ok(()));
        assert_eq!(
            eligibility(&s("hospital", None), later),
            Err(NotEligible::Hospital)
        );
        assert_eq!(
            eligibility(&s("state_agency", None), later),
            Err(NotEligible::StateAgency)
        );
        assert_eq!(
            eligibility(&s("for_profit", None), later),
            Err(NotEligible::ForProfit)
        );
        assert_eq!(
            eligibility(&s("hospital", Some(true)), later),
            Ok(()),
            "the state's override"
        );
        assert_eq!(
            eligibility(&s("nonprofit", Some(false)), later),
            Err(NotEligible::Excluded)
        );
        // Before onboarding finished (mid-month), nothing counts.
        assert_eq!(
            eligibility(&s("nonprofit", None), at("2026-03-10T00:00:00Z")),
            Err(NotEligible::NotOnboarded)
        );
        let never = Standing {
            org_type: "nonprofit",
            onboarded_at: None,
            override_eligible: Some(true),
        };
        assert_eq!(eligibility(&never, later), Err(NotEligible::NotOnboarded));
    }

    #[test]
    fn amounts_are_whole_cents() {
        assert_eq!(price(true, 0, 0), 10_000);
        assert_eq!(price(false, 3, 4), 7_000);
        assert_eq!(price(true, 1, 1), 12_000);
        assert_eq!(dollars(123_000), "$1,230.00");
        assert_eq!(dollars(1_000), "$10.00");
    }

    #[test]
    fn the_report_is_for_the_month_before_in_the_deployments_zone() {
        let tz: Tz = "America/New_York".parse().unwrap();
        assert_eq!(
            previous_month(tz, at("2026-12-01T05:00:00Z")),
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
        );
        // 00:30 UTC on Dec 1 is still Nov 30 in New York.
        assert_eq!(
            previous_month(tz, at("2026-12-01T00:30:00Z")),
            NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()
        );
        assert_eq!(
            previous_month(tz, at("2027-01-01T06:00:00Z")),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        );
        assert_eq!(parse_month("2026-11"), NaiveDate::from_ymd_opt(2026, 11, 1));
        assert_eq!(parse_month("2026-13"), None);
        assert_eq!(parse_month("26-11"), None);
    }

    #[test]
    fn a_line_without_a_mailing_address_is_held_but_listed() {
        let line = Line {
            organization_id: Uuid::nil(),
            name: "=cmd".into(),
            chapter: "uw".into(),
            mailing_address: None,
            onboarding_cents: 0,
            assessments: vec![Uuid::nil()],
            closures: vec![],
            adjustments: vec![],
            total_cents: 1_000,
        };
        assert!(line.held());
        let csv = to_csv(&Report {
            month: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            lines: vec![line],
            excluded: vec![],
            total_cents: 1_000,
        });
        assert!(csv.contains("\"'=cmd\""), "never a formula: {csv}");
        assert!(csv.contains("payment held"));
        assert!(csv.contains(",1,10.00,0,0.00,0,0.00,10.00"));
    }
}
