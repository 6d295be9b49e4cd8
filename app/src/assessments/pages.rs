//! Assessment pages: the self-assessment anyone may take (`/assessment`), its results with
//! programs near the person, and a partner's or hospital's assessment with a resident who
//! consented (`/residents/:id/assess`, `/assessments/:id`). One question group per page, plain
//! forms with back and next: they work before and without JavaScript.

use super::actions::{self, InSession};
use super::instrument::{Answer, Answers, Instrument, ItemKind, NotAnsweredKind, Page};
use super::scoring::{self, Interpretation};
use super::store::{self, Assessment, StoredIndicator};
use super::{lang, may_administer, need_title, sealed_items, source_label, Mode, Status};
use crate::forms::{date, loaded, query, FormAlert, Notice};
use crate::i18n::*;
use crate::identity::accounts::AuthSession;
use crate::layout::set_status;
use crate::residents::{gate, Principal, Purpose, ResidentAccess};
use crate::state::AppState;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

fn param(name: &str) -> String {
    use_params_map()
        .with_untracked(|p| p.get(name))
        .unwrap_or_default()
}

fn not_found(locale: Locale) -> AnyView {
    set_status(404);
    view! {
        <h1 class="page-title">{tr!(locale, not_found_title)}</h1>
        <p class="mt-2">{tr!(locale, not_found_body)}</p>
    }
    .into_any()
}

fn self_assessment() -> &'static Instrument {
    Instrument::get(super::SELF_ASSESSMENT).expect("the self-assessment ships with the app")
}

/// Where to go to leave a safety question quickly: a page that says nothing about it.
const QUICK_EXIT: &str = "https://www.weather.gov/";

