//! The policy table against the real router: every page, route and server function is listed,
//! and each answers every role (and anonymous) exactly as the table says.

mod common;

use app::policy::{self, allows, Method, Role, ROUTES};
use common::*;
use sqlx::PgPool;

#[tokio::test]
async fn every_page_and_server_function_has_a_policy_entry() {
    let deployment = deployment();
    let (pages, _) = leptos_axum::generate_route_list_with_exclusions_and_ssg_and_context(
        app::App,
        None,
        move || leptos::prelude::provide_context(deployment.clone()),
    );
    let mut missing = Vec::new();
    assert!(pages.len() >= 25, "{} pages", pages.len());
    assert!(leptos::server_fn::axum::server_fn_paths().count() >= 14);
    for page in pages {
        let path = page.path().to_string();
        if policy::action_for(Method::Get, &path).is_none() {
            missing.push(format!("GET {path}"));
        }
    }
    for (path, _method) in leptos::server_fn::axum::server_fn_paths() {
        if policy::action_for(Method::Post, path).is_none() {
            missing.push(format!("POST {path}"));
        }
    }
    assert!(
        missing.is_empty(),
        "routes without a policy entry: {missing:?}"
    );
}

/// A concrete path for a route pattern.
fn example(pattern: &str) -> String {
    pattern
        .replace(":id", "00000000-0000-0000-0000-000000000000")
        .replace(":code", "abcdefghjkmn")
        .replace(":token", "no-such-token")
        .replace('*', "missing.js")
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn every_route_answers_every_role_as_the_policy_says(pool: PgPool) {
    load_small_demo(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let org = partner_organization(&pool, "hospital").await;
    let mut clients = vec![(Role::Anonymous, browser())];
    for role in Role::ALL.into_iter().filter(|r| *r != Role::Anonymous) {
        let (stored_role, onboarded) = match role {
            Role::Onboarding => (Role::PartnerStaff, false),
            r => (r, true),
        };
        let organization = stored_role.is_partner().then_some(org);
        let (_, email, secret) = person(&pool, stored_role, organization, onboarded).await;
        let client = browser();
        let landed = app.sign_in(&client, &email, &secret).await;
        assert!(
            !landed.contains("error="),
            "{role:?} could not sign in: {landed}"
        );
        clients.push((role, client));
    }

    let mut wrong = Vec::new();
    // Signing out is a route too: walk it last, so every session lasts the whole walk.
    let mut routes: Vec<_> = ROUTES.iter().collect();
    routes.sort_by_key(|(_, pattern, _)| *pattern == "/fn/sign_out");
    for (method, pattern, action) in routes {
        let path = example(pattern);
        for (role, client) in &clients {
            let response = match method {
                Method::Get => app.get_with(client, &path).await,
                Method::Post => app.post_form(client, &path, &[]).await,
            };
            let refused = response.headers().contains_key("x-wraparound-refused");
            let expected_refused = !allows(*role, *action);
            if refused != expected_refused {
                wrong.push(format!(
                    "{role:?} {method:?} {path}: {} (refused: {refused}, policy says refused: {expected_refused})",
                    response.status()
                ));
            }
            if refused {
                let status = response.status().as_u16();
                assert!(
                    matches!(status, 303 | 401 | 403),
                    "{role:?} {path}: refusal answered {status}"
                );
            }
            if response.status().is_server_error() {
                wrong.push(format!("{role:?} {method:?} {path}: {}", response.status()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "routes answering against the policy:\n{}",
        wrong.join("\n")
    );

    // Refusals of signed-in people are audited.
    let denied = audited(&pool, "request.denied").await;
    assert!(denied.iter().all(|(outcome, ..)| outcome == "denied"));
    assert!(denied.len() > 20, "{}", denied.len());
}
