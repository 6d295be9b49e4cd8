//! Stored assessments and SDoH indicators. Every function here takes a resident the residents
//! gate has already opened (or the resident's own account): the gate decides, this writes.

use super::instrument::{Answers, Instrument};
use super::scoring::{self, Interpretation};
use super::{AssessmentError, Mode, Status};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// One stored assessment, as the pages need it.
#[derive(Clone, Debug)]
pub struct Assessment {
    pub id: Uuid,
    pub resident_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub instrument: String,
    pub version: String,
    pub source: String,
    pub mode: Mode,
    pub administered_by: Option<String>,
    pub organization_id: Option<Uuid>,
    pub organization: Option<String>,
    pub answers: Answers,
    pub current_page: Option<String>,
    pub status: Status,
    pub started_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl Assessment {
    pub fn instrument(&self) -> Option<&'static Instrument> {
        Instrument::get(&self.instrument)
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    resident_id: Option<Uuid>,
    user_id: Option<Uuid>,
    instrument: String,
    instrument_version: String,
    source: String,
    mode: String,
    administered_by: Option<String>,
    organization_id: Option<Uuid>,
    organization: Option<String>,
    answers: serde_json::Value,
    current_page: Option<String>,
    status: String,
    started_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
}

impl From<Row> for Assessment {
    fn from(r: Row) -> Self {
        Assessment {
            id: r.id,
            resident_id: r.resident_id,
            user_id: r.user_id,
            instrument: r.instrument,
            version: r.instrument_version,
            source: r.source,
            mode: Mode::parse(&r.mode).unwrap_or(Mode::SelfReport),
            administered_by: r.administered_by,
            organization_id: r.organization_id,
            organization: r.organization,
            // Stored by this module only, from checked answers: unreadable JSON means none.
            answers: serde_json::from_value(r.answers).unwrap_or_default(),
            current_page: r.current_page,
            status: if r.status == "completed" {
                Status::Completed
            } else {
                Status::InProgress
            },
            started_at: r.started_at,
            completed_at: r.completed_at,
        }
    }
}

const SELECT: &str = "SELECT a.id, a.resident_id, a.user_id, a.instrument, a.instrument_version, a.source, a.mode,
        u.name AS administered_by, a.organization_id, o.name AS organization, a.answers, a.current_page,
        a.status, a.started_at, a.completed_at
   FROM assessments a
   LEFT JOIN users u ON u.id = a.administered_by
   LEFT JOIN organizations o ON o.id = a.organization_id";

/// Who is starting an assessment with a resident.
pub struct Administered {
    pub by: Uuid,
    pub organization: Uuid,
    pub mode: Mode,
}

/// Starts an assessment on a resident's record (partner or hospital).
pub async fn start(
    pool: &PgPool,
    resident: Uuid,
    instrument: &Instrument,
    who: &Administered,
) -> Result<Uuid, AssessmentError> {
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO assessments (resident_id, instrument, instrument_version, mode, administered_by,
                                  organization_id, status)
         VALUES ($1, $2, $3, $4, $5, $6, 'in_progress') RETURNING id",
    )
    .bind(resident)
    .bind(&instrument.id)
    .bind(&instrument.version)
    .bind(who.mode.as_str())
    .bind(who.by)
    .bind(who.organization)
    .fetch_one(pool)
    .await?;
    Ok(id)
}

pub async fn get(pool: &PgPool, id: Uuid) -> Result<Assessment, AssessmentError> {
    let row: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE a.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(Assessment::from).ok_or(AssessmentError::NotFound)
}

/// What a page's save left behind.
#[derive(Clone, Debug, Default)]
pub struct Saved {
    pub answers: Answers,
    pub current_page: Option<String>,
    pub complete: bool,
}

