//! What every signed-in page and form needs from the request, on the server: who is asking
//! (set by the policy gate in server/src/http.rs), from where, and the one way a form post ends
//! (a redirect onward, or back to the form with an error code the page turns into words).

use crate::identity::Viewer;
use crate::policy::{self, Action, Role};
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

/// A query parameter of the current request, percent-decoded once. (The router's own query map
/// decodes twice: someone who typed `100%41` would have searched for `100A`.)
pub fn query_value(name: &str) -> Option<String> {
    let parts = use_context::<Parts>()?;
    let query = parts.uri.query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The signed-in person, if they may perform `action`. The policy gate has already asked the
/// policy table on the request's canonical path; every protected page and server function asks
/// again for its own action, so a route that reaches it by another path still gets nothing.
pub fn authorize(action: Action) -> Result<Viewer, Problem> {
    let viewer = request().viewer;
    let role = viewer
        .as_ref()
        .map_or(Role::Anonymous, Viewer::effective_role);
    match viewer {
        Some(v) if policy::allows(role, action) => Ok(v),
        _ => Err(Problem::new("denied")),
    }
}

/// [`authorize`] for actions open to people who are not signed in too: the viewer, if any.
pub fn permit(action: Action) -> Result<Option<Viewer>, Problem> {
    let viewer = request().viewer;
    let role = viewer
        .as_ref()
        .map_or(Role::Anonymous, Viewer::effective_role);
    if policy::allows(role, action) {
        Ok(viewer)
    } else {
        Err(Problem::new("denied"))
    }
}

/// A form post that cannot go ahead: a short code the page turns into words, and the field it
/// is about, when there is one (the page shows the message next to that field, USWDS style).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Problem {
    pub code: &'static str,
    pub field: Option<&'static str>,
}

impl Problem {
    pub const fn new(code: &'static str) -> Problem {
        Problem { code, field: None }
    }

    /// A problem with one field of the form.
    pub const fn at(field: &'static str, code: &'static str) -> Problem {
        Problem {
            code,
            field: Some(field),
        }
    }

    /// The same problem, about `field`.
    pub const fn with_field(self, field: &'static str) -> Problem {
        Problem {
            code: self.code,
            field: Some(field),
        }
    }
}

impl From<sqlx::Error> for Problem {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error while handling a form");
        Problem::new("unavailable")
    }
}

impl From<crate::text::FieldError> for Problem {
    fn from(e: crate::text::FieldError) -> Self {
        match e {
            crate::text::FieldError::Missing => Problem::new("missing_fields"),
            crate::text::FieldError::TooLong { .. } => Problem::new("too_long"),
        }
    }
}

impl From<crate::identity::sealed::KeyError> for Problem {
    fn from(e: crate::identity::sealed::KeyError) -> Self {
        tracing::error!(error = %e, "the secrets key is unusable");
        Problem::new("unavailable")
    }
}

impl From<tower_sessions::session::Error> for Problem {
    fn from(e: tower_sessions::session::Error) -> Self {
        tracing::error!(error = %e, "session store error while handling a form");
        Problem::new("unavailable")
    }
}

/// A unique-constraint violation on one of `constraints` becomes `problem` (a field error the
/// form shows); any other database error is logged and shown as "try again".
pub fn on_unique_violation(e: sqlx::Error, constraints: &[&str], problem: Problem) -> Problem {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() && db.constraint().is_some_and(|c| constraints.contains(&c)) {
            return problem;
        }
    }
    Problem::from(e)
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
        Err(Problem { code, .. }) => {
            if code == "denied" {
                crate::layout::set_status(403);
            }
            leptos_axum::redirect(&with_error(back, code))
        }
    }
    Ok(())
}

/// What a form sent, kept in the session when the post comes back with a problem: the page it
/// returns to shows what was typed and the message next to the field. Never a password.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct KeptForm {
    pub form: String,
    pub values: Vec<(String, String)>,
    pub code: String,
    pub field: Option<String>,
}

const KEPT_FORM: &str = "kept_form";

impl KeptForm {
    /// What was typed into `name` (the last value, for fields sent more than once).
    pub fn value(&self, name: &str) -> Option<String> {
        self.values
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    /// Every value sent for `name` (check boxes, repeated fields).
    pub fn values_of(&self, name: &str) -> Vec<String> {
        self.values
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The problem code, when it is about `field`.
    pub fn error_for(&self, field: &str) -> Option<&str> {
        (self.field.as_deref() == Some(field)).then_some(self.code.as_str())
    }
}

/// Ends a form post like [`finish`], keeping `values` for the page when it comes back with a
/// problem.
pub async fn finish_keeping(
    back: &str,
    form: &str,
    values: Vec<(&str, String)>,
    outcome: Result<String, Problem>,
) -> Result<(), ServerFnError> {
    if let Err(problem) = &outcome {
        if let Ok(session) = leptos_axum::extract::<tower_sessions::Session>().await {
            let kept = KeptForm {
                form: form.to_string(),
                values: values
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            k.to_string(),
                            v.chars().take(crate::text::limits::NOTE).collect(),
                        )
                    })
                    .collect(),
                code: problem.code.to_string(),
                field: problem.field.map(str::to_string),
            };
            if let Err(e) = session.insert(KEPT_FORM, kept).await {
                tracing::warn!(error = %e, "could not keep a form's values");
            }
        }
    }
    finish(back, outcome)
}

/// The kept values of `form`, taken out of the session (they are shown once).
pub async fn take_kept(form: &str) -> Option<KeptForm> {
    let session = leptos_axum::extract::<tower_sessions::Session>()
        .await
        .ok()?;
    let kept: KeptForm = session.get(KEPT_FORM).await.ok().flatten()?;
    if kept.form != form {
        return None;
    }
    let _ = session.remove::<KeptForm>(KEPT_FORM).await;
    Some(kept)
}

/// Where to go after signing in (`next=`): a path on this site and nothing else. The one parser
/// for it, used at the password step, the code step and the identity provider's callback.
///
/// Browsers drop tabs and line breaks from URLs and treat `\\` as `/`, so `/\t/evil.example`
/// or `/\\evil.example` would leave the site: anything with a control character, space or
/// backslash is refused, in the value and in its percent-decoded form, and so is anything that
/// is not plain ASCII (it must fit in a `Location` header as it is).
pub fn local_path(next: &str) -> Option<String> {
    let local = |p: &str| p.starts_with('/') && !p.starts_with("//");
    let plain = next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    if next.len() > 2000 || !local(next) || !plain {
        return None;
    }
    let decoded = percent_decode(next)?;
    let harmless = !decoded
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\');
    (local(&decoded) && harmless).then(|| next.to_string())
}

/// Percent-decodes `s` (strictly: a `%` must start an escape); `None` if it is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
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
    fn next_never_leaves_the_site_however_it_is_spelled() {
        for bad in [
            "/\t/evil.example/x",
            "/%09/evil.example/x",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "/%5Cevil.example",
            "/x\ny",
            "/x%0ay",
            "/x%0Dy",
            "/%",
            "/%zz",
            "/café",
            " /partner",
            "/partner ",
            "evil.example",
            "javascript:alert(1)",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
        assert_eq!(
            local_path("/referrals/inbox?status=new&need=food"),
            Some("/referrals/inbox?status=new&need=food".into())
        );
        assert_eq!(
            local_path("/search?q=caf%C3%A9"),
            Some("/search?q=caf%C3%A9".into())
        );
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
