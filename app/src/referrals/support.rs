//! United Way referral support: the specialist's three queues, the outreach log, and the
//! scheduled job that reminds partners about stale referrals and refreshes "frequently paired
//! together". Every time comparison takes `now` as an argument, so tests move the clock instead
//! of waiting.

use crate::audit::{self, Actor, Outcome};
use crate::config::ReferralSettings;
use crate::identity::Viewer;
use crate::web::Problem;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Queue {
    /// Open referrals at onboarded organizations, older than the threshold: outreach to the partner.
    StalePartner,
    /// Referrals to organizations not yet onboarded, older than the threshold: United Way closes them.
    NotOnboarded,
    /// Referrals closed as provided a while ago: ask the resident whether the need was met.
    ResidentFollowUp,
}

impl Queue {
    pub const ALL: [Queue; 3] = [
        Queue::StalePartner,
        Queue::NotOnboarded,
        Queue::ResidentFollowUp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Queue::StalePartner => "stale_partner",
            Queue::NotOnboarded => "not_onboarded",
            Queue::ResidentFollowUp => "resident_follow_up",
        }
    }

    pub fn parse(s: &str) -> Queue {
        Queue::ALL
            .into_iter()
            .find(|q| q.as_str() == s)
            .unwrap_or(Queue::StalePartner)
    }

    /// The rows of this queue; `$1` = now, `$2` = the threshold in days.
    fn condition(self) -> &'static str {
        match self {
            Queue::StalePartner => {
                "r.status IN ('sent', 'accepted', 'in_progress') AND p.onboarded_at IS NOT NULL
                 AND r.created_at < $1 - make_interval(days => $2)"
            }
            Queue::NotOnboarded => {
                "r.status IN ('sent', 'accepted', 'in_progress') AND p.onboarded_at IS NULL
                 AND r.created_at < $1 - make_interval(days => $2)"
            }
            Queue::ResidentFollowUp => {
                "r.status = 'resource_provided' AND r.closed_at < $1 - make_interval(days => $2)
                 AND NOT EXISTS (SELECT 1 FROM outreach x WHERE x.referral_id = r.id
                                   AND x.queue = 'resident_follow_up')"
            }
        }
    }

    pub fn threshold(self, settings: &ReferralSettings) -> i32 {
        (match self {
            Queue::StalePartner => settings.stale_after_days,
            Queue::NotOnboarded => settings.not_onboarded_close_after_days,
            Queue::ResidentFollowUp => settings.follow_up_after_days,
        }) as i32
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct QueueItem {
    pub id: Uuid,
    pub program: String,
    pub to_organization: String,
    /// `None` for a self-referral.
    pub from_organization: Option<String>,
    pub resident_id: Uuid,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub last_outreach: Option<DateTime<Utc>>,
}

const QUEUE_FROM: &str = "FROM referrals r JOIN services sv ON sv.id = r.service_id
    JOIN organizations t ON t.id = r.to_organization LEFT JOIN organizations f ON f.id = r.from_organization
    LEFT JOIN partner_organizations p ON p.organization_id = r.to_organization";

/// A queue, oldest first.
pub async fn queue(
    pool: &PgPool,
    q: Queue,
    settings: &ReferralSettings,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<QueueItem>> {
    sqlx::query_as(&format!(
        "SELECT r.id, sv.name AS program, t.name AS to_organization, f.name AS from_organization, r.resident_id, r.status,
                r.created_at, (SELECT max(x.at) FROM outreach x WHERE x.referral_id = r.id) AS last_outreach
         {QUEUE_FROM} WHERE {} ORDER BY r.created_at, r.id LIMIT 200",
        q.condition()
    ))
    .bind(now)
    .bind(q.threshold(settings))
    .fetch_all(pool)
    .await
}

pub async fn counts(
    pool: &PgPool,
    settings: &ReferralSettings,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<(Queue, i64)>> {
    let mut out = Vec::new();
    for q in Queue::ALL {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) {QUEUE_FROM} WHERE {}",
            q.condition()
        ))
        .bind(now)
        .bind(q.threshold(settings))
        .fetch_one(pool)
        .await?;
        out.push((q, n));
    }
    Ok(out)
}

