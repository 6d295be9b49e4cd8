//! `/partner`: the organization's home for its people. The day's work first (the inbox with its
//! count of new referrals, referrals sent, finding services), then the dashboard (received and
//! sent counted apart, each labelled), the listing, the partnership.

use super::{store, OrgType};
use crate::forms::{date, loaded};
use crate::identity::pages::role_label;
use crate::layout::set_status;
use crate::policy::{allows, Action};
use crate::state::AppState;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};

#[component]
pub fn PartnerDashboardPage() -> impl IntoView {
    let locale = crate::language::current();
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
        // The statewide metrics' definitions (app/src/metrics), over what this organization
        // received and what it sent, counted apart.
        let now = chrono::Utc::now();
        let tz = crate::metrics::deployment_zone(&state.deployment);
        let year = crate::metrics::this_year(tz, now);
        let over = |scope| crate::metrics::Filters {
            scope,
            org_type: None,
            year,
        };
        let (received_filters, sent_filters) = (
            over(crate::metrics::Scope::Received(org.id)),
            over(crate::metrics::Scope::Sent(org.id)),
        );
        // Independent reads on their own connections, at once: the page waits for the slowest.
        let (received, sent, new_count) = tokio::join!(
            crate::metrics::compute_for_dashboard(&state.pool, &received_filters, tz, now),
            crate::metrics::compute_for_dashboard(&state.pool, &sent_filters, tz, now),
            crate::referrals::store::tab_counts(&state.pool, org.id, true, None, None),
        );
        let (received, sent) = (received.unwrap_or_default(), sent.unwrap_or_default());
        let reasons = received.top_reasons.clone();
        let months: Vec<_> = received
            .months
            .iter()
            .zip(&sent.months)
            .map(|((m, got, closed, _), (_, sent, _, _))| (*m, *got, *closed, *sent))
            .collect();
        let new_count = new_count.map(|(n, ..)| n).unwrap_or_default();
        let peak = months
            .iter()
            .map(|(_, a, b, c)| (*a).max(*b).max(*c))
            .max()
            .unwrap_or(0)
            .max(1);
        let bar = move |n: i64, class: &'static str| {
            let w = format!("{}%", (100 * n) / peak);
            view! { <svg class="bar" width="100" height="10" aria-hidden="true"><rect height="10" width=w class=class /></svg>" "{n} }
        };
        let bars = months
            .iter()
            .map(|(m, got, closed, sent)| {
                view! {
                    <tr>
                        <th scope="row">{crate::forms::month_year(*m)}</th>
                        <td>{bar(*got, "bar-created")}</td>
                        <td>{bar(*closed, "bar-closed")}</td>
                        <td>{bar(*sent, "bar-sent")}</td>
                    </tr>
                }
            })
            .collect_view();
        let listing = store::listing(&state.pool, org.id)
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
        let rate = received
            .closure_rate()
            .map(|r| format!("{r}%"))
            .unwrap_or_else(|| "–".into());
        let median = received
            .median_days_to_close
            .map(|d| format!("{d:.1}"))
            .unwrap_or_else(|| "–".into());
        let team_link = allows(viewer.effective_role(), Action::ManageTeam).then(|| {
            view! { <li><a class="list-link" href="/partner/team">{tr!(locale, link_team)}</a></li> }
        });
        view! {
            <h2 class="section-title mt-4">{tr!(locale, your_work)}</h2>
            <ul class="work-links mt-2" data-testid="partner-work">
                <li><a class="list-link" href="/referrals/inbox">{tr!(locale, work_inbox, count = new_count)}</a></li>
                <li><a class="list-link" href="/referrals/sent">{tr!(locale, link_sent)}</a></li>
                <li><a class="list-link" href="/">{tr!(locale, link_find_services)}</a></li>
                {team_link}
            </ul>
            <h2 class="section-title mt-8">{tr!(locale, dashboard_title)}</h2>
            <div class="table-wrap mt-2" tabindex="0" role="region" aria-label=tr!(locale, dashboard_title)>
                <table class="data-table" data-testid="dashboard-counts">
                    <caption class="sr-only">{tr!(locale, dashboard_title)}</caption>
                    <thead><tr><th scope="col"></th><th scope="col">{tr!(locale, dash_all_time)}</th>
                        <th scope="col">{tr!(locale, dash_this_year)}</th><th scope="col">{tr!(locale, dash_last_30)}</th></tr></thead>
                    <tbody>
                        <tr data-testid="row-received"><th scope="row">{tr!(locale, dash_received)}</th><td>{received.created_all}</td><td>{received.created_year}</td><td>{received.created_30}</td></tr>
                        <tr data-testid="row-received-closed"><th scope="row">{tr!(locale, dash_received_closed)}</th><td>{received.closed_all}</td><td>{received.closed_year}</td><td>{received.closed_30}</td></tr>
                        <tr data-testid="row-sent"><th scope="row">{tr!(locale, dash_sent)}</th><td>{sent.created_all}</td><td>{sent.created_year}</td><td>{sent.created_30}</td></tr>
                        <tr data-testid="row-sent-closed"><th scope="row">{tr!(locale, dash_sent_closed)}</th><td>{sent.closed_all}</td><td>{sent.closed_year}</td><td>{sent.closed_30}</td></tr>
                    </tbody>
                </table>
            </div>
            <h3 class="font-semibold mt-4">{tr!(locale, dash_outcomes_received)}</h3>
            <dl class="facts mt-1" data-testid="dashboard-figures">
                <dt>{tr!(locale, dash_closure_rate)}</dt><dd>{rate}</dd>
                <dt>{tr!(locale, dash_provided)}</dt><dd>{received.provided_30}</dd>
                <dt>{tr!(locale, dash_not_provided)}</dt><dd>{received.not_provided_30}</dd>
                <dt>{tr!(locale, dash_median_days)}</dt><dd>{median}</dd>
            </dl>
            <h3 class="font-semibold mt-4">{tr!(locale, dash_outcomes_sent)}</h3>
            <dl class="facts mt-1" data-testid="dashboard-sent-figures">
                <dt>{tr!(locale, dash_provided)}</dt><dd>{sent.provided_30}</dd>
                <dt>{tr!(locale, dash_not_provided)}</dt><dd>{sent.not_provided_30}</dd>
            </dl>
            <h3 class="font-semibold mt-4">{tr!(locale, dash_top_reasons)}</h3>
            <ol class="mt-1 list-decimal pl-6">{reasons}</ol>
            <h3 class="font-semibold mt-4">{tr!(locale, dash_monthly)}</h3>
            <div class="table-wrap mt-1" tabindex="0" role="region" aria-label=tr!(locale, dash_monthly)>
                <table class="data-table">
                    <thead><tr><th scope="col"></th><th scope="col">{tr!(locale, dash_received)}</th>
                        <th scope="col">{tr!(locale, dash_received_closed)}</th><th scope="col">{tr!(locale, dash_sent)}</th></tr></thead>
                    <tbody>{bars}</tbody>
                </table>
            </div>
            <h2 class="section-title mt-8">{tr!(locale, your_listing)}</h2>
            <ul class="link-list mt-2" data-testid="listing">{listing}</ul>
            <h2 class="section-title mt-8">{tr!(locale, your_organization)}</h2>
            <p class="mt-1">
                <span class="badge badge-partner">{tr!(locale, partner_badge)}</span>
                " "
                {org.onboarded_at.as_ref().map(|d| tr!(locale, partner_since, date = date(d)))}
            </p>
            <dl class="facts mt-2">
                <dt>{tr!(locale, org_type_label)}</dt><dd>{org_type}</dd>
                <dt>{tr!(locale, chapter_label)}</dt><dd>{chapter}</dd>
                <dt>{tr!(locale, programs_listed)}</dt><dd>{org.programs}</dd>
                <dt>{tr!(locale, people_label)}</dt><dd>{org.people}</dd>
                <dt>{tr!(locale, your_role)}</dt><dd>{role_label(locale, viewer.effective_role())}</dd>
                {org.incentive_enrolled.then(|| view! {
                    <dt>{tr!(locale, incentives_label)}</dt><dd>{tr!(locale, incentives_enrolled)}</dd>
                })}
            </dl>
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
