//! Outgoing e-mail. A message is written to the outbox in the same transaction as the change
//! that caused it, so it exists exactly when the change does; the worker in server/src/mail.rs
//! sends it (retrying while the SMTP server is down). E-mails never carry resident details.

use sqlx::PgExecutor;

#[derive(Clone, Debug, Default)]
pub struct Message {
    pub to: String,
    pub subject: String,
    /// May hold [`SECRET`] where the secret link goes.
    pub body: String,
    /// A link that lets its holder in (an invitation, a confirmation). Kept apart from the body,
    /// put in at delivery, and dropped from the outbox once the message is sent.
    pub secret: Option<String>,
    /// A file sent with it (a report's CSV).
    pub attachment: Option<Attachment>,
}

/// A file attached to a message.
#[derive(Clone, Debug, PartialEq)]
pub struct Attachment {
    pub name: String,
    /// Its MIME type ("text/csv; charset=utf-8").
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Where a message's secret link goes in its body.
pub const SECRET: &str = "[[secret link]]";

impl Message {
    pub fn new(to: &str, subject: String, body: String) -> Message {
        Message {
            to: to.to_string(),
            subject,
            body,
            secret: None,
            attachment: None,
        }
    }

    pub fn with_attachment(mut self, attachment: Attachment) -> Message {
        self.attachment = Some(attachment);
        self
    }

    /// `body` with [`SECRET`] standing for `link`.
    pub fn with_secret(mut self, link: String) -> Message {
        self.secret = Some(link);
        self
    }
}

/// The body as the recipient reads it: the secret link in place, or a note that it is gone.
pub fn delivered_body(body: &str, secret: Option<&str>) -> String {
    body.replace(
        SECRET,
        secret.unwrap_or("(this link was removed after the message was sent)"),
    )
}

/// Queues a message. Use the caller's transaction.
pub async fn enqueue<'e>(db: impl PgExecutor<'e>, message: &Message) -> sqlx::Result<()> {
    let a = message.attachment.as_ref();
    sqlx::query(
        "INSERT INTO outbox (to_address, subject, body, secret, attachment_name, attachment_type, attachment)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&message.to)
    .bind(&message.subject)
    .bind(&message.body)
    .bind(&message.secret)
    .bind(a.map(|a| &a.name))
    .bind(a.map(|a| &a.content_type))
    .bind(a.map(|a| &a.bytes))
    .execute(db)
    .await?;
    Ok(())
}

/// Wakes the worker on this server at once (others poll).
pub async fn nudge<'e>(db: impl PgExecutor<'e>) {
    let _ = sqlx::query("NOTIFY outbox").execute(db).await;
}

mod mailbox {
    use crate::forms::{date_time, loaded};
    use crate::layout::set_status;
    use crate::state::AppState;
    use leptos::prelude::*;
    use leptos_meta::{Meta, Title};
    use leptos_router::hooks::use_params_map;

    #[derive(sqlx::FromRow)]
    struct Row {
        id: uuid::Uuid,
        to_address: String,
        subject: String,
        body: String,
        secret: Option<String>,
        channel: String,
        created_at: chrono::DateTime<chrono::Utc>,
        sent_at: Option<chrono::DateTime<chrono::Utc>>,
        attachment_name: Option<String>,
        attachment_size: Option<i32>,
    }

    /// Only with no SMTP server, and only to a browser on this machine: the mailbox holds
    /// invitation links that sign their reader in.
    fn enabled() -> bool {
        let local = crate::web::request()
            .ip
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
        let on = AppState::get().deployment.mail.dev_mailbox && local;
        if !on {
            set_status(404);
        }
        on
    }

    /// `/dev/mailbox`: with no SMTP server (the demo), the messages the system sent, newest
    /// first, so someone trying it can follow the links. Off (404) in a real deployment.
    #[component]
    pub fn MailboxPage() -> impl IntoView {
        let locale = crate::language::current();
        let content = async move {
            if !enabled() {
                return view! { <p>{tr!(locale, not_found_body)}</p> }.into_any();
            }
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT id, to_address, subject, body, secret, channel, created_at, sent_at,
                        attachment_name, length(attachment) AS attachment_size FROM outbox
                  ORDER BY created_at DESC, id LIMIT 100",
            )
            .fetch_all(&AppState::get().pool)
            .await
            .unwrap_or_default();
            let items = rows
                .into_iter()
                .map(|r| {
                    let title = if r.channel == "sms" {
                        tr!(locale, mailbox_text_message)
                    } else {
                        r.subject.clone()
                    };
                    view! {
                        <li class="card">
                            <a class="card-title link" href=format!("/dev/mailbox/{}", r.id)>{title}</a>
                            <p class="text-sm">{format!("{} · {}", r.to_address, date_time(&r.created_at))}
                                {r.sent_at.is_none().then(|| format!(" · {}", tr!(locale, mail_queued)))}</p>
                        </li>
                    }
                })
                .collect_view();
            view! { <ul class="stack mt-4">{items}</ul> }.into_any()
        };
        view! {
            <Title text=tr!(locale, mailbox_title) />
            <Meta name="robots" content="noindex" />
            <div class="page">
                <h1 class="page-title">{tr!(locale, mailbox_title)}</h1>
                <p class="mt-2">{tr!(locale, mailbox_intro)}</p>
                {loaded(content)}
            </div>
        }
    }

    #[component]
    pub fn MailboxMessagePage() -> impl IntoView {
        let locale = crate::language::current();
        let id = use_params_map()
            .with_untracked(|p| p.get("id"))
            .unwrap_or_default();
        let content = async move {
            let row: Option<Row> = match (enabled(), uuid::Uuid::parse_str(&id)) {
                (true, Ok(id)) => sqlx::query_as(
                    "SELECT id, to_address, subject, body, secret, channel, created_at, sent_at,
                        attachment_name, length(attachment) AS attachment_size FROM outbox WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&AppState::get().pool)
                .await
                .ok()
                .flatten(),
                _ => None,
            };
            let Some(r) = row else {
                set_status(404);
                return view! { <p>{tr!(locale, not_found_body)}</p> }.into_any();
            };
            // Links in the text become links, so the demo's invitation can be clicked.
            let body = super::delivered_body(&r.body, r.secret.as_deref());
            let lines = body
                .lines()
                .map(|line| {
                    let words = line
                        .split(' ')
                        .map(|w| {
                            if w.starts_with("http://") || w.starts_with("https://") {
                                view! { <a class="link" href=w.to_string()>{w.to_string()}</a>" " }
                                    .into_any()
                            } else {
                                view! { {w.to_string()}" " }.into_any()
                            }
                        })
                        .collect_view();
                    view! { <p class="mail-line">{words}</p> }
                })
                .collect_view();
            view! {
                <h2 class="section-title mt-4">{r.subject.clone()}</h2>
                <p class="text-sm">{format!("{} · {}", r.to_address, date_time(&r.created_at))}</p>
                <div class="mail-body mt-4" data-testid="mail-body">{lines}</div>
                {r.attachment_name.clone().map(|name| view! {
                    <p class="text-sm mt-2" data-testid="mail-attachment">
                        {format!("📎 {name} ({} bytes)", r.attachment_size.unwrap_or_default())}
                    </p>
                })}
            }
            .into_any()
        };
        view! {
            <Title text=tr!(locale, mailbox_title) />
            <Meta name="robots" content="noindex" />
            <div class="page">
                <p><a class="link" href="/dev/mailbox">{tr!(locale, mailbox_title)}</a></p>
                {loaded(content)}
            </div>
        }
    }
}

pub use mailbox::{MailboxMessagePage, MailboxPage};
