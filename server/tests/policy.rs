//! The policy table against the real router: every page, route and server function is listed,
//! and each answers every role (and anonymous) exactly as the table says.

mod common;

use app::policy::{self, allows, Method, Role, ROUTES};
use common::*;
use reqwest::cookie::{CookieStore, Jar};
use sqlx::PgPool;
use std::sync::Arc;

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
        .replace(":page", "home")
        .replace('*', "missing.js")
}

/// A signed-in browser for every role (and one for anonymous), with their cookie jars.
async fn clients_for_every_role(
    pool: &PgPool,
    app: &TestApp,
) -> Vec<(Role, reqwest::Client, Arc<Jar>)> {
    let org = partner_organization(pool, "hospital").await;
    let (anonymous, jar) = browser_with_jar();
    let mut clients = vec![(Role::Anonymous, anonymous, jar)];
    for role in Role::ALL.into_iter().filter(|r| *r != Role::Anonymous) {
        let (stored_role, onboarded) = match role {
            Role::Onboarding => (Role::PartnerStaff, false),
            r => (r, true),
        };
        let organization = stored_role.is_partner().then_some(org);
        let (_, email, secret) = person(pool, stored_role, organization, onboarded).await;
        let (client, jar) = browser_with_jar();
        let landed = app.sign_in(&client, &email, &secret).await;
        assert!(
            !landed.contains("error="),
            "{role:?} could not sign in: {landed}"
        );
        clients.push((role, client, jar));
    }
    clients
}

fn browser_with_jar() -> (reqwest::Client, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    (client, jar)
}

/// A GET of `path` exactly as written (reqwest, like browsers, would resolve `.` and `..`
/// itself), with the session cookie: (status, Location, body).
async fn raw_get(app: &TestApp, path: &str, jar: &Jar) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let base: reqwest::Url = app.base.parse().unwrap();
    let cookie = jar
        .cookies(&base)
        .map(|c| format!("Cookie: {}\r\n", c.to_str().unwrap()))
        .unwrap_or_default();
    let host = base.host_str().unwrap().to_string();
    let port = base.port().unwrap();
    let mut stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/html\r\n{cookie}Connection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let location = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("location"))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_default();
    (status, location, body.to_string())
}

