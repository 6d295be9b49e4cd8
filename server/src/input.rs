//! What arrives from outside is checked once, before routing and before the policy gate:
//!
//! - **One canonical form of every path.** The policy gate and the router match the same string,
//!   so a path that could mean two things never reaches either: a trailing `/` is redirected to
//!   the path without it; dot segments, empty segments, backslashes, control bytes and
//!   percent-encoded characters that need no encoding (`%2F`, `%2E`, `%61`, ...) answer a bare
//!   404.
//! - **Clean text.** Every query string, form post and JSON body passes [`app::text::clean`]:
//!   broken UTF-8 and control characters are refused with a 400 that says what to do, and text
//!   is normalised to NFC for everything behind this point.

use app::text::{self, TextError};
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;

/// Form posts and JSON bodies larger than this are refused (413): the longest form we have is
/// a few notes of 4,000 characters.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(Debug, PartialEq, Eq)]
pub enum PathVerdict {
    Canonical,
    /// The same resource at its canonical path (a trailing slash dropped).
    RedirectTo(String),
    NotFound,
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Is `path` (raw, as it came on the request line, without the query) canonical?
pub fn judge_path(path: &str) -> PathVerdict {
    let bytes = path.as_bytes();
    if bytes.first() != Some(&b'/') {
        return PathVerdict::NotFound;
    }
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b <= b' ' || b == 0x7f || b == b'\\' || b >= 0x80 {
            return PathVerdict::NotFound;
        }
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) else {
                return PathVerdict::NotFound;
            };
            // Encoding a character that needs none, or a separator, makes a second spelling.
            if is_unreserved(v) || v == b'/' || v == b'\\' || v < 0x20 || v == 0x7f {
                return PathVerdict::NotFound;
            }
            decoded.push(v);
            i += 3;
        } else {
            decoded.push(b);
            i += 1;
        }
    }
    if std::str::from_utf8(&decoded).is_err() {
        return PathVerdict::NotFound;
    }
    if path == "/" {
        return PathVerdict::Canonical;
    }
    let segments: Vec<&str> = path[1..].split('/').collect();
    let last = segments.len() - 1;
    for (n, s) in segments.iter().enumerate() {
        if *s == "." || *s == ".." || (s.is_empty() && n != last) {
            return PathVerdict::NotFound;
        }
    }
    if segments[last].is_empty() {
        return PathVerdict::RedirectTo(path.trim_end_matches('/').to_string());
    }
    PathVerdict::Canonical
}

/// Percent-decodes one `application/x-www-form-urlencoded` component to raw bytes (`+` is a
/// space; a `%` not followed by two hex digits stays as it is, as browsers send it).
fn decode_component(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let v = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match v {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Checks every name and value of a form-encoded string (a query or a form body). Returns the
/// string re-encoded when normalisation changed something, `None` when it is fine as it is.
pub fn clean_form(encoded: &str) -> Result<Option<String>, TextError> {
    let mut pairs = Vec::new();
    let mut changed = false;
    for pair in encoded.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (raw_k, raw_v) = (decode_component(k), decode_component(v));
        let (ck, cv) = (
            text::clean_bytes(&raw_k)?.into_owned(),
            text::clean_bytes(&raw_v)?.into_owned(),
        );
        changed |= ck.as_bytes() != raw_k.as_slice() || cv.as_bytes() != raw_v.as_slice();
        pairs.push((ck, cv));
    }
    if !changed {
        return Ok(None);
    }
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        out.append_pair(k, v);
    }
    Ok(Some(out.finish()))
}

/// Checks every string (and object key) of a JSON document, normalising in place.
fn clean_json(value: &mut serde_json::Value) -> Result<bool, TextError> {
    use serde_json::Value;
    Ok(match value {
        Value::String(s) => match text::clean(s)? {
            Cow::Borrowed(_) => false,
            Cow::Owned(n) => {
                *s = n;
                true
            }
        },
        Value::Array(items) => {
            let mut changed = false;
            for item in items {
                changed |= clean_json(item)?;
            }
            changed
        }
        Value::Object(map) => {
            let mut changed = false;
            let old = std::mem::take(map);
            for (k, mut v) in old {
                changed |= clean_json(&mut v)?;
                let k = match text::clean(&k)? {
                    Cow::Borrowed(_) => k,
                    Cow::Owned(n) => {
                        changed = true;
                        n
                    }
                };
                map.insert(k, v);
            }
            changed
        }
        _ => false,
    })
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// The answer to input we refuse: plain words for people (English and Spanish), JSON for the API.
fn refused(path: &str, status: StatusCode, why: &str) -> Response {
    if is_api(path) {
        return (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({ "error": why }).to_string(),
        )
            .into_response();
    }
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>We could not use what was sent</title></head>\
         <body><main><h1>We could not use what was sent</h1><p>{why} Please go back, check what you typed \
         (or paste it again as plain text) and try once more.</p><p lang=\"es\">No pudimos usar lo que se envió. \
         Regrese, revise lo que escribió y vuelva a intentarlo.</p><p><a href=\"/\">Go to the home page</a></p>\
         </main></body></html>"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

fn text_problem(e: TextError) -> &'static str {
    match e {
        TextError::InvalidUtf8 => "Part of it is not readable text (broken characters).",
        TextError::Control(_) => "It contains invisible control characters.",
    }
}

fn bare_not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Not found",
    )
        .into_response()
}

