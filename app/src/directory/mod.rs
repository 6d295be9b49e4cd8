//! The public resource directory: categories, search, program pages and sharing. Anyone may
//! use it without signing in.

pub mod categories;
pub mod home;
pub mod hours;
pub mod islands;
pub mod model;
pub mod program;
pub mod query;
pub mod results;
pub mod share;

#[cfg(feature = "ssr")]
pub mod dictionary;
#[cfg(feature = "ssr")]
pub mod feeds;
#[cfg(feature = "ssr")]
pub mod first_load;
#[cfg(feature = "ssr")]
pub mod held;
#[cfg(feature = "ssr")]
pub mod index;
#[cfg(feature = "ssr")]
pub mod recent;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod understand;

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use model::{ProgramPage, SearchResults};
use query::{FieldError, SearchParams};
use serde::{Deserialize, Serialize};

/// What can go wrong in the directory, as the pages need to tell it apart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum DirectoryError {
    #[error("the search has problems")]
    Invalid(Vec<FieldError>),
    #[error("not found")]
    NotFound,
    /// A malformed call to a server function (arguments that do not parse).
    #[error("bad request")]
    BadRequest,
    /// The database or another dependency failed; details are in the server log only.
    #[error("the directory is unavailable")]
    Unavailable,
}

impl FromServerFnError for DirectoryError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(e: ServerFnErrorErr) -> Self {
        let error = match e {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                DirectoryError::BadRequest
            }
            _ => DirectoryError::Unavailable,
        };
        crate::layout::set_status(error.status());
        error
    }
}

impl DirectoryError {
    /// The HTTP status this error answers with (a server function called over HTTP, or the
    /// page that rendered it).
    pub fn status(&self) -> u16 {
        match self {
            DirectoryError::Invalid(_) | DirectoryError::BadRequest => 400,
            DirectoryError::NotFound => 404,
            DirectoryError::Unavailable => 503,
        }
    }
}

#[cfg(feature = "ssr")]
/// Sets the response status from a server function's result, so a bad request is a 4xx to an
/// HTTP caller too, never a 500.
fn answered<T>(result: Result<T, DirectoryError>) -> Result<T, DirectoryError> {
    if let Err(e) = &result {
        crate::layout::set_status(e.status());
    }
    result
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for DirectoryError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "directory query failed");
        DirectoryError::Unavailable
    }
}

/// Searches the directory. Public: anyone may call it.
#[server(prefix = "/fn", endpoint = "search_directory")]
pub async fn search_directory(params: SearchParams) -> Result<SearchResults, DirectoryError> {
    let state = crate::state::AppState::get();
    let search = &state.deployment.search;
    let query = match params.check(&search.radius_choices, search.default_radius_miles) {
        Ok(q) => q,
        Err(problems) => return answered(Err(DirectoryError::Invalid(problems))),
    };
    answered(store::search_recent(&state.pool, &query, &state.deployment).await)
}

/// How many programs a search finds, without a page of them (counting stops past
/// [`MAX_COUNTED_SHOWN`]). Public, like the search.
#[server(prefix = "/fn", endpoint = "count_directory")]
pub async fn count_directory(params: SearchParams) -> Result<i64, DirectoryError> {
    let state = crate::state::AppState::get();
    let search = &state.deployment.search;
    let query = match params.check(&search.radius_choices, search.default_radius_miles) {
        Ok(q) => q,
        Err(problems) => return answered(Err(DirectoryError::Invalid(problems))),
    };
    answered(store::count(&state.pool, &query, &state.deployment).await)
}

/// Counts above this are shown as this ("1,000+").
pub const MAX_COUNTED_SHOWN: i64 = 1000;

/// A program page by its id, or by its short share code. Public.
#[server(prefix = "/fn", endpoint = "program_details")]
pub async fn program_details(id_or_code: String) -> Result<ProgramPage, DirectoryError> {
    let state = crate::state::AppState::get();
    let key = match uuid::Uuid::parse_str(&id_or_code) {
        Ok(id) => store::ProgramKey::Id(id),
        Err(_) if share::is_share_code(&id_or_code) => store::ProgramKey::ShareCode(&id_or_code),
        Err(_) => return answered(Err(DirectoryError::NotFound)),
    };
    answered(
        store::program_page(
            &state.pool,
            key,
            state.deployment.referrals.paired_minimum_residents as i64,
        )
        .await,
    )
}
