//! Resident data in Postgres: records, matching, households, notes, consent requests, account
//! linking, saved programs, merges, sealed needs, and the accounting of who opened a record.
//! Writes that need consent take the [`ResidentAccess`] the gate gave, so none can happen
//! without the gate having decided (and audited) first.

use super::consent::{self, Channel, ConsentGrant, Scope};
use super::{NewResident, NoteKind, ResidentAccess, ResidentError};
use crate::audit::{self, Actor, Outcome};
use crate::identity::Viewer;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// Creates a resident's record (a partner met them first), audited in the same transaction.
pub async fn create(
    tx: &mut Transaction<'_, Postgres>,
    viewer: &Viewer,
    r: &NewResident,
    actor: &Actor,
) -> Result<Uuid, ResidentError> {
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO residents (name, date_of_birth, phone, email, preferred_contact, preferred_language,
                                created_by_organization, created_by, address, at_risk)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(&r.name)
    .bind(r.date_of_birth)
    .bind(r.phone.as_ref().map(|p| p.display()))
    .bind(r.email.as_ref().map(|e| e.to_string()))
    .bind(r.preferred_contact.as_str())
    .bind(&r.preferred_language)
    .bind(viewer.organization_id)
    .bind(viewer.user_id)
    .bind(&r.address)
    .bind(r.at_risk)
    .fetch_one(&mut **tx)
    .await?;
    audit::record(
        &mut **tx,
        actor,
        "resident.created",
        Some(&format!("resident:{id}")),
        Outcome::Ok,
        serde_json::json!({}),
    )
    .await?;
    Ok(id)
}