/// Saves one page: `apply` gets the stored answers (read under a row lock, so two people on
/// the same assessment never lose each other's pages) and returns the new answers, the page to
/// resume at, and whether it is now complete. Completing recomputes the resident's indicators
/// in the same transaction. A completed assessment is never changed again.
pub async fn save(
    pool: &PgPool,
    id: Uuid,
    apply: impl FnOnce(&Answers) -> (Answers, Option<String>, bool),
) -> Result<Saved, AssessmentError> {
    let mut tx = pool.begin().await?;
    let row: Option<(Option<Uuid>, String, String, Option<Uuid>, serde_json::Value)> = sqlx::query_as(
        "SELECT resident_id, instrument, status, organization_id, answers FROM assessments WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let (resident, instrument, status, organization, stored) =
        row.ok_or(AssessmentError::NotFound)?;
    if status == "completed" {
        return Err(AssessmentError::AlreadyCompleted);
    }
    let instrument = Instrument::get(&instrument).ok_or(AssessmentError::NotFound)?;
    let stored: Answers = serde_json::from_value(stored).unwrap_or_default();
    let (answers, current_page, complete) = apply(&stored);
    sqlx::query(
        "UPDATE assessments SET answers = $2, current_page = $3, updated_at = now(),
                status = CASE WHEN $4 THEN 'completed' ELSE 'in_progress' END,
                completed_at = CASE WHEN $4 THEN now() END
          WHERE id = $1",
    )
    .bind(id)
    .bind(serde_json::to_value(&answers).unwrap_or_default())
    .bind(&current_page)
    .bind(complete)
    .execute(&mut *tx)
    .await?;
    if complete {
        if let Some(resident) = resident {
            record_indicators(
                &mut tx,
                resident,
                id,
                organization,
                instrument,
                &answers,
                Utc::now(),
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(Saved {
        answers,
        current_page,
        complete,
    })
}

/// A self-assessment a signed-in resident chose to keep: on their record when their account
/// is linked to one (and then it informs their indicators), else on their account.
pub async fn keep_self_assessment(
    pool: &PgPool,
    user: Uuid,
    resident: Option<Uuid>,
    instrument: &Instrument,
    answers: &Answers,
) -> Result<Uuid, AssessmentError> {
    let mut tx = pool.begin().await?;
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO assessments (resident_id, user_id, instrument, instrument_version, mode,
                                  answers, status, completed_at)
         VALUES ($1, $2, $3, $4, 'self', $5, 'completed', now()) RETURNING id",
    )
    .bind(resident)
    .bind(user)
    .bind(&instrument.id)
    .bind(&instrument.version)
    .bind(serde_json::to_value(answers).unwrap_or_default())
    .fetch_one(&mut *tx)
    .await?;
    if let Some(resident) = resident {
        record_indicators(&mut tx, resident, id, None, instrument, answers, Utc::now()).await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// Scores a completed response and makes its indicators the resident's current ones: each
/// need the response decided on supersedes the older indicator for that need (kept as
/// history); a need the response did not ask about keeps its older indicator. An indicator
/// observed later than this response (an older response completed late) is not superseded.
pub async fn record_indicators(
    tx: &mut Transaction<'_, Postgres>,
    resident: Uuid,
    assessment: Uuid,
    organization: Option<Uuid>,
    instrument: &Instrument,
    answers: &Answers,
    observed_at: DateTime<Utc>,
) -> Result<(), AssessmentError> {
    let outcome = scoring::score(instrument, answers);
    // A need the person was never asked about (every deciding question skipped) says nothing.
    let decided: Vec<_> = outcome
        .indicators
        .iter()
        .filter(|i| {
            !matches!(
                i.interpretation,
                Interpretation::NotAnswered(super::instrument::Absent::Missing)
            )
        })
        .collect();
    let needs: Vec<&str> = decided.iter().map(|i| i.need.as_str()).collect();
    sqlx::query(
        "UPDATE sdoh_indicators SET superseded_at = now()
          WHERE resident_id = $1 AND need = ANY($2) AND superseded_at IS NULL AND observed_at <= $3",
    )
    .bind(resident)
    .bind(&needs)
    .bind(observed_at)
    .execute(&mut **tx)
    .await?;
    // What is still current is newer than this response: this one goes straight to history.
    let current: Vec<String> = sqlx::query_scalar(
        "SELECT need FROM sdoh_indicators WHERE resident_id = $1 AND need = ANY($2) AND superseded_at IS NULL",
    )
    .bind(resident)
    .bind(&needs)
    .fetch_all(&mut **tx)
    .await?;
    for i in decided {
        let superseded_now = current.contains(&i.need);
        sqlx::query(
            "INSERT INTO sdoh_indicators (resident_id, need, domain, interpretation, absent_reason, sensitive,
                                          categories, source, assessment_id, organization_id, observed_at,
                                          superseded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'wraparound', $8, $9, $10, CASE WHEN $11 THEN now() END)",
        )
        .bind(resident)
        .bind(&i.need)
        .bind(i.domain.as_str())
        .bind(i.interpretation.as_str())
        .bind(i.interpretation.absent().map(|a| a.as_str()))
        .bind(i.sensitive)
        .bind(&i.categories)
        .bind(assessment)
        .bind(organization)
        .bind(observed_at)
        .bind(superseded_now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// One line of the assessments tab and of My Plan.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Summary {
    pub id: Uuid,
    pub instrument: String,
    pub instrument_version: String,
    pub source: String,
    pub mode: String,
    pub administered_by: Option<String>,
    pub organization_id: Option<Uuid>,
    pub organization: Option<String>,
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// Every assessment on a resident's record (and, for their own plan, on their account), newest
/// first.
pub async fn summaries(
    pool: &PgPool,
    resident: Option<Uuid>,
    user: Option<Uuid>,
) -> Result<Vec<Summary>, AssessmentError> {
    Ok(sqlx::query_as(
        "SELECT a.id, a.instrument, a.instrument_version, a.source, a.mode, u.name AS administered_by,
                a.organization_id, o.name AS organization, a.status, a.started_at, a.completed_at
           FROM assessments a
           LEFT JOIN users u ON u.id = a.administered_by
           LEFT JOIN organizations o ON o.id = a.organization_id
          WHERE a.resident_id = $1 OR a.user_id = $2
          ORDER BY coalesce(a.completed_at, a.started_at) DESC
          LIMIT 200",
    )
    .bind(resident)
    .bind(user)
    .fetch_all(pool)
    .await?)
}

/// A resident's current SDoH indicator for one need.
#[derive(Clone, Debug, sqlx::FromRow, Serialize, Deserialize)]
pub struct StoredIndicator {
    pub need: String,
    pub domain: String,
    pub interpretation: String,
    pub absent_reason: Option<String>,
    pub sensitive: bool,
    pub categories: Vec<String>,
    pub source: String,
    pub assessment_id: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    pub observed_at: DateTime<Utc>,
}

impl StoredIndicator {
    pub fn is_positive(&self) -> bool {
        self.interpretation == "positive"
    }
}

/// The current indicators, positive needs first, newest first within each.
pub async fn indicators(
    pool: &PgPool,
    resident: Uuid,
) -> Result<Vec<StoredIndicator>, AssessmentError> {
    Ok(sqlx::query_as(
        "SELECT need, domain, interpretation, absent_reason, sensitive, categories, source, assessment_id,
                organization_id, observed_at
           FROM sdoh_indicators
          WHERE resident_id = $1 AND superseded_at IS NULL
          ORDER BY interpretation = 'positive' DESC, interpretation = 'not-answered' DESC, observed_at DESC, need",
    )
    .bind(resident)
    .fetch_all(pool)
    .await?)
}

/// What a merge moved, so that undoing it can move it back.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Moved {
    pub assessments: Vec<Uuid>,
    pub indicators: Vec<i64>,
    /// The survivor's or the retired record's current indicators the merge superseded (the
    /// older of two for the same need).
    pub superseded: Vec<i64>,
}

/// Moves a retired record's assessments and indicators to the survivor (a merge); of two
/// current indicators for the same need, the newer stays current.
pub async fn move_for_merge(
    tx: &mut Transaction<'_, Postgres>,
    survivor: Uuid,
    retired: Uuid,
) -> Result<Moved, sqlx::Error> {
    let superseded: Vec<i64> = sqlx::query_scalar(
        "UPDATE sdoh_indicators s SET superseded_at = now()
           FROM sdoh_indicators t
          WHERE s.superseded_at IS NULL AND t.superseded_at IS NULL AND s.need = t.need AND s.id <> t.id
            AND s.resident_id IN ($1, $2) AND t.resident_id IN ($1, $2) AND s.resident_id <> t.resident_id
            AND (s.observed_at, s.id) < (t.observed_at, t.id)
         RETURNING s.id",
    )
    .bind(survivor)
    .bind(retired)
    .fetch_all(&mut **tx)
    .await?;
    let assessments = sqlx::query_scalar(
        "UPDATE assessments SET resident_id = $1 WHERE resident_id = $2 RETURNING id",
    )
    .bind(survivor)
    .bind(retired)
    .fetch_all(&mut **tx)
    .await?;
    let indicators = sqlx::query_scalar(
        "UPDATE sdoh_indicators SET resident_id = $1 WHERE resident_id = $2 RETURNING id",
    )
    .bind(survivor)
    .bind(retired)
    .fetch_all(&mut **tx)
    .await?;
    Ok(Moved {
        assessments,
        indicators,
        superseded,
    })
}

/// Undoes [`move_for_merge`].
pub async fn undo_move(
    tx: &mut Transaction<'_, Postgres>,
    retired: Uuid,
    moved: &Moved,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE assessments SET resident_id = $2 WHERE id = ANY($1)")
        .bind(&moved.assessments)
        .bind(retired)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE sdoh_indicators SET resident_id = $2 WHERE id = ANY($1)")
        .bind(&moved.indicators)
        .bind(retired)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE sdoh_indicators SET superseded_at = NULL WHERE id = ANY($1)")
        .bind(&moved.superseded)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
