//! The HTTP surface: Leptos pages and server functions, the HSDS API, static assets, and the
//! middleware every response passes through (language choice, security headers, compression).

use crate::hsds;
use app::config::Deployment;
use app::state::AppState;
use app::{shell, App};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list_with_exclusions_and_ssg_and_context, LeptosRoutes};
use sqlx::PgPool;
use std::sync::Arc;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// The cookie that remembers a resident's language choice (leptos_i18n reads it).
pub const LANGUAGE_COOKIE: &str = "i18n_pref_locale";
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

    Router::new()
        .merge(hsds::api::router())
        .leptos_routes_with_context(&state, routes, provide_deployment.clone(), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .nest_service(&format!("/{}", options.site_pkg_dir), pkg)
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(provide_deployment, shell))
        .with_state(state)
        .layer(middleware::from_fn(language_from_query))
        .layer(middleware::from_fn(security_headers))
        .layer(CompressionLayer::new())
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

async fn security_headers(req: Request<Body>, next: Next) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
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
    let app = router(state);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("Wraparound is serving on http://{addr}");
    axum::serve(listener, app.into_make_service())
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}
