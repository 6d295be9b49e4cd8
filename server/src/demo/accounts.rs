//! Demo accounts, one per role, so someone trying `make run` can sign in as each. Fully
//! onboarded (MFA, training, agreement) with a fixed password and a fixed TOTP secret that any
//! authenticator app can add; `server demo-code EMAIL` prints the current code. Only ever
//! created by `seed-demo`, only under the demo e-mail domain.

use app::identity::sealed::SealingKey;
use app::partners::onboarding::AGREEMENT_VERSION;
use app::policy::Role;
use sqlx::PgPool;
use uuid::Uuid;

pub const DOMAIN: &str = "demo.wraparound.example";
pub const PASSWORD: &str = "kentucky demo passphrase";
/// Base32 TOTP secrets (fixed, so a demo authenticator entry keeps working across resets).
const SECRETS: [&str; 6] = [
    "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXA",
    "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXB",
    "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXC",
    "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXD",
    "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXE",
    "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXF",
];

pub struct DemoAccount {
    pub email: String,
    pub name: &'static str,
    pub role: Role,
    pub organization: Option<String>,
    pub totp_secret: String,
}

/// Two organizations of the demo directory become partners (a nonprofit and a hospital), and
/// one person per role gets an account. Idempotent.
pub async fn seed(
    pool: &PgPool,
    chapter: &str,
    key: &SealingKey,
) -> anyhow::Result<Vec<DemoAccount>> {
    // The first organization with two programs is the nonprofit; the hospital is a hospital
    // (a name that says so), or, in a directory without one, the next organization.
    let orgs: Vec<(Uuid, String)> = sqlx::query_as(
        "WITH candidates AS (
             SELECT o.id, o.name, (o.name ~* '(hospital|medical center)') AS hospital FROM organizations o
               JOIN services s ON s.organization_id = o.id AND s.active
               JOIN service_at_locations sal ON sal.service_id = s.id
              WHERE o.active AND NOT o.placeholder
              GROUP BY o.id, o.name HAVING count(*) >= 2),
         nonprofit AS (SELECT id, name FROM candidates WHERE NOT hospital ORDER BY name LIMIT 1),
         hospital AS (SELECT id, name FROM candidates WHERE id NOT IN (SELECT id FROM nonprofit)
                       ORDER BY hospital DESC, name LIMIT 1)
         SELECT id, name FROM (SELECT id, name, 1 AS k FROM nonprofit
                               UNION ALL SELECT id, name, 2 FROM hospital) both_ ORDER BY k",
    )
    .fetch_all(pool)
    .await?;
    let [(nonprofit, nonprofit_name), (hospital, hospital_name)] = <[_; 2]>::try_from(orgs)
        .map_err(|_| anyhow::anyhow!("the demo directory needs at least two organizations"))?;
    for (org, kind) in [(nonprofit, "nonprofit"), (hospital, "hospital")] {
        sqlx::query(
            // Partners for over a year, so the demo year's work is theirs.
            "INSERT INTO partner_organizations (organization_id, org_type, chapter, approved_at, onboarded_at)
             VALUES ($1, $2, $3, now() - interval '400 days', now() - interval '399 days')
             ON CONFLICT (organization_id) DO NOTHING",
        )
        .bind(org)
        .bind(kind)
        .bind(chapter)
        .execute(pool)
        .await?;
    }
    sqlx::query(
        "INSERT INTO incentive_enrollments (organization_id, reason)
         VALUES ($1, 'approved nonprofit onboarded (demo)') ON CONFLICT DO NOTHING",
    )
    .bind(nonprofit)
    .execute(pool)
    .await?;

    let people: [(&str, &str, Role, Option<(Uuid, &String)>, Option<&str>); 6] = [
        (
            "partner.staff",
            "Pat Staff",
            Role::PartnerStaff,
            Some((nonprofit, &nonprofit_name)),
            None,
        ),
        (
            "partner.admin",
            "Alex Admin",
            Role::PartnerAdmin,
            Some((nonprofit, &nonprofit_name)),
            None,
        ),
        (
            "hospital.staff",
            "Harper Nurse",
            Role::HospitalStaff,
            Some((hospital, &hospital_name)),
            None,
        ),
        (
            "chapter.reviewer",
            "Riley Reviewer",
            Role::ChapterReviewer,
            None,
            Some(chapter),
        ),
        (
            "referral.specialist",
            "Sam Specialist",
            Role::ReferralSpecialist,
            None,
            None,
        ),
        (
            "state.admin",
            "Morgan Administrator",
            Role::StateAdmin,
            None,
            None,
        ),
    ];
    let mut accounts = Vec::new();
    for ((local, name, role, org, chapter), secret) in people.into_iter().zip(SECRETS) {
        let email = format!("{local}@{DOMAIN}");
        account(
            pool,
            key,
            &email,
            name,
            role,
            org.map(|(id, _)| id),
            chapter,
            secret,
        )
        .await?;
        accounts.push(DemoAccount {
            email,
            name,
            role,
            organization: org.map(|(_, n)| n.clone()),
            totp_secret: secret.to_string(),
        });
    }
    Ok(accounts)
}

