//! Accounts in Postgres: the axum-login backend (who a session belongs to), sign-in
//! bookkeeping (failures, lockout), and loading the [`Viewer`] the policy gate hands to pages.

use super::Viewer;
use crate::policy::Role;
use axum_login::{AuthUser, AuthnBackend, UserId};
use sqlx::PgPool;
use uuid::Uuid;

/// What a session remembers about its person. The security stamp is part of the session: when it
/// changes (deactivation, MFA reset) every existing session of that person stops working.
#[derive(Clone, Debug)]
pub struct SessionUser {
    pub id: Uuid,
    stamp: [u8; 16],
}

impl AuthUser for SessionUser {
    type Id = Uuid;

    fn id(&self) -> Uuid {
        self.id
    }

    fn session_auth_hash(&self) -> &[u8] {
        &self.stamp
    }
}

#[derive(Clone)]
pub struct Accounts {
    pub pool: PgPool,
}

pub type AuthSession = axum_login::AuthSession<Accounts>;

impl AuthnBackend for Accounts {
    type User = SessionUser;
    /// The id of a person whose password (or identity provider) and second factor have already
    /// been checked by the sign-in server functions.
    type Credentials = Uuid;
    type Error = sqlx::Error;

    async fn authenticate(&self, id: Uuid) -> Result<Option<SessionUser>, sqlx::Error> {
        self.get_user(&id).await
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<SessionUser>, sqlx::Error> {
        let row: Option<(Uuid, Uuid)> =
            sqlx::query_as("SELECT id, security_stamp FROM users WHERE id = $1 AND active")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id, stamp)| SessionUser {
            id,
            stamp: *stamp.as_bytes(),
        }))
    }
}

/// What sign-in needs to know about an account.
#[derive(Debug, sqlx::FromRow)]
pub struct SignInRecord {
    pub id: Uuid,
    pub email: String,
    pub role: String,
    pub password_hash: Option<String>,
    /// Sealed (`identity::sealed`): open it with the deployment's key.
    pub totp_secret: Option<String>,
    pub last_totp_step: Option<i64>,
    pub active: bool,
}

const SIGN_IN_COLUMNS: &str = "id, email, role, password_hash, totp_secret, last_totp_step, active";

pub async fn by_email(pool: &PgPool, email: &str) -> sqlx::Result<Option<SignInRecord>> {
    sqlx::query_as(&format!(
        "SELECT {SIGN_IN_COLUMNS} FROM users
          WHERE lower(email) = lower($1) AND (role <> 'resident' OR password_hash IS NOT NULL)
          ORDER BY role = 'resident' LIMIT 1"
    ))
    .bind(email.trim())
    .fetch_optional(pool)
    .await
}

pub async fn by_id(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<SignInRecord>> {
    sqlx::query_as(&format!(
        "SELECT {SIGN_IN_COLUMNS} FROM users WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn by_identity_provider(
    pool: &PgPool,
    issuer: &str,
    subject: &str,
) -> sqlx::Result<Option<SignInRecord>> {
    sqlx::query_as(&format!(
        "SELECT {SIGN_IN_COLUMNS} FROM users WHERE oidc_issuer = $1 AND oidc_subject = $2"
    ))
    .bind(issuer)
    .bind(subject)
    .fetch_optional(pool)
    .await
}

/// A resident signing in with the state identity provider for the first time gets a resident
/// account (no invitation: anyone may keep a plan). It is not linked to any resident record
/// until they prove a phone or e-mail on one.
pub async fn create_resident_account(
    pool: &PgPool,
    issuer: &str,
    subject: &str,
    name: &str,
    verified_email: Option<&str>,
) -> sqlx::Result<Uuid> {
    sqlx::query_scalar(
        "INSERT INTO users (email, name, role, oidc_issuer, oidc_subject)
         VALUES ($1, $2, 'resident', $3, $4)
         ON CONFLICT (oidc_issuer, oidc_subject) DO UPDATE SET name = users.name RETURNING id",
    )
    .bind(verified_email.unwrap_or(""))
    .bind(name)
    .bind(issuer)
    .bind(subject)
    .fetch_one(pool)
    .await
}

/// A code was accepted: its time step is the last one that may ever be used again.
pub async fn record_success(pool: &PgPool, id: Uuid, totp_step: Option<i64>) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET last_totp_step = coalesce($2, last_totp_step) WHERE id = $1")
        .bind(id)
        .bind(totp_step)
        .execute(pool)
        .await?;
    Ok(())
}

/// Uses up one recovery code; true if it was valid and unused.
pub async fn use_recovery_code(pool: &PgPool, id: Uuid, code: &str) -> sqlx::Result<bool> {
    let used = sqlx::query(
        "UPDATE recovery_codes SET used_at = now()
          WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(id)
    .bind(super::mfa::recovery_code_hash(code))
    .execute(pool)
    .await?;
    Ok(used.rows_affected() == 1)
}

#[derive(sqlx::FromRow)]
struct ViewerRow {
    id: Uuid,
    name: String,
    email: String,
    role: String,
    organization_id: Option<Uuid>,
    organization_name: Option<String>,
    org_type: Option<String>,
    chapter: Option<String>,
    mfa_enrolled: bool,
    training_passed: bool,
    agreement_accepted: bool,
    time_zone: Option<String>,
    resident_id: Option<Uuid>,
}

/// The signed-in person as pages and the policy see them.
pub async fn viewer(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<Viewer>> {
    let row: Option<ViewerRow> = sqlx::query_as(
        "SELECT u.id, u.name, u.email, u.role, u.organization_id, o.name AS organization_name,
                p.org_type, u.chapter,
                u.mfa_enrolled_at IS NOT NULL AS mfa_enrolled,
                u.training_passed_at IS NOT NULL AS training_passed,
                EXISTS (SELECT 1 FROM agreement_acceptances a
                         WHERE a.user_id = u.id AND a.version = $2) AS agreement_accepted,
                (SELECT e.timezone FROM search_entries e
                  WHERE e.organization_id = u.organization_id AND e.timezone IS NOT NULL
                  LIMIT 1) AS time_zone,
                u.resident_id
           FROM users u
           LEFT JOIN organizations o ON o.id = u.organization_id
           LEFT JOIN partner_organizations p ON p.organization_id = u.organization_id
          WHERE u.id = $1 AND u.active",
    )
    .bind(id)
    .bind(crate::partners::onboarding::AGREEMENT_VERSION)
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|r| {
        Some(Viewer {
            user_id: r.id,
            name: r.name,
            email: r.email,
            role: Role::parse(&r.role)?,
            organization_id: r.organization_id,
            organization_name: r.organization_name,
            org_type: r.org_type,
            chapter: r.chapter,
            mfa_enrolled: r.mfa_enrolled,
            training_passed: r.training_passed,
            agreement_accepted: r.agreement_accepted,
            time_zone: r.time_zone,
            resident_id: r.resident_id,
        })
    }))
}
