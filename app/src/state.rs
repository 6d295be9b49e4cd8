//! What every request on the server can reach: the database and the deployment configuration.

use crate::config::Deployment;
use leptos::prelude::*;
use sqlx::PgPool;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub deployment: Arc<Deployment>,
    pub leptos_options: LeptosOptions,
}

impl AppState {
    /// The state provided to every render and server function.
    pub fn get() -> AppState {
        expect_context::<AppState>()
    }
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