/// A demo account, fully onboarded, with the demo password and `secret` for its codes. Created
/// once; a later run leaves the account as it is (its secret too: the server refuses to start
/// with a secrets key that cannot open it).
#[allow(clippy::too_many_arguments)]
pub(super) async fn account(
    pool: &PgPool,
    key: &SealingKey,
    email: &str,
    name: &str,
    role: Role,
    org: Option<Uuid>,
    chapter: Option<&str>,
    secret: &str,
) -> anyhow::Result<Uuid> {
    sqlx::query(
        "INSERT INTO users (email, name, role, organization_id, chapter, password_hash,
                            totp_secret, mfa_enrolled_at, training_passed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now(), now())
         ON CONFLICT (lower(email)) WHERE role <> 'resident' DO NOTHING",
    )
    .bind(email)
    .bind(name)
    .bind(role.as_str())
    .bind(org)
    .bind(chapter)
    .bind(app::identity::passwords::hash(PASSWORD))
    .bind(key.seal(secret))
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO agreement_acceptances (user_id, version)
         SELECT id, $2 FROM users WHERE lower(email) = $1 ON CONFLICT DO NOTHING",
    )
    .bind(email)
    .bind(AGREEMENT_VERSION)
    .execute(pool)
    .await?;
    Ok(
        sqlx::query_scalar("SELECT id FROM users WHERE lower(email) = $1")
            .bind(email)
            .fetch_one(pool)
            .await?,
    )
}

/// The sign-in card `make run` prints.
pub fn describe(accounts: &[DemoAccount]) -> String {
    let mut out = format!(
        "\nDemo accounts (password for all: \"{PASSWORD}\"). Each asks for a 6-digit code:\n\
         add its key to an authenticator app, or run `target/release/server demo-code EMAIL`.\n"
    );
    for a in accounts {
        out.push_str(&format!(
            "  {:<22} {:<44} key {}{}\n",
            a.role.as_str(),
            a.email,
            a.totp_secret,
            a.organization
                .as_ref()
                .map(|o| format!("  ({o})"))
                .unwrap_or_default()
        ));
    }
    out
}

/// The current code of a demo account.
pub async fn current_code(pool: &PgPool, email: &str, key: &SealingKey) -> anyhow::Result<String> {
    if !email.to_lowercase().ends_with(&format!("@{DOMAIN}")) {
        anyhow::bail!("only demo accounts (@{DOMAIN}) have codes printed");
    }
    let secret: Option<String> =
        sqlx::query_scalar("SELECT totp_secret FROM users WHERE lower(email) = lower($1)")
            .bind(email)
            .fetch_optional(pool)
            .await?
            .flatten();
    let secret = secret.ok_or_else(|| anyhow::anyhow!("no demo account {email}"))?;
    let secret = key
        .open(&secret)
        .ok_or_else(|| anyhow::anyhow!("{email}'s key was sealed with another secrets key"))?;
    Ok(app::identity::mfa::code_at(
        &secret,
        chrono::Utc::now().timestamp() as u64,
    ))
}
