//! The program page: everything a resident needs to act, then the three sections (other
//! services here, related services, frequently paired together).

use super::categories::CategoryTree;
use super::hours::{format_time, WeeklyHours};
use super::islands::{PrintButton, ShareButtons};
use super::model::{directions_url, Program, ProgramPage as ProgramPageData, ServiceCard};
use super::results::ServiceCardView;
use super::share::{qr_svg, share_url};
use super::DirectoryError;
use crate::config::Deployment;
use crate::i18n::*;
use crate::layout::set_status;
use leptos::prelude::*;
use leptos_meta::{Link, Meta, Title};
use leptos_router::hooks::use_params_map;

/// `/programs/:id`
#[component]
pub fn ProgramPage() -> impl IntoView {
    let id = use_params_map().with_untracked(|p| p.get("id").unwrap_or_default());
    view! { <LoadProgram key=id print=false /> }
}

/// `/s/:code`: the short link people share. Renders the page itself (no redirect), so a link
/// preview in a text message gets the right title and description in one request.
#[component]
pub fn SharedProgramPage() -> impl IntoView {
    let code = use_params_map().with_untracked(|p| p.get("code").unwrap_or_default());
    view! { <LoadProgram key=code print=false /> }
}

/// `/programs/:id/print`: the program on paper.
#[component]
pub fn PrintPage() -> impl IntoView {
    let id = use_params_map().with_untracked(|p| p.get("id").unwrap_or_default());
    view! { <LoadProgram key=id print=true /> }
}

