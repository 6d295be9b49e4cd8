//! The consent ledger: one row per grant or revoke (`consent_events`), never updated or
//! deleted. Whether an organization may see a resident's profile is the latest row for that
//! resident, organization and scope — nothing else (having sent a referral grants nothing).
//! Revocation is effective on the next request, because every request reads the ledger.

use super::ResidentError;
use crate::i18n::*;
use serde::{Deserialize, Serialize};
use sqlx::PgExecutor;
use uuid::Uuid;

/// What a consent covers. Sensitive needs are consented to separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    Profile,
    Sensitive,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Profile => "profile",
            Scope::Sensitive => "sensitive",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        [Scope::Profile, Scope::Sensitive]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// How a consent was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Channel {
    /// By the resident, signed in.
    SelfService,
    /// Pre-consent when a referral was made for a new resident.
    AtReferral,
    InPerson,
    Phone,
    Text,
    Email,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Channel::SelfService,
        Channel::AtReferral,
        Channel::InPerson,
        Channel::Phone,
        Channel::Text,
        Channel::Email,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::SelfService => "self",
            Channel::AtReferral => "at_referral",
            Channel::InPerson => "in_person",
            Channel::Phone => "phone",
            Channel::Text => "text",
            Channel::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label(self, locale: Locale) -> String {
        match self {
            Channel::SelfService => tr!(locale, channel_self),
            Channel::AtReferral => tr!(locale, channel_at_referral),
            Channel::InPerson => tr!(locale, channel_in_person),
            Channel::Phone => tr!(locale, channel_phone),
            Channel::Text => tr!(locale, channel_text),
            Channel::Email => tr!(locale, channel_email),
        }
    }
}

/// A grant or a revoke, about to be recorded.
#[derive(Clone, Debug)]
pub struct ConsentGrant {
    pub resident: Uuid,
    pub organization: Uuid,
    pub granted: bool,
    pub scope: Scope,
    pub channel: Channel,
    /// The partner who recorded it; `None` when the resident gave it themselves.
    pub recorded_by: Option<Uuid>,
    pub text_version: String,
    /// A parent or guardian giving it for the resident: (name, relationship).
    pub proxy: Option<(String, String)>,
    pub request: Option<Uuid>,
}

impl ConsentGrant {
    /// A grant of `scope` to `organization`, given through `channel` (recorded by a partner, or
    /// by nobody when the resident gave it themselves), under the current consent text.
    pub fn new(
        resident: Uuid,
        organization: Uuid,
        scope: Scope,
        channel: Channel,
        recorded_by: Option<Uuid>,
        text_version: &str,
    ) -> ConsentGrant {
        ConsentGrant {
            resident,
            organization,
            granted: true,
            scope,
            channel,
            recorded_by,
            text_version: text_version.to_string(),
            proxy: None,
            request: None,
        }
    }

    /// The same consent taken back.
    pub fn revoked(mut self) -> ConsentGrant {
        self.granted = false;
        self
    }
}

/// Appends a grant or revoke to the ledger (in the caller's transaction, with its audit entry).
pub async fn record<'e>(db: impl PgExecutor<'e>, g: &ConsentGrant) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO consent_events (resident_id, organization_id, granted, scope, channel, recorded_by,
                                     text_version, proxy_name, proxy_relationship, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(g.resident)
    .bind(g.organization)
    .bind(g.granted)
    .bind(g.scope.as_str())
    .bind(g.channel.as_str())
    .bind(g.recorded_by)
    .bind(&g.text_version)
    .bind(g.proxy.as_ref().map(|p| p.0.clone()))
    .bind(g.proxy.as_ref().map(|p| p.1.clone()))
    .bind(g.request)
    .fetch_one(db)
    .await
}

/// The SQL for "the latest ledger row for (resident, organization, scope) is a grant", with the
/// resident as `{r}`, the organization as `{o}` and the scope as `'{s}'`. Used by the gate's one
/// query and by every list that must only show consented residents, so the rule is one rule.
pub fn granted_sql(resident: &str, organization: &str, scope: Scope) -> String {
    format!(
        "coalesce((SELECT c.granted FROM consent_events c
                    WHERE c.resident_id = {resident} AND c.organization_id = {organization}
                      AND c.scope = '{}' ORDER BY c.id DESC LIMIT 1), false)",
        scope.as_str()
    )
}

/// One organization's consent as the resident sees it in My Plan, or a partner in the header of
/// the detail screen.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Holding {
    pub organization_id: Uuid,
    pub organization: String,
    pub scope: String,
    pub channel: String,
    pub since: chrono::DateTime<chrono::Utc>,
    pub proxy_name: Option<String>,
}

