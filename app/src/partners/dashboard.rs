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
        let Some(viewer) = viewer else { return ().into_any() };
        let org = match viewer.organization_id {
            Some(id) => store::partner_organization(&state.pool, id).await.ok().flatten(),
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
        let org_type = OrgType::parse(&org.org_type).map(|t| t.label(locale)).unwrap_or_default();
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
            <h2 class="section-title mt-6">{tr!(locale, your_work)}</h2>
            <ul class="link-list mt-2">
                <li><a class="link" href="/">{tr!(locale, link_find_services)}</a></li>
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
