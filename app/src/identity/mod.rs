//! Who is signed in, and how they got there: passwords (argon2) or the state identity provider
//! (OpenID Connect, in server/src/oidc.rs), then a time-based code for every partner and United
//! Way role at every sign-in. Sessions live in Postgres (tower-sessions + axum-login).

#[cfg(feature = "ssr")]
pub mod accounts;
#[cfg(feature = "ssr")]
pub mod backoff;
#[cfg(feature = "ssr")]
pub mod mfa;
#[cfg(feature = "ssr")]
pub mod pages;
#[cfg(feature = "ssr")]
pub mod passwords;
#[cfg(feature = "ssr")]
pub mod sealed;

use crate::policy::Role;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The signed-in person, as the policy gate loads them for each request.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Viewer {
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    /// The role they were given. What they may do now is [`Viewer::effective_role`].
    pub role: Role,
    pub organization_id: Option<Uuid>,
    pub organization_name: Option<String>,
    pub org_type: Option<String>,
    pub chapter: Option<String>,
    pub mfa_enrolled: bool,
    pub training_passed: bool,
    /// Accepted the current version of the user agreement.
    pub agreement_accepted: bool,
    /// The IANA zone of their organization's place (times on their pages are shown in it).
    pub time_zone: Option<String>,
    /// A resident's account, once linked to their record (after proving a phone or e-mail on
    /// it with a one-time code).
    pub resident_id: Option<Uuid>,
}

impl Viewer {
    pub fn onboarded(&self) -> bool {
        self.mfa_enrolled && self.training_passed && self.agreement_accepted
    }

    /// Partners and United Way staff act as `Onboarding` until final onboarding is done.
    pub fn effective_role(&self) -> Role {
        if self.role.needs_onboarding() && !self.onboarded() {
            Role::Onboarding
        } else {
            self.role
        }
    }

    /// The next onboarding page, if any is left.
    pub fn next_onboarding_step(&self) -> Option<&'static str> {
        if !self.role.needs_onboarding() {
            None
        } else if !self.mfa_enrolled {
            Some("/onboarding/mfa")
        } else if !self.training_passed {
            Some("/onboarding/training")
        } else if !self.agreement_accepted {
            Some("/onboarding/agreement")
        } else {
            None
        }
    }

    /// Where this person starts after signing in.
    pub fn home(&self) -> &'static str {
        match self.effective_role() {
            Role::Onboarding => self.next_onboarding_step().unwrap_or("/onboarding"),
            Role::PartnerStaff | Role::PartnerAdmin | Role::HospitalStaff => "/partner",
            Role::ChapterReviewer => "/united-way/claims",
            Role::ReferralSpecialist => "/united-way/referrals",
            Role::Resident => "/my-plan",
            _ => "/account",
        }
    }
}

