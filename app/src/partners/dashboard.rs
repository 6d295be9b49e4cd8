//! `/partner`: the organization's home for its people. Referral numbers join it with the
//! referrals issue; today it shows the partnership, the listing and the team.

use super::{store, OrgType};
use crate::forms::{date, loaded};
use crate::i18n::*;
use crate::identity::pages::role_label;
use crate::layout::set_status;
use crate::policy::{allows, Action};
use crate::state::AppState;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};

#[component]
pub fn PartnerDashboardPage() -> impl IntoView {
    let locale = use_i18n().get_locale_untracked();
    let viewer = crate::web::request().viewer;
    let content = async move {
        let state = AppState::get();
        let Some(viewer) = viewer else {
            return ().into_any();
        };
        let org = match viewer.organization_id {
            Some(id) => store::partner_organization(&state.pool, id)
                .await
                .ok()
                .flatten(),
            None => None,
        };
        let Some(org) = org else {
            set_status(404);
            return view! { <p role="alert">{tr!(locale, err_org_not_found)}</p> }.into_any();
        };
        let chapter = state
            .deployment
            .onboarding
            .chapter(&org.chapter)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let org_type = OrgType::parse(&org.org_type)
            .map(|t| t.label(locale))
            .unwrap_or_default();
        let now = chrono::Utc::now();
        // Three independent reads on three connections, at once: the page waits for the slowest.
        let (figures, reasons, months) = tokio::join!(
            crate::referrals::store::figures(&state.pool, org.id, now),
            crate::referrals::store::top_reasons(&state.pool, org.id),
            crate::referrals::store::monthly(&state.pool, org.id, now),
        );
        let (figures, reasons, months) = (
            figures.unwrap_or_default(),
            reasons.unwrap_or_default(),
            months.unwrap_or_default(),
        );
        let peak = months
            .iter()
            .map(|(_, c, d)| (*c).max(*d))
            .max()
            .unwrap_or(0)
            .max(1);
        let bars = months
            .iter()
            .map(|(m, created, closed)| {
                let w = |n: i64| format!("{}%", (100 * n) / peak);
                view! {
                    <tr>
                        <th scope="row">{m.format("%b %Y").to_string()}</th>
                        <td><svg class="bar" width="100" height="10" aria-hidden="true"><rect height="10" width=w(*created) class="bar-created" /></svg>" "{*created}</td>
                        <td><svg class="bar" width="100" height="10" aria-hidden="true"><rect height="10" width=w(*closed) class="bar-closed" /></svg>" "{*closed}</td>
                    </tr>
                }
            })
            .collect_view();
        let listing: Vec<(uuid::Uuid, String)> = sqlx::query_as(
            "SELECT sal.id, s.name FROM service_at_locations sal JOIN services s ON s.id = sal.service_id
              WHERE s.organization_id = $1 AND s.active ORDER BY s.name, sal.id LIMIT 10",
        )
        .bind(org.id)
        .fetch_all(&state.pool)
        .await
        .unwrap_or_default();
        let listing = listing
            .into_iter()
            .map(|(id, name)| view! { <li><a class="link" href=format!("/programs/{id}")>{name}</a></li> })
            .collect_view();
        let reasons = reasons
            .into_iter()
            .map(|(r, n)| view! { <li>{format!("{} ({n})", crate::referrals::pages::reason_label(locale, &r))}</li> })
            .collect_view();
        let rate = figures
            .closure_rate()
            .map(|r| format!("{r:.0}%"))
            .unwrap_or_else(|| "–".into());
        let median = figures
            .median_days_to_close
            .map(|d| format!("{d:.1}"))
            .unwrap_or_else(|| "–".into());
        let team_link = allows(viewer.effective_role(), Action::ManageTeam).then(|| {
            view! { <li><a class="link" href="/partner/team">{tr!(locale, link_team)}</a></li> }
        });
        view! {
            <p class="mt-1">
                <span class="badge badge-partner">{tr!(locale, partner_badge)}</span>
                " "
                {org.onboarded_at.as_ref().map(|d| tr!(locale, partner_since, date = date(d)))}
            </p>
            <dl class="facts mt-4">
                <dt>{tr!(locale, org_type_label)}</dt><dd>{org_type}</dd>
                <dt>{tr!(locale, chapter_label)}</dt><dd>{chapter}</dd>
                <dt>{tr!(locale, programs_listed)}</dt><dd>{org.programs}</dd>
                <dt>{tr!(locale, people_label)}</dt><dd>{org.people}</dd>
                <dt>{tr!(locale, your_role)}</dt><dd>{role_label(locale, viewer.effective_role())}</dd>
                {org.incentive_enrolled.then(|| view! {
                    <dt>{tr!(locale, incentives_label)}</dt><dd>{tr!(locale, incentives_enrolled)}</dd>
                })}
            </dl>
            <h2 class="section-title mt-6">{tr!(locale, dashboard_title)}</h2>
            <div class="table-wrap mt-2">
                <table class="data-table" data-testid="dashboard-counts">
                    <thead><tr><th scope="col"></th><th scope="col">{tr!(locale, dash_all_time)}</th>
                        <th scope="col">{tr!(locale, dash_this_year)}</th><th scope="col">{tr!(locale, dash_last_30)}</th></tr></thead>
                    <tbody>
                        <tr><th scope="row">{tr!(locale, dash_created)}</th><td>{figures.created_all}</td><td>{figures.created_year}</td><td>{figures.created_30}</td></tr>
                        <tr><th scope="row">{tr!(locale, dash_closed)}</th><td>{figures.closed_all}</td><td>{figures.closed_year}</td><td>{figures.closed_30}</td></tr>
                    </tbody>
                </table>
            </div>
            <dl class="facts mt-4" data-testid="dashboard-figures">
                <dt>{tr!(locale, dash_closure_rate)}</dt><dd>{rate}</dd>
                <dt>{tr!(locale, dash_provided)}</dt><dd>{figures.provided}</dd>
                <dt>{tr!(locale, dash_not_provided)}</dt><dd>{figures.not_provided}</dd>
                <dt>{tr!(locale, dash_median_days)}</dt><dd>{median}</dd>
            </dl>
            <h3 class="font-semibold mt-4">{tr!(locale, dash_top_reasons)}</h3>
            <ol class="mt-1 list-decimal pl-6">{reasons}</ol>
            <h3 class="font-semibold mt-4">{tr!(locale, dash_monthly)}</h3>
            <div class="table-wrap mt-1">
                <table class="data-table">
                    <thead><tr><th scope="col"></th><th scope="col">{tr!(locale, dash_created)}</th><th scope="col">{tr!(locale, dash_closed)}</th></tr></thead>
                    <tbody>{bars}</tbody>
                </table>
            </div>
            <h2 class="section-title mt-6">{tr!(locale, your_listing)}</h2>
            <ul class="link-list mt-2" data-testid="listing">{listing}</ul>
            <h2 class="section-title mt-6">{tr!(locale, your_work)}</h2>
            <ul class="link-list mt-2">
                <li><a class="link" href="/">{tr!(locale, link_find_services)}</a></li>
                <li><a class="link" href="/referrals/inbox">{tr!(locale, link_inbox)}</a></li>
                <li><a class="link" href="/referrals/sent">{tr!(locale, link_sent)}</a></li>
                {team_link}
                <li><a class="link" href="/account">{tr!(locale, account_title)}</a></li>
            </ul>
        }
        .into_any()
    };
    let title = crate::web::request()
        .viewer
        .and_then(|v| v.organization_name)
        .unwrap_or_else(|| tr!(locale, partner_dashboard_title));
    view! {
        <Title text=tr!(locale, partner_dashboard_title) />
        <Meta name="robots" content="noindex" />
        <div class="page">
            <h1 class="page-title">{title}</h1>
            {loaded(content)}
        </div>
    }
}
