//! Taking an assessment, as server functions behind plain forms (one page of questions per
//! post; back, next, "finish later"). The self-assessment keeps its answers in the browser's
//! session only — nothing is stored for a person who does not choose to save it. A partner's or
//! hospital's assessment is stored on the resident's record after the residents gate opens it.

use super::instrument::{Answers, Instrument, ItemKind, Page};
use super::store::{self, Administered};
use super::{may_administer, AssessmentError, Mode, SELF_ASSESSMENT};
use crate::identity::accounts::AuthSession;
use crate::identity::Viewer;
use crate::policy::Action;
use crate::residents::{gate, Principal, Purpose, ResidentAccess};
use crate::state::AppState;
use crate::web::{authorize, finish, permit, Problem};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The session key of a self-assessment in progress.
pub const SESSION_KEY: &str = "self_assessment";

/// A self-assessment in the browser's session: the answers so far and where the person is.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct InSession {
    pub answers: Answers,
    pub page: Option<String>,
    pub done: bool,
}

/// The self-assessment in this browser's session.
pub async fn in_session(session: &tower_sessions::Session) -> InSession {
    session
        .get(SESSION_KEY)
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// At most this many values in one page's form: more is not a person answering.
const MAX_VALUES: usize = 200;

/// One page's answers from its form: `answers[N]` carry `item=code` (a radio group per
/// question, a checkbox per option), `numbers[N]` a number for the question in
/// `number_items[N]`. Only the page's questions are accepted; a question left blank has no
/// answer (which is not "no").
pub fn page_answers(
    instrument: &Instrument,
    page: &Page,
    answers: &[String],
    numbers: &[String],
    number_items: &[String],
) -> Result<Answers, AssessmentError> {
    if answers.len() + numbers.len() > MAX_VALUES || numbers.len() != number_items.len() {
        return Err(AssessmentError::BadAnswer);
    }
    let on_page = |code: &str| page.items.iter().any(|i| i.code == code);
    let mut values: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for a in answers {
        let (item, code) = a.split_once('=').ok_or(AssessmentError::BadAnswer)?;
        if !on_page(item) {
            return Err(AssessmentError::BadAnswer);
        }
        values.entry(item).or_default().push(code);
    }
    for (item, number) in number_items.iter().zip(numbers) {
        if !on_page(item) || instrument.item(item).map(|i| i.kind) != Some(ItemKind::Integer) {
            return Err(AssessmentError::BadAnswer);
        }
        let number = number.trim();
        // A declined or don't-know choice for the same question wins over an empty box.
        if !number.is_empty() && !values.contains_key(item.as_str()) {
            values.entry(item).or_default().push(number);
        }
    }
    let mut out = Answers::new();
    for (item, codes) in values {
        let answer = instrument
            .parse_answer(item, &codes)
            .map_err(|_| AssessmentError::BadAnswer)?;
        out.insert(item.to_string(), answer);
    }
    Ok(out)
}

/// The page a form names and its answers.
fn page_form<'a>(
    instrument: &'a Instrument,
    page: &str,
    answers: Option<Vec<String>>,
    numbers: Option<Vec<String>>,
    number_items: Option<Vec<String>>,
) -> Result<(&'a Page, Answers), AssessmentError> {
    let page = instrument
        .page(page.trim())
        .ok_or(AssessmentError::NotFound)?;
    let answers = page_answers(
        instrument,
        page,
        &answers.unwrap_or_default(),
        &numbers.unwrap_or_default(),
        &number_items.unwrap_or_default(),
    )?;
    Ok((page, answers))
}

/// The answers after this page: the page's questions answered anew, then questions no longer
/// asked dropped.
pub fn merge(instrument: &Instrument, page: &Page, before: &Answers, now: Answers) -> Answers {
    let mut merged: Answers = before
        .iter()
        .filter(|(code, _)| !page.items.iter().any(|i| &i.code == *code))
        .map(|(c, a)| (c.clone(), a.clone()))
        .collect();
    merged.extend(now);
    instrument.prune(&merged)
}

/// Where the buttons lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Go {
    Next,
    Back,
    /// Save and stop here (a partner's "finish later").
    Later,
}

impl Go {
    pub fn parse(s: Option<&str>) -> Go {
        match s {
            Some("back") => Go::Back,
            Some("later") => Go::Later,
            _ => Go::Next,
        }
    }
}

/// The page after this one, `None` when the assessment is done (or, going back from the first
/// page, the start).
fn destination<'a>(
    instrument: &'a Instrument,
    page: &Page,
    answers: &Answers,
    go: Go,
) -> Option<&'a Page> {
    match go {
        Go::Back => instrument.previous_page(&page.id, answers),
        _ => instrument.next_page(Some(&page.id), answers),
    }
}