/// Session keys. Everything a session holds beyond axum-login's own user id.
#[cfg(feature = "ssr")]
pub mod session_keys {
    /// A person who passed the first factor and still owes a code: [`super::PendingCode`].
    pub const PENDING_CODE: &str = "pending_code";
    /// When the person signed in (seconds since 1970), for the absolute timeout.
    pub const SIGNED_IN_AT: &str = "signed_in_at";
    /// The secret being enrolled, until a code from it is confirmed.
    pub const MFA_SECRET: &str = "mfa_secret";
    /// Recovery codes, shown once right after enrolment.
    pub const RECOVERY_CODES: &str = "recovery_codes";
    /// The OpenID Connect round trip in progress.
    pub const OIDC_FLOW: &str = "oidc_flow";
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingCode {
    pub user_id: Uuid,
    pub next: Option<String>,
    /// "password" or "identity provider", for the audit trail.
    pub via: String,
}

#[cfg(feature = "ssr")]
use crate::audit::{self, Actor, Outcome};
#[cfg(feature = "ssr")]
use crate::web::{finish, local_path, Problem};

/// The first factor is done (password or identity provider). People with MFA owe a code next;
/// people still onboarding are signed in to finish it (MFA enrolment is the first step).
#[cfg(feature = "ssr")]
pub async fn after_first_factor(
    pool: &sqlx::PgPool,
    ip: &str,
    auth: &mut accounts::AuthSession,
    record: &accounts::SignInRecord,
    next: Option<String>,
    via: &str,
) -> Result<String, Problem> {
    if record.totp_secret.is_some() {
        auth.session.cycle_id().await?;
        auth.session
            .insert(
                session_keys::PENDING_CODE,
                PendingCode {
                    user_id: record.id,
                    next,
                    via: via.to_string(),
                },
            )
            .await?;
        return Ok("/sign-in/code".into());
    }
    complete_sign_in(pool, ip, auth, record, via).await?;
    // No code owed: someone still onboarding (they enrol first) or a resident.
    let home = accounts::viewer(pool, record.id)
        .await?
        .map(|v| v.home().to_string())
        .unwrap_or_else(|| "/account".into());
    Ok(next.unwrap_or(home))
}

/// Both factors are done (or the person is still enrolling): start the signed-in session with a
/// new session id (no fixation), and audit it.
#[cfg(feature = "ssr")]
pub async fn complete_sign_in(
    pool: &sqlx::PgPool,
    ip: &str,
    auth: &mut accounts::AuthSession,
    record: &accounts::SignInRecord,
    via: &str,
) -> Result<(), Problem> {
    let user = auth
        .authenticate(record.id)
        .await
        .map_err(|_| Problem::new("unavailable"))?
        .ok_or(Problem::new("wrong_password"))?;
    auth.login(&user).await.map_err(|e| {
        tracing::error!(error = %e, "could not start a session");
        Problem::new("unavailable")
    })?;
    auth.session
        .insert(session_keys::SIGNED_IN_AT, chrono::Utc::now().timestamp())
        .await?;
    let viewer = accounts::viewer(pool, record.id).await?;
    if record.role == "resident" {
        crate::residents::actions::keep_saved_programs(pool, &auth.session, record.id).await;
    }
    let actor = Actor::from_viewer(viewer.as_ref(), ip);
    audit::record(
        pool,
        &actor,
        "sign_in",
        Some(&format!("user:{}", record.id)),
        Outcome::Ok,
        serde_json::json!({ "via": via }),
    )
    .await?;
    Ok(())
}

#[cfg(feature = "ssr")]
async fn refuse_sign_in(email: &str, reason: &str, user: Option<Uuid>) {
    let state = crate::state::AppState::get();
    let mut actor = Actor::current().with_email(email);
    actor.id = user;
    audit::record_refusal(
        &state.pool,
        &actor,
        "sign_in",
        user.map(|u| format!("user:{u}")).as_deref(),
        Outcome::Failed,
        serde_json::json!({ "reason": reason }),
    )
    .await;
}

/// Where a sign-in form goes back to when it must wait: the page says for how long.
#[cfg(feature = "ssr")]
fn wait_page(back: &str, seconds: i64) -> String {
    format!(
        "{}&wait={}",
        crate::web::with_error(back, "locked"),
        backoff::minutes(seconds)
    )
}

/// A wrong password or code: counted, and when it starts a wait, the account's owner (if the
/// address has an account) hears about it by e-mail, at most once a day.
#[cfg(feature = "ssr")]
async fn count_failure(
    pool: &sqlx::PgPool,
    email: &str,
    ip: &str,
    owner: Option<&accounts::SignInRecord>,
) -> Result<Option<i64>, Problem> {
    let started = backoff::failed(pool, email, ip).await?;
    if let (Some(wait), Some(owner)) = (started, owner) {
        if crate::rate_limit::allow(pool, crate::rate_limit::BACKOFF_NOTICE, &owner.email).await? {
            let d = &crate::state::AppState::get().deployment;
            let locale = crate::i18n::Locale::en;
            crate::mail::enqueue(
                pool,
                &crate::mail::Message::new(
                    &owner.email,
                    tr!(locale, mail_backoff_subject, site = d.site.name.clone()),
                    tr!(
                        locale,
                        mail_backoff_body,
                        site = d.site.name.clone(),
                        ip = ip,
                        minutes = backoff::minutes(wait)
                    ),
                ),
            )
            .await?;
            crate::mail::nudge(pool).await;
        }
    }
    Ok(started)
}

/// Email and password, the first factor for local accounts.
#[server(prefix = "/fn", endpoint = "sign_in")]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), ServerFnError> {
    let next = next.as_deref().and_then(local_path);
    let back = match &next {
        Some(n) => format!("/sign-in?next={}", urlencode(n)),
        None => "/sign-in".to_string(),
    };
    let mut auth: accounts::AuthSession = leptos_axum::extract().await?;
    let outcome = async {
        let pool = crate::state::AppState::get().pool;
        let ip = crate::web::request().ip;
        let email = email.trim().to_lowercase();
        if email.is_empty() || password.is_empty() || email.len() > 320 || password.len() > 1024 {
            return Err(Problem::new("missing_credentials"));
        }
        // A whole hospital or library may sign in from one address: the per-address ceiling is
        // far above what one person does, and backoff (per e-mail and address) does the rest.
        if !crate::rate_limit::allow(&pool, crate::rate_limit::SIGN_IN_PER_IP, &ip).await? {
            refuse_sign_in(&email, "rate limited", None).await;
            return Err(Problem::new("rate_limited"));
        }
        if let Some(wait) = backoff::waiting(&pool, &email, &ip).await? {
            refuse_sign_in(&email, "waiting after wrong tries", None).await;
            return Ok(wait_page(&back, wait));
        }
        let record = accounts::by_email(&pool, &email).await?;
        let stored = record.as_ref().and_then(|r| r.password_hash.clone());
        let matches = passwords::verify_blocking(password, stored).await;
        let record = record.filter(|r| r.active);
        if !matches || record.is_none() {
            // Unknown addresses are counted and answered exactly like wrong passwords.
            let started = count_failure(&pool, &email, &ip, record.as_ref()).await?;
            let reason = if record.is_some() {
                "wrong password"
            } else {
                "unknown or deactivated account"
            };
            refuse_sign_in(&email, reason, record.as_ref().map(|r| r.id)).await;
            return match started {
                Some(wait) => Ok(wait_page(&back, wait)),
                None => Err(Problem::new("wrong_password")),
            };
        }
        let record = record.expect("checked above");
        backoff::succeeded(&pool, &email, &ip).await?;
        after_first_factor(&pool, &ip, &mut auth, &record, next.clone(), "password").await
    }
    .await;
    finish(&back, outcome)
}

