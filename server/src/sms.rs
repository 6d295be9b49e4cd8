//! Text messages: the worker that hands queued texts to the SMS provider, the provider's webhook
//! for replies (STOP / START), and a local fake carrier for tests and the demo.
//!
//! The provider is behind [`SmsProvider`]; the one real implementation, [`HttpSms`], speaks the
//! Messages REST API of Twilio — the shape most SMS providers offer or copy (`POST
//! {base}/2010-04-01/Accounts/{account}/Messages.json`, form `To`/`From`/`Body`, HTTP basic
//! auth; webhooks signed with `X-Twilio-Signature`). It is configured by URL, account and token,
//! so the same code talks to the provider in production and to [`fake_carrier`] here.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sqlx::PgPool;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use uuid::Uuid;

/// Sends one text; returns the provider's id for it.
pub trait SmsProvider: Send + Sync {
    fn send<'a>(
        &'a self,
        to: &'a str,
        body: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>>;
    fn name(&self) -> &'static str;
}

/// The provider's REST API.
pub struct HttpSms {
    base: String,
    account: String,
    token: String,
    from: String,
    client: reqwest::Client,
}

impl HttpSms {
    pub fn new(base: &str, account: &str, token: &str, from: &str) -> HttpSms {
        HttpSms {
            base: base.trim_end_matches('/').to_string(),
            account: account.to_string(),
            token: token.to_string(),
            from: from.to_string(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("HTTP client"),
        }
    }

    /// The deployment's provider (`[sms]` in Leptos.toml, `$WRAPAROUND_SMS_*`); `None` when
    /// none is set.
    pub fn configured(settings: &app::config::SmsSettings) -> Option<HttpSms> {
        settings.configured().then(|| {
            HttpSms::new(
                &settings.url,
                &settings.account,
                &settings.token,
                &settings.from,
            )
        })
    }
}

impl SmsProvider for HttpSms {
    fn send<'a>(
        &'a self,
        to: &'a str,
        body: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>> {
        Box::pin(async move {
            let url = format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                self.base, self.account
            );
            let response = self
                .client
                .post(&url)
                .basic_auth(&self.account, Some(&self.token))
                .form(&[("To", to), ("From", self.from.as_str()), ("Body", body)])
                .send()
                .await
                .map_err(|e| format!("SMS provider unreachable: {e}"))?;
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            if !status.is_success() {
                return Err(format!(
                    "SMS provider answered {status}: {}",
                    text.chars().take(300).collect::<String>()
                ));
            }
            let sid = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("sid").and_then(|s| s.as_str()).map(str::to_string))
                .unwrap_or_default();
            Ok(sid)
        })
    }

    fn name(&self) -> &'static str {
        "sms"
    }
}

