//! The audit trail: who did what to which record, when, from where, and whether it was allowed.
//! The table is append-only and hash-chained by the database itself (see the partners
//! migration); this module writes entries, searches them, and verifies the chain.

use crate::identity::Viewer;
use serde::{Deserialize, Serialize};
use sqlx::PgExecutor;
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Denied,
    Failed,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
}

/// Who acted: a signed-in person, or an anonymous visitor we may know only by an e-mail they
/// typed (a failed sign-in) and their address.
#[derive(Clone, Debug, Default)]
pub struct Actor {
    pub id: Option<Uuid>,
    pub email: Option<String>,
    pub role: Option<String>,
    pub organization_id: Option<Uuid>,
    pub ip: String,
}

impl Actor {
    pub fn from_viewer(viewer: Option<&Viewer>, ip: &str) -> Actor {
        match viewer {
            Some(v) => Actor {
                id: Some(v.user_id),
                email: Some(v.email.clone()),
                role: Some(v.effective_role().as_str().to_string()),
                organization_id: v.organization_id,
                ip: ip.to_string(),
            },
            None => Actor {
                ip: ip.to_string(),
                ..Actor::default()
            },
        }
    }

    /// The actor of the current request.
    pub fn current() -> Actor {
        let request = crate::web::request();
        Actor::from_viewer(request.viewer.as_ref(), &request.ip)
    }

    pub fn with_email(mut self, email: &str) -> Actor {
        if self.email.is_none() {
            self.email = Some(email.to_lowercase());
        }
        self
    }
}

/// Appends one entry. Pass the transaction of the change being audited so both commit or
/// neither does; refusals and failures are written on their own (there is no change).
pub async fn record<'e>(
    db: impl PgExecutor<'e>,
    actor: &Actor,
    action: &str,
    subject: Option<&str>,
    outcome: Outcome,
    details: serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (actor_id, actor_email, actor_role, organization_id, action, subject,
                                outcome, ip, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(actor.id)
    .bind(&actor.email)
    .bind(&actor.role)
    .bind(actor.organization_id)
    .bind(action)
    .bind(subject)
    .bind(outcome.as_str())
    .bind(&actor.ip)
    .bind(details)
    .execute(db)
    .await?;
    Ok(())
}

/// An entry's details as a reader takes them in: "key: value · key: value", lists of more than
/// three things counted ("shown: 12 entries") rather than spelled out.
pub fn details_text(details: &serde_json::Value) -> String {
    use serde_json::Value;
    fn value(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Array(items) if items.len() > 3 => format!("{} entries", items.len()),
            Value::Array(items) => items.iter().map(value).collect::<Vec<_>>().join(", "),
            Value::Object(map) => map
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| format!("{k}: {}", value(v)))
                .collect::<Vec<_>>()
                .join(" · "),
            other => other.to_string(),
        }
    }
    value(details)
}

/// Like [`record`], for refusals and failures: the request goes on being refused even if the
/// audit write fails, but the failure is logged loudly.
pub async fn record_refusal(
    pool: &sqlx::PgPool,
    actor: &Actor,
    action: &str,
    subject: Option<&str>,
    outcome: Outcome,
    details: serde_json::Value,
) {
    if let Err(e) = record(pool, actor, action, subject, outcome, details).await {
        tracing::error!(error = %e, action, "could not write an audit entry");
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    /// Inclusive dates, YYYY-MM-DD.
    pub from: Option<String>,
    pub to: Option<String>,
    pub before_seq: Option<i64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, sqlx::FromRow)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor_email: Option<String>,
    /// The person's name as it is now (the entry keeps the e-mail they had then).
    pub actor_name: Option<String>,
    pub actor_role: Option<String>,
    pub organization: Option<String>,
    pub action: String,
    pub subject: Option<String>,
    /// What the subject is, in words: the program of a referral, the organization of a claim,
    /// a person's name, a resident's initials.
    pub subject_label: Option<String>,
    pub outcome: String,
    pub ip: Option<String>,
    pub details: serde_json::Value,
}

/// Every action the trail holds, for the search's pick list (a loose index scan: one index
/// probe per distinct action, however long the trail).
pub async fn actions(pool: &sqlx::PgPool) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "WITH RECURSIVE a AS (
             SELECT min(action) AS action FROM audit_log
             UNION ALL
             SELECT (SELECT min(action) FROM audit_log WHERE action > a.action) FROM a WHERE a.action IS NOT NULL)
         SELECT action FROM a WHERE action IS NOT NULL",
    )
    .fetch_all(pool)
    .await
}

pub const PAGE: i64 = 50;

