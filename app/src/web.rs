//! What every signed-in page and form needs from the request, on the server: who is asking
//! (set by the policy gate in server/src/http.rs), from where, and the one way a form post ends
//! (a redirect onward, or back to the form with an error code the page turns into words).

use crate::identity::Viewer;
use axum::http::request::Parts;
use leptos::prelude::*;
use leptos::server_fn::error::ServerFnError;

/// Who is making this request, as the policy gate found it.
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    pub viewer: Option<Viewer>,
    /// The client's address (for rate limits and the audit trail).
    pub ip: String,
}

/// The current request's context (an anonymous visitor if the gate did not run, as in tests
/// that render a page directly).
pub fn request() -> RequestContext {
    use_context::<Parts>()
        .and_then(|p| p.extensions.get::<RequestContext>().cloned())
        .unwrap_or_default()
}

/// The signed-in person; the policy gate has already refused anonymous visitors on pages that
/// need one, so `None` here means a bug upstream: treat it as a refusal.
pub fn viewer() -> Result<Viewer, Problem> {
    request().viewer.ok_or(Problem("denied"))
}

/// A form post that cannot go ahead, as a short code: the page shows the matching message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Problem(pub &'static str);

impl From<sqlx::Error> for Problem {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error while handling a form");
        Problem("unavailable")
    }
}

impl From<crate::identity::sealed::KeyError> for Problem {
    fn from(e: crate::identity::sealed::KeyError) -> Self {
        tracing::error!(error = %e, "the secrets key is unusable");
        Problem("unavailable")
    }
}

impl From<tower_sessions::session::Error> for Problem {
    fn from(e: tower_sessions::session::Error) -> Self {
        tracing::error!(error = %e, "session store error while handling a form");
        Problem("unavailable")
    }
}

/// `path` with `error=code` added to its query.
pub fn with_error(path: &str, code: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}error={code}")
}

/// Ends a form post: on to the page `Ok` names, or back to `back` with the problem's code. Form
/// server functions never fail over HTTP, so a plain form (no JavaScript) always lands on a page
/// that says what happened.
pub fn finish(back: &str, outcome: Result<String, Problem>) -> Result<(), ServerFnError> {
    match outcome {
        Ok(next) => leptos_axum::redirect(&next),
        Err(Problem(code)) => {
            if code == "denied" {
                crate::layout::set_status(403);
            }
            leptos_axum::redirect(&with_error(back, code))
        }
    }
    Ok(())
}

/// A safe place to go after signing in: only a local path, never another site.
pub fn local_path(next: &str) -> Option<String> {
    let ok = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\');
    ok.then(|| next.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local_path("/partner"), Some("/partner".into()));
        assert_eq!(local_path("//evil.example/"), None);
        assert_eq!(local_path("https://evil.example/"), None);
        assert_eq!(local_path("/\\evil.example"), None);
    }

    #[test]
    fn errors_are_added_to_the_query() {
        assert_eq!(with_error("/sign-in", "locked"), "/sign-in?error=locked");
        assert_eq!(
            with_error("/sign-in?next=/x", "locked"),
            "/sign-in?next=/x&error=locked"
        );
    }
}