/// A resident new to Wraparound starts their own record from their account; it is theirs (linked
/// to the account) from the start.
pub async fn create_own(
    pool: &PgPool,
    viewer: &Viewer,
    r: &NewResident,
    actor: &Actor,
) -> Result<Uuid, ResidentError> {
    let mut tx = pool.begin().await?;
    let id = create(&mut tx, viewer, r, actor).await?;
    let linked = sqlx::query("UPDATE users SET resident_id = $2 WHERE id = $1 AND role = 'resident' AND resident_id IS NULL")
        .bind(viewer.user_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if linked.rows_affected() == 0 {
        return Err(ResidentError::AlreadyDone);
    }
    audit::record(
        &mut *tx,
        actor,
        "resident.account_linked",
        Some(&format!("resident:{id}")),
        Outcome::Ok,
        serde_json::json!({ "user": viewer.user_id, "own_record": true }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A record someone may be about to create again: shown only as "Maria L., born 1994" until
/// the resident consents.
#[derive(Clone, Debug, PartialEq)]
pub struct PossibleMatch {
    pub glimpse: super::Glimpse,
    pub matched_on: MatchedOn,
}

/// What a possible match matched on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchedOn {
    Phone,
    Email,
    NameAndBirthDate,
}

/// The resident search's read model: residents the organization holds consent for, in full,
/// and close matches it does not, as glimpses.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchResults {
    pub consented: Vec<super::Resident>,
    pub possible: Vec<PossibleMatch>,
}

/// What a search or a new resident's details can match on.
#[derive(Clone, Debug, Default)]
pub struct MatchKeys {
    pub name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub phone_digits: Option<String>,
    pub email: Option<String>,
}

impl MatchKeys {
    /// One search box: a date, a phone number, an e-mail address, or a name.
    pub fn from_query(q: &str) -> MatchKeys {
        let q = q.trim();
        let digits: String = q.chars().filter(|c| c.is_ascii_digit()).collect();
        if let Some(d) = super::parse_birth_date(q) {
            return MatchKeys {
                date_of_birth: Some(d),
                ..Default::default()
            };
        }
        if let Some(e) = crate::contact::Email::parse(q) {
            return MatchKeys {
                email: Some(e.to_string()),
                ..Default::default()
            };
        }
        if let Some(p) = crate::contact::Phone::parse(q) {
            return MatchKeys {
                phone_digits: Some(p.display().chars().filter(|c| c.is_ascii_digit()).collect()),
                ..Default::default()
            };
        }
        if digits.len() >= 7
            && digits.len()
                == q.chars()
                    .filter(|c| !c.is_whitespace() && !"()-.+".contains(*c))
                    .count()
        {
            return MatchKeys {
                phone_digits: Some(digits),
                ..Default::default()
            };
        }
        MatchKeys {
            name: Some(q.to_string()),
            ..Default::default()
        }
    }

    pub fn of(r: &NewResident) -> MatchKeys {
        MatchKeys {
            name: Some(r.name.clone()),
            date_of_birth: r.date_of_birth,
            phone_digits: r.phone.as_ref().map(|p| p.digits().to_string()),
            email: r.email.as_ref().map(|e| e.to_string()),
        }
    }
}

/// A partner's search over residents: those their organization holds consent for, in full;
/// others that match closely only as possible matches (first name, initial, year of birth).
/// Names match fuzzily (trigram similarity), dates, phones and e-mails exactly. The gate
/// decides what each candidate may be seen as, in one entry of the audit trail.
pub async fn search(
    pool: &PgPool,
    principal: &super::Principal,
    keys: &MatchKeys,
) -> Result<SearchResults, ResidentError> {
    #[derive(sqlx::FromRow)]
    struct Candidate {
        id: Uuid,
        on_name: bool,
        on_dob: bool,
        on_phone: bool,
        on_email: bool,
    }
    let name = keys.name.as_deref().filter(|n| n.chars().count() >= 2);
    if name.is_none()
        && keys.date_of_birth.is_none()
        && keys.phone_digits.is_none()
        && keys.email.is_none()
    {
        return Ok(SearchResults::default());
    }
    let org = match principal {
        super::Principal::Person(v) => v.organization_id,
        super::Principal::System(_) => None,
    };
    // Each word of the name, widened to the words names really hold that sound the same, are
    // spelt closely, or start with it ("Mraia" finds Maria, "Whit" Whitfield).
    let words: Vec<Vec<String>> = match name {
        Some(name) => sqlx::query_scalar::<_, Vec<String>>(
            "SELECT coalesce(array_agg(DISTINCT v.word) FILTER (WHERE v.word IS NOT NULL), '{}')
               FROM (SELECT q.w, q.i FROM unnest(resident_name_words($1)) WITH ORDINALITY AS q(w, i) LIMIT 4) q
               LEFT JOIN LATERAL (
                   (SELECT word FROM resident_name_vocabulary WHERE word = q.w)
                   UNION ALL (SELECT word FROM resident_name_vocabulary WHERE length(q.w) >= 3
                                 AND word ~>=~ q.w AND word ~<~ (q.w || chr(1114111)) ORDER BY word LIMIT 10)
                   UNION ALL (SELECT word FROM resident_name_vocabulary WHERE sound = dmetaphone(q.w) AND sound <> '' LIMIT 20)
                   UNION ALL (SELECT word FROM resident_name_vocabulary WHERE word % q.w ORDER BY similarity(word, q.w) DESC LIMIT 10)
               ) v ON true
              GROUP BY q.i ORDER BY q.i",
        )
        .bind(name)
        .fetch_all(pool)
        .await?,
        None => Vec::new(),
    };
    // A name matches when every word of it matches (a word no name holds matches nothing).
    let name_words_known = name.is_some() && !words.is_empty();
    let on_name = if name_words_known {
        (0..words.len())
            .map(|i| format!("r.name_words && ${}", 6 + i))
            .collect::<Vec<_>>()
            .join(" AND ")
    } else {
        "false".to_string()
    };
    // Candidates, found two ways so each uses an index: the residents this organization holds
    // consent for, matching any key (best names first), and strong matches anywhere (the exact
    // phone or e-mail, or the name with the exact date of birth) that may be the same person.
    // Nothing about them leaves this function but their ids and what matched.
    let sql = format!(
        "WITH mine AS (SELECT r.id FROM residents r
                        WHERE r.retired_at IS NULL AND $5::uuid IS NOT NULL
                          AND (({on_name}) OR r.date_of_birth = $2 OR r.phone_digits = $3 OR lower(r.email) = lower($4))
                          AND {consented}
                        ORDER BY similarity(lower(r.name), lower(coalesce($1, ''))) DESC, r.id LIMIT 25),
              strong AS (
                  (SELECT r.id FROM residents r WHERE r.phone_digits = $3 AND r.retired_at IS NULL ORDER BY r.id LIMIT 25)
                  UNION (SELECT r.id FROM residents r WHERE lower(r.email) = lower($4) AND r.retired_at IS NULL ORDER BY r.id LIMIT 25)
                  UNION (SELECT r.id FROM residents r WHERE r.date_of_birth = $2 AND ({on_name})
                            AND r.retired_at IS NULL ORDER BY r.id LIMIT 25))
         SELECT r.id, ({on_name}) AS on_name,
                coalesce(r.date_of_birth = $2, false) AS on_dob,
                coalesce(r.phone_digits = $3, false) AS on_phone,
                coalesce(lower(r.email) = lower($4), false) AS on_email
           FROM residents r
          WHERE r.id IN (SELECT id FROM mine UNION SELECT id FROM strong)
          ORDER BY similarity(lower(r.name), lower(coalesce($1, ''))) DESC, r.id",
        consented = super::consent::granted_sql("r.id", "$5", super::consent::Scope::Profile),
    );
    let mut query = sqlx::query_as::<_, Candidate>(&sql)
        .bind(name)
        .bind(keys.date_of_birth)
        .bind(keys.phone_digits.as_deref())
        .bind(keys.email.as_deref())
        .bind(org);
    if name_words_known {
        for w in &words {
            query = query.bind(w);
        }
    }
    let candidates: Vec<Candidate> = query.fetch_all(pool).await?;
    // A possible match must match on something that tells people apart: an exact phone or
    // e-mail, or (when both were given) a name and the exact date of birth.
    let both = name.is_some() && keys.date_of_birth.is_some();
    let strong = |c: &Candidate| {
        if c.on_phone {
            Some(MatchedOn::Phone)
        } else if c.on_email {
            Some(MatchedOn::Email)
        } else if c.on_name && c.on_dob && both {
            Some(MatchedOn::NameAndBirthDate)
        } else {
            None
        }
    };
    let ids: Vec<Uuid> = candidates.iter().map(|c| c.id).collect();
    let mut opened = super::gate::open_many(pool, principal, &ids, super::Purpose::Search).await?;
    let mut out = SearchResults::default();
    for c in &candidates {
        match opened.remove(&c.id) {
            Some(ResidentAccess::Full { resident, .. }) if out.consented.len() < 25 => {
                out.consented.push(resident)
            }
            Some(ResidentAccess::Glimpse(glimpse)) if out.possible.len() < 10 => {
                if let Some(matched_on) = strong(c) {
                    out.possible.push(PossibleMatch {
                        glimpse,
                        matched_on,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn full(access: &ResidentAccess) -> Result<&super::Resident, ResidentError> {
    match access {
        ResidentAccess::Full { resident, .. } => Ok(resident),
        ResidentAccess::Limited(_) | ResidentAccess::Glimpse(_) => Err(ResidentError::NoConsent),
    }
}

/// A household member as the detail screen shows it.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Member {
    pub id: Uuid,
    pub name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub relationship: String,
    pub added_at: DateTime<Utc>,
}

pub async fn household(
    pool: &PgPool,
    access: &ResidentAccess,
) -> Result<Vec<Member>, ResidentError> {
    let r = full(access)?;
    Ok(sqlx::query_as(
        "SELECT id, name, date_of_birth, relationship, added_at FROM household_members
          WHERE resident_id = $1 AND removed_at IS NULL ORDER BY added_at, id",
    )
    .bind(r.id)
    .fetch_all(pool)
    .await?)
}

pub async fn add_member(
    pool: &PgPool,
    access: &ResidentAccess,
    viewer: &Viewer,
    name: &str,
    date_of_birth: Option<NaiveDate>,
    relationship: &str,
    actor: &Actor,
) -> Result<Uuid, ResidentError> {
    let r = full(access)?;
    let mut tx = pool.begin().await?;
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO household_members (resident_id, name, date_of_birth, relationship, added_by, organization_id)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(r.id)
    .bind(name)
    .bind(date_of_birth)
    .bind(relationship)
    .bind(viewer.user_id)
    .bind(viewer.organization_id)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        actor,
        "resident.household_added",
        Some(&format!("resident:{}", r.id)),
        Outcome::Ok,
        serde_json::json!({ "member": id }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Removing a member is recorded, never a deletion.
pub async fn remove_member(
    pool: &PgPool,
    access: &ResidentAccess,
    viewer: &Viewer,
    member: Uuid,
    actor: &Actor,
) -> Result<(), ResidentError> {
    let r = full(access)?;
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "UPDATE household_members SET removed_at = now(), removed_by = $3
          WHERE id = $2 AND resident_id = $1 AND removed_at IS NULL",
    )
    .bind(r.id)
    .bind(member)
    .bind(viewer.user_id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(ResidentError::NotFound);
    }
    audit::record(
        &mut *tx,
        actor,
        "resident.household_removed",
        Some(&format!("resident:{}", r.id)),
        Outcome::Ok,
        serde_json::json!({ "member": member }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Note {
    pub id: Uuid,
    pub kind: String,
    pub body: String,
    pub shared: bool,
    pub at: DateTime<Utc>,
    pub author: String,
    pub organization: String,
    pub organization_id: Uuid,
    pub corrects: Option<Uuid>,
}

/// The notes an organization may read: its own, and those other partners shared (the viewer
/// holds consent, which the gate checked).
pub async fn notes(
    pool: &PgPool,
    access: &ResidentAccess,
    organization: Uuid,
) -> Result<Vec<Note>, ResidentError> {
    let r = full(access)?;
    Ok(sqlx::query_as(
        "SELECT n.id, n.kind, n.body, n.shared, n.at, u.name AS author, o.name AS organization,
                n.organization_id, n.corrects
           FROM resident_notes n JOIN users u ON u.id = n.author JOIN organizations o ON o.id = n.organization_id
          WHERE (n.resident_id = $1
                 OR n.resident_id IN (SELECT id FROM residents WHERE merged_into = $1 AND retired_at IS NOT NULL))
            AND (n.organization_id = $2 OR n.shared)
          ORDER BY n.at DESC, n.id LIMIT 100",
    )
    .bind(r.id)
    .bind(organization)
    .fetch_all(pool)
    .await?)
}

/// Adds a note (never edited: a correction is a new note pointing at the one it corrects).
#[allow(clippy::too_many_arguments)]
pub async fn add_note(
    pool: &PgPool,
    access: &ResidentAccess,
    viewer: &Viewer,
    kind: NoteKind,
    body: &str,
    shared: bool,
    corrects: Option<Uuid>,
    actor: &Actor,
    idempotency_key: Option<Uuid>,
) -> Result<(), ResidentError> {
    let r = full(access)?;
    let org = viewer.organization_id.ok_or(ResidentError::Denied)?;
    let mut tx = pool.begin().await?;
    if crate::idempotency::take(
        &mut tx,
        idempotency_key,
        Some(viewer.user_id),
        "add_resident_note",
    )
    .await
    .map_err(|_| ResidentError::Unavailable)?
    .is_some()
    {
        return Ok(());
    }
    crate::idempotency::complete(&mut tx, idempotency_key, "note")
        .await
        .map_err(|_| ResidentError::Unavailable)?;
    if let Some(old) = corrects {
        // Only a note of the same resident and organization can be corrected.
        let ok: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM resident_notes WHERE id = $1 AND resident_id = $2 AND organization_id = $3)",
        )
        .bind(old)
        .bind(r.id)
        .bind(org)
        .fetch_one(&mut *tx)
        .await?;
        if !ok {
            return Err(ResidentError::NotFound);
        }
    }
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO resident_notes (resident_id, organization_id, author, kind, shared, body, corrects)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(r.id)
    .bind(org)
    .bind(viewer.user_id)
    .bind(kind.as_str())
    .bind(shared)
    .bind(body)
    .bind(corrects)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        actor,
        "resident.note_added",
        Some(&format!("resident:{}", r.id)),
        Outcome::Ok,
        serde_json::json!({ "note": id, "kind": kind.as_str(), "shared": shared }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Records a consent a partner witnessed (in person, by phone, or at referral for a new
/// resident), in the caller's transaction.
pub async fn record_consent(
    tx: &mut Transaction<'_, Postgres>,
    grant: &ConsentGrant,
    actor: &Actor,
) -> Result<(), ResidentError> {
    consent::record(&mut **tx, grant).await?;
    audit::record(
        &mut **tx,
        actor,
        if grant.granted {
            "consent.granted"
        } else {
            "consent.revoked"
        },
        Some(&format!("resident:{}", grant.resident)),
        Outcome::Ok,
        serde_json::json!({
            "organization": grant.organization, "scope": grant.scope.as_str(),
            "channel": grant.channel.as_str(), "text_version": grant.text_version,
            "proxy": grant.proxy.as_ref().map(|p| &p.1),
        }),
    )
    .await?;
    Ok(())
}

/// The resident takes consent back from an organization, for every scope it holds. Effective on
/// that organization's next request; its people hear about it (without details).
pub async fn revoke(
    pool: &PgPool,
    resident: Uuid,
    organization: Uuid,
    text_version: &str,
    actor: &Actor,
) -> Result<(), ResidentError> {
    let mut tx = pool.begin().await?;
    let held: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT s FROM unnest(ARRAY['profile', 'sensitive']) s
          WHERE coalesce((SELECT c.granted FROM consent_events c WHERE c.resident_id = $1
                           AND c.organization_id = $2 AND c.scope = s ORDER BY c.id DESC LIMIT 1), false)"
    ))
    .bind(resident)
    .bind(organization)
    .fetch_all(&mut *tx)
    .await?;
    if held.is_empty() {
        return Err(ResidentError::AlreadyDone);
    }
    for scope in held.iter().filter_map(|s| Scope::parse(s)) {
        record_consent(
            &mut tx,
            &ConsentGrant::new(
                resident,
                organization,
                scope,
                Channel::SelfService,
                None,
                text_version,
            )
            .revoked(),
            actor,
        )
        .await?;
    }
    let people: Vec<String> = sqlx::query_scalar(
        "SELECT email FROM users WHERE organization_id = $1 AND active AND role IN ('partner_staff', 'partner_admin', 'hospital_staff')",
    )
    .bind(organization)
    .fetch_all(&mut *tx)
    .await?;
    for to in people {
        crate::mail::enqueue(
            &mut *tx,
            &crate::mail::Message::new(
                &to,
                "A resident took back their consent".into(),
                "A resident you helped has taken back their consent for your organization to see their profile. \
                 From now on you see only what you need to finish work already started: their first name and how they asked to be reached.\n\n\
                 For their privacy, this e-mail says nothing more about them."
                    .into(),
            ),
        )
        .await?;
    }
    tx.commit().await?;
    crate::mail::nudge(pool).await;
    Ok(())
}

/// A consent request sent to the resident, with the link's token (only its hash is stored).
pub async fn create_request(
    tx: &mut Transaction<'_, Postgres>,
    resident: Uuid,
    viewer: &Viewer,
    channel: Channel,
    scope: Scope,
    valid_days: u32,
) -> Result<String, ResidentError> {
    let organization = viewer.organization_id.ok_or(ResidentError::Denied)?;
    let channel = match channel {
        Channel::Text => "text",
        Channel::Email => "email",
        _ => return Err(ResidentError::Missing),
    };
    // A few requests a day to one resident from one organization, no more: a request reaches
    // their phone or inbox.
    let recent: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM consent_requests WHERE resident_id = $1 AND organization_id = $2
            AND created_at > now() - interval '1 day'",
    )
    .bind(resident)
    .bind(organization)
    .fetch_one(&mut **tx)
    .await?;
    if recent >= 3 {
        return Err(ResidentError::TooSoon);
    }
    let token = crate::partners::store::new_token();
    sqlx::query(
        "INSERT INTO consent_requests (resident_id, organization_id, requested_by, channel, scope, token_hash, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(days => $7))",
    )
    .bind(resident)
    .bind(organization)
    .bind(viewer.user_id)
    .bind(channel)
    .bind(scope.as_str())
    .bind(consent::hash(&token))
    .bind(valid_days as i32)
    .execute(&mut **tx)
    .await?;
    Ok(token)
}

/// Where a consent request's messages go (the resident's phone or e-mail on their record).
pub async fn request_address(
    pool: &PgPool,
    request: Uuid,
) -> Result<(String, Option<String>, Option<String>), ResidentError> {
    let row: (String, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT q.channel, r.phone, r.email FROM consent_requests q JOIN residents r ON r.id = q.resident_id WHERE q.id = $1",
    )
    .bind(request)
    .fetch_one(pool)
    .await?;
    Ok(row)
}

/// The one-time code for a request is (re)made and its hash kept; returns the code to send.
pub async fn new_request_code(pool: &PgPool, request: Uuid) -> Result<String, ResidentError> {
    let code = consent::new_code();
    let done = sqlx::query(
        "UPDATE consent_requests SET code_hash = $2, code_sent_at = now(), code_attempts = 0
          WHERE id = $1 AND status = 'pending' AND expires_at > now()
            AND (code_sent_at IS NULL OR code_sent_at < now() - interval '30 seconds')",
    )
    .bind(request)
    .bind(consent::hash(&code))
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(ResidentError::TooSoon);
    }
    Ok(code)
}

/// The resident answers a request: yes (with the code sent to them) records the consent; no
/// records the refusal. Either way the request is closed.
pub async fn answer_request(
    pool: &PgPool,
    token: &str,
    yes: bool,
    code: Option<&str>,
    text_version: &str,
) -> Result<(Uuid, Uuid), ResidentError> {
    let mut tx = pool.begin().await?;
    let r: Option<(
        Uuid,
        Uuid,
        Uuid,
        String,
        String,
        Option<Vec<u8>>,
        i32,
        bool,
        String,
    )> = sqlx::query_as(
        "SELECT id, resident_id, organization_id, channel, scope, code_hash, code_attempts,
                expires_at <= now(), status
           FROM consent_requests WHERE token_hash = $1 FOR UPDATE",
    )
    .bind(consent::hash(token))
    .fetch_optional(&mut *tx)
    .await?;
    let (id, resident, organization, channel, scope, code_hash, attempts, expired, status) =
        r.ok_or(ResidentError::Expired)?;
    if status != "pending" {
        return Err(ResidentError::AlreadyDone);
    }
    if expired || attempts >= consent::MAX_CODE_ATTEMPTS {
        return Err(ResidentError::Expired);
    }
    let actor = Actor::current();
    let scope = Scope::parse(&scope).unwrap_or(Scope::Profile);
    let channel = if channel == "email" {
        Channel::Email
    } else {
        Channel::Text
    };
    if yes {
        let given = code.map(consent::hash);
        if code_hash.is_none() || given != code_hash {
            sqlx::query(
                "UPDATE consent_requests SET code_attempts = code_attempts + 1 WHERE id = $1",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Err(ResidentError::WrongCode);
        }
        record_consent(
            &mut tx,
            &ConsentGrant {
                request: Some(id),
                ..ConsentGrant::new(resident, organization, scope, channel, None, text_version)
            },
            &actor,
        )
        .await?;
    } else {
        audit::record(
            &mut *tx,
            &actor,
            "consent.declined",
            Some(&format!("resident:{resident}")),
            Outcome::Ok,
            serde_json::json!({ "organization": organization, "request": id }),
        )
        .await?;
    }
    sqlx::query("UPDATE consent_requests SET status = $2, answered_at = now(), code_hash = NULL WHERE id = $1")
        .bind(id)
        .bind(if yes { "granted" } else { "declined" })
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((resident, organization))
}

/// A request waiting for the resident's answer, for the detail screen.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct PendingRequest {
    pub channel: String,
    pub scope: String,
    pub created_at: DateTime<Utc>,
    pub status: String,
}

pub async fn requests_for(
    pool: &PgPool,
    access: &ResidentAccess,
    organization: Uuid,
) -> Result<Vec<PendingRequest>, ResidentError> {
    let id = access.id();
    Ok(sqlx::query_as(
        "SELECT channel, scope, created_at, CASE WHEN status = 'pending' AND expires_at <= now() THEN 'expired' ELSE status END AS status
           FROM consent_requests WHERE resident_id = $1 AND organization_id = $2 ORDER BY created_at DESC LIMIT 5",
    )
    .bind(id)
    .bind(organization)
    .fetch_all(pool)
    .await?)
}

/// A resident account asks to link to its record: if a record has this phone or e-mail, a code
/// goes there (the answer is the same either way: nobody learns whether a record exists).
pub async fn start_link(
    pool: &PgPool,
    user: Uuid,
    phone: Option<&crate::contact::Phone>,
    email: Option<&crate::contact::Email>,
) -> Result<Option<(Uuid, String, String)>, ResidentError> {
    let resident: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM residents WHERE retired_at IS NULL
            AND (($1::text IS NOT NULL AND phone_digits = $1) OR ($2::text IS NOT NULL AND lower(email) = lower($2)))
            AND NOT EXISTS (SELECT 1 FROM users u WHERE u.resident_id = residents.id)
          ORDER BY created_at LIMIT 1",
    )
    .bind(phone.map(|p| p.digits().to_string()))
    .bind(email.map(|e| e.to_string()))
    .fetch_optional(pool)
    .await?;
    let Some(resident) = resident else {
        return Ok(None);
    };
    let code = consent::new_code();
    let sent_to = phone
        .map(|p| p.e164())
        .or(email.map(|e| e.to_string()))
        .unwrap_or_default();
    sqlx::query(
        "INSERT INTO resident_link_codes (user_id, resident_id, sent_to, code_hash, expires_at)
         VALUES ($1, $2, $3, $4, now() + interval '15 minutes')",
    )
    .bind(user)
    .bind(resident)
    .bind(&sent_to)
    .bind(consent::hash(&code))
    .execute(pool)
    .await?;
    Ok(Some((resident, sent_to, code)))
}

/// The code from the phone or e-mail on the record: the account is linked to it.
pub async fn finish_link(
    pool: &PgPool,
    user: Uuid,
    code: &str,
    actor: &Actor,
) -> Result<Uuid, ResidentError> {
    let mut tx = pool.begin().await?;
    let pending: Option<(Uuid, Uuid, Vec<u8>, i32)> = sqlx::query_as(
        "SELECT id, resident_id, code_hash, attempts FROM resident_link_codes
          WHERE user_id = $1 AND used_at IS NULL AND expires_at > now()
          ORDER BY created_at DESC LIMIT 1 FOR UPDATE",
    )
    .bind(user)
    .fetch_optional(&mut *tx)
    .await?;
    let (id, resident, hash, attempts) = pending.ok_or(ResidentError::Expired)?;
    if attempts >= consent::MAX_CODE_ATTEMPTS {
        return Err(ResidentError::Expired);
    }
    if consent::hash(code) != hash {
        sqlx::query("UPDATE resident_link_codes SET attempts = attempts + 1 WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        return Err(ResidentError::WrongCode);
    }
    sqlx::query("UPDATE resident_link_codes SET used_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE users SET resident_id = $2 WHERE id = $1 AND role = 'resident'")
        .bind(user)
        .bind(resident)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            crate::web::on_unique_violation(
                e,
                &["users_resident_idx"],
                crate::web::Problem::new("already_decided"),
            )
        })
        .map_err(|_| ResidentError::AlreadyDone)?;
    audit::record(
        &mut *tx,
        actor,
        "resident.account_linked",
        Some(&format!("resident:{resident}")),
        Outcome::Ok,
        serde_json::json!({ "user": user }),
    )
    .await?;
    tx.commit().await?;
    Ok(resident)
}

/// Programs a resident saved to their plan (page ids of the directory).
pub async fn saved(pool: &PgPool, user: Uuid) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT program_id FROM saved_programs WHERE resident_user = $1 ORDER BY saved_at DESC",
    )
    .bind(user)
    .fetch_all(pool)
    .await
}

pub async fn save(pool: &PgPool, user: Uuid, programs: &[Uuid]) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO saved_programs (resident_user, program_id) SELECT $1, p FROM unnest($2::uuid[]) p
         ON CONFLICT DO NOTHING",
    )
    .bind(user)
    .bind(programs)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn unsave(pool: &PgPool, user: Uuid, program: Uuid) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM saved_programs WHERE resident_user = $1 AND program_id = $2")
        .bind(user)
        .bind(program)
        .execute(pool)
        .await?;
    Ok(())
}

/// One time someone opened the resident's data: what the resident reads in My Plan.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Disclosure {
    pub at: DateTime<Utc>,
    pub organization: Option<String>,
    pub role: Option<String>,
    pub purpose: String,
    pub shown: String,
}

/// Every opening of the resident's record by someone else, newest first, from the audit trail
/// (an accounting of disclosures): single openings, and lists and searches that showed them.
pub async fn disclosures(
    pool: &PgPool,
    resident: Uuid,
    own_user: Uuid,
) -> sqlx::Result<Vec<Disclosure>> {
    sqlx::query_as(
        "SELECT at, organization, role, purpose, shown FROM (
             SELECT a.seq, a.at, o.name AS organization, a.actor_role AS role,
                    coalesce(a.details->>'purpose', CASE WHEN a.action = 'seal.broken' THEN 'seal_broken' END, 'other') AS purpose,
                    coalesce(a.details->>'shown', '') AS shown
               FROM audit_log a LEFT JOIN organizations o ON o.id = a.organization_id
              WHERE a.subject = $1 AND a.outcome = 'ok' AND a.action IN ('resident.open', 'seal.broken')
                AND a.actor_id IS DISTINCT FROM $2
             UNION ALL
             SELECT a.seq, a.at, o.name, a.actor_role, coalesce(a.details->>'purpose', 'other'), s->>'shown'
               FROM audit_log a LEFT JOIN organizations o ON o.id = a.organization_id,
                    jsonb_array_elements(a.details->'shown') s
              WHERE a.action IN ('resident.list', 'resident.search')
                AND a.details->'shown' @> jsonb_build_array(jsonb_build_object('resident', $3::text))
                AND s->>'resident' = $3::text AND a.actor_id IS DISTINCT FROM $2) d
          ORDER BY seq DESC LIMIT 200",
    )
    .bind(format!("resident:{resident}"))
    .bind(own_user)
    .bind(resident.to_string())
    .fetch_all(pool)
    .await
}