/// The middleware: canonical path, then clean query, then clean body.
pub async fn check(req: Request<Body>, next: Next) -> Response {
    let path = req.uri().path().to_string();
    match judge_path(&path) {
        PathVerdict::Canonical => {}
        PathVerdict::NotFound if crate::hsds::api::is_api_path(&path) => {
            return crate::hsds::api::no_such_path_response()
        }
        PathVerdict::NotFound => return bare_not_found(),
        PathVerdict::RedirectTo(to) => {
            if req.method() != Method::GET && req.method() != Method::HEAD {
                // The API answers other methods with what it allows, at any spelling of a path.
                if crate::hsds::api::is_api_path(&to) {
                    return crate::hsds::api::method_not_allowed();
                }
                return bare_not_found();
            }
            let to = match req.uri().query() {
                Some(q) => format!("{to}?{q}"),
                None => to,
            };
            return match HeaderValue::from_str(&to) {
                Ok(v) => (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, v)]).into_response(),
                Err(_) => bare_not_found(),
            };
        }
    }
    let (mut parts, body) = req.into_parts();
    if let Some(q) = parts.uri.query() {
        match clean_form(q) {
            Ok(None) => {}
            Ok(Some(cleaned)) => {
                let uri = format!("{path}?{cleaned}");
                match uri.parse::<Uri>() {
                    Ok(uri) => parts.uri = uri,
                    Err(_) => {
                        return refused(&path, StatusCode::BAD_REQUEST, "The address is not valid.")
                    }
                }
            }
            Err(e) => return refused(&path, StatusCode::BAD_REQUEST, text_problem(e)),
        }
    }
    if parts.method != Method::POST {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return refused(
                &path,
                StatusCode::PAYLOAD_TOO_LARGE,
                "It is longer than we accept.",
            )
        }
    };
    let cleaned: Bytes = match content_type.as_str() {
        _ if bytes.is_empty() => bytes,
        "application/x-www-form-urlencoded" => {
            let Ok(s) = std::str::from_utf8(&bytes) else {
                return refused(
                    &path,
                    StatusCode::BAD_REQUEST,
                    text_problem(TextError::InvalidUtf8),
                );
            };
            match clean_form(s) {
                Ok(None) => bytes,
                Ok(Some(c)) => Bytes::from(c),
                Err(e) => return refused(&path, StatusCode::BAD_REQUEST, text_problem(e)),
            }
        }
        "application/json" => {
            let Ok(mut doc) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
                return refused(&path, StatusCode::BAD_REQUEST, "It is not valid JSON.");
            };
            match clean_json(&mut doc) {
                Ok(false) => bytes,
                Ok(true) => Bytes::from(doc.to_string()),
                Err(e) => return refused(&path, StatusCode::BAD_REQUEST, text_problem(e)),
            }
        }
        _ => {
            return refused(
                &path,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "It was sent in a form we do not accept.",
            )
        }
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Ok(v) = HeaderValue::from_str(&cleaned.len().to_string()) {
        parts.headers.insert(header::CONTENT_LENGTH, v);
    }
    next.run(Request::from_parts(parts, Body::from(cleaned)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_paths_pass() {
        for p in [
            "/",
            "/state/audit",
            "/programs/abc-123",
            "/pkg/wraparound.1a2b.js",
            "/search",
        ] {
            assert_eq!(judge_path(p), PathVerdict::Canonical, "{p}");
        }
        // An encoded space or accented letter is the only spelling it has.
        assert_eq!(judge_path("/categories/a%20b"), PathVerdict::Canonical);
        assert_eq!(judge_path("/s/caf%C3%A9"), PathVerdict::Canonical);
    }

    #[test]
    fn a_trailing_slash_redirects_to_the_path_without_it() {
        assert_eq!(
            judge_path("/state/audit/"),
            PathVerdict::RedirectTo("/state/audit".into())
        );
        assert_eq!(
            judge_path("/api/hsds/"),
            PathVerdict::RedirectTo("/api/hsds".into())
        );
    }

    #[test]
    fn every_other_spelling_is_not_found() {
        for p in [
            "/state/./audit",
            "/x/../state/audit",
            "/state/audit/.",
            "/state/audit/..",
            "/./state/audit",
            "//state/audit",
            "/state//audit",
            "/state/audit//",
            "/state%2Faudit",
            "/state%2faudit",
            "/state/%2E/audit",
            "/state/%2e%2e/audit",
            "/st%61te/audit",
            "/state\\audit",
            "/state/%5Caudit",
            "/state/%00",
            "/state/%0a",
            "/state/%zz",
            "/state/%C3",
            "state/audit",
            "",
        ] {
            assert_eq!(judge_path(p), PathVerdict::NotFound, "{p:?}");
        }
    }

    #[test]
    fn forms_are_cleaned_and_re_encoded_only_when_needed() {
        assert_eq!(clean_form("q=food&lang=es"), Ok(None));
        assert_eq!(clean_form("q=baby+formula"), Ok(None));
        assert_eq!(clean_form("q=100%25"), Ok(None));
        assert_eq!(clean_form("q=%00"), Err(TextError::Control(0)));
        assert_eq!(clean_form("q%01=x"), Err(TextError::Control(1)));
        assert_eq!(clean_form("q=%C3"), Err(TextError::InvalidUtf8));
        assert_eq!(clean_form("note=a%0D%0Ab%09c"), Ok(None));
        // "José" with a combining accent becomes the one-character é.
        assert_eq!(
            clean_form("name=Jose%CC%81"),
            Ok(Some("name=Jos%C3%A9".into()))
        );
    }

    #[test]
    fn json_strings_and_keys_are_cleaned() {
        let mut ok = serde_json::json!({ "a": ["x", { "b": "Jose\u{301}" }] });
        assert_eq!(clean_json(&mut ok), Ok(true));
        assert_eq!(ok["a"][1]["b"], "José");
        let mut bad = serde_json::json!({ "a\u{0}": 1 });
        assert_eq!(clean_json(&mut bad), Err(TextError::Control(0)));
    }
}