/// The organizations that hold consent now (their latest row is a grant), per scope.
pub async fn holdings<'e>(db: impl PgExecutor<'e>, resident: Uuid) -> sqlx::Result<Vec<Holding>> {
    sqlx::query_as(
        "SELECT latest.organization_id, o.name AS organization, latest.scope, latest.channel,
                latest.at AS since, latest.proxy_name
           FROM (SELECT DISTINCT ON (organization_id, scope) organization_id, scope, granted, channel, at, proxy_name
                   FROM consent_events WHERE resident_id = $1
                  ORDER BY organization_id, scope, id DESC) latest
           JOIN organizations o ON o.id = latest.organization_id
          WHERE latest.granted
          ORDER BY o.name, latest.scope",
    )
    .bind(resident)
    .fetch_all(db)
    .await
}

/// The consent text shown to residents and read aloud by partners, in their language, with the
/// organization's name in it.
pub fn text(version: &str, scope: Scope, locale: Locale, organization: &str) -> Option<String> {
    let raw = match (version, scope, locale) {
        ("2026-12", Scope::Profile, Locale::es) => include_str!("../../consent/2026-12.es.md"),
        ("2026-12", Scope::Profile, _) => include_str!("../../consent/2026-12.en.md"),
        ("2026-12", Scope::Sensitive, Locale::es) => {
            include_str!("../../consent/2026-12-sensitive.es.md")
        }
        ("2026-12", Scope::Sensitive, _) => include_str!("../../consent/2026-12-sensitive.en.md"),
        _ => return None,
    };
    Some(raw.replace("{organization}", organization))
}

/// The consent text as paragraphs and list items (it is short Markdown): (is a list item, text).
pub fn text_blocks(text: &str) -> (String, Vec<(bool, String)>) {
    let mut title = String::new();
    let mut blocks = Vec::new();
    for block in text.split("\n\n").map(str::trim).filter(|b| !b.is_empty()) {
        if let Some(t) = block.strip_prefix("# ") {
            title = t.to_string();
            continue;
        }
        if block.starts_with("- ") {
            for item in block.split("\n- ") {
                blocks.push((true, item.trim_start_matches("- ").replace('\n', " ")));
            }
        } else {
            blocks.push((false, block.replace('\n', " ")));
        }
    }
    (title, blocks)
}

/// A consent request as its link's page shows it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Request {
    pub id: Uuid,
    pub resident_id: Uuid,
    pub organization_id: Uuid,
    pub organization: String,
    pub channel: String,
    pub scope: String,
    pub status: String,
    pub expired: bool,
    pub code_sent: bool,
    pub code_attempts: i32,
    pub language: String,
}

/// Codes are 6 digits, tried at most 5 times.
pub const MAX_CODE_ATTEMPTS: i32 = 5;

pub fn new_code() -> String {
    use rand::Rng;
    format!("{:06}", rand::rng().random_range(0..1_000_000))
}

pub fn hash(secret: &str) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(secret.trim().as_bytes()).to_vec()
}

pub async fn request_by_token<'e>(
    db: impl PgExecutor<'e>,
    token: &str,
) -> sqlx::Result<Option<Request>> {
    sqlx::query_as(
        "SELECT q.id, q.resident_id, q.organization_id, o.name AS organization, q.channel, q.scope,
                q.status, q.expires_at <= now() AS expired, q.code_hash IS NOT NULL AS code_sent,
                q.code_attempts, r.preferred_language AS language
           FROM consent_requests q JOIN organizations o ON o.id = q.organization_id
           JOIN residents r ON r.id = q.resident_id
          WHERE q.token_hash = $1",
    )
    .bind(hash(token))
    .fetch_optional(db)
    .await
}

/// An open request, or why it cannot be answered.
pub fn answerable(r: Option<Request>) -> Result<Request, ResidentError> {
    let r = r.ok_or(ResidentError::Expired)?;
    if r.status != "pending" {
        return Err(ResidentError::AlreadyDone);
    }
    if r.expired {
        return Err(ResidentError::Expired);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_consent_text_names_the_organization_in_the_residents_language() {
        let en = text("2026-12", Scope::Profile, Locale::en, "Hope Center").unwrap();
        assert!(en.contains("Hope Center asks to see your profile"));
        let es = text("2026-12", Scope::Profile, Locale::es, "Hope Center").unwrap();
        assert!(es.contains("Hope Center pide ver su perfil"));
        let (title, blocks) = text_blocks(&en);
        assert!(title.starts_with("Sharing your profile"));
        assert_eq!(blocks.iter().filter(|(item, _)| *item).count(), 4);
        assert!(text("1999-01", Scope::Profile, Locale::en, "x").is_none());
    }

    #[test]
    fn channels_and_scopes_read_back() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
        assert_eq!(Scope::parse("sensitive"), Some(Scope::Sensitive));
        assert_eq!(Scope::parse("everything"), None);
    }
}