/// Newest first, `PAGE` at a time (keyset pagination by sequence number).
pub async fn search(pool: &sqlx::PgPool, f: &AuditFilter) -> sqlx::Result<Vec<AuditEntry>> {
    let date = |s: &Option<String>| {
        s.as_deref()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    };
    sqlx::query_as(
        "SELECT a.seq, a.at, a.actor_email, u.name AS actor_name, a.actor_role, o.name AS organization,
                a.action, a.subject,
                CASE split_part(a.subject, ':', 1)
                    WHEN 'referral' THEN (SELECT sv.name FROM referrals r JOIN services sv ON sv.id = r.service_id
                                           WHERE r.id::text = split_part(a.subject, ':', 2))
                    WHEN 'claim' THEN (SELECT co.name FROM claims c JOIN organizations co ON co.id = c.organization_id
                                        WHERE c.id::text = split_part(a.subject, ':', 2))
                    WHEN 'user' THEN (SELECT su.name FROM users su WHERE su.id::text = split_part(a.subject, ':', 2))
                    WHEN 'resident' THEN (SELECT string_agg(left(w, 1) || '.', ' ')
                                            FROM residents rs, regexp_split_to_table(rs.name, ' +') w
                                           WHERE rs.id::text = split_part(a.subject, ':', 2))
                    WHEN 'email' THEN split_part(a.subject, ':', 2)
                END AS subject_label,
                a.outcome, a.ip, a.details
           FROM audit_log a LEFT JOIN organizations o ON o.id = a.organization_id
           LEFT JOIN users u ON u.id = a.actor_id
          WHERE ($1::text IS NULL OR lower(a.actor_email) LIKE '%' || lower($1) || '%')
            AND ($2::text IS NULL OR a.action = $2)
            AND ($3::text IS NULL OR a.outcome = $3)
            AND ($4::date IS NULL OR a.at >= $4::date)
            AND ($5::date IS NULL OR a.at < $5::date + 1)
            AND ($6::bigint IS NULL OR a.seq < $6)
          ORDER BY a.seq DESC
          LIMIT $7",
    )
    .bind(f.actor.as_deref().filter(|s| !s.is_empty()))
    .bind(f.action.as_deref().filter(|s| !s.is_empty()))
    .bind(f.outcome.as_deref().filter(|s| !s.is_empty()))
    .bind(date(&f.from))
    .bind(date(&f.to))
    .bind(f.before_seq)
    .bind(PAGE)
    .fetch_all(pool)
    .await
}

/// The result of checking the whole chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainCheck {
    Intact {
        entries: i64,
    },
    /// The first entry whose hash or link does not match.
    BrokenAt {
        seq: i64,
        entries_before: i64,
    },
}

/// The newest entry of the chain, as kept outside the database (`server audit checkpoint`
/// appends one to a file). The chain proves nothing was changed or removed in the middle; only
/// something outside it can prove the end was not cut off, or the whole chain rewritten.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: Vec<u8>,
}

impl Checkpoint {
    /// A line of a checkpoint file: `<seq> <hash in hex> <when>`.
    pub fn to_line(&self, at: chrono::DateTime<chrono::Utc>) -> String {
        format!(
            "{} {} {}",
            self.seq,
            hex::encode(&self.hash),
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    }

    /// Reads a line written by `to_line`; `None` for anything else.
    pub fn parse(line: &str) -> Option<Checkpoint> {
        let mut parts = line.split_whitespace();
        let seq = parts.next()?.parse().ok()?;
        let hash = hex::decode(parts.next()?).ok()?;
        Some(Checkpoint { seq, hash })
    }
}

/// The newest entry, or `None` while the trail is empty.
pub async fn checkpoint(pool: &sqlx::PgPool) -> sqlx::Result<Option<Checkpoint>> {
    let row: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(seq, hash)| Checkpoint { seq, hash }))
}

/// The first checkpoint the chain no longer holds: the entries up to it were removed (the end
/// of the trail cut off) or the chain was rewritten. `None` when every one is there.
pub async fn missing_checkpoint(
    pool: &sqlx::PgPool,
    checkpoints: &[Checkpoint],
) -> sqlx::Result<Option<Checkpoint>> {
    let seqs: Vec<i64> = checkpoints.iter().map(|c| c.seq).collect();
    let hashes: Vec<Vec<u8>> = checkpoints.iter().map(|c| c.hash.clone()).collect();
    let first: Option<i32> = sqlx::query_scalar(
        "SELECT c.n::int4 FROM unnest($1::int8[], $2::bytea[]) WITH ORDINALITY AS c(seq, hash, n)
          WHERE NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.seq = c.seq AND a.hash = c.hash)
          ORDER BY c.seq LIMIT 1",
    )
    .bind(&seqs)
    .bind(&hashes)
    .fetch_optional(pool)
    .await?;
    Ok(first.and_then(|n| checkpoints.get(n as usize - 1).cloned()))
}