/// The signature the provider puts on a webhook request: base64 of HMAC-SHA1, keyed with the
/// account's token, over the full URL followed by every form field's name and value, sorted
/// by name.
pub fn signature(token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac = Hmac::<Sha1>::new_from_slice(token.as_bytes()).expect("HMAC takes any key");
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[derive(sqlx::FromRow)]
struct Queued {
    id: Uuid,
    to_address: String,
    body: String,
    secret: Option<String>,
    attempts: i32,
}

/// Sends the next due text, if any. A number that opted out after the text was queued is not
/// texted (the row is closed as not sent). Returns whether there was one.
pub async fn send_one(pool: &PgPool, provider: &dyn SmsProvider) -> anyhow::Result<bool> {
    let mut tx = pool.begin().await?;
    let Some(m): Option<Queued> = sqlx::query_as(
        "SELECT id, to_address, body, secret, attempts FROM outbox
          WHERE channel = 'sms' AND sent_at IS NULL AND send_after <= now()
          ORDER BY send_after, created_at
          LIMIT 1 FOR UPDATE SKIP LOCKED",
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(false);
    };
    let opted_out = match app::contact::Phone::parse(&m.to_address) {
        Some(p) => app::sms::opted_out(&mut *tx, &p).await?,
        None => true,
    };
    if opted_out {
        sqlx::query(
            "UPDATE outbox SET sent_at = now(), delivered_by = 'not sent: opted out' WHERE id = $1",
        )
        .bind(m.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        return Ok(true);
    }
    let body = app::mail::delivered_body(&m.body, m.secret.as_deref());
    match provider.send(&m.to_address, &body).await {
        Ok(_) => {
            // A secret link (a consent request's) is dropped once it is delivered.
            sqlx::query(
                "UPDATE outbox SET sent_at = now(), delivered_by = $2, attempts = attempts + 1, secret = NULL
                  WHERE id = $1",
            )
            .bind(m.id)
            .bind(provider.name())
            .execute(&mut *tx)
            .await?;
        }
        Err(error) => {
            tracing::warn!(message = %m.id, attempts = m.attempts + 1, %error, "text not sent; will retry");
            sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2,
                        send_after = now() + make_interval(secs => $3)
                  WHERE id = $1",
            )
            .bind(m.id)
            .bind(error.chars().take(500).collect::<String>())
            .bind(crate::mail::backoff(m.attempts).as_secs_f64())
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(true)
}

pub async fn drain(pool: &PgPool, provider: &dyn SmsProvider) -> anyhow::Result<usize> {
    let mut n = 0;
    while send_one(pool, provider).await? {
        n += 1;
    }
    Ok(n)
}

/// The text worker: woken by the outbox's NOTIFY, and every few seconds in any case.
pub fn spawn(pool: PgPool, provider: HttpSms) {
    tokio::spawn(async move {
        let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await.ok();
        if let Some(l) = listener.as_mut() {
            let _ = l.listen("outbox").await;
        }
        loop {
            if let Err(e) = drain(&pool, &provider).await {
                tracing::error!(error = %e, "text worker");
            }
            let wait = tokio::time::sleep(Duration::from_secs(5));
            match listener.as_mut() {
                Some(l) => {
                    tokio::select! {
                        _ = l.recv() => {}
                        _ = wait => {}
                    }
                }
                None => wait.await,
            }
        }
    });
}

/// `POST /sms/inbound`: the provider tells us of a reply. Signed with the account's token; a
/// stop or a start is recorded (and audited), anything else is ignored.
pub async fn inbound(
    axum::extract::State(state): axum::extract::State<app::state::AppState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let token = state.deployment.sms.token.clone();
    if token.is_empty() {
        return (StatusCode::NOT_FOUND, "Not found").into_response();
    }
    let params: Vec<(String, String)> = form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let url = format!("{}/sms/inbound", state.deployment.site.public_url);
    let expected = signature(&token, &url, &params);
    let given = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let same = expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        tracing::warn!("an SMS webhook with a wrong signature was refused");
        return (StatusCode::FORBIDDEN, "Bad signature").into_response();
    }
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let (Some(from), Some(text)) = (
        get("From").and_then(|f| app::contact::Phone::parse(&f)),
        get("Body"),
    ) else {
        return (StatusCode::BAD_REQUEST, "From and Body are needed").into_response();
    };
    let sid = get("MessageSid");
    let reply = match app::sms::record_reply(&state.pool, &from, &text, sid.as_deref()).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "recording an SMS reply failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "Try again").into_response();
        }
    };
    let action = match reply {
        app::sms::Reply::Stop => Some("sms.opted_out"),
        app::sms::Reply::Start => Some("sms.opted_in"),
        app::sms::Reply::Other => None,
    };
    if let Some(action) = action {
        app::audit::record_refusal(
            &state.pool,
            &app::audit::Actor::default(),
            action,
            Some(&format!("phone:{}", from.e164())),
            app::audit::Outcome::Ok,
            serde_json::json!({ "message": sid }),
        )
        .await;
    }
    // An empty TwiML answer: the provider sends the carrier's own STOP/START confirmation.
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "text/xml")],
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>",
    )
        .into_response()
}

/// A local stand-in for the SMS provider, speaking the same HTTP API: it keeps every message it
/// is asked to send (one JSON file each in `dir`, and a page listing them), and can send a reply
/// from a phone to the app's webhook, signed as the provider signs it.
pub mod fake_carrier {
    use super::signature;
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{Html, IntoResponse, Redirect, Response};
    use axum::routing::{get, post};
    use axum::{Form, Router};
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::sync::Arc;

    #[derive(Clone)]
    struct Carrier {
        dir: PathBuf,
        account: String,
        token: String,
        webhook: Option<String>,
    }

