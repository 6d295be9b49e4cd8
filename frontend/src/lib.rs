//! The browser entry point: wake up the islands the server rendered, nothing else.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Link the islands into the bundle.
    #[allow(unused_imports)]
    use app::*;
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
