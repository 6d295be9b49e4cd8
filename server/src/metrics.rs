//! Every metrics figure as CSV (`/state/metrics/csv`, `/united-way/metrics/csv`), with the
//! same filters and the same rules as the page it is downloaded from (app/src/metrics/).

use app::policy::{allows, Action};
use app::state::AppState;
use app::web::RequestContext;
use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;

async fn csv(
    state: AppState,
    ctx: RequestContext,
    query: Option<String>,
    action: Action,
) -> Response {
    // The policy gate asked already; asked again here, where the data is.
    let Some(viewer) = ctx.viewer.filter(|v| allows(v.effective_role(), action)) else {
        return (StatusCode::FORBIDDEN, "Not allowed.").into_response();
    };
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    match app::metrics::pages::metrics_for(&state, &viewer, get).await {
        Ok((chosen, m)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"wraparound-metrics-{}.csv\"", m.year),
                ),
            ],
            app::metrics::to_csv(&m, chosen.exact),
        )
            .into_response(),
        Err(p) if p.code == "denied" => (StatusCode::FORBIDDEN, "Not allowed.").into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "Try again in a minute.").into_response(),
    }
}

pub async fn state_csv(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    RawQuery(query): RawQuery,
) -> Response {
    csv(state, ctx, query, Action::SeeStateMetrics).await
}

pub async fn chapter_csv(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    RawQuery(query): RawQuery,
) -> Response {
    csv(state, ctx, query, Action::SeeChapterMetrics).await
}