/// What the form around the questions carries besides the answers.
struct FormTarget {
    action: &'static str,
    hidden: Vec<(&'static str, String)>,
    /// A partner may stop and come back ("Finish later").
    later: bool,
}

/// One page of questions as a plain form: a fieldset per question, "I'd rather not say" and
/// "I don't know" on every one, back and next, "3 of 6".
fn question_form(
    locale: Locale,
    instrument: &Instrument,
    page: &Page,
    answers: &Answers,
    target: FormTarget,
    read_aloud: bool,
) -> impl IntoView {
    let l = lang(locale);
    let enabled = instrument.enabled_pages(answers);
    let total = enabled.len().max(1);
    let number = enabled
        .iter()
        .position(|p| p.id == page.id)
        .map_or(1, |i| i + 1);
    let declined = instrument.not_answered(NotAnsweredKind::Declined);
    let dont_know = instrument.not_answered(NotAnsweredKind::DontKnow);
    // Shown: the questions asked, and those that depend on a question on this same page not
    // answered yet (without JavaScript they cannot appear later; skipped ones are dropped).
    let items = page
        .items
        .iter()
        .filter(|i| {
            !matches!(
                instrument.enablement(&i.code, answers),
                super::instrument::Enablement::Disabled
            )
        })
        .enumerate()
        .map(|(n, item)| {
            let given = answers.get(&item.code);
            let chosen = |code: &str| match given {
                Some(Answer::Choice(c)) => c.iter().any(|x| x == code),
                Some(Answer::Declined) => code == declined.code,
                Some(Answer::DontKnow) => code == dont_know.code,
                _ => false,
            };
            let hint_id = format!("hint-{n}");
            let help = item
                .help
                .as_ref()
                .map(|h| view! { <span class="hint block" id=hint_id.clone()>{h.get(l).to_string()}</span> });
            let described = item.help.as_ref().map(|_| hint_id.clone());
            let input_type = match item.kind {
                ItemKind::Single => "radio",
                _ => "checkbox",
            };
            let value = |code: &str| format!("{}={}", item.code, code);
            // One radio group per single-choice question (`answers[100n]`); a name of its own
            // for each checkbox (`answers[100n + k]`): the server reads them as one list.
            let name = |k: usize| match item.kind {
                ItemKind::Single => format!("answers[{}]", n * 100),
                _ => format!("answers[{}]", n * 100 + k + 1),
            };
            let options = item
                .answers
                .iter()
                .enumerate()
                .map(|(k, a)| {
                    view! {
                        <label class="choice">
                            <input type=input_type name=name(k) value=value(&a.code) checked=chosen(&a.code) />
                            <span>{a.text.get(l).to_string()}</span>
                        </label>
                    }
                })
                .collect_view();
            let number_box = (item.kind == ItemKind::Integer).then(|| {
                let current = match given {
                    Some(Answer::Integer(v)) => v.to_string(),
                    _ => String::new(),
                };
                view! {
                    <label class="form-field">
                        <span class="field-label">{tr!(locale, assessment_number_label)}</span>
                        <input class="field w-40" type="number" inputmode="numeric" name="numbers[]"
                            min=item.min.map(|m| m.to_string()) max=item.max.map(|m| m.to_string()) value=current />
                    </label>
                    <input type="hidden" name="number_items[]" value=item.code.clone() />
                }
            });
            let not_answered = [declined, dont_know]
                .into_iter()
                .enumerate()
                .map(|(k, o)| {
                    view! {
                        <label class="choice">
                            <input type=input_type name=name(90 + k) value=value(&o.code) checked=chosen(&o.code) />
                            <span>{o.text.get(l).to_string()}</span>
                        </label>
                    }
                })
                .collect_view();
            view! {
                <fieldset class="form-field card" aria-describedby=described>
                    <legend class="field-label question">{item.text.get(l).to_string()}</legend>
                    {help}
                    <div class="stack mt-2">{options}{number_box}{not_answered}</div>
                </fieldset>
            }
        })
        .collect_view();
    let safety = page.safety.then(|| {
        view! {
            <div class="alert alert-warning mt-2" role="note">
                <p>{page.note.as_ref().map(|n| n.get(l).to_string()).unwrap_or_else(|| tr!(locale, safety_note))}</p>
                <p class="mt-2"><a class="button-secondary" href=QUICK_EXIT rel="noreferrer">{tr!(locale, quick_exit)}</a></p>
            </div>
        }
    });
    let aloud = read_aloud.then(|| {
        view! { <p class="alert mt-2" role="note">{tr!(locale, read_aloud_note)}</p> }
    });
    let hidden = target
        .hidden
        .into_iter()
        .map(|(name, value)| view! { <input type="hidden" name=name value=value /> })
        .collect_view();
    view! {
        <p class="text-sm mt-2" data-testid="progress">{tr!(locale, assessment_progress, number = number, total = total)}</p>
        <h1 class="page-title mt-1">{page.title.get(l).to_string()}</h1>
        {safety}
        {aloud}
        <FormAlert />
        <form class=if read_aloud { "stack mt-4 read-aloud" } else { "stack mt-4" } method="post" action=target.action>
            {hidden}
            <input type="hidden" name="page" value=page.id.clone() />
            {items}
            <div class="button-row">
                <button class="button-primary" type="submit" name="go" value="next">{tr!(locale, assessment_next)}</button>
                <button class="button-secondary" type="submit" name="go" value="back">{tr!(locale, assessment_back)}</button>
                {target.later.then(|| view! {
                    <button class="button-secondary" type="submit" name="go" value="later">{tr!(locale, assessment_later)}</button>
                })}
            </div>
        </form>
    }
}

/// `/assessment`: what the self-assessment is, start or continue.
#[component]
pub fn SelfAssessmentPage() -> impl IntoView {
    let locale = crate::language::current();
    let l = lang(locale);
    let instrument = self_assessment();
    let content = async move {
        let Ok(auth) = leptos_axum::extract::<AuthSession>().await else {
            return ().into_any();
        };
        let kept = actions::in_session(&auth.session).await;
        let first = instrument
            .next_page(None, &Answers::new())
            .map(|p| p.id.clone())
            .unwrap_or_default();
        let started = !kept.answers.is_empty() || kept.done;
        let resume = if kept.done {
            "/assessment/results".to_string()
        } else {
            format!(
                "/assessment/questions/{}",
                kept.page.clone().unwrap_or(first.clone())
            )
        };
        view! {
            {started.then(|| view! {
                <p class="mt-4"><a class="button-primary" href=resume.clone()>{tr!(locale, assessment_continue)}</a></p>
                <form class="mt-2" method="post" action="/fn/restart_self_assessment">
                    <button class="button-secondary" type="submit">{tr!(locale, assessment_start_over)}</button>
                </form>
            })}
            {(!started).then(|| view! {
                <p class="mt-4"><a class="button-primary" href=format!("/assessment/questions/{first}")>{tr!(locale, assessment_start)}</a></p>
            })}
        }
        .into_any()
    };
    view! {
        <Title text=instrument.title.get(l).to_string() />
        <div class="page">
            <h1 class="page-title">{instrument.title.get(l).to_string()}</h1>
            <FormAlert />
            <p class="mt-2">{instrument.intro.as_ref().map(|t| t.get(l).to_string())}</p>
            <p class="mt-2 text-sm">{tr!(locale, assessment_private_note)}</p>
            {loaded(content)}
        </div>
    }
}

/// `/assessment/questions/:page`: one page of the self-assessment.
#[component]
pub fn SelfAssessmentQuestionsPage() -> impl IntoView {
    let locale = crate::language::current();
    let l = lang(locale);
    let instrument = self_assessment();
    let page_id = param("page");
    let content = async move {
        let Some(page) = instrument.page(&page_id) else {
            return not_found(locale);
        };
        let kept = match leptos_axum::extract::<AuthSession>().await {
            Ok(auth) => actions::in_session(&auth.session).await,
            Err(_) => InSession::default(),
        };
        question_form(
            locale,
            instrument,
            page,
            &kept.answers,
            FormTarget {
                action: "/fn/answer_self_assessment",
                hidden: Vec::new(),
                later: false,
            },
            false,
        )
        .into_any()
    };
    view! {
        <Title text=instrument.title.get(l).to_string() />
        <Meta name="robots" content="noindex" />
        <div class="page">
            <p><a class="link" href="/assessment">{instrument.title.get(l).to_string()}</a></p>
            {loaded(content)}
        </div>
    }
}

/// The needs an outcome found, positive first, "not answered" said as such (never "no").
fn needs_list(locale: Locale, outcome: &scoring::Outcome) -> impl IntoView {
    let positive: Vec<_> = outcome.positive().collect();
    let not_answered: Vec<_> = outcome
        .indicators
        .iter()
        .filter(|i| {
            matches!(i.interpretation, Interpretation::NotAnswered(a) if a != super::instrument::Absent::Missing)
        })
        .collect();
    view! {
        {positive.is_empty().then(|| view! { <p class="mt-2">{tr!(locale, assessment_no_needs)}</p> })}
        {(!positive.is_empty()).then(|| view! {
            <ul class="list-disc pl-5 mt-2" data-testid="needs">
                {positive.iter().map(|i| view! { <li>{need_title(&i.need, locale)}</li> }).collect_view()}
            </ul>
        })}
        {(!not_answered.is_empty()).then(|| view! {
            <p class="mt-2">{tr!(locale, assessment_not_answered_intro)}</p>
            <ul class="list-disc pl-5 mt-1" data-testid="not-answered">
                {not_answered.iter().map(|i| view! { <li>{need_title(&i.need, locale)}</li> }).collect_view()}
            </ul>
        })}
    }
}

/// Programs near `near` for each need: the first matching directory category's nearest few.
async fn programs_near(
    locale: Locale,
    outcome: &scoring::Outcome,
    near: &str,
) -> Result<AnyView, String> {
    use crate::directory::query::SearchParams;
    let state = AppState::get();
    let search = &state.deployment.search;
    let mut sections = Vec::new();
    for indicator in outcome.positive() {
        let Some(category) = indicator.categories.first() else {
            continue;
        };
        let params = SearchParams {
            near: Some(near.to_string()),
            category: Some(category.clone()),
            sort: Some("distance".to_string()),
            ..Default::default()
        };
        let query = params
            .check(&search.radius_choices, search.default_radius_miles)
            .map_err(|_| tr!(locale, assessment_bad_zip))?;
        let results = crate::directory::store::search(&state.pool, &query, &state.deployment)
            .await
            .map_err(|e| match e {
                // A place the directory does not know.
                crate::directory::DirectoryError::Invalid(_)
                | crate::directory::DirectoryError::NotFound => tr!(locale, assessment_bad_zip),
                _ => tr!(locale, err_unavailable),
            })?;
        let more = format!(
            "/search?category={}&near={}",
            crate::directory::query::encode(category),
            crate::directory::query::encode(near)
        );
        let cards = results
            .cards
            .into_iter()
            .take(3)
            .map(|c| {
                let distance = c
                    .distance_miles
                    .map(|d| tr!(locale, miles_away, miles = format!("{d:.1}")));
                view! {
                    <li class="card">
                        <a class="card-title" href=format!("/programs/{}", c.id)>{c.name}</a>
                        <p class="text-sm">{c.organization}{distance.map(|d| format!(" · {d}"))}</p>
                    </li>
                }
            })
            .collect_view();
        let title = need_title(&indicator.need, locale);
        sections.push(view! {
            <section class="mt-4">
                <h3 class="font-semibold">{title.clone()}</h3>
                <ul class="stack mt-2">{cards}</ul>
                <p class="mt-1"><a class="link" href=more>{tr!(locale, assessment_more_programs, need = title)}</a></p>
            </section>
        });
    }
    Ok(sections.into_iter().collect_view().into_any())
}

/// `/assessment/results`: the needs found and programs near the person, and "Save to My Plan".
#[component]
pub fn SelfAssessmentResultsPage() -> impl IntoView {
    let locale = crate::language::current();
    let l = lang(locale);
    let instrument = self_assessment();
    let near = query("near");
    let viewer = crate::web::request().viewer;
    let content = async move {
        let Ok(auth) = leptos_axum::extract::<AuthSession>().await else {
            return ().into_any();
        };
        let kept = actions::in_session(&auth.session).await;
        if !kept.done {
            return view! {
                <p class="mt-2">{tr!(locale, assessment_not_finished)}</p>
                <p class="mt-2"><a class="button-primary" href="/assessment">{tr!(locale, assessment_continue)}</a></p>
            }
            .into_any();
        }
        let outcome = scoring::score(instrument, &kept.answers);
        let programs = match &near {
            Some(n) if outcome.positive().next().is_some() => {
                Some(match programs_near(locale, &outcome, n).await {
                    Ok(v) => v,
                    Err(message) => {
                        view! { <p class="alert alert-error mt-2" role="alert">{message}</p> }
                            .into_any()
                    }
                })
            }
            _ => None,
        };
        let any_need = outcome.positive().next().is_some();
        let resident = viewer
            .as_ref()
            .is_some_and(|v| v.effective_role() == crate::policy::Role::Resident);
        let save = if resident {
            view! {
                <form class="mt-2" method="post" action="/fn/save_self_assessment">
                    <button class="button-primary" type="submit">{tr!(locale, assessment_save)}</button>
                </form>
            }
            .into_any()
        } else if viewer.is_none() {
            view! {
                <p class="mt-2">{tr!(locale, assessment_save_sign_in_note)}</p>
                <form class="mt-2" method="post" action="/fn/save_self_assessment">
                    <button class="button-primary" type="submit">{tr!(locale, assessment_save_sign_in)}</button>
                </form>
            }
            .into_any()
        } else {
            ().into_any()
        };
        view! {
            <section class="mt-4">
                <h2 class="section-title">{tr!(locale, assessment_needs_title)}</h2>
                {needs_list(locale, &outcome)}
            </section>
            {any_need.then(|| view! {
                <section class="mt-6">
                    <h2 class="section-title">{tr!(locale, assessment_programs_title)}</h2>
                    <form class="stack mt-2" method="get" action="/assessment/results">
                        <label class="form-field"><span class="field-label">{tr!(locale, assessment_zip_label)}</span>
                            <span class="hint" id="zip-hint">{tr!(locale, assessment_zip_hint)}</span>
                            <input class="field w-40" name="near" inputmode="numeric" autocomplete="postal-code" maxlength="10"
                                aria-describedby="zip-hint" value=near.clone().unwrap_or_default() /></label>
                        <button class="button-secondary" type="submit">{tr!(locale, assessment_show_programs)}</button>
                    </form>
                    {programs}
                </section>
            })}
            <section class="mt-6">
                <h2 class="section-title">{tr!(locale, assessment_keep_title)}</h2>
                {save}
                <form class="mt-2" method="post" action="/fn/restart_self_assessment">
                    <button class="button-secondary" type="submit">{tr!(locale, assessment_start_over)}</button>
                </form>
            </section>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, assessment_results_title) />
        <Meta name="robots" content="noindex" />
        <div class="page">
            <p><a class="link" href="/assessment">{instrument.title.get(l).to_string()}</a></p>
            <h1 class="page-title mt-2">{tr!(locale, assessment_results_title)}</h1>
            <FormAlert />
            {loaded(content)}
        </div>
    }
}

/// `/residents/:id/assess`: choose what to assess, with a resident who consented.
#[component]
pub fn StartAssessmentPage() -> impl IntoView {
    let locale = crate::language::current();
    let l = lang(locale);
    let viewer = crate::web::request().viewer;
    let id = param("id");
    let content = async move {
        let state = AppState::get();
        let Some(viewer) = viewer else {
            return ().into_any();
        };
        let Ok(resident) = Uuid::parse_str(&id) else {
            return not_found(locale);
        };
        let access = match gate::open(
            &state.pool,
            &Principal::Person(viewer.clone()),
            resident,
            Purpose::Assessment,
        )
        .await
        {
            Ok(a @ ResidentAccess::Full { .. }) => a,
            Ok(_) | Err(crate::residents::ResidentError::Denied) => {
                set_status(403);
                return view! {
                    <h1 class="page-title">{tr!(locale, assessment_needs_consent_title)}</h1>
                    <p class="mt-2">{tr!(locale, assessment_needs_consent_body)}</p>
                    <p class="mt-2"><a class="button-primary" href=format!("/residents/{resident}#consent")>{tr!(locale, quick_request_consent)}</a></p>
                }
                .into_any();
            }
            Err(_) => return not_found(locale),
        };
        let role = viewer.effective_role();
        let choices = Instrument::all()
            .iter()
            .filter(|i| may_administer(role, i))
            .map(|i| {
                view! {
                    <li class="card">
                        <form class="stack" method="post" action="/fn/start_assessment">
                            <input type="hidden" name="resident_id" value=resident.to_string() />
                            <input type="hidden" name="instrument" value=i.id.clone() />
                            <p class="card-title no-underline">{i.title.get(l).to_string()}</p>
                            <p class="text-sm">{tr!(locale, assessment_version_line, version = i.version.clone())}</p>
                            <label class="choice">
                                <input type="checkbox" name="read_aloud" value="yes" />
                                <span>{tr!(locale, read_aloud_label)}</span>
                            </label>
                            <button class="button-primary" type="submit">{tr!(locale, assessment_start)}</button>
                        </form>
                    </li>
                }
            })
            .collect_view();
        view! {
            <h1 class="page-title mt-2">{tr!(locale, assessment_start_title, name = access.first_name())}</h1>
            <FormAlert />
            <p class="mt-2">{tr!(locale, assessment_hand_phone_note)}</p>
            <ul class="stack mt-4">{choices}</ul>
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, quick_start_assessment) />
        <Meta name="robots" content="noindex" />
        <div class="page">
            <p><a class="link" href=format!("/residents/{}", param("id"))>{tr!(locale, back_to_resident)}</a></p>
            {loaded(content)}
        </div>
    }
}

/// `/assessments/:id/:page`: one page of an assessment with a resident.
#[component]
pub fn AssessmentQuestionsPage() -> impl IntoView {
    let locale = crate::language::current();
    let viewer = crate::web::request().viewer;
    let id = param("id");
    let page_id = param("page");
    let read_aloud = query("read_aloud").is_some();
    let content = async move {
        let Some(viewer) = viewer else {
            return ().into_any();
        };
        let Ok(id) = Uuid::parse_str(&id) else {
            return not_found(locale);
        };
        let assessment = match actions::open_own(&viewer, id).await {
            Ok(a) => a,
            Err(super::AssessmentError::NoConsent) => {
                set_status(403);
                return view! { <p class="mt-2" role="alert">{tr!(locale, err_no_consent)}</p> }
                    .into_any();
            }
            Err(_) => return not_found(locale),
        };
        if assessment.status == Status::Completed {
            return view! {
                <p class="mt-2">{tr!(locale, err_assessment_completed)}</p>
                <p class="mt-2"><a class="button-primary" href=format!("/assessments/{id}")>{tr!(locale, assessment_open)}</a></p>
            }
            .into_any();
        }
        let Some(instrument) = assessment.instrument() else {
            return not_found(locale);
        };
        let Some(page) = instrument.page(&page_id) else {
            return not_found(locale);
        };
        let mut hidden = vec![("assessment_id", id.to_string())];
        if read_aloud {
            hidden.push(("read_aloud", "yes".to_string()));
        }
        view! {
            <p class="text-sm">{instrument.title.get(lang(locale)).to_string()}</p>
            {question_form(
                locale,
                instrument,
                page,
                &assessment.answers,
                FormTarget { action: "/fn/answer_assessment", hidden, later: true },
                read_aloud,
            )}
        }
        .into_any()
    };
    view! {
        <Title text=tr!(locale, assessment_title) />
        <Meta name="robots" content="noindex" />
        <div class="page">{loaded(content)}</div>
    }
}

/// An answer in words, as the instrument shows it.
fn answer_words(instrument: &Instrument, item: &str, answer: &Answer, locale: Locale) -> String {
    let l = lang(locale);
    match answer {
        Answer::Choice(codes) => codes
            .iter()
            .map(|c| {
                instrument
                    .item(item)
                    .and_then(|i| i.answer(c))
                    .map(|a| a.text.get(l).to_string())
                    .unwrap_or_else(|| c.clone())
            })
            .collect::<Vec<_>>()
            .join("; "),
        Answer::Integer(v) => v.to_string(),
        Answer::Declined => instrument
            .not_answered(NotAnsweredKind::Declined)
            .text
            .get(l)
            .to_string(),
        Answer::DontKnow => instrument
            .not_answered(NotAnsweredKind::DontKnow)
            .text
            .get(l)
            .to_string(),
    }
}

/// `/assessments/:id`: one assessment on a resident's record — what, when, who, where from,
/// the needs it found and its answers as the gate allows (answers that decide a sensitive need
/// only for the organization that asked them).
#[component]
pub fn AssessmentPage() -> impl IntoView {
    let locale = crate::language::current();
    let viewer = crate::web::request().viewer;
    let id = param("id");
    let done = query("done").map(|_| tr!(locale, assessment_completed_notice));
    let content = async move {
        let state = AppState::get();
        let Some(viewer) = viewer else {
            return ().into_any();
        };
        let Ok(id) = Uuid::parse_str(&id) else {
            return not_found(locale);
        };
        let Ok(assessment) = store::get(&state.pool, id).await else {
            return not_found(locale);
        };
        let Some(resident) = assessment.resident_id else {
            return not_found(locale);
        };
        // Reading it is opening the resident's data: the gate decides and records it.
        let access = gate::open(
            &state.pool,
            &Principal::Person(viewer.clone()),
            resident,
            Purpose::Assessment,
        )
        .await;
        let sensitive_open = match access {
            Ok(ResidentAccess::Full { sensitive, .. }) => sensitive,
            Ok(_) | Err(crate::residents::ResidentError::Denied) => {
                set_status(403);
                return view! { <p class="mt-2" role="alert">{tr!(locale, err_no_consent)}</p> }
                    .into_any();
            }
            Err(_) => return not_found(locale),
        };
        let ours = assessment.organization_id.is_some()
            && assessment.organization_id == viewer.organization_id;
        let seal_open = ours
            || (sensitive_open
                && crate::residents::store::seal_open(&state.pool, resident, viewer.user_id)
                    .await
                    .unwrap_or(false));
        render_assessment(locale, &assessment, ours, seal_open).into_any()
    };
    view! {
        <Title text=tr!(locale, assessment_title) />
        <Meta name="robots" content="noindex" />
        <div class="page">
            <Notice text=done />
            {loaded(content)}
        </div>
    }
}

fn render_assessment(locale: Locale, a: &Assessment, ours: bool, seal_open: bool) -> AnyView {
    let Some(instrument) = a.instrument() else {
        return not_found(locale);
    };
    let l = lang(locale);
    let outcome = scoring::score(instrument, &a.answers);
    let sealed = sealed_items(instrument);
    let resident = a.resident_id.unwrap_or_default();
    let status = match a.status {
        Status::Completed => tr!(locale, assessment_status_completed),
        Status::InProgress => tr!(locale, assessment_status_partial),
    };
    let resume = (a.status == Status::InProgress && ours).then(|| {
        let page = a
            .current_page
            .clone()
            .or_else(|| instrument.next_page(None, &a.answers).map(|p| p.id.clone()))
            .unwrap_or_default();
        view! { <p class="mt-2"><a class="button-primary" href=format!("/assessments/{}/{page}", a.id)>{tr!(locale, assessment_resume)}</a></p> }
    });
    let indicators = (a.status == Status::Completed).then(|| {
        let items = outcome
            .indicators
            .iter()
            .filter(|i| !matches!(i.interpretation, Interpretation::NotAnswered(super::instrument::Absent::Missing)))
            .filter(|i| !i.sensitive || seal_open)
            .map(|i| view! { <li>{need_title(&i.need, locale)}": "{interpretation_words(locale, i.interpretation.as_str())}</li> })
            .collect_view();
        view! { <h2 class="section-title mt-6">{tr!(locale, sdoh_title)}</h2><ul class="list-disc pl-5 mt-2">{items}</ul> }
    });
    let answers = instrument
        .pages
        .iter()
        .flat_map(|p| p.items.iter())
        .filter_map(|item| a.answers.get(&item.code).map(|ans| (item, ans)))
        .map(|(item, ans)| {
            let shown = if sealed.contains(&item.code) && !ours {
                tr!(locale, answer_sealed)
            } else {
                answer_words(instrument, &item.code, ans, locale)
            };
            view! { <dt>{item.text.get(l).to_string()}</dt><dd>{shown}</dd> }
        })
        .collect_view();
    view! {
        <p><a class="link" href=format!("/residents/{resident}#assessments")>{tr!(locale, back_to_resident)}</a></p>
        <h1 class="page-title mt-2">{instrument.title.get(l).to_string()}</h1>
        <dl class="facts mt-2">
            <dt>{tr!(locale, assessment_status_label)}</dt><dd data-testid="assessment-status">{status}</dd>
            <dt>{tr!(locale, assessment_when_label)}</dt><dd>{date(&a.completed_at.unwrap_or(a.started_at))}</dd>
            <dt>{tr!(locale, assessment_source_label)}</dt><dd>{source_label(&a.source, locale)}" · "{Mode::label(a.mode.as_str(), locale)}</dd>
            <dt>{tr!(locale, assessment_by_label)}</dt><dd>{format!("{}{}", a.administered_by.clone().unwrap_or_default(),
                a.organization.as_ref().map(|o| format!(", {o}")).unwrap_or_default())}</dd>
            <dt>{tr!(locale, assessment_version_label)}</dt><dd>{a.version.clone()}</dd>
        </dl>
        {resume}
        {indicators}
        <h2 class="section-title mt-6">{tr!(locale, assessment_answers_title)}</h2>
        <dl class="facts mt-2">{answers}</dl>
    }
    .into_any()
}

/// "Positive", "No need", "Not answered".
pub fn interpretation_words(locale: Locale, code: &str) -> String {
    match code {
        "positive" => tr!(locale, indicator_positive),
        "negative" => tr!(locale, indicator_negative),
        _ => tr!(locale, indicator_not_answered),
    }
}

/// The ZIP code at the end of an address ("..., KY 42101"), to find programs near someone.
pub fn zip_of(address: &str) -> Option<String> {
    address
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| w.len() == 5 && w.chars().all(|c| c.is_ascii_digit()))
        .last()
        .map(str::to_string)
}

