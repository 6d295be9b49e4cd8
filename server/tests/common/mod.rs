//! What the integration tests share: the deployment config, the app served on a random port
//! over a test database, the shared HSDS reference data, and a small demo directory.
#![allow(dead_code)]

use app::config::Deployment;
use app::state::AppState;
use leptos::prelude::LeptosOptions;
use server::hsds::{self, ImportOptions, ImportReport};
use sqlx::PgPool;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub fn deployment() -> Deployment {
    Deployment::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../Leptos.toml")).expect("Leptos.toml")
}

/// `../shared/data/...` from the repository root.
pub fn shared(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(path)
}

pub fn options(source: &str, full: bool) -> ImportOptions {
    let d = deployment();
    ImportOptions {
        source: source.into(),
        full,
        allow_mass_deactivation: false,
        home_state: d.region.state,
        default_timezone: d.region.timezone,
    }
}

/// Migrations ran (sqlx::test); the reference places are loaded here.
pub async fn prepare(pool: &PgPool) {
    server::places::load(pool).await.expect("places");
}

pub async fn import(pool: &PgPool, path: &Path, source: &str, full: bool) -> ImportReport {
    hsds::import(pool, path, &options(source, full))
        .await
        .expect("import")
}

/// A small Kentucky demo directory (same generator as `make run`, fewer services), written
/// once per test binary and imported into the given database.
pub async fn load_small_demo(pool: &PgPool) -> ImportReport {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("wraparound-demo-{}", std::process::id()));
        server::demo::generate(&dir, server::demo::Scale::Kentucky, Some(3000)).expect("demo data");
        dir
    });
    prepare(pool).await;
    import(pool, dir, "ky-demo", true).await
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub pool: PgPool,
}

impl TestApp {
    pub async fn spawn(pool: PgPool) -> TestApp {
        let leptos_options = LeptosOptions::builder()
            .output_name("wraparound")
            .site_root(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site"))
            .build();
        let state = AppState {
            pool: pool.clone(),
            deployment: Arc::new(deployment()),
            leptos_options,
        };
        let app = server::http::router(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            axum::serve(listener, app.into_make_service())
                .await
                .expect("serve")
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        TestApp {
            base: format!("http://{addr}"),
            client,
            pool,
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request")
    }

    /// Status and body of a page.
    pub async fn page(&self, path: &str) -> (u16, String) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.text().await.expect("body"))
    }

    pub async fn json(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.json().await.expect("json body"))
    }
}
