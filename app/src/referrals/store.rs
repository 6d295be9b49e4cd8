//! Referrals in Postgres. Every change goes through [`apply`], which checks the state machine,
//! the organization's right to make the move and the version the person saw (so two people
//! closing the same referral cannot overwrite each other), and writes the event, the audit
//! entry and any e-mail in the same transaction.

use super::status::{next, ContactResult, Move, NotProvidedReason, ReasonRule, Status};
use crate::audit::{self, Actor, Outcome};
use crate::identity::Viewer;
use crate::residents::consent::{Channel, ConsentGrant, Scope};
use crate::residents::{NewResident, ResidentAccess};
use crate::web::Problem;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// Who the referral is for: a resident the gate has opened for this organization (with or
/// without consent: a referral needs no consent), or a new record made right here.
pub enum ResidentChoice {
    Existing(ResidentAccess),
    New(NewResident),
}

/// One program to refer to, and the need it answers (a category id).
pub struct Item {
    pub program_id: Uuid,
    pub need: String,
}

/// Creates referrals for one resident in one transaction: the resident (if new), each referral
/// and its first event, the pre-consent, the audit entries and an e-mail (with no resident
/// details) to each receiving organization's people. Returns the page to go to next.
///
/// Pre-consent is the resident's word, given to the partner in person as the record is made:
/// it is recorded for the sender and each receiver, and only for a resident created right
/// here. An organization cannot tick it for a resident it merely holds consent for (that would
/// let it pass the resident's data on to anyone): those residents are asked themselves.
#[allow(clippy::too_many_arguments)]
pub async fn create(
    pool: &PgPool,
    viewer: &Viewer,
    resident: ResidentChoice,
    items: &[Item],
    note: Option<&str>,
    pre_consent: bool,
    consent_text_version: &str,
    public_url: &str,
    actor: &Actor,
    idempotency_key: Option<Uuid>,
) -> Result<String, Problem> {
    let from_org = viewer.organization_id.ok_or(Problem::new("denied"))?;
    if items.is_empty() {
        return Err(Problem::new("nothing_to_refer"));
    }
    let mut tx = pool.begin().await?;
    if let Some(done) = crate::idempotency::take(
        &mut tx,
        idempotency_key,
        Some(viewer.user_id),
        "send_referrals",
    )
    .await?
    {
        return Ok(done);
    }
    let new_resident = matches!(resident, ResidentChoice::New(_));
    let pre_consent = pre_consent && new_resident;
    let resident_id = match resident {
        ResidentChoice::Existing(access) => access.id(),
        ResidentChoice::New(r) => {
            crate::residents::store::create(&mut tx, viewer, &r, actor).await?
        }
    };
    let batch_id: Uuid = sqlx::query_scalar("SELECT gen_random_uuid()")
        .fetch_one(&mut *tx)
        .await?;
    let mut consented = Vec::new();
    for item in items {
        let target: Option<(Uuid, Uuid, String)> = sqlx::query_as(
            "SELECT sv.id, sv.organization_id, sv.name FROM services sv
              WHERE sv.active AND (sv.id = $1 OR sv.id = (SELECT service_id FROM service_at_locations WHERE id = $1))",
        )
        .bind(item.program_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (service_id, to_org, service_name) = target.ok_or(Problem::new("not_found"))?;
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO referrals (batch_id, resident_id, from_organization, from_user, service_id,
                                    program_id, to_organization, need, note)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(batch_id)
        .bind(resident_id)
        .bind(from_org)
        .bind(viewer.user_id)
        .bind(service_id)
        .bind(item.program_id)
        .bind(to_org)
        .bind(&item.need)
        .bind(note)
        .fetch_one(&mut *tx)
        .await?;
        event(
            &mut tx,
            id,
            viewer,
            "created",
            serde_json::json!({ "need": item.need }),
        )
        .await?;
        if pre_consent {
            for org in [from_org, to_org] {
                if consented.contains(&org) {
                    continue;
                }
                consented.push(org);
                crate::residents::store::record_consent(
                    &mut tx,
                    &ConsentGrant::new(
                        resident_id,
                        org,
                        Scope::Profile,
                        Channel::AtReferral,
                        Some(viewer.user_id),
                        consent_text_version,
                    ),
                    actor,
                )
                .await?;
            }
        }
        audit::record(&mut *tx, actor, "referral.created", Some(&format!("referral:{id}")), Outcome::Ok,
            serde_json::json!({ "resident": resident_id, "to_organization": to_org, "pre_consent": pre_consent })).await?;
        notify_receiver(&mut tx, to_org, &service_name, public_url, id).await?;
    }
    let next = format!("/referrals/batch/{batch_id}");
    crate::idempotency::complete(&mut tx, idempotency_key, &next).await?;
    tx.commit().await?;
    crate::mail::nudge(pool).await;
    Ok(next)
}

/// Only an onboarded organization's people hear about a new referral (others are worked by
/// United Way), by an e-mail that carries nothing about the resident.
async fn notify_receiver(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    to_org: Uuid,
    service_name: &str,
    public_url: &str,
    referral: Uuid,
) -> sqlx::Result<()> {
    let people: Vec<String> = sqlx::query_scalar(
        "SELECT u.email FROM users u JOIN partner_organizations p ON p.organization_id = u.organization_id
          WHERE u.organization_id = $1 AND u.active AND p.onboarded_at IS NOT NULL",
    )
    .bind(to_org)
    .fetch_all(&mut **tx)
    .await?;
    for to in people {
        crate::mail::enqueue(&mut **tx, &crate::mail::Message::new(
            &to,
            format!("New referral: {service_name}"),
            format!(
                "Your organization has a new referral for {service_name}.\n\nSign in to see it:\n\n{public_url}/referrals/{referral}\n\nFor the resident's privacy, this e-mail carries no details about them."
            ),
        ))
        .await?;
    }
    Ok(())
}

/// A resident connects to a program themselves (a self-referral): a referral with no sending
/// organization, which the receiving organization works like any other. With `share`, the
/// resident lets that organization see their profile (a consent they give themselves).
#[allow(clippy::too_many_arguments)]
pub async fn connect(
    pool: &PgPool,
    viewer: &Viewer,
    resident: &ResidentAccess,
    program_id: Uuid,
    need: &str,
    share: bool,
    consent_text_version: &str,
    public_url: &str,
    actor: &Actor,
) -> Result<Uuid, Problem> {
    // Only the resident's own record: the gate gave them their own, in full.
    let own = match resident {
        ResidentAccess::Full { resident, .. } if viewer.resident_id == Some(resident.id) => {
            resident.id
        }
        _ => return Err(Problem::new("denied")),
    };
    let mut tx = pool.begin().await?;
    let target: Option<(Uuid, Uuid, String)> = sqlx::query_as(
        "SELECT sv.id, sv.organization_id, sv.name FROM services sv
          WHERE sv.active AND (sv.id = $1 OR sv.id = (SELECT service_id FROM service_at_locations WHERE id = $1))",
    )
    .bind(program_id)
    .fetch_optional(&mut *tx)
    .await?;
    let (service_id, to_org, service_name) = target.ok_or(Problem::new("not_found"))?;
    // Connecting twice to the same program while the first is open is the same request.
    let open: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM referrals WHERE resident_id = $1 AND service_id = $2 AND from_organization IS NULL
            AND status IN ('sent', 'accepted', 'in_progress') LIMIT 1",
    )
    .bind(own)
    .bind(service_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(id) = open {
        return Ok(id);
    }
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO referrals (batch_id, resident_id, from_organization, from_user, service_id,
                                program_id, to_organization, need)
         VALUES (gen_random_uuid(), $1, NULL, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(own)
    .bind(viewer.user_id)
    .bind(service_id)
    .bind(program_id)
    .bind(to_org)
    .bind(need)
    .fetch_one(&mut *tx)
    .await?;
    event(
        &mut tx,
        id,
        viewer,
        "created",
        serde_json::json!({ "need": need, "self_referral": true }),
    )
    .await?;
    if share {
        crate::residents::store::record_consent(
            &mut tx,
            &ConsentGrant::new(
                own,
                to_org,
                Scope::Profile,
                Channel::SelfService,
                None,
                consent_text_version,
            ),
            actor,
        )
        .await?;
    }
    audit::record(&mut *tx, actor, "referral.created", Some(&format!("referral:{id}")), Outcome::Ok,
        serde_json::json!({ "resident": own, "to_organization": to_org, "self_referral": true, "shared_profile": share })).await?;
    notify_receiver(&mut tx, to_org, &service_name, public_url, id).await?;
    tx.commit().await?;
    crate::mail::nudge(pool).await;
    Ok(id)
}

async fn event(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    referral: Uuid,
    viewer: &Viewer,
    kind: &str,
    detail: serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO referral_events (referral_id, user_id, organization_id, kind, detail)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(referral)
    .bind(viewer.user_id)
    .bind(viewer.organization_id)
    .bind(kind)
    .bind(detail)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A move someone asks for, with the version of the referral they were looking at.
pub struct Change<'a> {
    pub referral: Uuid,
    pub version: i32,
    pub mv: Move,
    /// A not-provided reason code, or the person's own words (declining, withdrawing).
    pub reason: Option<&'a str>,
    pub note: Option<&'a str>,
    pub contact_result: Option<ContactResult>,
}

/// The reason to store for a move, by the move's rule: none for a provided closure, one of the
/// not-provided reasons for a closure that was not, the person's words for declining or
/// withdrawing. Anything else is refused, so no wrong reason is ever stored.
pub fn reason_for(mv: Move, reason: Option<&str>) -> Result<Option<String>, Problem> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    match (mv.reason(), reason) {
        (ReasonRule::None, None) => Ok(None),
        (ReasonRule::None, Some(_)) => Err(Problem::at("reason", "reason_not_allowed")),
        (ReasonRule::NotProvided, Some(r)) => NotProvidedReason::parse(r)
            .map(|r| Some(r.as_str().to_string()))
            .ok_or(Problem::at("reason", "reason_needed")),
        (ReasonRule::InTheirWords, Some(r)) => Ok(Some(r.to_string())),
        (_, None) => Err(Problem::at("reason", "reason_needed")),
    }
}

/// Applies a move: allowed by the state machine, by who the person is, and only if nobody
/// changed the referral since they looked (otherwise `stale`, and nothing is overwritten).
pub async fn apply(
    pool: &PgPool,
    viewer: &Viewer,
    change: &Change<'_>,
    actor: &Actor,
) -> Result<Status, Problem> {
    let reason = reason_for(change.mv, change.reason)?;
    if change.mv == Move::RecordContact && change.contact_result.is_none() {
        return Err(Problem::at("result", "missing_fields"));
    }
    let mut tx = pool.begin().await?;
    let row: Option<(String, i32, Uuid, Option<Uuid>, bool)> = sqlx::query_as(
        "SELECT r.status, r.version, r.to_organization, r.from_organization,
                EXISTS (SELECT 1 FROM partner_organizations p
                         WHERE p.organization_id = r.to_organization AND p.onboarded_at IS NOT NULL)
           FROM referrals r WHERE r.id = $1 FOR UPDATE",
    )
    .bind(change.referral)
    .fetch_optional(&mut *tx)
    .await?;
    let (status, version, to_org, from_org, receiver_onboarded) =
        row.ok_or(Problem::new("not_found"))?;
    let status = Status::parse(&status).ok_or(Problem::new("unavailable"))?;
    let org = viewer.organization_id;
    let united_way = viewer.effective_role() == crate::policy::Role::ReferralSpecialist;
    if !may_move(
        change.mv,
        org,
        united_way,
        to_org,
        from_org,
        receiver_onboarded,
    ) {
        drop(tx);
        audit::record_refusal(
            pool,
            actor,
            "referral.change",
            Some(&format!("referral:{}", change.referral)),
            Outcome::Denied,
            serde_json::json!({ "move": change.mv.as_str() }),
        )
        .await;
        return Err(Problem::new("denied"));
    }
    if version != change.version {
        return Err(Problem::new("stale"));
    }
    let to = next(status, change.mv).ok_or(Problem::new("not_allowed_now"))?;
    let closing = !to.is_open();
    sqlx::query(
        "UPDATE referrals SET status = $2, version = version + 1, updated_at = now(),
                outcome_reason = CASE WHEN $5 THEN $3 ELSE outcome_reason END,
                outcome_note = CASE WHEN $5 THEN $4 ELSE outcome_note END,
                closed_at = CASE WHEN $5 THEN now() ELSE closed_at END,
                closed_by = CASE WHEN $5 THEN $6 ELSE closed_by END,
                closed_by_united_way = closed_by_united_way OR ($5 AND $7)
          WHERE id = $1",
    )
    .bind(change.referral)
    .bind(to.as_str())
    .bind(&reason)
    .bind(change.note.filter(|n| !n.is_empty()))
    .bind(closing)
    .bind(viewer.user_id)
    .bind(united_way)
    .execute(&mut *tx)
    .await?;
    let kind = match change.mv {
        Move::Accept => "accepted",
        Move::Decline => "declined",
        Move::RecordContact => "contact",
        Move::Cancel => "cancelled",
        Move::CloseProvided | Move::CloseNotProvided => "closed",
    };
    event(
        &mut tx,
        change.referral,
        viewer,
        kind,
        serde_json::json!({
            "status": to.as_str(), "reason": reason, "note": change.note,
            "result": change.contact_result.map(ContactResult::as_str), "by_united_way": united_way,
        }),
    )
    .await?;
    audit::record(
        &mut *tx,
        actor,
        &format!("referral.{kind}"),
        Some(&format!("referral:{}", change.referral)),
        Outcome::Ok,
        serde_json::json!({ "from": status.as_str(), "to": to.as_str() }),
    )
    .await?;
    tx.commit().await?;
    Ok(to)
}

/// Who may make a move: the receiving organization works its referrals once it is on
/// Wraparound; United Way closes those to organizations that are not; the sender withdraws.
pub fn may_move(
    mv: Move,
    org: Option<Uuid>,
    united_way: bool,
    to_org: Uuid,
    from_org: Option<Uuid>,
    receiver_onboarded: bool,
) -> bool {
    match mv {
        // A self-referral has no sending organization to withdraw it.
        Move::Cancel => org.is_some() && org == from_org,
        Move::CloseProvided | Move::CloseNotProvided if united_way => !receiver_onboarded,
        _ => org == Some(to_org) && receiver_onboarded,
    }
}

/// A line in the inbox or the outbox.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Listed {
    pub id: Uuid,
    pub status: String,
    pub need: String,
    pub program: String,
    /// `None` for a self-referral seen from the inbox (the resident sent it).
    pub other_organization: Option<String>,
    pub resident_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub outcome_reason: Option<String>,
    /// The receiving organization is on Wraparound (otherwise United Way follows up).
    pub receiver_onboarded: bool,
}

