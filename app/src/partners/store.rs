//! Partner data in Postgres: claims, invitations, accounts created from them, onboarding, the
//! organization's team. Every change that someone must hear about queues its e-mail in the same
//! transaction, and every decision is audited in it too.

use super::OrgType;
use crate::audit::{self, Actor, Outcome};
use crate::policy::Role;
use crate::web::Problem;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// An organization someone wants to claim.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ClaimTarget {
    pub id: Uuid,
    pub name: String,
    pub county: Option<String>,
    pub city: Option<String>,
    pub is_partner: bool,
}

pub async fn claim_target(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<ClaimTarget>> {
    // The county of the organization's first location decides which chapter reviews the claim.
    sqlx::query_as(
        "WITH first_place AS (
             SELECT l.county_fips, l.city FROM locations l
              WHERE l.organization_id = $1 OR l.id IN (
                    SELECT sal.location_id FROM services s
                      JOIN service_at_locations sal ON sal.service_id = s.id
                     WHERE s.organization_id = $1)
              ORDER BY l.county_fips NULLS LAST, l.id LIMIT 1)
         SELECT o.id, o.name,
                (SELECT p.county FROM places p, first_place f
                  WHERE p.county_fips = f.county_fips LIMIT 1) AS county,
                (SELECT city FROM first_place) AS city,
                EXISTS (SELECT 1 FROM partner_organizations p WHERE p.organization_id = o.id) AS is_partner
           FROM organizations o WHERE o.id = $1 AND o.active",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub struct NewClaim {
    pub organization_id: Uuid,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub job_title: String,
    pub org_type: OrgType,
    pub county: Option<String>,
    pub chapter: String,
}

/// A new random secret token (hex), for invitation and confirmation links.
pub fn new_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Files a claim, waiting for its claimant to confirm their address; returns its id and the
/// confirmation token. Filing the same one twice (a double click, a second tab) files nothing
/// new: `None`.
pub async fn file_claim(
    tx: &mut Transaction<'_, Postgres>,
    claim: &NewClaim,
) -> sqlx::Result<Option<(Uuid, String)>> {
    let token = new_token();
    let id: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO claims (organization_id, claimant_name, email, phone, job_title, org_type,
                             county, chapter, status, confirm_token_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'unconfirmed', $9)
         ON CONFLICT (organization_id, lower(email)) WHERE status IN ('unconfirmed', 'pending') DO NOTHING
         RETURNING id",
    )
    .bind(claim.organization_id)
    .bind(&claim.name)
    .bind(&claim.email)
    .bind(&claim.phone)
    .bind(&claim.job_title)
    .bind(claim.org_type.as_str())
    .bind(&claim.county)
    .bind(&claim.chapter)
    .bind(token_hash(&token))
    .fetch_optional(&mut **tx)
    .await?;
    Ok(id.map(|id| (id, token)))
}

/// How long a claimant has to confirm their address.
pub const CONFIRM_WITHIN_DAYS: i32 = 7;

