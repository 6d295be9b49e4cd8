//! The only parts of the directory that run in the browser. Each one improves a page that
//! already works without JavaScript: its buttons stay hidden until the island wakes up, and
//! every label arrives from the server already translated.

use leptos::prelude::*;

/// The phone's own share sheet (Web Share API) and a copy-link button.
#[island]
pub fn ShareButtons(
    url: String,
    title: String,
    text: String,
    share_label: String,
    copy_label: String,
    copied_label: String,
) -> impl IntoView {
    let awake = RwSignal::new(false);
    let can_share = RwSignal::new(false);
    let copied = RwSignal::new(false);
    Effect::new(move |_| {
        awake.set(true);
        can_share.set(browser::has_web_share());
    });
    let share = {
        let (url, title, text) = (url.clone(), title.clone(), text.clone());
        move |_| browser::web_share(&url, &title, &text)
    };
    let copy = move |_| {
        browser::copy_text(&url);
        copied.set(true);
    };
    let announced = copied_label.clone();
    view! {
        <div class="mt-4 grid gap-3">
            <button type="button" class="button-primary w-full" hidden=move || !can_share.get() on:click=share>
                {share_label}
            </button>
            <button type="button" class="button-secondary w-full" hidden=move || !awake.get() on:click=copy>
                {move || if copied.get() { copied_label.clone() } else { copy_label.clone() }}
            </button>
            <p class="sr-only" role="status">
                {move || if copied.get() { announced.clone() } else { String::new() }}
            </p>
        </div>
    }
}

/// "Use my location": asks the phone for its position, fills the search form's `lat`/`lon`
/// and submits it. Without JavaScript the ZIP field does the same job.
#[island]
pub fn UseMyLocation(
    form_id: String,
    label: String,
    busy_label: String,
    failed_label: String,
) -> impl IntoView {
    let awake = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let failed = RwSignal::new(false);
    Effect::new(move |_| awake.set(browser::has_geolocation()));
    let locate = move |_| {
        busy.set(true);
        failed.set(false);
        browser::locate_and_submit(&form_id, move || {
            busy.set(false);
            failed.set(true);
        });
    };
    view! {
        <div>
            <button type="button" class="button-secondary w-full" hidden=move || !awake.get() on:click=locate>
                {move || if busy.get() { busy_label.clone() } else { label.clone() }}
            </button>
            <p class="field-error" role="status">
                {move || if failed.get() { failed_label.clone() } else { String::new() }}
            </p>
        </div>
    }
}

/// Opens the print dialog (the page's print styles do the rest).
#[island]
pub fn PrintButton(label: String) -> impl IntoView {
    let awake = RwSignal::new(false);
    Effect::new(move |_| awake.set(true));
    view! {
        <button type="button" class="button-primary no-print" hidden=move || !awake.get() on:click=move |_| browser::print()>
            {label}
        </button>
    }
}

/// Copies a text (recovery codes, a key) to the clipboard; hidden until it can.
#[island]
pub fn CopyButton(text: String, label: String, copied_label: String) -> impl IntoView {
    let awake = RwSignal::new(false);
    let copied = RwSignal::new(false);
    Effect::new(move |_| awake.set(true));
    let copy = move |_| {
        browser::copy_text(&text);
        copied.set(true);
    };
    let announced = copied_label.clone();
    view! {
        <button type="button" class="button-secondary no-print" hidden=move || !awake.get() on:click=copy>
            {move || if copied.get() { copied_label.clone() } else { label.clone() }}
        </button>
        <span class="sr-only" role="status">{move || if copied.get() { announced.clone() } else { String::new() }}</span>
    }
}

/// Browser APIs, reached through `js_sys::Reflect` so the bundle needs no unstable web-sys
/// features. On the server these do nothing (islands render there first).
mod browser {
    #[cfg(feature = "hydrate")]
    mod imp {
        use js_sys::{Function, Object, Promise, Reflect};
        use wasm_bindgen::{closure::Closure, JsCast, JsValue};

        fn navigator() -> Option<JsValue> {
            let window = web_sys::window()?;
            Some(window.navigator().into())
        }