/// Breaking the seal on sensitive needs: only with consent to them, with a reason, audited and
/// shown to the resident. Opens them to this person for the day.
pub async fn break_seal(
    pool: &PgPool,
    access: &ResidentAccess,
    viewer: &Viewer,
    reason: &str,
    actor: &Actor,
) -> Result<(), ResidentError> {
    let (resident, sensitive) = match access {
        ResidentAccess::Full {
            resident,
            sensitive,
        } => (resident, *sensitive),
        _ => return Err(ResidentError::NoConsent),
    };
    if !sensitive {
        return Err(ResidentError::NoConsent);
    }
    let org = viewer.organization_id.ok_or(ResidentError::Denied)?;
    let mut tx = pool.begin().await?;
    sqlx::query("INSERT INTO seal_breaks (resident_id, organization_id, user_id, reason) VALUES ($1, $2, $3, $4)")
        .bind(resident.id)
        .bind(org)
        .bind(viewer.user_id)
        .bind(reason)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut *tx,
        actor,
        "seal.broken",
        Some(&format!("resident:{}", resident.id)),
        Outcome::Ok,
        serde_json::json!({ "reason": reason, "purpose": "seal_broken" }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Has this person broken the seal on the resident's sensitive needs today?
pub async fn seal_open(pool: &PgPool, resident: Uuid, user: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM seal_breaks WHERE resident_id = $1 AND user_id = $2 AND at > now() - interval '12 hours')",
    )
    .bind(resident)
    .bind(user)
    .fetch_one(pool)
    .await
}

