//! The HTTP surface: Leptos pages and server functions, the HSDS API, static assets, and the
//! middleware every response passes through (language choice, security headers, compression).

use crate::{hsds, input, oidc};
use app::audit::{self, Actor, Outcome};
use app::config::Deployment;
use app::identity::accounts::{self, Accounts, AuthSession};
use app::identity::session_keys;
use app::policy::{self, Method, Role};
use app::state::AppState;
use app::web::RequestContext;
use app::{not_found_shell, shell, App};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use axum_login::AuthManagerLayerBuilder;
use leptos::prelude::*;
use leptos_axum::{generate_route_list_with_exclusions_and_ssg_and_context, LeptosRoutes};
use sqlx::PgPool;
use std::net::SocketAddr;
use std::sync::Arc;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

/// The cookie that remembers a resident's language choice (`app::language` reads it).
pub const LANGUAGE_COOKIE: &str = app::language::COOKIE;
const LANGUAGES: &[&str] = &["en", "es"];

pub fn router(state: AppState) -> Router {
    let deployment = (*state.deployment).clone();
    let provide_deployment = {
        let deployment = deployment.clone();
        move || provide_context(deployment.clone())
    };
    let (routes, _) = generate_route_list_with_exclusions_and_ssg_and_context(
        App,
        None,
        provide_deployment.clone(),
    );
    let options = state.leptos_options.clone();
    let pkg_dir = format!("{}/{}", options.site_root, options.site_pkg_dir);

    // Hashed file names (cargo-leptos `hash-files`) make the bundle safe to cache for a year.
    let pkg = Router::new()
        .fallback_service(
            ServeDir::new(pkg_dir)
                .precompressed_br()
                .precompressed_gzip(),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        ));

    // Sessions live in Postgres; the cookie is HttpOnly, SameSite=Lax, Secure behind https, and
    // expires after the idle timeout (the absolute timeout is checked by the policy gate).
    let identity = &state.deployment.identity;
    let sessions = SessionManagerLayer::new(PostgresStore::new(state.pool.clone()))
        .with_name("wraparound_session")
        .with_http_only(true)
        .with_same_site(tower_sessions::cookie::SameSite::Lax)
        .with_secure(state.deployment.site.public_url.starts_with("https://"))
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::minutes(identity.idle_timeout_minutes as i64),
        ));
    let auth = AuthManagerLayerBuilder::new(
        Accounts {
            pool: state.pool.clone(),
        },
        sessions,
    )
    .build();

    Router::new()
        .merge(hsds::api::router())
        .route("/auth/oidc/start", get(oidc::start))
        .route("/auth/oidc/callback", get(oidc::callback))
        .route("/sms/inbound", axum::routing::post(crate::sms::inbound))
        .route("/state/metrics/csv", get(crate::metrics::state_csv))
        .route("/united-way/metrics/csv", get(crate::metrics::chapter_csv))
        .route(
            "/state/incentives/{month}/csv",
            get(crate::metrics::incentives_csv),
        )
        .leptos_routes_with_context(&state, routes, provide_deployment.clone(), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .nest_service(&format!("/{}", options.site_pkg_dir), pkg)
        // Files in the site root, or the not-found page (which holds no routes: see
        // `not_found_shell`).
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(provide_deployment, not_found_shell))
        .with_state(state.clone())
        .layer(middleware::from_fn(server_function_errors))
        .layer(middleware::from_fn_with_state(state.clone(), policy_gate))
        .layer(auth)
        .layer(middleware::from_fn(language_from_query))
        // Before routing, sessions and the policy: one spelling of every path, clean text.
        .layer(middleware::from_fn(input::check))
        .layer(middleware::from_fn_with_state(state, security_headers))
        .layer(CompressionLayer::new())
}