/// The second factor: a code from the authenticator app, or a recovery code.
#[server(prefix = "/fn", endpoint = "verify_sign_in_code")]
pub async fn verify_sign_in_code(code: String) -> Result<(), ServerFnError> {
    let mut auth: accounts::AuthSession = leptos_axum::extract().await?;
    let outcome = async {
        let pool = crate::state::AppState::get().pool;
        let ip = crate::web::request().ip;
        let pending: Option<PendingCode> = auth.session.get(session_keys::PENDING_CODE).await?;
        let Some(pending) = pending else {
            return Err(Problem::new("expired"));
        };
        let record = accounts::by_id(&pool, pending.user_id)
            .await?
            .filter(|r| r.active)
            .ok_or(Problem::new("expired"))?;
        if let Some(wait) = backoff::waiting(&pool, &record.email, &ip).await? {
            refuse_sign_in(&record.email, "waiting after wrong tries", Some(record.id)).await;
            return Ok(wait_page("/sign-in/code", wait));
        }
        let now = chrono::Utc::now().timestamp() as u64;
        let key = sealed::key(&crate::state::AppState::get().deployment)?;
        // A secret that does not open is an error, never an empty key: with an empty key the
        // expected code would be public.
        let secret = match record.totp_secret.as_deref().map(|s| key.open(s)) {
            Some(Some(secret)) => secret,
            Some(None) => {
                tracing::error!(user = %record.id, "this person's sign-in secret cannot be opened with the server's secrets key (wrong or replaced key file?); refusing the code");
                refuse_sign_in(&record.email, "sign-in secret cannot be opened", Some(record.id)).await;
                return Err(Problem::new("unavailable"));
            }
            None => return Err(Problem::new("expired")),
        };
        let step = mfa::check(&secret, &code, now, record.last_totp_step);
        let recovery = step.is_none()
            && code.trim().len() > 6
            && code.trim().len() <= 40
            && accounts::use_recovery_code(&pool, record.id, &code).await?;
        if step.is_none() && !recovery {
            let started = count_failure(&pool, &record.email, &ip, Some(&record)).await?;
            refuse_sign_in(&record.email, "wrong code", Some(record.id)).await;
            return match started {
                Some(wait) => Ok(wait_page("/sign-in/code", wait)),
                None => Err(Problem::new("wrong_code")),
            };
        }
        backoff::succeeded(&pool, &record.email, &ip).await?;
        accounts::record_success(&pool, record.id, step).await?;
        auth.session
            .remove::<PendingCode>(session_keys::PENDING_CODE)
            .await?;
        let via = if recovery {
            format!("{} + recovery code", pending.via)
        } else {
            format!("{} + authenticator code", pending.via)
        };
        complete_sign_in(&pool, &ip, &mut auth, &record, &via).await?;
        if recovery {
            audit::record(
                &pool,
                &Actor::current().with_email(&record.email),
                "mfa.recovery_code_used",
                Some(&format!("user:{}", record.id)),
                Outcome::Ok,
                serde_json::json!({}),
            )
            .await?;
        }
        let viewer = accounts::viewer(&pool, record.id).await?;
        Ok(pending
            .next
            .or_else(|| viewer.map(|v| v.home().to_string()))
            .unwrap_or_else(|| "/account".into()))
    }
    .await;
    finish("/sign-in/code", outcome)
}

#[server(prefix = "/fn", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), ServerFnError> {
    let mut auth: accounts::AuthSession = leptos_axum::extract().await?;
    let actor = Actor::current();
    let outcome = async {
        let pool = crate::state::AppState::get().pool;
        audit::record(
            &pool,
            &actor,
            "sign_out",
            actor.id.map(|u| format!("user:{u}")).as_deref(),
            Outcome::Ok,
            serde_json::json!({}),
        )
        .await?;
        auth.logout()
            .await
            .map_err(|_| Problem::new("unavailable"))?;
        auth.session.flush().await?;
        Ok("/sign-in?signed_out=1".to_string())
    }
    .await;
    finish("/account", outcome)
}

/// Percent-encodes a path for use inside a query string.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