/// Two records that may be one person, for United Way or the state to review.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct SuspectedDuplicate {
    pub a: Uuid,
    pub b: Uuid,
    pub a_name: String,
    pub b_name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub reason: String,
}

/// Same date of birth and very similar names, or the same phone or e-mail.
pub async fn suspected_duplicates(pool: &PgPool) -> sqlx::Result<Vec<SuspectedDuplicate>> {
    sqlx::query_as(
        "SELECT a.id AS a, b.id AS b, a.name AS a_name, b.name AS b_name, a.date_of_birth,
                CASE WHEN a.phone_digits = b.phone_digits THEN 'phone'
                     WHEN lower(a.email) = lower(b.email) THEN 'email'
                     ELSE 'name_and_birth_date' END AS reason
           FROM residents a JOIN residents b ON a.id < b.id
          WHERE a.retired_at IS NULL AND b.retired_at IS NULL
            AND ((a.date_of_birth = b.date_of_birth AND similarity(lower(a.name), lower(b.name)) > 0.5)
                 OR a.phone_digits = b.phone_digits OR lower(a.email) = lower(b.email))
          ORDER BY a.created_at DESC LIMIT 100",
    )
    .fetch_all(pool)
    .await
}

/// What a merge moved, so undoing it moves exactly that back.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Moved {
    pub referrals: Vec<Uuid>,
    /// Assessments and SDoH indicators (older merges moved none).
    #[serde(default)]
    pub assessments: crate::assessments::store::Moved,
    pub consent_events: Vec<i64>,
    pub household: Vec<Uuid>,
    pub requests: Vec<Uuid>,
    pub seal_breaks: Vec<i64>,
    pub accounts: Vec<Uuid>,
}