/// Which referrals a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    New,
    InProgress,
    Closed,
}

impl Tab {
    pub fn parse(s: &str) -> Tab {
        match s {
            "in_progress" => Tab::InProgress,
            "closed" => Tab::Closed,
            _ => Tab::New,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tab::New => "new",
            Tab::InProgress => "in_progress",
            Tab::Closed => "closed",
        }
    }

    fn statuses(self) -> &'static [&'static str] {
        match self {
            Tab::New => &["sent"],
            Tab::InProgress => &["accepted", "in_progress"],
            Tab::Closed => &[
                "declined",
                "resource_provided",
                "resource_not_provided",
                "cancelled",
            ],
        }
    }
}

pub const PAGE: i64 = 50;

/// The receiving organization's inbox (oldest first), or the sender's outbox (newest first).
pub async fn list(
    pool: &PgPool,
    org: Uuid,
    inbox: bool,
    tab: Option<Tab>,
    need: Option<&str>,
    older_than_days: Option<i32>,
    offset: i64,
) -> sqlx::Result<Vec<Listed>> {
    let statuses: Vec<&str> = tab.map(|t| t.statuses().to_vec()).unwrap_or_default();
    let (mine, other, order) = if inbox {
        (
            "r.to_organization",
            "r.from_organization",
            "r.created_at, r.id",
        )
    } else {
        (
            "r.from_organization",
            "r.to_organization",
            "r.created_at DESC, r.id",
        )
    };
    let filter = format!(
        "{mine} = $1 AND (cardinality($2::text[]) = 0 OR r.status = ANY($2))
         AND ($3::text IS NULL OR r.need = $3)
         AND ($4::int IS NULL OR r.created_at < now() - make_interval(days => $4))"
    );
    sqlx::query_as(&format!(
        "SELECT r.id, r.status, r.need, sv.name AS program, o.name AS other_organization,
                r.resident_id, r.created_at, r.updated_at,
                r.outcome_reason,
                EXISTS (SELECT 1 FROM partner_organizations p WHERE p.organization_id = r.to_organization
                          AND p.onboarded_at IS NOT NULL) AS receiver_onboarded
           FROM referrals r JOIN services sv ON sv.id = r.service_id
           LEFT JOIN organizations o ON o.id = {other}
          WHERE {filter} ORDER BY {order} LIMIT {PAGE} OFFSET $5"
    ))
    .bind(org)
    .bind(&statuses)
    .bind(need)
    .bind(older_than_days)
    .bind(offset)
    .fetch_all(pool)
    .await
}

