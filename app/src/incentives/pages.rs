//! `/state/incentives`: the months reported; `/state/incentives/:month`: one report (HTML and
//! print), grouped by chapter, with the drill-down ids and the appendix; a chapter's reviewers
//! see their chapter's lines. State administrators can make a month's report before the 1st's
//! job does and set one organization's eligibility (audited).

use super::{dollars, generate, months, parse_month, previous_month, stored, Line, Report};
use crate::audit::{self, Actor, Outcome};
use crate::directory::islands::PrintButton;
use crate::forms::{loaded, query, FormAlert, Notice};
use crate::i18n::*;
use crate::identity::Viewer;
use crate::layout::set_status;
use crate::policy::{Action, Role};
use crate::state::AppState;
use crate::web::{authorize, finish, Problem};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

fn zone(state: &AppState) -> chrono_tz::Tz {
    crate::metrics::deployment_zone(&state.deployment)
}

/// The report as this viewer may see it: the state all of it, a chapter its own lines.
pub fn visible_to(viewer: &Viewer, mut report: Report) -> Option<Report> {
    match viewer.effective_role() {
        Role::StateAdmin => Some(report),
        Role::ChapterReviewer => {
            let chapter = viewer.chapter.clone()?;
            report.lines.retain(|l| l.chapter == chapter);
            report.excluded.retain(|e| e.chapter == chapter);
            report.total_cents = report.lines.iter().map(|l| l.total_cents).sum();
            Some(report)
        }
        _ => None,
    }
}

fn reason_words(locale: Locale, code: super::NotEligible) -> String {
    use super::NotEligible::*;
    match code {
        NotOnboarded => tr!(locale, incentive_not_onboarded),
        Hospital => tr!(locale, incentive_hospital),
        StateAgency => tr!(locale, incentive_state_agency),
        ForProfit => tr!(locale, incentive_for_profit),
        UnknownType => tr!(locale, incentive_unknown_type),
        Excluded => tr!(locale, incentive_excluded),
    }
}

/// `/state/incentives`.
#[component]
pub fn IncentivesPage() -> impl IntoView {
    let locale = crate::language::current();
    let viewer = crate::web::request().viewer;
    let content = async move {
        let state = AppState::get();
        let Some(viewer) = viewer else {
            return ().into_any();
        };
        let Ok(list) = months(&state.pool).await else {
            set_status(503);
            return view! { <p role="alert">{tr!(locale, err_unavailable)}</p> }.into_any();
        };
        let previous = previous_month(zone(&state), chrono::Utc::now());
        let make = (viewer.effective_role() == Role::StateAdmin && !list.iter().any(|(m, _)| *m == previous)).then(|| view! {
            <form class="mt-4 no-print" method="post" action="/fn/make_incentive_report">
                <button class="button-primary" type="submit">{tr!(locale, incentive_make_now, month = previous.format("%B %Y").to_string())}</button>
            </form>
        });
        let rows = list
            .iter()
            .map(|(m, total)| {
                let key = m.format("%Y-%m").to_string();
                view! { <li><a class="link" href=format!("/state/incentives/{key}")>{m.format("%B %Y").to_string()}</a>
                    {(viewer.effective_role() == Role::StateAdmin).then(|| format!(" · {}", dollars(*total)))}</li> }
            })
            .collect_view();
        view! {
            <p class="mt-2">{tr!(locale, incentives_intro)}</p>
            {make}
            {list.is_empty().then(|| view! { <p class="mt-4">{tr!(locale, incentives_none)}</p> })}
            <ul class="list-disc pl-5 mt-4">{rows}</ul>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, incentives_title) />
        <Meta name="robots" content="noindex" />
        <div class="page">
            <h1 class="page-title">{tr!(locale, incentives_title)}</h1>
            <FormAlert />
            {loaded(content)}
        </div>
    }
}