    fn authorised(c: &Carrier, headers: &HeaderMap) -> bool {
        use base64::Engine;
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", c.account, c.token))
        );
        headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == expected)
    }

    fn messages(c: &Carrier) -> Vec<serde_json::Value> {
        let mut files: Vec<_> = std::fs::read_dir(&c.dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p: &PathBuf| p.extension().is_some_and(|x| x == "json"));
        files.sort();
        files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter_map(|t| serde_json::from_str(&t).ok())
            .collect()
    }

    async fn send(
        State(c): State<Arc<Carrier>>,
        Path(account): Path<String>,
        headers: HeaderMap,
        Form(form): Form<HashMap<String, String>>,
    ) -> Response {
        if account != c.account || !authorised(&c, &headers) {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({"code": 20003, "message": "Authenticate"})),
            )
                .into_response();
        }
        let (Some(to), Some(from), Some(body)) =
            (form.get("To"), form.get("From"), form.get("Body"))
        else {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(serde_json::json!({"code": 21604, "message": "A 'To', 'From' and 'Body' are required"})),
            )
                .into_response();
        };
        let n = messages(&c).len() + 1;
        let sid = format!("SM{:032x}", rand::random::<u128>());
        let message = serde_json::json!({
            "sid": sid, "account_sid": c.account, "to": to, "from": from, "body": body,
            "status": "queued", "direction": "outbound-api",
            "date_created": chrono::Utc::now().to_rfc2822(),
        });
        let _ = std::fs::create_dir_all(&c.dir);
        let _ = std::fs::write(c.dir.join(format!("{n:06}.json")), message.to_string());
        (StatusCode::CREATED, axum::Json(message)).into_response()
    }

    async fn page(State(c): State<Arc<Carrier>>) -> Html<String> {
        let escape = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        };
        let rows: String = messages(&c)
            .iter()
            .rev()
            .map(|m| {
                let t = |k: &str| escape(m.get(k).and_then(|v| v.as_str()).unwrap_or_default());
                format!(
                    "<li><p><strong>To {}</strong> · {}</p><pre style=\"white-space:pre-wrap\">{}</pre></li>",
                    t("to"),
                    t("date_created"),
                    t("body")
                )
            })
            .collect();
        Html(format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>Fake SMS carrier</title></head><body><main><h1>Fake SMS carrier</h1>\
             <p>Texts the app sent (newest first). This stands in for the SMS provider in the demo and the tests.</p>\
             <form method=\"post\" action=\"/reply\"><h2>Reply as a phone</h2>\
             <p><label>From (the phone) <input name=\"from\" required></label></p>\
             <p><label>Message <input name=\"body\" required value=\"STOP\"></label></p>\
             <p><button type=\"submit\">Send reply</button></p></form><ol>{rows}</ol></main></body></html>"
        ))
    }

    async fn list(State(c): State<Arc<Carrier>>) -> axum::Json<serde_json::Value> {
        axum::Json(serde_json::json!({ "messages": messages(&c) }))
    }

    /// A resident replies: posted to the app's webhook, signed like the provider's.
    async fn reply(
        State(c): State<Arc<Carrier>>,
        Form(form): Form<HashMap<String, String>>,
    ) -> Response {
        let Some(webhook) = c.webhook.clone() else {
            return (StatusCode::BAD_REQUEST, "no webhook configured").into_response();
        };
        let from = form.get("from").cloned().unwrap_or_default();
        let body = form.get("body").cloned().unwrap_or_default();
        let params = vec![
            ("AccountSid".to_string(), c.account.clone()),
            ("Body".to_string(), body),
            ("From".to_string(), from),
            (
                "MessageSid".to_string(),
                format!("SM{:032x}", rand::random::<u128>()),
            ),
        ];
        let sig = signature(&c.token, &webhook, &params);
        let sent = reqwest::Client::new()
            .post(&webhook)
            .header("X-Twilio-Signature", sig)
            .form(&params)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Redirect::to("/").into_response(),
            Ok(r) => (
                StatusCode::BAD_GATEWAY,
                format!("the app answered {}", r.status()),
            )
                .into_response(),
            Err(e) => (
                StatusCode::BAD_GATEWAY,
                format!("the app is unreachable: {e}"),
            )
                .into_response(),
        }
    }

    pub async fn run(
        port: u16,
        dir: PathBuf,
        account: String,
        token: String,
        webhook: Option<String>,
    ) -> anyhow::Result<()> {
        let carrier = Arc::new(Carrier {
            dir,
            account,
            token,
            webhook,
        });
        let app = Router::new()
            .route("/", get(page))
            .route("/messages.json", get(list))
            .route("/reply", post(reply))
            .route("/2010-04-01/Accounts/{account}/Messages.json", post(send))
            .with_state(carrier);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("fake SMS carrier on http://127.0.0.1:{port}");
        axum::serve(listener, app).await?;
        Ok(())
    }
}

/// Used by `serve`: the text worker when a provider is configured.
pub fn start(pool: &PgPool, settings: &app::config::SmsSettings) -> anyhow::Result<bool> {
    Ok(match HttpSms::configured(settings) {
        Some(p) => {
            spawn(pool.clone(), p);
            true
        }
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::signature;

    /// The example from the provider's documentation of request validation.
    #[test]
    fn webhook_signatures_match_the_providers_documented_example() {
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            signature(
                "12345",
                "https://mycompany.com/myapp.php?foo=1&bar=2",
                &params
            ),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
    }
}