/// The claimant followed the confirmation link: the claim goes to its chapter. `None` for an
/// unknown, used or expired link.
pub async fn confirm_claim(
    tx: &mut Transaction<'_, Postgres>,
    token: &str,
) -> sqlx::Result<Option<Claim>> {
    let id: Option<Uuid> = sqlx::query_scalar(
        "UPDATE claims SET status = 'pending', confirmed_at = now(), confirm_token_hash = NULL
          WHERE confirm_token_hash = $1 AND status = 'unconfirmed'
            AND created_at > now() - make_interval(days => $2)
          RETURNING id",
    )
    .bind(token_hash(token))
    .bind(CONFIRM_WITHIN_DAYS)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(id) = id else { return Ok(None) };
    sqlx::query_as(&format!("{CLAIM_SELECT} WHERE c.id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// The organization a confirmation link is for (to show on the page before confirming).
pub async fn claim_to_confirm(pool: &PgPool, token: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT o.name FROM claims c JOIN organizations o ON o.id = c.organization_id
          WHERE c.confirm_token_hash = $1 AND c.status = 'unconfirmed'
            AND c.created_at > now() - make_interval(days => $2)",
    )
    .bind(token_hash(token))
    .bind(CONFIRM_WITHIN_DAYS)
    .fetch_optional(pool)
    .await
}

/// Active reviewers of a chapter (they hear about new claims).
pub async fn reviewer_emails(pool: &PgPool, chapter: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT email FROM users WHERE role = 'chapter_reviewer' AND chapter = $1 AND active",
    )
    .bind(chapter)
    .fetch_all(pool)
    .await
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Claim {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub organization_name: String,
    pub claimant_name: String,
    pub email: String,
    pub phone: String,
    pub job_title: String,
    pub org_type: String,
    pub county: Option<String>,
    pub chapter: String,
    pub status: String,
    pub decided_by_email: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

const CLAIM_SELECT: &str =
    "SELECT c.id, c.organization_id, o.name AS organization_name, c.claimant_name,
        c.email, c.phone, c.job_title, c.org_type, c.county, c.chapter, c.status,
        u.email AS decided_by_email, c.decided_at, c.decision_reason, c.created_at
   FROM claims c JOIN organizations o ON o.id = c.organization_id
   LEFT JOIN users u ON u.id = c.decided_by";

/// A chapter's claims (all chapters for `None`), pending first and oldest first.
pub async fn claims(
    pool: &PgPool,
    chapter: Option<&str>,
    status: &str,
) -> sqlx::Result<Vec<Claim>> {
    sqlx::query_as(&format!(
        "{CLAIM_SELECT} WHERE ($1::text IS NULL OR c.chapter = $1) AND c.status = $2
          ORDER BY c.created_at LIMIT 200"
    ))
    .bind(chapter)
    .bind(status)
    .fetch_all(pool)
    .await
}

pub async fn claim(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<Claim>> {
    sqlx::query_as(&format!("{CLAIM_SELECT} WHERE c.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn pending_count(pool: &PgPool, chapter: Option<&str>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM claims WHERE status = 'pending' AND ($1::text IS NULL OR chapter = $1)",
    )
    .bind(chapter)
    .fetch_one(pool)
    .await
}

/// Records a decision on a pending claim. `None` when someone else decided it first.
pub async fn decide_claim(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    approve: bool,
    reason: Option<&str>,
    reviewer: Uuid,
) -> sqlx::Result<Option<Claim>> {
    let updated = sqlx::query(
        "UPDATE claims SET status = $2, decided_by = $3, decided_at = now(), decision_reason = $4
          WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(if approve { "approved" } else { "denied" })
    .bind(reviewer)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(None);
    }
    let claim: Claim = sqlx::query_as(&format!("{CLAIM_SELECT} WHERE c.id = $1"))
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    if approve {
        sqlx::query(
            "INSERT INTO partner_organizations (organization_id, org_type, chapter)
             VALUES ($1, $2, $3) ON CONFLICT (organization_id) DO NOTHING",
        )
        .bind(claim.organization_id)
        .bind(&claim.org_type)
        .bind(&claim.chapter)
        .execute(&mut **tx)
        .await?;
    }
    Ok(Some(claim))
}

pub struct NewInvitation<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub organization_id: Option<Uuid>,
    pub chapter: Option<&'a str>,
    pub claim_id: Option<Uuid>,
    pub invited_by: Option<Uuid>,
    pub valid_days: u32,
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Creates an invitation and returns its secret token (only its hash is stored).
pub async fn invite(
    tx: &mut Transaction<'_, Postgres>,
    invitation: &NewInvitation<'_>,
) -> sqlx::Result<String> {
    let token = new_token();
    sqlx::query(
        "INSERT INTO invitations (token_hash, email, name, role, organization_id, chapter, claim_id,
                                  invited_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(days => $9))",
    )
    .bind(token_hash(&token))
    .bind(invitation.email.to_lowercase())
    .bind(invitation.name)
    .bind(invitation.role.as_str())
    .bind(invitation.organization_id)
    .bind(invitation.chapter)
    .bind(invitation.claim_id)
    .bind(invitation.invited_by)
    .bind(invitation.valid_days as i32)
    .execute(&mut **tx)
    .await?;
    Ok(token)
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Invitation {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub organization_id: Option<Uuid>,
    pub organization_name: Option<String>,
    pub chapter: Option<String>,
    pub expired: bool,
    pub used: bool,
}

pub async fn invitation(pool: &PgPool, token: &str) -> sqlx::Result<Option<Invitation>> {
    sqlx::query_as(
        "SELECT i.id, i.email, i.name, i.role, i.organization_id, o.name AS organization_name,
                i.chapter, i.expires_at <= now() AS expired, i.used_at IS NOT NULL AS used
           FROM invitations i LEFT JOIN organizations o ON o.id = i.organization_id
          WHERE i.token_hash = $1",
    )
    .bind(token_hash(token))
    .fetch_optional(pool)
    .await
}

/// How the new account will sign in.
pub enum Credential {
    Password(String),
    IdentityProvider { issuer: String, subject: String },
}

/// Uses an invitation (once, before it expires) to create the account it promised. The
/// invitation is consumed by a conditional update, so two tabs cannot both use it.
pub async fn redeem_invitation(
    pool: &PgPool,
    token: &str,
    name: &str,
    credential: Credential,
    actor: &Actor,
) -> Result<Uuid, Problem> {
    let mut tx = pool.begin().await?;
    let invitation: Option<(Uuid, String, String, Option<Uuid>, Option<String>)> = sqlx::query_as(
        "UPDATE invitations SET used_at = now()
          WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
          RETURNING id, email, role, organization_id, chapter",
    )
    .bind(token_hash(token))
    .fetch_optional(&mut *tx)
    .await?;
    let Some((invitation_id, email, role, organization_id, chapter)) = invitation else {
        drop(tx);
        audit::record_refusal(
            pool,
            actor,
            "invitation.redeem",
            None,
            Outcome::Denied,
            serde_json::json!({ "reason": "unknown, expired or already used" }),
        )
        .await;
        return Err(Problem::new("invitation_invalid"));
    };
    let (password_hash, issuer, subject) = match credential {
        Credential::Password(hash) => (Some(hash), None, None),
        Credential::IdentityProvider { issuer, subject } => (None, Some(issuer), Some(subject)),
    };
    // The unique indexes decide (no check-then-insert race): an address or an identity that
    // already has an account is the form's "account exists".
    let user_id: Uuid = sqlx::query_scalar(
        "INSERT INTO users (email, name, role, organization_id, chapter, password_hash, oidc_issuer,
                            oidc_subject)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(&email)
    .bind(name.trim())
    .bind(&role)
    .bind(organization_id)
    .bind(&chapter)
    .bind(password_hash)
    .bind(&issuer)
    .bind(&subject)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| {
        crate::web::on_unique_violation(
            e,
            &["users_email_idx", "users_oidc_issuer_oidc_subject_key"],
            Problem::new("account_exists"),
        )
    })?;
    sqlx::query("UPDATE invitations SET used_by = $2 WHERE id = $1")
        .bind(invitation_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    let actor = Actor {
        id: Some(user_id),
        email: Some(email.clone()),
        role: Some(role.clone()),
        organization_id,
        ip: actor.ip.clone(),
    };
    audit::record(
        &mut *tx,
        &actor,
        "account.created",
        Some(&format!("user:{user_id}")),
        Outcome::Ok,
        serde_json::json!({
            "invitation": invitation_id,
            "role": role,
            "sign_in": if issuer.is_some() { "identity provider" } else { "password" },
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(user_id)
}

/// Saves a confirmed TOTP secret (sealed) and a fresh set of recovery codes.
pub async fn enroll_mfa(
    pool: &PgPool,
    user: Uuid,
    secret: &str,
    step: i64,
    recovery_hashes: &[Vec<u8>],
    actor: &Actor,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE users SET totp_secret = $2, mfa_enrolled_at = now(), last_totp_step = $3
          WHERE id = $1",
    )
    .bind(user)
    .bind(secret)
    .bind(step)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    for hash in recovery_hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
    }
    audit::record(
        &mut *tx,
        actor,
        "mfa.enrolled",
        Some(&format!("user:{user}")),
        Outcome::Ok,
        serde_json::json!({ "method": "totp", "recovery_codes": recovery_hashes.len() }),
    )
    .await?;
    tx.commit().await
}

/// Runs one UPDATE of a user (the user id is `$1`) and audits it, in one transaction.
async fn update_user(
    pool: &PgPool,
    user: Uuid,
    sql: &str,
    action: &str,
    details: serde_json::Value,
    actor: &Actor,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(sql).bind(user).execute(&mut *tx).await?;
    audit::record(
        &mut *tx,
        actor,
        action,
        Some(&format!("user:{user}")),
        Outcome::Ok,
        details,
    )
    .await?;
    tx.commit().await
}

pub async fn pass_training(pool: &PgPool, user: Uuid, actor: &Actor) -> sqlx::Result<()> {
    update_user(
        pool,
        user,
        "UPDATE users SET training_passed_at = now() WHERE id = $1",
        "training.passed",
        serde_json::json!({ "version": super::onboarding::TRAINING_VERSION }),
        actor,
    )
    .await
}

/// Records acceptance of the user agreement. For a partner this finishes onboarding: the
/// organization is onboarded (the first time only: incentives count from that date) and a
/// nonprofit joins the incentive list.
pub async fn accept_agreement(
    pool: &PgPool,
    user: Uuid,
    organization: Option<Uuid>,
    actor: &Actor,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO agreement_acceptances (user_id, version, ip) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(user)
    .bind(super::onboarding::AGREEMENT_VERSION)
    .bind(&actor.ip)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        actor,
        "agreement.accepted",
        Some(&format!("user:{user}")),
        Outcome::Ok,
        serde_json::json!({ "version": super::onboarding::AGREEMENT_VERSION }),
    )
    .await?;
    if let Some(org) = organization {
        let onboarded: Option<String> = sqlx::query_scalar(
            "UPDATE partner_organizations SET onboarded_at = now()
              WHERE organization_id = $1 AND onboarded_at IS NULL
              RETURNING org_type",
        )
        .bind(org)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(org_type) = onboarded {
            audit::record(
                &mut *tx,
                actor,
                "organization.onboarded",
                Some(&format!("organization:{org}")),
                Outcome::Ok,
                serde_json::json!({ "org_type": org_type }),
            )
            .await?;
            if org_type == OrgType::Nonprofit.as_str() {
                sqlx::query(
                    "INSERT INTO incentive_enrollments (organization_id, reason)
                     VALUES ($1, 'approved nonprofit onboarded') ON CONFLICT DO NOTHING",
                )
                .bind(org)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    tx.commit().await
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PartnerOrganization {
    pub id: Uuid,
    pub name: String,
    pub org_type: String,
    pub chapter: String,
    pub onboarded_at: Option<DateTime<Utc>>,
    pub incentive_enrolled: bool,
    pub programs: i64,
    pub people: i64,
}

pub async fn partner_organization(
    pool: &PgPool,
    id: Uuid,
) -> sqlx::Result<Option<PartnerOrganization>> {
    sqlx::query_as(
        "SELECT o.id, o.name, p.org_type, p.chapter, p.onboarded_at,
                EXISTS (SELECT 1 FROM incentive_enrollments i WHERE i.organization_id = o.id)
                    AS incentive_enrolled,
                (SELECT count(*) FROM services s WHERE s.organization_id = o.id AND s.active) AS programs,
                (SELECT count(*) FROM users u WHERE u.organization_id = o.id AND u.active) AS people
           FROM organizations o JOIN partner_organizations p ON p.organization_id = o.id
          WHERE o.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TeamMember {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: String,
    pub active: bool,
    pub onboarded: bool,
}

pub async fn team(pool: &PgPool, organization: Uuid) -> sqlx::Result<Vec<TeamMember>> {
    sqlx::query_as(
        "SELECT u.id, u.name, u.email, u.role, u.active,
                (u.mfa_enrolled_at IS NOT NULL AND u.training_passed_at IS NOT NULL
                 AND EXISTS (SELECT 1 FROM agreement_acceptances a
                              WHERE a.user_id = u.id AND a.version = $2)) AS onboarded
           FROM users u WHERE u.organization_id = $1
          ORDER BY u.active DESC, lower(u.name)",
    )
    .bind(organization)
    .bind(super::onboarding::AGREEMENT_VERSION)
    .fetch_all(pool)
    .await
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OpenInvitation {
    pub email: String,
    pub name: String,
    pub role: String,
    pub expires_at: DateTime<Utc>,
}

pub async fn open_invitations(
    pool: &PgPool,
    organization: Uuid,
) -> sqlx::Result<Vec<OpenInvitation>> {
    sqlx::query_as(
        "SELECT email, name, role, expires_at FROM invitations
          WHERE organization_id = $1 AND used_at IS NULL AND expires_at > now()
          ORDER BY created_at DESC",
    )
    .bind(organization)
    .fetch_all(pool)
    .await
}

/// The organization and role of a user, for the admin's scope check.
pub async fn member(
    pool: &PgPool,
    user: Uuid,
) -> sqlx::Result<Option<(Option<Uuid>, String, bool)>> {
    sqlx::query_as("SELECT organization_id, role, active FROM users WHERE id = $1")
        .bind(user)
        .fetch_optional(pool)
        .await
}

/// Changes a team member's role; a new security stamp signs them out so the new role applies.
pub async fn change_role(pool: &PgPool, user: Uuid, role: Role, actor: &Actor) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    let old: String = sqlx::query_scalar(
        "UPDATE users u SET role = $2, security_stamp = gen_random_uuid()
           FROM users old WHERE u.id = $1 AND old.id = u.id RETURNING old.role",
    )
    .bind(user)
    .bind(role.as_str())
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        actor,
        "user.role_changed",
        Some(&format!("user:{user}")),
        Outcome::Ok,
        serde_json::json!({ "from": old, "to": role.as_str() }),
    )
    .await?;
    tx.commit().await
}

/// Deactivates a team member: they cannot sign in and their sessions end; their history stays.
pub async fn deactivate(pool: &PgPool, user: Uuid, actor: &Actor) -> sqlx::Result<()> {
    update_user(
        pool,
        user,
        "UPDATE users SET active = false, deactivated_at = now(), security_stamp = gen_random_uuid()
          WHERE id = $1",
        "user.deactivated",
        serde_json::json!({}),
        actor,
    )
    .await
}

/// The organization's programs in the directory (the first ten), for its dashboard.
pub async fn listing(pool: &PgPool, org: Uuid) -> sqlx::Result<Vec<(Uuid, String)>> {
    sqlx::query_as(
        "SELECT sal.id, s.name FROM service_at_locations sal JOIN services s ON s.id = sal.service_id
          WHERE s.organization_id = $1 AND s.active ORDER BY s.name, sal.id LIMIT 10",
    )
    .bind(org)
    .fetch_all(pool)
    .await
}