fn self_assessment() -> &'static Instrument {
    Instrument::get(SELF_ASSESSMENT).expect("the self-assessment ships with the app")
}

/// One page of the self-assessment.
#[server(prefix = "/fn", endpoint = "answer_self_assessment", input = leptos::server_fn::codec::PostUrl)]
pub async fn answer_self_assessment(
    page: String,
    answers: Option<Vec<String>>,
    numbers: Option<Vec<String>>,
    number_items: Option<Vec<String>>,
    go: Option<String>,
) -> Result<(), ServerFnError> {
    let auth: AuthSession = leptos_axum::extract().await?;
    let back = format!(
        "/assessment/questions/{}",
        crate::identity::urlencode(page.trim())
    );
    let outcome = async {
        permit(Action::TakeSelfAssessment)?;
        let instrument = self_assessment();
        let (page, now) = page_form(instrument, &page, answers, numbers, number_items)?;
        let mut kept = in_session(&auth.session).await;
        kept.answers = merge(instrument, page, &kept.answers, now);
        let go = Go::parse(go.as_deref());
        let next = destination(instrument, page, &kept.answers, go);
        kept.page = next.map(|p| p.id.clone());
        if go != Go::Back && next.is_none() {
            kept.done = true;
        }
        auth.session.insert(SESSION_KEY, &kept).await?;
        Ok(match (go, next) {
            (_, Some(p)) => format!("/assessment/questions/{}", p.id),
            (Go::Back, None) => "/assessment".to_string(),
            (_, None) => "/assessment/results".to_string(),
        })
    }
    .await;
    finish(&back, outcome)
}

/// "Start over": forgets the answers in this browser.
#[server(prefix = "/fn", endpoint = "restart_self_assessment")]
pub async fn restart_self_assessment() -> Result<(), ServerFnError> {
    let auth: AuthSession = leptos_axum::extract().await?;
    let outcome = async {
        permit(Action::TakeSelfAssessment)?;
        auth.session.remove::<InSession>(SESSION_KEY).await?;
        let first = self_assessment()
            .next_page(None, &Answers::new())
            .ok_or(Problem::new("not_found"))?;
        Ok(format!("/assessment/questions/{}", first.id))
    }
    .await;
    finish("/assessment", outcome)
}

/// "Save to My Plan": signed out, sign in first (the answers wait in the session); signed in,
/// the finished self-assessment is kept on the resident's record (or account, until linked).
#[server(prefix = "/fn", endpoint = "save_self_assessment")]
pub async fn save_self_assessment() -> Result<(), ServerFnError> {
    let auth: AuthSession = leptos_axum::extract().await?;
    let back = "/assessment/results";
    let outcome = async {
        let viewer = permit(Action::UsePlan)?;
        let kept = in_session(&auth.session).await;
        if !kept.done {
            return Err(AssessmentError::NothingToSave.into());
        }
        let Some(viewer) = viewer else {
            return Ok("/sign-in?next=/assessment/results".to_string());
        };
        let state = AppState::get();
        let instrument = self_assessment();
        // A linked record is the resident's own: the gate records the opening like any other.
        if let Some(resident) = viewer.resident_id {
            gate::open(
                &state.pool,
                &Principal::Person(viewer.clone()),
                resident,
                Purpose::Assessment,
            )
            .await
            .map_err(AssessmentError::from)?;
        }
        store::keep_self_assessment(
            &state.pool,
            viewer.user_id,
            viewer.resident_id,
            instrument,
            &kept.answers,
        )
        .await?;
        auth.session.remove::<InSession>(SESSION_KEY).await?;
        Ok("/my-plan?done=assessment_saved".to_string())
    }
    .await;
    finish(back, outcome)
}

/// Opens the resident for an assessment: only with consent (the full record).
async fn open_for_assessment(
    viewer: &Viewer,
    resident: Uuid,
) -> Result<ResidentAccess, AssessmentError> {
    let state = AppState::get();
    let access = gate::open(
        &state.pool,
        &Principal::Person(viewer.clone()),
        resident,
        Purpose::Assessment,
    )
    .await?;
    if !access.is_full() {
        return Err(AssessmentError::NoConsent);
    }
    Ok(access)
}

fn parse_id(s: &str) -> Result<Uuid, AssessmentError> {
    Uuid::parse_str(s.trim()).map_err(|_| AssessmentError::NotFound)
}