/// Recomputes every entry's hash from its content and the entry before it, in order.
pub async fn verify(pool: &sqlx::PgPool) -> sqlx::Result<ChainCheck> {
    let broken: Option<(i64, i64)> = sqlx::query_as(
        "WITH chain AS (
             SELECT a.seq, a.prev_hash, a.hash, audit_entry_hash(a.prev_hash, a) AS recomputed,
                    lag(a.hash) OVER (ORDER BY a.seq) AS previous,
                    row_number() OVER (ORDER BY a.seq) AS n
               FROM audit_log a)
         SELECT seq, n - 1 FROM chain
          WHERE hash <> recomputed OR prev_hash <> coalesce(previous, '\\x'::bytea)
          ORDER BY seq LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(match broken {
        Some((seq, entries_before)) => ChainCheck::BrokenAt {
            seq,
            entries_before,
        },
        None => ChainCheck::Intact {
            entries: sqlx::query_scalar("SELECT count(*) FROM audit_log")
                .fetch_one(pool)
                .await?,
        },
    })
}

mod page {
    use super::{details_text, search, verify, AuditFilter, ChainCheck, PAGE};
    use crate::forms::{date_time, loaded, query};
    use crate::state::AppState;
    use leptos::prelude::*;
    use leptos_meta::{Meta, Title};

