//! Sharing a program: a short stable link (`/s/<code>`), and the share page with its
//! fallbacks for phones without the Web Share API (copy, text message, e-mail, QR, print).

use super::islands::ShareButtons;
use super::model::ProgramPage as ProgramPageData;
use super::query::encode;
use crate::config::Deployment;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
pub const SHARE_CODE_LEN: usize = 12;

/// The short code of a program page id: derived from the id, so it never changes while the
/// feed keeps its ids (60 bits: collisions are out of reach at national scale).
pub fn share_code(id: Uuid) -> String {
    let b = id.as_bytes();
    // Skip the version and variant bits (bytes 6 and 8), which are the same for every id.
    let bits = u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[7], b[9]]);
    (0..SHARE_CODE_LEN)
        .map(|i| ALPHABET[((bits >> (59 - 5 * i)) & 31) as usize] as char)
        .collect()
}

pub fn is_share_code(s: &str) -> bool {
    s.len() == SHARE_CODE_LEN && s.bytes().all(|c| ALPHABET.contains(&c))
}

/// Absolute URLs of a program: its short link and its share page.
pub fn share_url(deployment: &Deployment, code: &str) -> String {
    format!("{}/s/{code}", deployment.site.public_url)
}

/// `sms:` link with the message as its body (the form both iOS and Android accept).
pub fn sms_link(message: &str) -> String {
    format!("sms:?&body={}", encode(message))
}

pub fn mailto_link(subject: &str, message: &str) -> String {
    format!(
        "mailto:?subject={}&body={}",
        encode(subject),
        encode(message)
    )
}

/// An SVG QR code for a URL (rendered on the server; nothing to download on the phone).
#[cfg(feature = "ssr")]
pub fn qr_svg(url: &str) -> String {
    use qrcode::render::svg;
    match qrcode::QrCode::new(url.as_bytes()) {
        Ok(code) => code
            .render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build(),
        Err(_) => String::new(),
    }
}

#[cfg(not(feature = "ssr"))]
pub fn qr_svg(_url: &str) -> String {
    String::new()
}

/// `/programs/:id/share`: every way to pass the program on, working without JavaScript.
#[component]
pub fn SharePage() -> impl IntoView {
    let id = use_params_map().with_untracked(|p| p.get("id").unwrap_or_default());
    view! {
        <Suspense>
            {Suspend::new(async move {
                match super::program_details(id).await {
                    Ok(page) => view! { <ShareView page /> }.into_any(),
                    Err(e) => view! { <super::program::ProgramError error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ShareView(page: ProgramPageData) -> impl IntoView {
    let locale = crate::language::current();
    let deployment = expect_context::<Deployment>();
    let p = page.program;
    let url = share_url(&deployment, &p.share_code);
    let message = tr!(
        locale,
        share_message,
        name = p.name.clone(),
        organization = p.organization.name.clone(),
        url = url.clone()
    );
    let title = tr!(locale, share_page_title, name = p.name.clone());
    let qr = qr_svg(&url);
    let program_href = format!("/programs/{}", p.id);
    view! {
        <Title text=title.clone() />
        <Meta name="robots" content="noindex" />
        <div class="page">
            <p class="mb-4">
                <a class="link" href=program_href.clone()>
                    "← "
                    {tr!(locale, back_to_program, name = p.name.clone())}
                </a>
            </p>
            <h1 class="page-title">{tr!(locale, share_heading)}</h1>
            <p class="mt-2">{tr!(locale, share_intro)}</p>
            <h2 class="section-title">{p.name.clone()}</h2>
            <label class="field-label mt-3" for="share-link">
                {tr!(locale, share_link_label)}
            </label>
            <input id="share-link" class="field w-full" readonly value=url.clone() />
            <ShareButtons
                url=url.clone()
                title=p.name.clone()
                text=message.clone()
                share_label=tr!(locale, share)
                copy_label=tr!(locale, copy_link)
                copied_label=tr!(locale, link_copied)
            />
            <ul class="mt-4 grid gap-3">
                <li>
                    <a class="button-secondary w-full" href=sms_link(&message)>
                        {tr!(locale, text_message)}
                    </a>
                </li>
                <li>
                    <a class="button-secondary w-full" href=mailto_link(&p.name, &message)>
                        {tr!(locale, email_share)}
                    </a>
                </li>
                <li>
                    <a class="button-secondary w-full" href=format!("{program_href}/print")>
                        {tr!(locale, print)}
                    </a>
                </li>
            </ul>
            <h2 class="section-title">{tr!(locale, qr_code)}</h2>
            <figure class="mt-2">
                <div
                    class="qr"
                    role="img"
                    aria-label=format!("{}: {url}", tr!(locale, qr_code))
                    inner_html=qr
                ></div>
                <figcaption class="mt-2 text-sm">{tr!(locale, qr_caption)}</figcaption>
            </figure>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_codes_are_short_stable_and_distinct() {
        let a = Uuid::new_v5(&Uuid::NAMESPACE_URL, b"ky-211:service:1");
        let b = Uuid::new_v5(&Uuid::NAMESPACE_URL, b"ky-211:service:2");
        assert_eq!(share_code(a), share_code(a));
        assert_ne!(share_code(a), share_code(b));
        assert!(is_share_code(&share_code(a)));
        assert!(!is_share_code("not-a-code!!"));
    }

    #[test]
    fn share_codes_do_not_collide_at_national_scale_in_a_sample() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..200_000u32 {
            let id = Uuid::new_v5(&Uuid::NAMESPACE_URL, format!("national:{i}").as_bytes());
            assert!(seen.insert(share_code(id)));
        }
    }

    #[test]
    fn message_links_are_encoded() {
        assert_eq!(
            sms_link("Food & more: https://x/s/1"),
            "sms:?&body=Food%20%26%20more%3A%20https%3A%2F%2Fx%2Fs%2F1"
        );
        assert!(mailto_link("A b", "c").starts_with("mailto:?subject=A%20b&body=c"));
    }
}