/// "Start an assessment" with a resident who consented: the self-assessment for any partner,
/// the AHC screening for hospital users.
#[server(prefix = "/fn", endpoint = "start_assessment")]
pub async fn start_assessment(
    resident_id: String,
    instrument: String,
    read_aloud: Option<String>,
) -> Result<(), ServerFnError> {
    let back = format!(
        "/residents/{}/assess",
        crate::identity::urlencode(resident_id.trim())
    );
    let outcome = async {
        let viewer = authorize(Action::AdministerAssessments)?;
        let resident = parse_id(&resident_id)?;
        let instrument = Instrument::get(instrument.trim()).ok_or(AssessmentError::NotFound)?;
        if !may_administer(viewer.effective_role(), instrument) {
            return Err(AssessmentError::HospitalOnly.into());
        }
        open_for_assessment(&viewer, resident).await?;
        let organization = viewer.organization_id.ok_or(AssessmentError::Denied)?;
        let mode = match instrument.audience {
            super::instrument::Audience::Hospital => Mode::Hospital,
            super::instrument::Audience::Anyone => Mode::Partner,
        };
        let state = AppState::get();
        let id = store::start(
            &state.pool,
            resident,
            instrument,
            &Administered {
                by: viewer.user_id,
                organization,
                mode,
            },
        )
        .await?;
        let first = instrument
            .next_page(None, &Answers::new())
            .ok_or(AssessmentError::NotFound)?;
        let aloud = if read_aloud.as_deref() == Some("yes") {
            "?read_aloud=1"
        } else {
            ""
        };
        Ok(format!("/assessments/{id}/{}{aloud}", first.id))
    }
    .await;
    finish(&back, outcome)
}

/// The assessment, if this partner may work on it: their organization's, with the resident's
/// consent still held (a revoked consent stops it on the next page).
pub async fn open_own(viewer: &Viewer, id: Uuid) -> Result<store::Assessment, AssessmentError> {
    let state = AppState::get();
    let assessment = store::get(&state.pool, id).await?;
    let resident = assessment.resident_id.ok_or(AssessmentError::NotFound)?;
    if assessment.organization_id.is_none() || assessment.organization_id != viewer.organization_id
    {
        // Another organization's assessment: as if it did not exist.
        return Err(AssessmentError::NotFound);
    }
    open_for_assessment(viewer, resident).await?;
    Ok(assessment)
}

/// One page of a partner's or hospital's assessment.
#[server(prefix = "/fn", endpoint = "answer_assessment", input = leptos::server_fn::codec::PostUrl)]
#[allow(clippy::too_many_arguments)]
pub async fn answer_assessment(
    assessment_id: String,
    page: String,
    answers: Option<Vec<String>>,
    numbers: Option<Vec<String>>,
    number_items: Option<Vec<String>>,
    go: Option<String>,
    read_aloud: Option<String>,
) -> Result<(), ServerFnError> {
    let aloud = if read_aloud.as_deref() == Some("yes") {
        "?read_aloud=1"
    } else {
        ""
    };
    let back = format!(
        "/assessments/{}/{}{aloud}",
        crate::identity::urlencode(assessment_id.trim()),
        crate::identity::urlencode(page.trim())
    );
    let outcome = async {
        let viewer = authorize(Action::AdministerAssessments)?;
        let id = parse_id(&assessment_id)?;
        let assessment = open_own(&viewer, id).await?;
        let instrument = assessment.instrument().ok_or(AssessmentError::NotFound)?;
        if !may_administer(viewer.effective_role(), instrument) {
            return Err(AssessmentError::HospitalOnly.into());
        }
        let (page, now) = page_form(instrument, &page, answers, numbers, number_items)?;
        let go = Go::parse(go.as_deref());
        let state = AppState::get();
        let saved = store::save(&state.pool, id, |stored| {
            let merged = merge(instrument, page, stored, now);
            let next = destination(instrument, page, &merged, go);
            let complete = go == Go::Next && next.is_none();
            let at = next.map(|p| p.id.clone()).or(Some(page.id.clone()));
            (merged, at, complete)
        })
        .await;
        let resident = assessment.resident_id.unwrap_or_default();
        match saved {
            // A second press of "Finish" after the first went through.
            Err(AssessmentError::AlreadyCompleted) => {
                return Ok(format!("/assessments/{id}?done=completed"))
            }
            Err(e) => return Err(e.into()),
            Ok(_) => {}
        }
        let saved = saved.unwrap_or_default();
        Ok(match (go, saved.complete, saved.current_page) {
            (_, true, _) => format!("/assessments/{id}?done=completed"),
            (Go::Later, _, _) => format!("/residents/{resident}?done=assessment_saved#assessments"),
            (Go::Back, _, _)
                if destination(instrument, page, &saved.answers, Go::Back).is_none() =>
            {
                format!("/residents/{resident}/assess")
            }
            (_, _, Some(p)) => format!("/assessments/{id}/{p}{aloud}"),
            (_, _, None) => format!("/assessments/{id}"),
        })
    }
    .await;
    finish(&back, outcome)
}
