//! `/partner/team`: a partner admin invites people, changes their role, deactivates them.

use super::{assignable_roles, store};
use crate::forms::{date, loaded, query, FormAlert, Notice};
use crate::identity::pages::role_label;
use crate::policy::Role;
use crate::state::AppState;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};

#[component]
pub fn TeamPage() -> impl IntoView {
    let locale = crate::language::current();
    let viewer = crate::web::request().viewer;
    let done = query("done").map(|d| match d.as_str() {
        "invited" => tr!(locale, team_invited_notice),
        "role" => tr!(locale, team_role_notice),
        _ => tr!(locale, team_deactivated_notice),
    });
    let content = async move {
        let state = AppState::get();
        let Some(viewer) = viewer else {
            return ().into_any();
        };
        let Some(org) = viewer.organization_id else {
            return ().into_any();
        };
        let (Ok(people), Ok(invitations)) = (
            store::team(&state.pool, org).await,
            store::open_invitations(&state.pool, org).await,
        ) else {
            crate::layout::set_status(503);
            return view! { <p role="alert">{tr!(locale, err_unavailable)}</p> }.into_any();
        };
        let roles = assignable_roles(viewer.org_type.as_deref());
        let role_options = move |selected: &str| {
            roles
                .iter()
                .map(|r| {
                    view! { <option value=r.as_str() selected=r.as_str() == selected>{role_label(locale, *r)}</option> }
                })
                .collect_view()
        };
        let rows = people
            .into_iter()
            .map(|p| {
                let role = Role::parse(&p.role).map(|r| role_label(locale, r)).unwrap_or_default();
                let status = if !p.active {
                    tr!(locale, status_deactivated)
                } else if p.onboarded {
                    tr!(locale, status_active)
                } else {
                    tr!(locale, status_onboarding)
                };
                let actions = (p.active && p.id != viewer.user_id).then(|| {
                    let id = p.id.to_string();
                    let label = tr!(locale, role_for, name = p.name.clone());
                    view! {
                        <form class="inline-form" method="post" action="/fn/change_user_role">
                            <input type="hidden" name="user_id" value=id.clone() />
                            <select class="field w-full" name="role" aria-label=label>{role_options(&p.role)}</select>
                            <button class="button-secondary" type="submit">{tr!(locale, change_role_button)}</button>
                        </form>
                        <form class="inline-form" method="post" action="/fn/deactivate_user">
                            <input type="hidden" name="user_id" value=id />
                            <button class="button-danger" type="submit">{tr!(locale, deactivate_button)}</button>
                        </form>
                    }
                });
                view! {
                    <li class="card">
                        <p class="card-title">{p.name.clone()}</p>
                        <p class="text-sm">{format!("{} · {} · {}", p.email, role, status)}</p>
                        {actions}
                    </li>
                }
            })
            .collect_view();
        let pending = invitations
            .into_iter()
            .map(|i| {
                let role = Role::parse(&i.role)
                    .map(|r| role_label(locale, r))
                    .unwrap_or_default();
                view! {
                    <li class="text-sm">{format!("{} <{}> · {} · ", i.name, i.email, role)}
                        {tr!(locale, invitation_expires, date = date(&i.expires_at))}</li>
                }
            })
            .collect_view();
        view! {
            <h2 class="section-title mt-6">{tr!(locale, team_people)}</h2>
            <ul class="stack mt-2">{rows}</ul>
            <h2 class="section-title mt-6">{tr!(locale, team_pending)}</h2>
            <ul class="stack mt-2">{pending}</ul>
            <h2 class="section-title mt-6">{tr!(locale, team_invite)}</h2>
            <form class="stack mt-2" method="post" action="/fn/invite_user">
                <input type="hidden" name="idempotency_key" value=crate::idempotency::new_key() />
                <label class="form-field">
                    <span class="field-label">{tr!(locale, name_label)}</span>
                    <input class="field w-full" name="name" required maxlength="200" />
                </label>
                <label class="form-field">
                    <span class="field-label">{tr!(locale, work_email_label)}</span>
                    <input class="field w-full" type="email" name="email" required maxlength="254" />
                </label>
                <label class="form-field">
                    <span class="field-label">{tr!(locale, role_label)}</span>
                    <select class="field w-full" name="role">{role_options(Role::PartnerStaff.as_str())}</select>
                </label>
                <button class="button-primary" type="submit">{tr!(locale, invite_button)}</button>
            </form>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, team_title) />
        <Meta name="robots" content="noindex" />
        <div class="page">
            <p><a class="link" href="/partner">{tr!(locale, back_to_dashboard)}</a></p>
            <h1 class="page-title">{tr!(locale, team_title)}</h1>
            <Notice text=done />
            <FormAlert />
            {loaded(content)}
        </div>
    }
}