#[component]
fn LoadProgram(key: String, print: bool) -> impl IntoView {
    view! {
        <Suspense>
            {Suspend::new(async move {
                match super::program_details(key).await {
                    Ok(page) if print => view! { <PrintView page /> }.into_any(),
                    Ok(page) => view! { <ProgramView page /> }.into_any(),
                    Err(error) => view! { <ProgramError error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn ProgramError(error: DirectoryError) -> impl IntoView {
    let locale = crate::language::current();
    let message = match error {
        DirectoryError::NotFound | DirectoryError::Invalid(_) | DirectoryError::BadRequest => {
            set_status(404);
            tr!(locale, program_not_found)
        }
        DirectoryError::Unavailable => {
            set_status(503);
            let phone = expect_context::<Deployment>().site.help_phone;
            tr!(locale, service_unavailable, phone = phone)
        }
    };
    view! {
        <Title text=message.clone() />
        <Meta name="robots" content="noindex" />
        <div class="page">
            <h1 class="page-title">{message}</h1>
            <p class="mt-4">
                <a class="button-primary" href="/">{tr!(locale, go_home)}</a>
            </p>
        </div>
    }
}

fn summary_text(p: &Program) -> String {
    let text = p.description.clone().unwrap_or_default();
    let mut short: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        short.push('…');
    }
    short
}

fn ages(locale: Locale, min: Option<i32>, max: Option<i32>) -> Option<String> {
    match (min.filter(|m| *m > 0), max.filter(|m| *m < 120)) {
        (Some(a), Some(b)) => Some(tr!(
            locale,
            ages_between,
            min = a.to_string(),
            max = b.to_string()
        )),
        (Some(a), None) => Some(tr!(locale, ages_from, min = a.to_string())),
        (None, Some(b)) => Some(tr!(locale, ages_up_to, max = b.to_string())),
        (None, None) => None,
    }
}

pub fn day_name(locale: Locale, day: u8) -> String {
    match day {
        0 => tr!(locale, day_0),
        1 => tr!(locale, day_1),
        2 => tr!(locale, day_2),
        3 => tr!(locale, day_3),
        4 => tr!(locale, day_4),
        5 => tr!(locale, day_5),
        _ => tr!(locale, day_6),
    }
    .to_string()
}

#[component]
fn HoursTable(hours: Option<WeeklyHours>, notes: Vec<String>) -> impl IntoView {
    let locale = crate::language::current();
    let spanish = locale == Locale::es;
    let body = match hours {
        None => view! { <p>{tr!(locale, hours_unknown)}</p> }.into_any(),
        Some(h) if h.is_always_open() => view! { <p>{tr!(locale, always_open)}</p> }.into_any(),
        Some(h) => view! {
            <table class="hours">
                <tbody>
                    {(0..7u8)
                        .map(|d| {
                            let times: Vec<String> = h
                                .on(d)
                                .map(|o| format!("{} – {}", format_time(o.opens, spanish), format_time(o.closes, spanish)))
                                .collect();
                            let text = if times.is_empty() { tr!(locale, closed) } else { times.join(", ") };
                            view! {
                                <tr>
                                    <th scope="row">{day_name(locale, d)}</th>
                                    <td>{text}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        }
        .into_any(),
    };
    view! {
        {body}
        {notes.into_iter().map(|n| view! { <p class="mt-1 text-sm">{n}</p> }).collect_view()}
    }
}

/// A titled block of the program page; nothing is shown when there is nothing to say.
#[component]
fn Fact(title: String, children: Children) -> impl IntoView {
    view! {
        <section class="fact">
            <h2 class="fact-title">{title}</h2>
            <div class="mt-1">{children()}</div>
        </section>
    }
}

/// The facts: what, who, cost, how, hours, languages, contact. Shared by screen and print.
#[component]
fn ProgramFacts(program: Program) -> impl IntoView {
    let locale = crate::language::current();
    let p = program;
    let age_text = ages(locale, p.minimum_age, p.maximum_age);
    let who = (p.eligibility.is_some() || age_text.is_some()).then(|| {
        view! {
            <Fact title=tr!(locale, who_can_get_this)>
                {age_text.clone().map(|a| view! { <p class="font-semibold">{a}</p> })}
                {p.eligibility.clone().map(|e| view! { <p class="prose-text">{e}</p> })}
            </Fact>
        }
    });
    let cost = match (&p.fees, p.is_free) {
        (Some(f), _) => f.clone(),
        (None, true) => tr!(locale, free),
        (None, false) => tr!(locale, cost_unknown),
    };
    let location = p.location.clone();
    let address = location.as_ref().and_then(|l| l.address.clone());
    let directions = location
        .as_ref()
        .and_then(|l| directions_url(l.address.as_ref(), l.latitude, l.longitude));
    let languages: Vec<String> = p.languages.clone();
    view! {
        {p.description.clone().map(|d| view! {
            <Fact title=tr!(locale, what_it_is)>
                <p class="prose-text">{d}</p>
            </Fact>
        })}
        {who}
        <Fact title=tr!(locale, what_it_costs)>
            <p>{cost}</p>
        </Fact>
        {p.application_process.clone().map(|a| view! {
            <Fact title=tr!(locale, how_to_apply)>
                <p class="prose-text">{a}</p>
            </Fact>
        })}
        {(!p.required_documents.is_empty()).then(|| view! {
            <Fact title=tr!(locale, what_to_bring)>
                <ul class="list-disc pl-5">
                    {p.required_documents.iter().map(|d| view! { <li>{d.clone()}</li> }).collect_view()}
                </ul>
            </Fact>
        })}
        <Fact title=tr!(locale, hours)>
            <HoursTable hours=p.hours.clone() notes=p.hours_notes.clone() />
        </Fact>
        {p.wait_time.clone().map(|w| view! {
            <Fact title=tr!(locale, wait_time)><p>{w}</p></Fact>
        })}
        {(!languages.is_empty() || p.interpretation_services.is_some()).then(|| view! {
            <Fact title=tr!(locale, languages)>
                {(!languages.is_empty()).then(|| view! { <p>{languages.join(", ")}</p> })}
                {p.interpretation_services.clone().map(|i| view! {
                    <p class="mt-1">{tr!(locale, interpretation)}": "{i}</p>
                })}
            </Fact>
        })}
        <Fact title=tr!(locale, contact)>
            <ul class="grid gap-2">
                {p.phones.iter().map(|ph| view! {
                    <li>
                        <a class="call-link" href=ph.tel_uri()>
                            {tr!(locale, call_number, number = ph.number.clone())}
                        </a>
                        {ph.description.clone().map(|d| view! { <span class="block text-sm">{d}</span> })}
                    </li>
                }).collect_view()}
                {address.clone().map(|a| view! {
                    <li>
                        <span class="block font-semibold">{tr!(locale, address)}</span>
                        <span>{a.one_line()}</span>
                    </li>
                })}
                {directions.map(|href| view! {
                    <li><a class="call-link" href=href rel="noopener">{tr!(locale, directions)}</a></li>
                })}
                {location.as_ref().and_then(|l| l.transportation.clone()).map(|t| view! {
                    <li><span class="block font-semibold">{tr!(locale, getting_there)}</span>{t}</li>
                })}
                {p.website.clone().map(|w| view! {
                    <li><a class="call-link break-all" href=w.clone() rel="noopener">{tr!(locale, website)}": "{host_of(&w)}</a></li>
                })}
                {p.email.clone().map(|e| view! {
                    <li><a class="call-link break-all" href=format!("mailto:{e}")>{tr!(locale, email)}": "{e.clone()}</a></li>
                })}
            </ul>
        </Fact>
        {(!p.service_areas.is_empty()).then(|| view! {
            <Fact title=tr!(locale, serves)>
                <p>{p.service_areas.join(", ")}</p>
            </Fact>
        })}
    }
}

/// "https://www.example.org/path" → "www.example.org": what a person recognises in a link.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    rest.split(['/', '?', '#'])
        .next()
        .unwrap_or(rest)
        .to_string()
}

fn verified_text(locale: Locale, p: &Program) -> String {
    match p.last_verified {
        Some(d) => {
            let date = match locale {
                Locale::es => d.format("%d/%m/%Y").to_string(),
                Locale::en => d.format("%B %-d, %Y").to_string(),
            };
            tr!(locale, last_verified, date = date)
        }
        None => tr!(locale, never_verified),
    }
}

#[component]
fn ProgramView(page: ProgramPageData) -> impl IntoView {
    let locale = crate::language::current();
    let deployment = expect_context::<Deployment>();
    let tree = CategoryTree::get();
    let p = page.program.clone();
    let url = share_url(&deployment, &p.share_code);
    let canonical = format!("{}/programs/{}", deployment.site.public_url, p.id);
    let description = summary_text(&p);
    let title = format!(
        "{} – {} | {}",
        p.name, p.organization.name, deployment.site.name
    );
    let message = tr!(
        locale,
        share_message,
        name = p.name.clone(),
        organization = p.organization.name.clone(),
        url = url.clone()
    );
    let category_links: Vec<(String, String)> = p
        .category_ids
        .iter()
        .filter_map(|c| tree.name(c, locale).map(|n| (c.clone(), n.to_string())))
        .collect();
    let first_category = category_links.first().cloned();
    let open = p.open_now.map(|o| {
        if o {
            view! { <span class="badge badge-open">{tr!(locale, open_now)}</span> }.into_any()
        } else {
            view! { <span class="badge badge-closed">{tr!(locale, closed_now)}</span> }.into_any()
        }
    });
    let call = p.phones.first().cloned();
    view! {
        <Title text=title.clone() />
        <Meta name="description" content=description.clone() />
        <Link rel="canonical" href=canonical />
        <Meta property="og:type" content="website" />
        <Meta property="og:site_name" content=deployment.site.name.clone() />
        <Meta property="og:title" content=format!("{} – {}", p.name, p.organization.name) />
        <Meta property="og:description" content=description />
        <Meta property="og:url" content=url.clone() />
        <Meta name="twitter:card" content="summary" />
        <article class="page">
            {(!p.active).then(|| view! {
                <div class="alert alert-warning" role="alert">{tr!(locale, no_longer_listed)}</div>
            })}
            {p.alert.clone().map(|a| view! { <div class="alert alert-warning mt-2" role="note">{a}</div> })}
            <p class="mt-2 flex flex-wrap gap-2 text-sm">
                {category_links.iter().map(|(id, name)| view! {
                    <a class="chip" href=format!("/search?category={id}")>{name.clone()}</a>
                }).collect_view()}
            </p>
            <h1 class="page-title mt-2">{p.name.clone()}</h1>
            <p class="mt-1">{tr!(locale, offered_by, organization = p.organization.name.clone())}</p>
            <p class="mt-2 flex flex-wrap gap-2">
                {p.organization.is_partner.then(|| view! { <span class="badge badge-partner">{tr!(locale, partner_badge)}</span> })}
                {p.is_free.then(|| view! { <span class="badge badge-free">{tr!(locale, free)}</span> })}
                {open}
            </p>
            {refer_button(locale, p.id)}
            {plan_buttons(locale, p.id, p.organization.name.clone())}
            <div class="mt-4 grid gap-3 sm:grid-cols-2 no-print">
                {call.map(|ph| view! {
                    <a class="button-primary" href=ph.tel_uri()>
                        {tr!(locale, call_number, number = ph.number.clone())}
                    </a>
                })}
                <a class="button-secondary" href=format!("/programs/{}/share", p.id)>{tr!(locale, all_ways_to_share)}</a>
            </div>
            <div class="no-print">
                <ShareButtons
                    url=url.clone()
                    title=p.name.clone()
                    text=message
                    share_label=tr!(locale, share)
                    copy_label=tr!(locale, copy_link)
                    copied_label=tr!(locale, link_copied)
                />
            </div>
            <ProgramFacts program=p.clone() />
            <p class="mt-6 text-sm">{verified_text(locale, &p)}</p>

            <Section id="other-here" title=tr!(locale, other_here) cards=page.other_here empty=tr!(locale, none_here) />
            <Section id="related" title=tr!(locale, related) cards=page.related empty=tr!(locale, none_related) />
            {first_category.map(|(id, name)| view! {
                <p class="mt-2"><a class="link" href=format!("/search?category={id}")>{tr!(locale, see_all_in, category = name)}</a></p>
            })}
            {(!page.paired_by_referrals.is_empty()).then(|| view! {
                <section class="program-section" aria-labelledby="paired-heading">
                    <h2 id="paired-heading" class="section-title">{tr!(locale, paired)}</h2>
                    <p class="mt-1 text-sm">{tr!(locale, paired_from_referrals_note)}</p>
                    <ul class="mt-3 grid gap-3">
                        {page.paired_by_referrals.clone().into_iter().map(|card| view! {
                            <li><ServiceCardView card heading_level=3 /></li>
                        }).collect_view()}
                    </ul>
                </section>
            })}
            {page.paired_by_referrals.is_empty().then(|| view! {
            <section class="program-section" aria-labelledby="paired-heading">
                <h2 id="paired-heading" class="section-title">{tr!(locale, paired)}</h2>
                <p class="mt-1 text-sm">{tr!(locale, paired_note)}</p>
                <ul class="mt-3 grid gap-3">
                    {page.paired.into_iter().map(|s| {
                        let name = tree.name(&s.subcategory_id, locale).unwrap_or_default().to_string();
                        view! {
                            <li>
                                <h3 class="font-semibold">
                                    <a class="link" href=format!("/search?category={}", s.subcategory_id)>{name}</a>
                                </h3>
                                {s.nearest.map(|card| view! { <div class="mt-2"><ServiceCardView card heading_level=3 /></div> })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
            })}
            {(!p.organization.is_partner).then(|| view! {
                <p class="mt-6 text-sm no-print">
                    {tr!(locale, claim_prompt, organization = p.organization.name.clone())}" "
                    <a class="link" href=format!("/organizations/{}/claim", p.organization.id)>{tr!(locale, claim_link)}</a>
                </p>
            })}
        </article>
    }
}

#[component]
fn Section(
    id: &'static str,
    title: String,
    cards: Vec<ServiceCard>,
    empty: String,
) -> impl IntoView {
    let heading_id = format!("{id}-heading");
    view! {
        <section class="program-section" aria-labelledby=heading_id.clone()>
            <h2 id=heading_id.clone() class="section-title">{title}</h2>
            {if cards.is_empty() {
                view! { <p class="mt-1 text-sm">{empty}</p> }.into_any()
            } else {
                view! {
                    <ul class="mt-3 grid gap-3">
                        {cards.into_iter().map(|card| view! { <li><ServiceCardView card heading_level=3 /></li> }).collect_view()}
                    </ul>
                }
                .into_any()
            }}
        </section>
    }
}

#[component]
fn PrintView(page: ProgramPageData) -> impl IntoView {
    let locale = crate::language::current();
    let deployment = expect_context::<Deployment>();
    let p = page.program;
    let url = share_url(&deployment, &p.share_code);
    view! {
        <Title text=format!("{} – {}", p.name, p.organization.name) />
        <Meta name="robots" content="noindex" />
        <article class="page print-sheet">
            <p class="no-print mb-4 flex gap-3">
                <a class="button-secondary" href=format!("/programs/{}", p.id)>{tr!(locale, back_to_program, name = p.name.clone())}</a>
                <PrintButton label=tr!(locale, print_page) />
            </p>
            <h1 class="page-title">{p.name.clone()}</h1>
            <p class="mt-1">{tr!(locale, offered_by, organization = p.organization.name.clone())}</p>
            <ProgramFacts program=p.clone() />
            <p class="mt-6 text-sm">{verified_text(locale, &p)}</p>
            <div class="print-qr mt-4" role="img" aria-label=format!("{}: {url}", tr!(locale, qr_code)) inner_html=qr_svg(&url)></div>
            <p class="mt-2 text-sm">{tr!(locale, printed_from, url = url.clone())}</p>
        </article>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_ranges_read_naturally() {
        assert_eq!(
            ages(Locale::en, Some(0), Some(2)).as_deref(),
            Some("Up to age 2")
        );
        assert_eq!(
            ages(Locale::en, Some(60), None).as_deref(),
            Some("Ages 60 and older")
        );
        assert_eq!(
            ages(Locale::es, Some(16), Some(24)).as_deref(),
            Some("De 16 a 24 años")
        );
        assert_eq!(ages(Locale::en, None, None), None);
    }

    #[test]
    fn links_show_their_site() {
        assert_eq!(
            host_of("https://caa-franklin.example.org/food"),
            "caa-franklin.example.org"
        );
        assert_eq!(host_of("www.example.org"), "www.example.org");
    }
}

/// Residents and people signed out see "Save" (and, with a record, "Connect") instead.
fn plan_buttons(
    locale: Locale,
    program: uuid::Uuid,
    organization: String,
) -> Option<impl IntoView> {
    #[cfg(feature = "ssr")]
    {
        crate::residents::pages::plan_buttons(locale, program, organization)
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = (locale, program, organization);
        None::<()>
    }
}

/// Partners see "Refer someone" at the top of every program page, their main action
/// (server-rendered; residents never do). A program already in the referral being put together
/// says so and links to it.
fn refer_button(locale: Locale, program: uuid::Uuid) -> Option<impl IntoView> {
    #[cfg(feature = "ssr")]
    {
        let may = crate::web::request().viewer.is_some_and(|v| {
            crate::policy::allows(v.effective_role(), crate::policy::Action::MakeReferrals)
        });
        may.then(|| {
            let state = async move {
                let basket = crate::referrals::pages::basket_ids().await;
                if basket.contains(&program) {
                    view! {
                        <p class="mt-4 no-print" data-testid="in-referral">
                            <span class="badge badge-partner">{tr!(locale, in_referral_already)}</span>" "
                            <a class="link" href="/referrals/new">{tr!(locale, referral_basket_count, count = basket.len())}</a>
                        </p>
                    }
                    .into_any()
                } else {
                    view! {
                        <form class="mt-4 no-print" method="post" action="/fn/add_to_referral">
                            <input type="hidden" name="program_id" value=program.to_string() />
                            <button class="button-primary w-full sm:w-auto" type="submit">{tr!(locale, refer_button)}</button>
                        </form>
                    }
                    .into_any()
                }
            };
            crate::forms::loaded(state)
        })
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = (locale, program);
        None::<()>
    }
}