/// How many referrals each tab holds (one pass, same filters as the list).
pub async fn tab_counts(
    pool: &PgPool,
    org: Uuid,
    inbox: bool,
    need: Option<&str>,
    older_than_days: Option<i32>,
) -> sqlx::Result<(i64, i64, i64)> {
    let mine = if inbox {
        "r.to_organization"
    } else {
        "r.from_organization"
    };
    sqlx::query_as(&format!(
        "SELECT count(*) FILTER (WHERE r.status = 'sent'),
                count(*) FILTER (WHERE r.status IN ('accepted', 'in_progress')),
                count(*) FILTER (WHERE r.status IN ('declined', 'resource_provided', 'resource_not_provided', 'cancelled'))
           FROM referrals r
          WHERE {mine} = $1 AND ($2::text IS NULL OR r.need = $2)
            AND ($3::int IS NULL OR r.created_at < now() - make_interval(days => $3))"
    ))
    .bind(org)
    .bind(need)
    .bind(older_than_days)
    .fetch_one(pool)
    .await
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Detail {
    pub id: Uuid,
    pub batch_id: Uuid,
    pub status: String,
    pub version: i32,
    pub need: String,
    pub note: Option<String>,
    pub program_id: Uuid,
    pub program: String,
    pub to_organization: Uuid,
    pub to_organization_name: String,
    /// `None` for a self-referral (the resident connected to the program themselves).
    pub from_organization: Option<Uuid>,
    pub from_organization_name: Option<String>,
    pub from_user_name: String,
    pub outcome_reason: Option<String>,
    pub outcome_note: Option<String>,
    pub closed_by_united_way: bool,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub receiver_onboarded: bool,
    pub resident_id: Uuid,
}

pub async fn detail(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<Detail>> {
    sqlx::query_as(
        "SELECT r.id, r.batch_id, r.status, r.version, r.need, r.note, r.program_id, sv.name AS program,
                r.to_organization, t.name AS to_organization_name, r.from_organization,
                f.name AS from_organization_name, u.name AS from_user_name, r.outcome_reason,
                r.outcome_note, r.closed_by_united_way, r.created_at, r.closed_at,
                EXISTS (SELECT 1 FROM partner_organizations p WHERE p.organization_id = r.to_organization
                          AND p.onboarded_at IS NOT NULL) AS receiver_onboarded,
                r.resident_id
           FROM referrals r JOIN services sv ON sv.id = r.service_id
           JOIN organizations t ON t.id = r.to_organization LEFT JOIN organizations f ON f.id = r.from_organization
           JOIN users u ON u.id = r.from_user
          WHERE r.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// One referral of a batch, for the resident's summary.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct BatchItem {
    pub referral_id: Uuid,
    pub resident_id: Uuid,
    pub program_id: Uuid,
    pub service_id: Uuid,
    pub need: String,
    pub receiver_onboarded: bool,
    pub created_at: DateTime<Utc>,
}

/// A batch the organization sent (`None` for one it did not send or that does not exist).
pub async fn batch(pool: &PgPool, batch: Uuid, from_org: Uuid) -> sqlx::Result<Vec<BatchItem>> {
    sqlx::query_as(
        "SELECT r.id AS referral_id, r.resident_id, r.program_id, r.service_id, r.need, r.created_at,
                EXISTS (SELECT 1 FROM partner_organizations p WHERE p.organization_id = r.to_organization
                          AND p.onboarded_at IS NOT NULL) AS receiver_onboarded
           FROM referrals r WHERE r.batch_id = $1 AND r.from_organization = $2
          ORDER BY r.created_at, r.id",
    )
    .bind(batch)
    .bind(from_org)
    .fetch_all(pool)
    .await
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub who: Option<String>,
    pub organization: Option<String>,
    pub detail: serde_json::Value,
}

pub async fn events(pool: &PgPool, referral: Uuid) -> sqlx::Result<Vec<Event>> {
    sqlx::query_as(
        "SELECT e.at, e.kind, u.name AS who, o.name AS organization, e.detail
           FROM referral_events e LEFT JOIN users u ON u.id = e.user_id
           LEFT JOIN organizations o ON o.id = e.organization_id
          WHERE e.referral_id = $1 ORDER BY e.at, e.id",
    )
    .bind(referral)
    .fetch_all(pool)
    .await
}

/// Adds a note to a referral's history (either side may).
pub async fn add_note(
    pool: &PgPool,
    viewer: &Viewer,
    referral: Uuid,
    note: &str,
    actor: &Actor,
    idempotency_key: Option<Uuid>,
) -> Result<(), Problem> {
    let sides: Option<(Uuid, Option<Uuid>)> =
        sqlx::query_as("SELECT to_organization, from_organization FROM referrals WHERE id = $1")
            .bind(referral)
            .fetch_optional(pool)
            .await?;
    let (to, from) = sides.ok_or(Problem::new("not_found"))?;
    if viewer.organization_id.is_none()
        || (viewer.organization_id != Some(to) && viewer.organization_id != from)
    {
        return Err(Problem::new("denied"));
    }
    let mut tx = pool.begin().await?;
    if crate::idempotency::take(
        &mut tx,
        idempotency_key,
        Some(viewer.user_id),
        "add_referral_note",
    )
    .await?
    .is_some()
    {
        return Ok(());
    }
    crate::idempotency::complete(&mut tx, idempotency_key, "note").await?;
    event(
        &mut tx,
        referral,
        viewer,
        "note",
        serde_json::json!({ "note": note }),
    )
    .await?;
    audit::record(
        &mut *tx,
        actor,
        "referral.note",
        Some(&format!("referral:{referral}")),
        Outcome::Ok,
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A resident's referral, as the detail screen's timeline and My Plan show it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Activity {
    pub referral_id: Uuid,
    pub program_id: Uuid,
    pub program: String,
    pub need: String,
    /// The need is sensitive and the viewer has not opened the seal: shown as "sealed".
    #[sqlx(default)]
    pub sealed: bool,
    pub from_organization: Option<Uuid>,
    /// `None` for a self-referral (the resident connected to the program themselves).
    pub from_organization_name: Option<String>,
    pub to_organization: Uuid,
    pub to_organization_name: String,
    pub receiver_onboarded: bool,
    pub status: String,
    pub outcome_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    #[sqlx(skip)]
    pub events: Vec<Event>,
}

/// The referrals of a resident (whom the caller has opened through the residents gate), newest
/// first, each with its history; only those sent by or to `only_with` when given.
pub async fn activity_for(
    pool: &PgPool,
    resident: Uuid,
    only_with: Option<Uuid>,
) -> sqlx::Result<Vec<Activity>> {
    let mut items: Vec<Activity> = sqlx::query_as(
        "SELECT r.id AS referral_id, r.program_id, sv.name AS program, r.need, r.from_organization,
                f.name AS from_organization_name, r.to_organization, t.name AS to_organization_name,
                EXISTS (SELECT 1 FROM partner_organizations p WHERE p.organization_id = r.to_organization
                          AND p.onboarded_at IS NOT NULL) AS receiver_onboarded,
                r.status, r.outcome_reason, r.created_at, r.closed_at
           FROM referrals r JOIN services sv ON sv.id = r.service_id
           JOIN organizations t ON t.id = r.to_organization
           LEFT JOIN organizations f ON f.id = r.from_organization
          WHERE r.resident_id = $1
            AND ($2::uuid IS NULL OR r.to_organization = $2 OR r.from_organization = $2)
          ORDER BY r.created_at DESC, r.id LIMIT 100",
    )
    .bind(resident)
    .bind(only_with)
    .fetch_all(pool)
    .await?;
    let ids: Vec<Uuid> = items.iter().map(|a| a.referral_id).collect();
    let events: Vec<(Uuid, Event)> = sqlx::query_as::<_, EventRow>(
        "SELECT e.referral_id, e.at, e.kind, u.name AS who, o.name AS organization, e.detail
           FROM referral_events e LEFT JOIN users u ON u.id = e.user_id
           LEFT JOIN organizations o ON o.id = e.organization_id
          WHERE e.referral_id = ANY($1) ORDER BY e.at, e.id",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| {
        (
            r.referral_id,
            Event {
                at: r.at,
                kind: r.kind,
                who: r.who,
                organization: r.organization,
                detail: r.detail,
            },
        )
    })
    .collect();
    for (id, e) in events {
        if let Some(a) = items.iter_mut().find(|a| a.referral_id == id) {
            a.events.push(e);
        }
    }
    Ok(items)
}

#[derive(sqlx::FromRow)]
struct EventRow {
    referral_id: Uuid,
    at: DateTime<Utc>,
    kind: String,
    who: Option<String>,
    organization: Option<String>,
    detail: serde_json::Value,
}