    /// `/state/audit`: a state administrator searches the trail (a GET form: a search is a URL
    /// that can be kept with a case file). Searching the trail is itself audited.
    #[component]
    pub fn AuditPage() -> impl IntoView {
        let locale = crate::language::current();
        let filter = AuditFilter {
            actor: query("actor"),
            action: query("action"),
            outcome: query("outcome"),
            from: query("from"),
            to: query("to"),
            before_seq: query("before").and_then(|s| s.parse().ok()),
        };
        let form_filter = filter.clone();
        let content = async move {
            let form_filter = form_filter.clone();
            let state = AppState::get();
            let _ = super::record(
                &state.pool,
                &super::Actor::current(),
                "audit.searched",
                None,
                super::Outcome::Ok,
                serde_json::to_value(&filter).unwrap_or_default(),
            )
            .await;
            let (Ok(entries), Ok(chain), Ok(known_actions)) = (
                search(&state.pool, &filter).await,
                verify(&state.pool).await,
                super::actions(&state.pool).await,
            ) else {
                crate::layout::set_status(503);
                return view! { <p role="alert">{tr!(locale, err_unavailable)}</p> }.into_any();
            };
            let chain = match chain {
                ChainCheck::Intact { entries } => view! {
                    <p class="alert alert-success" role="status">{tr!(locale, audit_chain_ok, entries = entries)}</p>
                }
                .into_any(),
                ChainCheck::BrokenAt { seq, .. } => view! {
                    <p class="alert alert-error" role="alert">{tr!(locale, audit_chain_broken, seq = seq)}</p>
                }
                .into_any(),
            };
            let older = (entries.len() as i64 == PAGE).then(|| {
                let last = entries.last().map(|e| e.seq).unwrap_or_default();
                let mut f = filter.clone();
                f.before_seq = Some(last);
                let q = serde_urlencoded(&f);
                view! { <p class="mt-4"><a class="link" href=format!("/state/audit?{q}")>{tr!(locale, older_entries)}</a></p> }
            });
            let (when, who, org, what, outcome, from, details) = (
                tr!(locale, audit_when),
                tr!(locale, audit_who),
                tr!(locale, organization_label),
                tr!(locale, audit_what),
                tr!(locale, audit_outcome),
                tr!(locale, audit_from),
                tr!(locale, audit_details),
            );
            let rows = entries
                .into_iter()
                .map(|e| {
                    let outcome_class = if e.outcome == "ok" { "" } else { "outcome-bad" };
                    let person = e.actor_name.clone().or(e.actor_email.clone()).unwrap_or_else(|| tr!(locale, audit_nobody));
                    let role = e.actor_role.as_deref().and_then(crate::policy::Role::parse)
                        .map(|r| crate::identity::pages::role_label(locale, r)).unwrap_or_default();
                    view! {
                        <tr>
                            <td data-label="#">{e.seq}</td>
                            <td data-label=when.clone()><span class="whitespace-nowrap" data-testid="audit-when">{date_time(&e.at)}</span></td>
                            <td data-label=who.clone()><span class="font-semibold">{person}</span>
                                <span class="block text-sm break-all">{e.actor_email.clone().filter(|_| e.actor_name.is_some()).unwrap_or_default()}</span>
                                <span class="block text-sm">{role}</span></td>
                            <td data-label=org.clone()>{e.organization.clone().unwrap_or_default()}</td>
                            <td data-label=what.clone()><span class="font-semibold">{e.action.clone()}</span>
                                {e.subject_label.clone().map(|l| view! { <span class="block">{l}</span> })}
                                <span class="block text-sm break-all">{e.subject.clone().unwrap_or_default()}</span></td>
                            <td data-label=outcome.clone() class=outcome_class>{e.outcome.clone()}</td>
                            <td data-label=from.clone()>{e.ip.clone().unwrap_or_default()}</td>
                            <td data-label=details.clone() class="text-sm break-all">{details_text(&e.details)}</td>
                        </tr>
                    }
                })
                .collect_view();
            let picked = filter.action.clone().unwrap_or_default();
            let action_options = known_actions
                .into_iter()
                .map(|a| {
                    let selected = a == picked;
                    let label = a.clone();
                    view! { <option value=a selected=selected>{label}</option> }
                })
                .collect_view();
            view! {
                <form class="filter-row mt-4" method="get" action="/state/audit">
                    <label class="form-field">
                        <span class="field-label">{tr!(locale, audit_actor_label)}</span>
                        <input class="field w-full" name="actor" value=form_filter.actor.clone().unwrap_or_default() maxlength="254" />
                    </label>
                    <label class="form-field">
                        <span class="field-label">{tr!(locale, audit_action_label)}</span>
                        <select class="field w-full" name="action">
                            <option value="">{tr!(locale, audit_any)}</option>
                            {action_options}
                        </select>
                    </label>
                    <label class="form-field">
                        <span class="field-label">{tr!(locale, audit_outcome)}</span>
                        <select class="field w-full" name="outcome">
                            <option value="">{tr!(locale, audit_any)}</option>
                            <option value="ok" selected=form_filter.outcome.as_deref() == Some("ok")>"ok"</option>
                            <option value="denied" selected=form_filter.outcome.as_deref() == Some("denied")>"denied"</option>
                            <option value="failed" selected=form_filter.outcome.as_deref() == Some("failed")>"failed"</option>
                        </select>
                    </label>
                    <label class="form-field">
                        <span class="field-label">{tr!(locale, audit_from_date)}</span>
                        <input class="field w-full" type="date" name="from" value=form_filter.from.clone().unwrap_or_default() />
                    </label>
                    <label class="form-field">
                        <span class="field-label">{tr!(locale, audit_to_date)}</span>
                        <input class="field w-full" type="date" name="to" value=form_filter.to.clone().unwrap_or_default() />
                    </label>
                    <button class="button-primary" type="submit">{tr!(locale, audit_search_button)}</button>
                </form>
                {chain}
                <div class="table-wrap mt-4" tabindex="0" role="region" aria-label=tr!(locale, audit_title)>
                    <table class="data-table stacked">
                        <thead><tr>
                            <th scope="col">"#"</th>
                            <th scope="col">{tr!(locale, audit_when)}</th>
                            <th scope="col">{tr!(locale, audit_who)}</th>
                            <th scope="col">{tr!(locale, organization_label)}</th>
                            <th scope="col">{tr!(locale, audit_what)}</th>
                            <th scope="col">{tr!(locale, audit_outcome)}</th>
                            <th scope="col">{tr!(locale, audit_from)}</th>
                            <th scope="col">{tr!(locale, audit_details)}</th>
                        </tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
                {older}
            }
            .into_any()
        };
        view! {
            <Title text=tr!(locale, audit_title) />
            <Meta name="robots" content="noindex" />
            <div class="page wide">
                <h1 class="page-title">{tr!(locale, audit_title)}</h1>
                {loaded(content)}
            </div>
        }
    }

    fn serde_urlencoded(f: &AuditFilter) -> String {
        let enc = crate::identity::urlencode;
        [
            ("actor", f.actor.clone()),
            ("action", f.action.clone()),
            ("outcome", f.outcome.clone()),
            ("from", f.from.clone()),
            ("to", f.to.clone()),
            ("before", f.before_seq.map(|s| s.to_string())),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={}", enc(&v))))
        .collect::<Vec<_>>()
        .join("&")
    }
}

pub use page::AuditPage;

#[cfg(test)]
mod tests {
    use super::details_text;

    #[test]
    fn details_read_as_words_and_long_lists_are_counted() {
        let d = serde_json::json!({ "purpose": "search", "shown": [1, 2, 3, 4, 5], "about": null, "n": 2 });
        assert_eq!(
            details_text(&d),
            "n: 2 · purpose: search · shown: 5 entries"
        );
        assert_eq!(
            details_text(&serde_json::json!({ "to": ["a", "b"] })),
            "to: a, b"
        );
    }
}
