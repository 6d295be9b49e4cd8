//! Scheduled jobs' bookkeeping: the `jobs` table hands a due job to exactly one server
//! (`FOR UPDATE SKIP LOCKED`), and a job's schedule says when it is due next — every so often,
//! or on a calendar day in the deployment's time zone. A run that was missed (every server down
//! at the time) is due at the next check, so it runs once when a server is back.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

/// When a job runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// Again this long after each run.
    Every(Duration),
    /// At 00:00 on the 1st of every month, in the deployment's zone.
    MonthStart,
}

impl Schedule {
    /// The first time the job is due after `now`.
    pub fn next_after(self, now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        match self {
            Schedule::Every(every) => now + every,
            Schedule::MonthStart => {
                let local = now.with_timezone(&tz).date_naive();
                let next = if local.month() == 12 {
                    NaiveDate::from_ymd_opt(local.year() + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(local.year(), local.month() + 1, 1)
                }
                .expect("a month");
                crate::metrics::local_midnight(tz, next)
            }
        }
    }
}

/// Takes the job if it is due and no other server holds it (the row stays locked until the
/// transaction ends).
pub async fn take(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    name: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let due: Option<String> = sqlx::query_scalar(
        "SELECT name FROM jobs WHERE name = $1 AND run_after <= $2 FOR UPDATE SKIP LOCKED",
    )
    .bind(name)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(due.is_some())
}

/// Records a run and when the job is due next.
pub async fn finish(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    name: &str,
    now: DateTime<Utc>,
    next: DateTime<Utc>,
    result: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE jobs SET run_after = $2, last_run_at = $3, last_result = $4 WHERE name = $1",
    )
    .bind(name)
    .bind(next)
    .bind(now)
    .bind(result)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_month_start_is_local_midnight_on_the_first() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let now = DateTime::parse_from_rfc3339("2026-12-31T23:30:00-05:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            Schedule::MonthStart.next_after(now, tz).to_rfc3339(),
            "2027-01-01T05:00:00+00:00"
        );
        let just_after = DateTime::parse_from_rfc3339("2027-01-01T00:00:01-05:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            Schedule::MonthStart.next_after(just_after, tz).to_rfc3339(),
            "2027-02-01T05:00:00+00:00"
        );
        assert_eq!(
            Schedule::Every(Duration::hours(1)).next_after(now, tz),
            now + Duration::hours(1)
        );
    }
}