/// The SDoH indicators panel and the assessments tab of the Resident Detail Screen. Sensitive
/// needs another organization found are counted, not named, until the seal is open.
pub fn detail_panels(
    locale: Locale,
    resident: Uuid,
    indicators: &[StoredIndicator],
    assessments: &[store::Summary],
    own_org: Option<Uuid>,
    seal_open: bool,
    near: Option<String>,
) -> impl IntoView {
    let near = near
        .map(|z| format!("&near={}", crate::directory::query::encode(&z)))
        .unwrap_or_default();
    let visible: Vec<&StoredIndicator> = indicators
        .iter()
        .filter(|i| {
            !i.sensitive || seal_open || i.organization_id.is_some() && i.organization_id == own_org
        })
        .collect();
    let hidden = indicators.len() - visible.len();
    let rows = visible
        .iter()
        .map(|i| {
            let positive = i.is_positive();
            let category = i.categories.first().cloned().unwrap_or_default();
            let actions = positive.then(|| view! {
                <p class="mt-1 text-sm no-print">
                    <a class="link" href=format!("/search?category={}{near}", crate::directory::query::encode(&category))>{tr!(locale, find_programs)}</a>
                    " · "
                    <a class="link" href=format!("/referrals/new?resident={resident}&need={}", crate::directory::query::encode(&category))>{tr!(locale, quick_refer)}</a>
                </p>
            });
            let absent = i.absent_reason.as_deref().map(|r| match r {
                "declined" => tr!(locale, absent_declined),
                "dont-know" => tr!(locale, absent_dont_know),
                _ => tr!(locale, absent_missing),
            });
            view! {
                <li class="card" data-testid="indicator">
                    <p class="font-semibold">{need_title(&i.need, locale)}" "
                        <span class=if positive { "badge badge-warning" } else { "badge" }>{interpretation_words(locale, &i.interpretation)}</span></p>
                    {absent.map(|a| view! { <p class="text-sm">{a}</p> })}
                    <p class="text-sm">{tr!(locale, indicator_source_line, source = source_label(&i.source, locale), date = date(&i.observed_at))}</p>
                    {actions}
                </li>
            }
        })
        .collect_view();
    let list = assessments
        .iter()
        .map(|a| {
            let title = Instrument::get(&a.instrument)
                .map(|i| i.title.get(lang(locale)).to_string())
                .unwrap_or_else(|| a.instrument.clone());
            let status = if a.status == "completed" {
                tr!(locale, assessment_status_completed)
            } else {
                tr!(locale, assessment_status_partial)
            };
            let who = [a.administered_by.clone(), a.organization.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
            let openable = a.organization_id.is_some() || a.mode == "self";
            view! {
                <li class="card">
                    {if openable {
                        view! { <a class="card-title" href=format!("/assessments/{}", a.id)>{title}</a> }.into_any()
                    } else {
                        view! { <p class="card-title no-underline">{title}</p> }.into_any()
                    }}
                    <p class="text-sm">{status}" · "{date(&a.completed_at.unwrap_or(a.started_at))}" · "
                        {source_label(&a.source, locale)}" · "{Mode::label(&a.mode, locale)}
                        {(!who.is_empty()).then(|| format!(" · {who}"))}</p>
                </li>
            }
        })
        .collect_view();
    let last = assessments
        .iter()
        .find(|a| a.status == "completed")
        .map(|a| {
            tr!(
                locale,
                assessment_last_line,
                date = date(&a.completed_at.unwrap_or(a.started_at)),
                source = source_label(&a.source, locale)
            )
        });
    view! {
        <section id="sdoh" class="mt-6">
            <h2 class="section-title">{tr!(locale, sdoh_title)}</h2>
            {indicators.is_empty().then(|| view! { <p class="mt-2">{tr!(locale, sdoh_none)}</p> })}
            {(hidden > 0).then(|| view! { <p class="mt-2" data-testid="sealed-indicators">{tr!(locale, sdoh_sealed, count = hidden)}</p> })}
            <ul class="stack mt-2">{rows}</ul>
        </section>
        <section id="assessments" class="mt-6">
            <h2 class="section-title">{tr!(locale, assessments_title)}</h2>
            {last.map(|l| view! { <p class="mt-2" data-testid="last-assessment">{l}</p> })}
            {assessments.is_empty().then(|| view! { <p class="mt-2">{tr!(locale, assessments_none)}</p> })}
            <ul class="stack mt-2">{list}</ul>
            <p class="mt-2 no-print"><a class="button-secondary" href=format!("/residents/{resident}/assess")>{tr!(locale, quick_start_assessment)}</a></p>
        </section>
    }
}

/// My Plan's "My needs": the needs found (once their record is linked) and the assessments they
/// kept, with a way to take the self-assessment again.
pub fn plan_section(
    locale: Locale,
    assessments: &[store::Summary],
    indicators: &[StoredIndicator],
) -> impl IntoView {
    let needs = indicators
        .iter()
        .filter(|i| i.is_positive())
        .map(|i| view! { <li>{need_title(&i.need, locale)}</li> })
        .collect_view();
    let kept = assessments
        .iter()
        .filter(|a| a.status == "completed")
        .map(|a| {
            let title = Instrument::get(&a.instrument)
                .map(|i| i.title.get(lang(locale)).to_string())
                .unwrap_or_else(|| a.instrument.clone());
            view! {
                <li>{title}" · "{date(&a.completed_at.unwrap_or(a.started_at))}" · "{Mode::label(&a.mode, locale)}
                    {a.organization.clone().map(|o| format!(" · {o}"))}</li>
            }
        })
        .collect_view();
    view! {
        <section id="needs" class="mt-6">
            <h2 class="section-title">{tr!(locale, plan_needs_title)}</h2>
            {indicators.iter().any(|i| i.is_positive()).then(|| view! { <ul class="list-disc pl-5 mt-2" data-testid="plan-needs">{needs}</ul> })}
            {assessments.is_empty().then(|| view! { <p class="mt-2">{tr!(locale, plan_needs_none)}</p> })}
            {(!assessments.is_empty()).then(|| view! {
                <h3 class="font-semibold mt-2">{tr!(locale, assessments_title)}</h3>
                <ul class="list-disc pl-5 mt-1" data-testid="plan-assessments">{kept}</ul>
            })}
            <p class="mt-2 no-print"><a class="link" href="/assessment">{tr!(locale, plan_take_assessment)}</a></p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_zip_is_the_last_five_digits_of_an_address() {
        assert_eq!(
            super::zip_of("1214 Park St, Bowling Green, KY 42101").as_deref(),
            Some("42101")
        );
        assert_eq!(
            super::zip_of("12 Elm St, Frankfort, KY 40601-1234").as_deref(),
            Some("40601")
        );
        assert_eq!(super::zip_of("(confidential shelter address)"), None);
        assert_eq!(
            super::zip_of("PO Box 12345 Route 9"),
            Some("12345".to_string())
        );
    }
}