/// Every GET route, spelled every other way a browser, a proxy or an attacker might spell it,
/// for every role: the answer is a redirect to the canonical path or a bare 404, decided before
/// routing, and never a page.
#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn no_other_spelling_of_a_path_reaches_a_page(pool: PgPool) {
    load_small_demo(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let clients = clients_for_every_role(&pool, &app).await;
    let mut wrong = Vec::new();
    for (method, pattern, _) in ROUTES {
        if *method != Method::Get {
            continue;
        }
        let p = example(pattern);
        let inner = p.strip_prefix('/').unwrap_or(&p).to_string();
        let second_slash = inner.replacen('/', "%2F", 1);
        let mut variants = vec![
            (format!("{p}/."), false),
            (format!("/x/..{p}"), false),
            (format!("/.{p}"), false),
            (format!("/{p}"), false),
            (format!("/%2E/{inner}"), false),
            (format!("/%2e%2e/{inner}"), false),
            (format!("/{second_slash}"), false),
            (format!("{p}%2F"), false),
            (
                format!(
                    "/%{:02X}{}",
                    inner.as_bytes().first().copied().unwrap_or(b'x'),
                    inner.get(1..).unwrap_or("")
                ),
                false,
            ),
            (format!("/{}", inner.replacen('/', "\\", 1)), false),
        ];
        if p != "/" {
            variants.push((format!("{p}/"), true));
        }
        for (variant, redirects) in variants {
            if variant == p {
                continue;
            }
            for (role, _, jar) in &clients {
                let (status, location, body) = raw_get(&app, &variant, jar).await;
                let fine = if redirects {
                    status == 308 && location == p
                } else {
                    matches!(status, 400 | 404) && body.len() < 400 && !body.contains("<main")
                };
                if !fine {
                    wrong.push(format!(
                        "{role:?} GET {variant}: {status} {location} ({} bytes)",
                        body.len()
                    ));
                }
            }
        }
        // Spellings that are canonical but match no route reach the not-found page, which has
        // no routes: never the page.
        if p.len() > 1 {
            let shouted = p.to_uppercase();
            for (role, _, jar) in &clients {
                let (status, _, body) = raw_get(&app, &shouted, jar).await;
                if status != 404 || !body.contains("find that page") {
                    wrong.push(format!("{role:?} GET {shouted}: {status}"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "paths that reached something:\n{}",
        wrong.join("\n")
    );
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn every_route_answers_every_role_as_the_policy_says(pool: PgPool) {
    load_small_demo(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let clients: Vec<(Role, reqwest::Client)> = clients_for_every_role(&pool, &app)
        .await
        .into_iter()
        .map(|(r, c, _)| (r, c))
        .collect();

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
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                wrong.push(format!(
                    "{role:?} {method:?} {path}: {status} {}",
                    &body[..body.len().min(200)]
                ));
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

/// The kinds of bytes no text field may carry, percent-encoded: NUL, other C0 controls, DEL, a C1
/// control, and broken UTF-8.
const HOSTILE: &[&str] = &[
    "%00",
    "%01",
    "%1B",
    "%7F",
    "%C2%85",
    "%FF",
    "%C3",
    "%ED%A0%80",
];

/// Rows that any form could create; none may appear when the input is refused.
async fn stored(pool: &PgPool) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "users",
        "claims",
        "invitations",
        "residents",
        "consent_events",
        "consent_requests",
        "household_members",
        "resident_notes",
        "saved_programs",
        "referrals",
        "referral_events",
        "outreach",
        "outbox",
        "idempotency_keys",
        "agreement_acceptances",
        "assessments",
        "sdoh_indicators",
    ] {
        counts.push(
            sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
                .fetch_one(pool)
                .await
                .unwrap(),
        );
    }
    counts
}

/// Every route and server function, for an anonymous visitor and signed-in people, gets each
/// kind of hostile byte in its query, its form body and a JSON body: a 400 that says what is
/// wrong, never a 5xx, and nothing stored. A control byte in the path is a 404.
#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn hostile_bytes_anywhere_are_refused_and_change_nothing(pool: PgPool) {
    load_small_demo(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let clients = clients_for_every_role(&pool, &app).await;
    let before = stored(&pool).await;
    let fields = [
        "name",
        "email",
        "password",
        "confirm",
        "note",
        "reason",
        "result",
        "method",
        "code",
        "token",
        "q",
        "phone",
        "job_title",
        "org_type",
        "organization_id",
        "referral_id",
        "version",
        "action",
        "queue",
        "program_id",
        "decision",
        "claim_id",
    ];
    let mut wrong = Vec::new();
    for (method, pattern, _) in ROUTES {
        let path = example(pattern);
        for (role, client, _) in clients
            .iter()
            .filter(|(r, ..)| matches!(r, Role::Anonymous | Role::PartnerStaff | Role::StateAdmin))
        {
            for bad in HOSTILE {
                let responses = match method {
                    Method::Get => vec![
                        app.get_with(client, &format!("{path}?q=ok{bad}x&lang=en"))
                            .await,
                    ],
                    Method::Post => {
                        let body: String = fields
                            .iter()
                            .map(|f| {
                                if *f == "note" || *f == "name" {
                                    format!("{f}=a{bad}b")
                                } else {
                                    format!("{f}=x")
                                }
                            })
                            .collect::<Vec<_>>()
                            .join("&");
                        let form = client
                            .post(format!("{}{path}", app.base))
                            .header("Origin", &app.base)
                            .header("Sec-Fetch-Site", "same-origin")
                            .header("Content-Type", "application/x-www-form-urlencoded")
                            .body(body)
                            .send()
                            .await
                            .unwrap();
                        let json_bad = match *bad {
                            "%00" => "\\u0000",
                            "%01" => "\\u0001",
                            "%1B" => "\\u001b",
                            "%7F" => "\\u007f",
                            _ => "\\u0085",
                        };
                        let json = client
                            .post(format!("{}{path}", app.base))
                            .header("Origin", &app.base)
                            .header("Sec-Fetch-Site", "same-origin")
                            .header("Content-Type", "application/json")
                            .body(format!("{{\"name\": \"a{json_bad}b\"}}"))
                            .send()
                            .await
                            .unwrap();
                        vec![form, json]
                    }
                };
                for r in responses {
                    let status = r.status().as_u16();
                    let body = r.text().await.unwrap_or_default();
                    if status != 400
                        || !(body.contains("control characters")
                            || body.contains("not readable text"))
                    {
                        wrong.push(format!("{role:?} {method:?} {path} with {bad}: {status}"));
                    }
                }
            }
        }
    }
    // A control byte in the path itself.
    let (status, ..) = raw_get(&app, "/search%00", &clients[0].2).await;
    assert_eq!(status, 404);
    // An enormous form is refused before anything reads it.
    let huge = format!("note={}", "a".repeat(server::input::MAX_BODY_BYTES + 1));
    let r = app
        .client
        .post(format!("{}/fn/sign_in", app.base))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    assert!(wrong.is_empty(), "answered wrongly:\n{}", wrong.join("\n"));
    assert_eq!(
        stored(&pool).await,
        before,
        "refused input stored something"
    );
}