fn line_row(locale: Locale, l: &Line, manage: bool) -> impl IntoView {
    let ids = |list: &[Uuid]| {
        list.iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let adjustments = l
        .adjustments
        .iter()
        .map(|x| {
            format!(
                "{} {} ({}) {}",
                x.kind,
                x.item_id,
                x.earned_in.format("%Y-%m"),
                dollars(x.cents)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let has_adjustments = !l.adjustments.is_empty();
    let details = (!l.assessments.is_empty() || !l.closures.is_empty() || has_adjustments).then(|| view! {
        <details class="mt-1">
            <summary class="link">{tr!(locale, incentive_drill_down)}</summary>
            <p class="text-xs break-all mt-1">{tr!(locale, incentive_assessment_ids)}": "{ids(&l.assessments)}</p>
            <p class="text-xs break-all mt-1">{tr!(locale, incentive_referral_ids)}": "{ids(&l.closures)}</p>
            {has_adjustments.then(|| view! {
                <p class="text-xs break-all mt-1">{tr!(locale, incentive_adjustment_items)}": "{adjustments}</p>
            })}
        </details>
    });
    view! {
        <tr>
            <td data-label=tr!(locale, incentive_organization)>{l.name.clone()}{details}
                {manage.then(|| eligibility_form(locale, l.organization_id, false))}</td>
            <td data-label=tr!(locale, incentive_mailing_address)>{match &l.mailing_address {
                Some(a) => a.clone(),
                None => tr!(locale, incentive_payment_held),
            }}</td>
            <td data-label=tr!(locale, incentive_onboarding)>{dollars(l.onboarding_cents)}</td>
            <td data-label=tr!(locale, incentive_assessments)>{l.assessments.len().to_string()}</td>
            <td data-label=tr!(locale, incentive_closures)>{l.closures.len().to_string()}</td>
            <td data-label=tr!(locale, incentive_adjustments)>{dollars(l.adjustments.iter().map(|x| x.cents).sum())}</td>
            <td data-label=tr!(locale, incentive_total)><strong>{dollars(l.total_cents)}</strong></td>
        </tr>
    }
}

fn eligibility_form(locale: Locale, org: Uuid, eligible: bool) -> impl IntoView {
    let label = if eligible {
        tr!(locale, incentive_make_eligible)
    } else {
        tr!(locale, incentive_exclude)
    };
    view! {
        <details class="mt-1 no-print">
            <summary class="link">{label.clone()}</summary>
            <form class="stack mt-1" method="post" action="/fn/set_incentive_eligibility">
                <input type="hidden" name="organization_id" value=org.to_string() />
                <input type="hidden" name="eligible" value=if eligible { "yes" } else { "no" } />
                <label class="form-field"><span class="field-label">{tr!(locale, incentive_reason_label)}</span>
                    <input class="field w-full" name="reason" required maxlength="500" /></label>
                <button class="button-secondary" type="submit">{label}</button>
            </form>
        </details>
    }
}

/// `/state/incentives/:month`.
#[component]
pub fn IncentiveReportPage() -> impl IntoView {
    let locale = crate::language::current();
    let viewer = crate::web::request().viewer;
    let month = month_param();
    let done = query("done").map(|_| tr!(locale, incentive_eligibility_saved));
    let content = async move {
        let state = AppState::get();
        let Some(viewer) = viewer else {
            return ().into_any();
        };
        let not_found = || {
            set_status(404);
            view! { <p class="mt-2">{tr!(locale, incentive_no_report)}</p> }.into_any()
        };
        let Some(first) = parse_month(&month) else {
            return not_found();
        };
        let Ok(Some(s)) = stored(&state.pool, first).await else {
            return not_found();
        };
        let Some(report) = visible_to(&viewer, s.report) else {
            set_status(403);
            return view! { <p role="alert">{tr!(locale, err_denied)}</p> }.into_any();
        };
        let manage = viewer.effective_role() == Role::StateAdmin;
        let mut chapters: Vec<String> = report.lines.iter().map(|l| l.chapter.clone()).collect();
        chapters.dedup();
        let names = &state.deployment.onboarding.chapters;
        let groups = chapters
            .into_iter()
            .map(|c| {
                let name = names
                    .iter()
                    .find(|x| x.id == c)
                    .map(|x| x.name.clone())
                    .unwrap_or(c.clone());
                let lines: Vec<&Line> = report.lines.iter().filter(|l| l.chapter == c).collect();
                let subtotal: i64 = lines.iter().map(|l| l.total_cents).sum();
                let rows = lines
                    .iter()
                    .map(|l| line_row(locale, l, manage))
                    .collect_view();
                view! {
                    <section class="mt-6">
                        <h2 class="section-title">{name.clone()}" · "{dollars(subtotal)}</h2>
                        <div class="table-wrap mt-2">
                            <table class="data-table stacked">
                                <caption class="sr-only">{name}</caption>
                                <thead><tr>
                                    <th scope="col">{tr!(locale, incentive_organization)}</th>
                                    <th scope="col">{tr!(locale, incentive_mailing_address)}</th>
                                    <th scope="col">{tr!(locale, incentive_onboarding)}</th>
                                    <th scope="col">{tr!(locale, incentive_assessments)}</th>
                                    <th scope="col">{tr!(locale, incentive_closures)}</th>
                                    <th scope="col">{tr!(locale, incentive_adjustments)}</th>
                                    <th scope="col">{tr!(locale, incentive_total)}</th>
                                </tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        </div>
                    </section>
                }
            })
            .collect_view();
        let appendix = report
            .excluded
            .iter()
            .map(|e| {
                view! { <li>{e.name.clone()}" — "{reason_words(locale, e.reason)}
                {manage.then(|| eligibility_form(locale, e.organization_id, true))}</li> }
            })
            .collect_view();
        let key = first.format("%Y-%m").to_string();
        view! {
            <p class="mt-2" data-testid="report-total">{tr!(locale, incentive_total_line, total = dollars(report.total_cents), count = report.lines.len())}</p>
            <p class="mt-1 text-xs break-all">{tr!(locale, incentive_hash_line, hash = s.sha256.clone(), date = crate::forms::date(&s.generated_at))}</p>
            <div class="button-row mt-2 no-print">
                <a class="link" href=format!("/state/incentives/{key}/csv") download>{tr!(locale, incentive_download_csv)}</a>
                <PrintButton label=tr!(locale, incentive_print) />
            </div>
            {groups}
            <section class="mt-6">
                <h2 class="section-title">{tr!(locale, incentive_appendix_title)}</h2>
                {report.excluded.is_empty().then(|| view! { <p class="mt-2">{tr!(locale, incentive_appendix_none)}</p> })}
                <ul class="list-disc pl-5 mt-2">{appendix}</ul>
            </section>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, incentives_title) />
        <Meta name="robots" content="noindex" />
        <div class="page wide print-sheet">
            <p class="no-print"><a class="link" href="/state/incentives">{tr!(locale, incentives_title)}</a></p>
            <h1 class="page-title">{tr!(locale, incentive_report_title, month = parse_month(&month_param()).map(|m| m.format("%B %Y").to_string()).unwrap_or_default())}</h1>
            <Notice text=done />
            <FormAlert />
            {loaded(content)}
        </div>
    }
}

fn month_param() -> String {
    use_params_map().with_untracked(|p| p.get("month").unwrap_or_default())
}

/// "Make the report now" (state administrators): the previous month's, stored like the job's.
#[server(prefix = "/fn", endpoint = "make_incentive_report")]
pub async fn make_incentive_report() -> Result<(), ServerFnError> {
    let outcome = async {
        let viewer = authorize(Action::ManageIncentives)?;
        let state = AppState::get();
        let tz = zone(&state);
        let month = previous_month(tz, chrono::Utc::now());
        let (s, made) = generate(&state.pool, tz, month).await?;
        audit::record(
            &state.pool,
            &Actor::from_viewer(Some(&viewer), &crate::web::request().ip),
            "incentives.report",
            Some(&format!("month:{}", month.format("%Y-%m"))),
            Outcome::Ok,
            serde_json::json!({ "made_now": made, "sha256": s.sha256 }),
        )
        .await?;
        Ok(format!("/state/incentives/{}", month.format("%Y-%m")))
    }
    .await;
    finish("/state/incentives", outcome)
}

/// A state administrator decides one organization's eligibility, with a reason (audited). It
/// counts from the next report made; reports already made never change.
#[server(prefix = "/fn", endpoint = "set_incentive_eligibility")]
pub async fn set_incentive_eligibility(
    organization_id: String,
    eligible: String,
    reason: String,
) -> Result<(), ServerFnError> {
    let outcome = async {
        let viewer = authorize(Action::ManageIncentives)?;
        let state = AppState::get();
        let org = Uuid::parse_str(organization_id.trim()).map_err(|_| Problem::new("not_found"))?;
        let reason = crate::text::required(&reason, crate::text::limits::NOTE)?;
        let eligible = eligible == "yes";
        let mut tx = state.pool.begin().await?;
        let partner: Option<Uuid> = sqlx::query_scalar(
            "SELECT organization_id FROM partner_organizations WHERE organization_id = $1",
        )
        .bind(org)
        .fetch_optional(&mut *tx)
        .await?;
        partner.ok_or(Problem::new("not_found"))?;
        sqlx::query(
            "INSERT INTO incentive_overrides (organization_id, eligible, reason, set_by) VALUES ($1, $2, $3, $4)",
        )
        .bind(org)
        .bind(eligible)
        .bind(&reason)
        .bind(viewer.user_id)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut *tx,
            &Actor::from_viewer(Some(&viewer), &crate::web::request().ip),
            "incentives.eligibility",
            Some(&format!("organization:{org}")),
            Outcome::Ok,
            serde_json::json!({ "eligible": eligible, "reason": reason }),
        )
        .await?;
        tx.commit().await?;
        Ok("/state/incentives?done=eligibility".to_string())
    }
    .await;
    finish("/state/incentives", outcome)
}