/// Logs an outreach (to the partner, or to the resident).
pub async fn log_outreach(
    pool: &PgPool,
    viewer: &Viewer,
    referral: Uuid,
    queue: Queue,
    method: &str,
    result: &str,
    note: Option<&str>,
    actor: &Actor,
    settings: &ReferralSettings,
    now: DateTime<Utc>,
) -> Result<(), Problem> {
    let queue_name = match queue {
        Queue::StalePartner => "stale_partner",
        Queue::ResidentFollowUp => "resident_follow_up",
        Queue::NotOnboarded => return Err(Problem::new("not_allowed_now")),
    };
    if !["phone", "email", "text", "in_person"].contains(&method) || result.trim().is_empty() {
        return Err(Problem::new("missing_fields"));
    }
    let mut tx = pool.begin().await?;
    // Only a referral that is in that queue now: outreach is logged for the work the queue
    // holds, not for any referral someone knows the id of.
    let inserted = sqlx::query(&format!(
        "INSERT INTO outreach (referral_id, queue, by_user, method, result, note)
         SELECT r.id, $4, $5, $6, $7, $8 {QUEUE_FROM} WHERE r.id = $3 AND {}",
        queue.condition()
    ))
    .bind(now)
    .bind(queue.threshold(settings))
    .bind(referral)
    .bind(queue_name)
    .bind(viewer.user_id)
    .bind(method)
    .bind(result.trim())
    .bind(note)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(Problem::new("not_found"));
    }
    sqlx::query(
        "INSERT INTO referral_events (referral_id, user_id, kind, detail)
         VALUES ($1, $2, 'outreach', jsonb_build_object('queue', $3::text, 'method', $4::text, 'result', $5::text, 'note', $6::text))",
    )
    .bind(referral)
    .bind(viewer.user_id)
    .bind(queue_name)
    .bind(method)
    .bind(result.trim())
    .bind(note)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        actor,
        "referral.outreach",
        Some(&format!("referral:{referral}")),
        Outcome::Ok,
        serde_json::json!({ "queue": queue_name, "method": method }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Reminds each onboarded organization with stale open referrals, at most once a day: one
/// digest e-mail (no resident details) to its people. Returns how many digests were queued, or
/// `None` if another server is running the job or it is not due.
/// Once a day per organization: a day as the deployment's people live it (`zone`), not UTC's
/// (whose day turns over at 7 or 8 PM in Kentucky, which sent a second digest each evening).
pub async fn send_reminders(
    pool: &PgPool,
    settings: &ReferralSettings,
    public_url: &str,
    zone: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<usize>> {
    let mut tx = pool.begin().await?;
    if !crate::jobs::take(&mut tx, "referral_reminders", now).await? {
        return Ok(None);
    }
    let stale: Vec<(Uuid, String, i64)> = sqlx::query_as(&format!(
        "SELECT r.to_organization, t.name, count(*) {QUEUE_FROM} WHERE {}
          GROUP BY r.to_organization, t.name ORDER BY r.to_organization",
        Queue::StalePartner.condition()
    ))
    .bind(now)
    .bind(Queue::StalePartner.threshold(settings))
    .fetch_all(&mut *tx)
    .await?;
    let mut sent = 0;
    for (org, name, n) in stale {
        let first_today = sqlx::query(
            "INSERT INTO reminder_digests (organization_id, day, referrals) VALUES ($1, $2::date, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(org)
        .bind(now.with_timezone(&zone).date_naive())
        .bind(n as i32)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !first_today {
            continue;
        }
        let people: Vec<String> =
            sqlx::query_scalar("SELECT email FROM users WHERE organization_id = $1 AND active")
                .bind(org)
                .fetch_all(&mut *tx)
                .await?;
        for to in people {
            crate::mail::enqueue(&mut *tx, &crate::mail::Message::new(
                &to,
                format!("{n} referrals waiting at {name}"),
                format!(
                    "{name} has {n} open referrals older than {} days. Residents are waiting to hear back.\n\nYour inbox, oldest first:\n\n{public_url}/referrals/inbox\n",
                    settings.stale_after_days
                ),
            ))
            .await?;
        }
        sent += 1;
    }
    crate::jobs::finish(
        &mut tx,
        "referral_reminders",
        now,
        now + chrono::Duration::hours(1),
        &format!("{sent} digests"),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(sent))
}

/// Rebuilds "frequently paired together" from referrals: two services count as paired for a
/// resident referred to both within 30 days of each other.
pub async fn refresh_pairs(pool: &PgPool, now: DateTime<Utc>) -> sqlx::Result<Option<u64>> {
    let mut tx = pool.begin().await?;
    if !crate::jobs::take(&mut tx, "paired_services", now).await? {
        return Ok(None);
    }
    sqlx::query("DELETE FROM paired_services")
        .execute(&mut *tx)
        .await?;
    let n = sqlx::query(
        "INSERT INTO paired_services (service_id, paired_service_id, residents)
         SELECT a.service_id, b.service_id, count(DISTINCT a.resident_id)
           FROM referrals a JOIN referrals b
             ON b.resident_id = a.resident_id AND b.service_id <> a.service_id
            AND abs(extract(epoch FROM b.created_at - a.created_at)) <= 30 * 86400
          GROUP BY a.service_id, b.service_id",
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    crate::jobs::finish(
        &mut tx,
        "paired_services",
        now,
        now + chrono::Duration::hours(6),
        &format!("{n} pairs"),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(n))
}