/// A server function that fails before it runs (arguments missing or malformed: a page we did
/// not render, or a script) or inside the framework answers with the framework's own text, and a
/// 500 or a redirect to "/". Instead: a browser goes back to the form it came from (the
/// `Referer`, when it is this site) with `error=missing_fields`; anything else gets a 400 (or a
/// 503) in plain words. The detail is logged, never sent.
async fn server_function_errors(req: Request<Body>, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if !path.starts_with("/fn/") {
        return next.run(req).await;
    }
    let browser = header_text(&req, header::ACCEPT).is_some_and(|a| a.contains("text/html"));
    let host = header_text(&req, header::HOST).unwrap_or_default();
    let back = header_text(&req, header::REFERER)
        .and_then(|r| {
            let rest = r.split_once("://")?.1;
            let (referer_host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            (referer_host == host).then(|| path.to_string())
        })
        .and_then(|p| app::web::local_path(&p))
        .unwrap_or_else(|| "/".to_string());
    let response = next.run(req).await;
    if !response.headers().contains_key("serverfnerror") {
        return response;
    }
    let status = response.status();
    if !(status.is_server_error() || status.is_redirection()) {
        // A typed error the function chose (the directory's 400s and 404s).
        return response;
    }
    let (_, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let bad_input = matches!(
        text.split('|').next(),
        Some("Args" | "Deserialization" | "MissingArg" | "Request")
    );
    if bad_input {
        tracing::info!(%path, error = %text, "server function called with missing or malformed arguments");
    } else {
        tracing::error!(%path, error = %text, "server function failed in the framework");
    }
    let code = if bad_input {
        "missing_fields"
    } else {
        "unavailable"
    };
    if browser {
        let to = app::web::with_error(&back, code);
        return match HeaderValue::from_str(&to) {
            Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
            Err(_) => StatusCode::BAD_REQUEST.into_response(),
        };
    }
    if bad_input {
        (
            StatusCode::BAD_REQUEST,
            "Some of the fields this form needs are missing or not in the right form.",
        )
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Please try again in a minute.",
        )
            .into_response()
    }
}

/// `?lang=es` on any page: use that language now and remember it (a link can carry it).
async fn language_from_query(mut req: Request<Body>, next: Next) -> Response {
    let chosen = req
        .uri()
        .query()
        .and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "lang")
                .map(|(_, v)| v.into_owned())
        })
        .filter(|l| LANGUAGES.contains(&l.as_str()));
    let Some(lang) = chosen else {
        return next.run(req).await;
    };
    // The page being rendered reads the language from the cookie header: put the choice there.
    let others: Vec<String> = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';').map(|c| c.trim().to_string()))
        .filter(|c| !c.is_empty() && !c.starts_with(&format!("{LANGUAGE_COOKIE}=")))
        .collect();
    let mut cookie = others;
    cookie.push(format!("{LANGUAGE_COOKIE}={lang}"));
    if let Ok(v) = HeaderValue::from_str(&cookie.join("; ")) {
        req.headers_mut().remove(header::COOKIE);
        req.headers_mut().insert(header::COOKIE, v);
    }
    let mut response = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LANGUAGE_COOKIE}={lang}; Path=/; Max-Age=31536000; SameSite=Lax"
    )) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// The one place every request is authorized. It refuses cross-site state changes (CSRF), finds
/// who is signed in (ending sessions past the absolute timeout), asks the policy table whether
/// their role may perform the route's action, audits refusals, and hands the answer to pages
/// and server functions as a [`RequestContext`].
async fn policy_gate(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: Request<Body>,
    next: Next,
) -> Response {
    let ip = client_ip(&req, &state.deployment.site.trusted_proxies);
    let path = req.uri().path().to_string();
    let method = match *req.method() {
        axum::http::Method::GET | axum::http::Method::HEAD => Method::Get,
        _ if hsds::api::is_api_path(&path) => return hsds::api::method_not_allowed(),
        axum::http::Method::POST => Method::Post,
        _ => return StatusCode::METHOD_NOT_ALLOWED.into_response(),
    };
    if method == Method::Post && is_cross_site(&req, &state.deployment) {
        audit::record_refusal(
            &state.pool,
            &Actor {
                ip,
                ..Actor::default()
            },
            "request.cross_site_refused",
            Some(&path),
            Outcome::Denied,
            serde_json::json!({ "origin": header_text(&req, header::ORIGIN) }),
        )
        .await;
        return (StatusCode::FORBIDDEN, "Cross-site request refused.").into_response();
    }

    let viewer = match req.extensions().get::<AuthSession>().cloned() {
        Some(mut auth) => match auth.user.clone() {
            Some(user) => {
                let signed_in_at: Option<i64> = auth
                    .session
                    .get(session_keys::SIGNED_IN_AT)
                    .await
                    .ok()
                    .flatten();
                let limit = state.deployment.identity.absolute_timeout_hours as i64 * 3600;
                let expired =
                    signed_in_at.is_none_or(|t| chrono::Utc::now().timestamp() - t > limit);
                if expired {
                    let _ = auth.logout().await;
                    None
                } else {
                    match accounts::viewer(&state.pool, user.id).await {
                        Ok(v) => v,
                        Err(e) => {
                            tracing::error!(error = %e, "loading the signed-in user failed");
                            return (
                                StatusCode::SERVICE_UNAVAILABLE,
                                "Please try again in a minute.",
                            )
                                .into_response();
                        }
                    }
                }
            }
            None => None,
        },
        None => None,
    };
    let role = viewer
        .as_ref()
        .map_or(Role::Anonymous, |v| v.effective_role());

    let Some(action) = policy::action_for(method, &path) else {
        // Unknown pages fall through to the not-found page; unknown server functions and posts
        // are refused outright.
        if method == Method::Post || path.starts_with("/fn/") {
            return StatusCode::NOT_FOUND.into_response();
        }
        let signed_in = viewer.is_some();
        req.extensions_mut().insert(RequestContext { viewer, ip });
        return private_if(signed_in, next.run(req).await);
    };
    if !policy::allows(role, action) {
        if role != Role::Anonymous {
            audit::record_refusal(
                &state.pool,
                &Actor::from_viewer(viewer.as_ref(), &ip),
                "request.denied",
                Some(&path),
                Outcome::Denied,
                serde_json::json!({ "action": format!("{action:?}"), "role": role.as_str() }),
            )
            .await;
        }
        return private_if(
            viewer.is_some(),
            refusal(method, role, &path, viewer.as_ref()),
        );
    }
    let signed_in = viewer.is_some();
    req.extensions_mut().insert(RequestContext { viewer, ip });
    let response = next.run(req).await;
    private_if(signed_in, response)
}