        fn get(target: &JsValue, key: &str) -> Option<JsValue> {
            Reflect::get(target, &JsValue::from_str(key))
                .ok()
                .filter(|v| !v.is_undefined() && !v.is_null())
        }

        pub fn has_web_share() -> bool {
            navigator().and_then(|n| get(&n, "share")).is_some()
        }

        pub fn has_geolocation() -> bool {
            navigator().and_then(|n| get(&n, "geolocation")).is_some()
        }

        pub fn web_share(url: &str, title: &str, text: &str) {
            let Some(nav) = navigator() else { return };
            let Some(share) = get(&nav, "share").and_then(|f| f.dyn_into::<Function>().ok()) else {
                return;
            };
            let data = Object::new();
            let _ = Reflect::set(&data, &"url".into(), &url.into());
            let _ = Reflect::set(&data, &"title".into(), &title.into());
            let _ = Reflect::set(&data, &"text".into(), &text.into());
            // A dismissed share sheet rejects the promise: nothing to do.
            if let Ok(p) = share.call1(&nav, &data) {
                if let Ok(p) = p.dyn_into::<Promise>() {
                    let ignore = Closure::<dyn FnMut(JsValue)>::new(|_: JsValue| {});
                    let _ = p.catch(&ignore);
                    ignore.forget();
                }
            }
        }

        pub fn copy_text(text: &str) {
            let Some(clipboard) = navigator().and_then(|n| get(&n, "clipboard")) else {
                return;
            };
            if let Some(write) =
                get(&clipboard, "writeText").and_then(|f| f.dyn_into::<Function>().ok())
            {
                let _ = write.call1(&clipboard, &text.into());
            }
        }

        pub fn print() {
            if let Some(w) = web_sys::window() {
                let _ = w.print();
            }
        }

        pub fn locate_and_submit(form_id: &str, on_error: impl FnOnce() + 'static) {
            let Some(geo) = navigator().and_then(|n| get(&n, "geolocation")) else {
                on_error();
                return;
            };
            let Some(get_position) =
                get(&geo, "getCurrentPosition").and_then(|f| f.dyn_into::<Function>().ok())
            else {
                on_error();
                return;
            };
            let form_id = form_id.to_string();
            let success = Closure::once_into_js(move |position: JsValue| {
                let coords = get(&position, "coords");
                let read = |k| {
                    coords
                        .as_ref()
                        .and_then(|c| get(c, k))
                        .and_then(|v| v.as_f64())
                };
                let (Some(lat), Some(lon)) = (read("latitude"), read("longitude")) else {
                    return;
                };
                let Some(document) = web_sys::window().and_then(|w| w.document()) else {
                    return;
                };
                let Some(form) = document.get_element_by_id(&form_id) else {
                    return;
                };
                for (name, value) in [("lat", lat), ("lon", lon)] {
                    if let Ok(Some(input)) = form.query_selector(&format!("input[name={name}]")) {
                        if let Ok(input) = input.dyn_into::<web_sys::HtmlInputElement>() {
                            input.set_value(&format!("{value:.4}"));
                            input.set_disabled(false);
                        }
                    }
                }
                if let Ok(Some(near)) = form.query_selector("input[name=near]") {
                    if let Ok(near) = near.dyn_into::<web_sys::HtmlInputElement>() {
                        near.set_value("");
                    }
                }
                if let Ok(form) = form.dyn_into::<web_sys::HtmlFormElement>() {
                    let _ = form.submit();
                }
            });
            let failure = Closure::once_into_js(move |_: JsValue| on_error());
            let options = Object::new();
            let _ = Reflect::set(&options, &"timeout".into(), &JsValue::from_f64(15000.0));
            let _ = Reflect::set(&options, &"maximumAge".into(), &JsValue::from_f64(600000.0));
            let _ = get_position.call3(&geo, &success, &failure, &options);
        }
    }

    #[cfg(not(feature = "hydrate"))]
    mod imp {
        pub fn has_web_share() -> bool {
            false
        }
        pub fn has_geolocation() -> bool {
            false
        }
        pub fn web_share(_: &str, _: &str, _: &str) {}
        pub fn copy_text(_: &str) {}
        pub fn print() {}
        pub fn locate_and_submit(_: &str, _: impl FnOnce() + 'static) {}
    }

    pub use imp::*;
}
