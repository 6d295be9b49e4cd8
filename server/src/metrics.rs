//! Every metrics figure as CSV (`/state/metrics/csv`, `/united-way/metrics/csv`), with the
//! same filters and the same rules as the page it is downloaded from (app/src/metrics/).

use app::policy::{allows, Action};
use app::state::AppState;
use app::web::RequestContext;
use axum::extract::{Path, RawQuery, State};
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

/// A month's incentive report as CSV, as the viewer may see it (a chapter: its own lines).
pub async fn incentives_csv(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(month): Path<String>,
) -> Response {
    let Some(viewer) = ctx
        .viewer
        .filter(|v| allows(v.effective_role(), Action::SeeIncentiveReports))
    else {
        return (StatusCode::FORBIDDEN, "Not allowed.").into_response();
    };
    let Some(first) = app::incentives::parse_month(&month) else {
        return (StatusCode::NOT_FOUND, "No such month.").into_response();
    };
    match app::incentives::stored(&state.pool, first).await {
        Ok(Some(s)) => match app::incentives::pages::visible_to(&viewer, s.report) {
            Some(report) => (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!(
                            "attachment; filename=\"wraparound-incentives-{}.csv\"",
                            first.format("%Y-%m")
                        ),
                    ),
                ],
                app::incentives::to_csv(&report),
            )
                .into_response(),
            None => (StatusCode::FORBIDDEN, "Not allowed.").into_response(),
        },
        Ok(None) => (StatusCode::NOT_FOUND, "No report for that month.").into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "Try again in a minute.").into_response(),
    }
}