/// Merges `retired` into `survivor`: everything of the retired record moves to the survivor
/// (notes, being append-only, stay where they were and are read through the merge), the retired
/// record stays (pointing at the survivor), and the merge can be undone.
pub async fn merge(
    pool: &PgPool,
    survivor: Uuid,
    retired: Uuid,
    by: Uuid,
    reason: &str,
    actor: &Actor,
) -> Result<Uuid, ResidentError> {
    if survivor == retired {
        return Err(ResidentError::SameRecord);
    }
    let mut tx = pool.begin().await?;
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM residents WHERE id IN ($1, $2) AND retired_at IS NULL",
    )
    .bind(survivor)
    .bind(retired)
    .fetch_one(&mut *tx)
    .await?;
    if live != 2 {
        return Err(ResidentError::AlreadyDone);
    }
    // The consent ledger is append-only: its rows are copied to the survivor, not moved, and the
    // copies are what an undo retires (by recording revokes for them).
    let moved = Moved {
        referrals: sqlx::query_scalar("UPDATE referrals SET resident_id = $1 WHERE resident_id = $2 RETURNING id")
            .bind(survivor).bind(retired).fetch_all(&mut *tx).await?,
        assessments: crate::assessments::store::move_for_merge(&mut tx, survivor, retired).await?,
        consent_events: sqlx::query_scalar(
            "INSERT INTO consent_events (resident_id, organization_id, granted, scope, channel, recorded_by, text_version,
                                         proxy_name, proxy_relationship, request_id, at)
             SELECT $1, organization_id, granted, scope, channel, recorded_by, text_version, proxy_name,
                    proxy_relationship, request_id, at
               FROM consent_events WHERE resident_id = $2 ORDER BY id RETURNING id",
        )
        .bind(survivor).bind(retired).fetch_all(&mut *tx).await?,
        household: sqlx::query_scalar("UPDATE household_members SET resident_id = $1 WHERE resident_id = $2 RETURNING id")
            .bind(survivor).bind(retired).fetch_all(&mut *tx).await?,
        requests: sqlx::query_scalar("UPDATE consent_requests SET resident_id = $1 WHERE resident_id = $2 RETURNING id")
            .bind(survivor).bind(retired).fetch_all(&mut *tx).await?,
        seal_breaks: sqlx::query_scalar("UPDATE seal_breaks SET resident_id = $1 WHERE resident_id = $2 RETURNING id")
            .bind(survivor).bind(retired).fetch_all(&mut *tx).await?,
        accounts: sqlx::query_scalar(
            "UPDATE users SET resident_id = $1 WHERE resident_id = $2
                AND NOT EXISTS (SELECT 1 FROM users s WHERE s.resident_id = $1) RETURNING id",
        )
        .bind(survivor).bind(retired).fetch_all(&mut *tx).await?,
    };
    sqlx::query("UPDATE residents SET merged_into = $1, retired_at = now() WHERE id = $2")
        .bind(survivor)
        .bind(retired)
        .execute(&mut *tx)
        .await?;
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO resident_merges (survivor, retired, merged_by, reason, moved) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(survivor)
    .bind(retired)
    .bind(by)
    .bind(reason)
    .bind(serde_json::to_value(&moved).unwrap_or_default())
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        actor,
        "resident.merged",
        Some(&format!("resident:{survivor}")),
        Outcome::Ok,
        serde_json::json!({ "retired": retired, "merge": id, "reason": reason }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Undoes a merge: what moved goes back, the copies of ledger rows are revoked on the
/// survivor (the ledger keeps both), the retired record is live again.
pub async fn unmerge(
    pool: &PgPool,
    merge: Uuid,
    by: Uuid,
    text_version: &str,
    actor: &Actor,
) -> Result<(), ResidentError> {
    let mut tx = pool.begin().await?;
    let row: Option<(Uuid, Uuid, serde_json::Value, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT survivor, retired, moved, undone_at FROM resident_merges WHERE id = $1 FOR UPDATE",
    )
    .bind(merge)
    .fetch_optional(&mut *tx)
    .await?;
    let (survivor, retired, moved, undone) = row.ok_or(ResidentError::NotFound)?;
    if undone.is_some() {
        return Err(ResidentError::AlreadyDone);
    }
    let moved: Moved = serde_json::from_value(moved).unwrap_or_default();
    crate::assessments::store::undo_move(&mut tx, retired, &moved.assessments).await?;
    sqlx::query("UPDATE referrals SET resident_id = $2 WHERE id = ANY($1)")
        .bind(&moved.referrals)
        .bind(retired)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE household_members SET resident_id = $2 WHERE id = ANY($1)")
        .bind(&moved.household)
        .bind(retired)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE consent_requests SET resident_id = $2 WHERE id = ANY($1)")
        .bind(&moved.requests)
        .bind(retired)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE seal_breaks SET resident_id = $2 WHERE id = ANY($1)")
        .bind(&moved.seal_breaks)
        .bind(retired)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE users SET resident_id = $2 WHERE id = ANY($1)")
        .bind(&moved.accounts)
        .bind(retired)
        .execute(&mut *tx)
        .await?;
    // Consent copied over at the merge is withdrawn from the survivor for the organizations whose
    // state it changed: the survivor's own ledger decides again.
    let copied: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT DISTINCT organization_id, scope FROM consent_events WHERE id = ANY($1)",
    )
    .bind(&moved.consent_events)
    .fetch_all(&mut *tx)
    .await?;
    for (organization, scope) in copied {
        let own: Option<bool> = sqlx::query_scalar(
            "SELECT granted FROM consent_events WHERE resident_id = $1 AND organization_id = $2 AND scope = $3
                AND NOT (id = ANY($4)) ORDER BY id DESC LIMIT 1",
        )
        .bind(survivor).bind(organization).bind(&scope).bind(&moved.consent_events)
        .fetch_optional(&mut *tx).await?;
        if own != Some(true) {
            consent::record(
                &mut *tx,
                &ConsentGrant::new(
                    survivor,
                    organization,
                    Scope::parse(&scope).unwrap_or(Scope::Profile),
                    Channel::SelfService,
                    Some(by),
                    text_version,
                )
                .revoked(),
            )
            .await?;
        }
    }
    sqlx::query("UPDATE residents SET merged_into = NULL, retired_at = NULL WHERE id = $1")
        .bind(retired)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE resident_merges SET undone_at = now(), undone_by = $2 WHERE id = $1")
        .bind(merge)
        .bind(by)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut *tx,
        actor,
        "resident.unmerged",
        Some(&format!("resident:{survivor}")),
        Outcome::Ok,
        serde_json::json!({ "retired": retired, "merge": merge }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Merges people can undo (the last ones, newest first).
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct MergeRecord {
    pub id: Uuid,
    pub survivor: Uuid,
    pub retired: Uuid,
    pub reason: String,
    pub merged_at: DateTime<Utc>,
    pub undone_at: Option<DateTime<Utc>>,
}

pub async fn merges(pool: &PgPool) -> sqlx::Result<Vec<MergeRecord>> {
    sqlx::query_as("SELECT id, survivor, retired, reason, merged_at, undone_at FROM resident_merges ORDER BY merged_at DESC LIMIT 50")
        .fetch_all(pool)
        .await
}