/// Whatever a signed-in person is sent may carry their data or someone else's: no cache, shared
/// or private, keeps a copy.
fn private_if(signed_in: bool, mut response: Response) -> Response {
    if signed_in {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// How a refusal looks: a page asks an anonymous visitor to sign in and sends someone still
/// onboarding back to it; everything else is a plain 403.
fn refusal(
    method: Method,
    role: Role,
    path: &str,
    viewer: Option<&app::identity::Viewer>,
) -> Response {
    let mut response = match (method, role) {
        (Method::Get, Role::Anonymous) => Redirect::to(&format!(
            "/sign-in?next={}",
            app::identity::urlencode(path)
        ))
        .into_response(),
        (Method::Get, Role::Onboarding) => {
            Redirect::to(viewer.map_or("/onboarding", |v| v.home())).into_response()
        }
        (Method::Post, Role::Anonymous) => {
            (StatusCode::UNAUTHORIZED, "Please sign in.").into_response()
        }
        _ => (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<!DOCTYPE html><html lang=\"en\"><title>Not allowed</title><main><h1>You do not have access to this page</h1><p><a href=\"/account\">Go to your account</a></p></main></html>",
        )
            .into_response(),
    };
    // Marks the answer as the policy's (the policy test tells refusals from pages that
    // redirect on their own).
    response
        .headers_mut()
        .insert("x-wraparound-refused", HeaderValue::from_static("policy"));
    response
}

fn header_text(req: &Request<Body>, name: header::HeaderName) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A state-changing request from another site: the browser says so (`Sec-Fetch-Site`), or its
/// `Origin` is neither this host nor the configured public URL. Requests without either header
/// come from non-browser clients, which carry no ambient cookies to abuse. A browser that says
/// `same-origin` is believed (a page cannot forge it): pages that send no referrer, such as the
/// consent page whose URL holds a token, post with `Origin: null`.
fn is_cross_site(req: &Request<Body>, deployment: &Deployment) -> bool {
    if let Some(site) = header_text(req, header::HeaderName::from_static("sec-fetch-site")) {
        return site != "same-origin" && site != "none";
    }
    let Some(origin) = header_text(req, header::ORIGIN) else {
        return false;
    };
    let host = header_text(req, header::HOST).unwrap_or_default();
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'))
        .unwrap_or("");
    origin != deployment.site.public_url && origin_host != host
}

/// The client's address: the TCP peer, unless the peer is one of the deployment's trusted
/// proxies, in which case the nearest address in `X-Forwarded-For` that is not a trusted proxy
/// (anything further left could have been written by the client itself).
fn client_ip(req: &Request<Body>, proxies: &[app::config::IpRange]) -> String {
    let Some(peer) = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    else {
        return String::new();
    };
    forwarded_client(
        peer,
        header_text(req, header::HeaderName::from_static("x-forwarded-for")).as_deref(),
        proxies,
    )
    .to_string()
}

pub fn forwarded_client(
    peer: std::net::IpAddr,
    forwarded_for: Option<&str>,
    proxies: &[app::config::IpRange],
) -> std::net::IpAddr {
    let trusted = |ip: &std::net::IpAddr| proxies.iter().any(|p| p.contains(ip));
    if !trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_for.unwrap_or("").rsplit(',') {
        match hop.trim().parse::<std::net::IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !trusted(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

async fn security_headers(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request<Body>,
    next: Next,
) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    if state.deployment.site.public_url.starts_with("https://") {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    // "Use my location" is the only powerful feature the site uses, and only for itself.
    h.insert(
        header::HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static(
            "geolocation=(self), camera=(), microphone=(), payment=(), usb=(), interest-cohort=()",
        ),
    );
    // Pages set their own policy with the hydration script's nonce; everything else gets the
    // strictest one. A page that comes without its own (seen when a browser cancelled the page
    // before it on the same connection mid-render; the header the page set was lost) still
    // gets its styles and scripts from this site, and no inline script: it works as it does
    // before hydration, where `default-src 'none'` would leave it unstyled.
    let html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(if html {
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        } else {
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
        }));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-cache"));
    response
}

/// Settings that are fine on a laptop and dangerous on the internet are refused at start-up
/// when the deployment looks public (an https address, or listening beyond loopback).
pub async fn check_deployment(
    pool: &PgPool,
    deployment: &Deployment,
    options: &LeptosOptions,
) -> anyhow::Result<()> {
    let https = deployment.site.public_url.starts_with("https://");
    let loopback = options.site_addr.ip().is_loopback();
    anyhow::ensure!(
        !deployment.mail.dev_mailbox || (!https && loopback),
        "the development mailbox shows every e-mail (invitation links among them) and is for demos on this machine only: \
         turn it off (mail.dev_mailbox, WRAPAROUND_DEV_MAILBOX) when serving at {} on {}",
        deployment.site.public_url,
        options.site_addr
    );
    if https {
        let demo_accounts: i64 =
            sqlx::query_scalar("SELECT count(*) FROM users WHERE lower(email) LIKE '%@' || $1")
                .bind(crate::demo::accounts::DOMAIN)
                .fetch_one(pool)
                .await?;
        anyhow::ensure!(
            demo_accounts == 0,
            "{demo_accounts} demo accounts (published passwords) are in this database: refusing to serve it at {}",
            deployment.site.public_url
        );
    }
    Ok(())
}

pub async fn serve(
    pool: PgPool,
    deployment: Deployment,
    leptos_options: LeptosOptions,
) -> anyhow::Result<()> {
    let addr = leptos_options.site_addr;
    let state = AppState {
        pool,
        deployment: Arc::new(deployment),
        leptos_options,
    };
    match crate::mail::Transport::from_env(state.deployment.mail.dev_mailbox)? {
        Some(transport) => crate::mail::spawn(
            state.pool.clone(),
            transport,
            state.deployment.mail.from.clone(),
            host_of(&state.deployment.site.public_url),
        ),
        None => tracing::warn!(
            "no SMTP server ($WRAPAROUND_SMTP_URL) and no dev mailbox: e-mail stays queued in the outbox"
        ),
    }
    if !crate::sms::start(&state.pool, &state.deployment.sms)? {
        tracing::warn!(
            "no SMS provider ($WRAPAROUND_SMS_URL): text messages stay queued in the outbox"
        );
    }
    spawn_session_cleanup(state.pool.clone());
    // The search index is read into memory now, not when the first resident searches.
    tokio::spawn({
        let pool = state.pool.clone();
        async move { app::directory::held::warm(&pool).await }
    });
    let zone = app::metrics::deployment_zone(&state.deployment);
    if app::metrics::counts::keep_zone(&state.pool, zone).await? {
        tracing::info!(%zone, "metrics counted again in the deployment's zone");
    }
    crate::jobs::spawn(state.pool.clone(), state.deployment.clone());
    let app = router(state);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("Wraparound is serving on http://{addr}");
    // Without TCP_NODELAY a second small response on a keep-alive connection waits ~40 ms for
    // the client's delayed ACK (measured: /favicon.svg 46 ms against 1 ms).
    let listener = listener.tap_io(|stream| {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await?;
    Ok(())
}

/// The host part of a URL (for Message-IDs).
pub fn host_of(url: &str) -> String {
    url.split_once("://")
        .map(|(_, rest)| rest.split(['/', ':']).next().unwrap_or("localhost"))
        .unwrap_or("localhost")
        .to_string()
}

fn spawn_session_cleanup(pool: PgPool) {
    use tower_sessions::ExpiredDeletion;
    let store = PostgresStore::new(pool);
    tokio::spawn(async move {
        let _ = store
            .continuously_delete_expired(tokio::time::Duration::from_secs(600))
            .await;
    });
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}
