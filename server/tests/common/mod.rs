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

/// `../shared/data/...` from the repository root (`$WRAPAROUND_SHARED_DATA` when the checkout
/// is somewhere else).
pub fn shared(path: &str) -> PathBuf {
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    let root = match std::env::var_os("WRAPAROUND_SHARED_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => beside,
    };
    root.join(path)
}

pub fn options(source: &str, full: bool) -> ImportOptions {
    let d = deployment();
    ImportOptions {
        source: source.into(),
        full,
        allow_mass_deactivation: false,
        home_state: d.region.state,
        default_timezone: d.region.timezone,
        progress: false,
    }
}

/// Migrations ran (sqlx::test); the reference places are loaded here.
pub async fn prepare(pool: &PgPool) {
    server::places::load(pool).await.expect("places");
    // As `server migrate` does: on an empty index this records that the current version makes
    // its rows, so `serve` (spawned by some tests) takes what the tests import.
    app::directory::index::rebuild_if_outdated(pool, &deployment().region.timezone)
        .await
        .expect("search index version");
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
        Self::spawn_with(pool, deployment()).await
    }

    /// The app with a deployment configuration of the test's own.
    pub async fn spawn_with(pool: PgPool, deployment: Deployment) -> TestApp {
        let leptos_options = LeptosOptions::builder()
            .output_name("wraparound")
            .site_root(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site"))
            .build();
        let state = AppState {
            pool: pool.clone(),
            deployment: Arc::new(deployment),
            leptos_options,
        };
        let app = server::http::router(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
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

pub const PASSWORD: &str = "river otter kettle maple";

/// A person with a role, fully onboarded unless `onboarded` is false. Returns (id, email, TOTP
/// secret).
pub async fn person(
    pool: &PgPool,
    role: app::policy::Role,
    organization: Option<uuid::Uuid>,
    onboarded: bool,
) -> (uuid::Uuid, String, String) {
    use app::identity::{mfa, passwords};
    let email = format!(
        "{}-{}@test.example",
        role.as_str(),
        app::identity::mfa::new_secret().to_lowercase()[..12].to_string()
    );
    let secret = mfa::new_secret();
    let chapter = (role == app::policy::Role::ChapterReviewer).then_some("uw-kentucky");
    let id: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO users (email, name, role, organization_id, chapter, password_hash, totp_secret,
                            mfa_enrolled_at, training_passed_at)
         VALUES ($1, 'Test Person', $2, $3, $4, $5, $6,
                 CASE WHEN $7 THEN now() END, CASE WHEN $7 THEN now() END)
         RETURNING id",
    )
    .bind(&email)
    .bind(role.as_str())
    .bind(organization)
    .bind(chapter)
    .bind(passwords::hash(PASSWORD))
    .bind(if onboarded {
        Some(
            app::identity::sealed::prepare(pool, &deployment())
                .await
                .expect("secrets key")
                .seal(&secret),
        )
    } else {
        None
    })
    .bind(onboarded)
    .fetch_one(pool)
    .await
    .expect("person");
    if onboarded {
        sqlx::query("INSERT INTO agreement_acceptances (user_id, version) VALUES ($1, $2)")
            .bind(id)
            .bind(app::partners::onboarding::AGREEMENT_VERSION)
            .execute(pool)
            .await
            .expect("agreement");
    }
    (id, email, secret)
}

/// An organization of the directory made an onboarded partner of the given type.
pub async fn partner_organization(pool: &PgPool, org_type: &str) -> uuid::Uuid {
    let id: uuid::Uuid = sqlx::query_scalar(
        "SELECT o.id FROM organizations o WHERE NOT EXISTS
           (SELECT 1 FROM partner_organizations p WHERE p.organization_id = o.id)
          AND NOT o.placeholder ORDER BY o.name LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .expect("an organization");
    sqlx::query(
        "INSERT INTO partner_organizations (organization_id, org_type, chapter, onboarded_at)
         VALUES ($1, $2, 'uw-kentucky', now())",
    )
    .bind(id)
    .bind(org_type)
    .execute(pool)
    .await
    .expect("partner");
    id
}

/// Two programs of `org` (page ids: service-at-location ids).
pub async fn programs_of(pool: &PgPool, org: uuid::Uuid, n: i64) -> Vec<uuid::Uuid> {
    sqlx::query_scalar(
        "SELECT sal.id FROM service_at_locations sal JOIN services s ON s.id = sal.service_id
          WHERE s.organization_id = $1 AND s.active ORDER BY sal.id LIMIT $2",
    )
    .bind(org)
    .bind(n)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// An organization with at least two programs, made an onboarded partner.
pub async fn receiving_partner(pool: &PgPool) -> uuid::Uuid {
    let org: uuid::Uuid = sqlx::query_scalar(
        "SELECT s.organization_id FROM services s JOIN service_at_locations sal ON sal.service_id = s.id
          WHERE s.active AND NOT EXISTS (SELECT 1 FROM partner_organizations p WHERE p.organization_id = s.organization_id)
          GROUP BY s.organization_id HAVING count(*) >= 2 ORDER BY s.organization_id LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO partner_organizations (organization_id, org_type, chapter, onboarded_at) VALUES ($1, 'nonprofit', 'uw-kentucky', now())")
        .bind(org)
        .execute(pool)
        .await
        .unwrap();
    org
}

/// A browser-like client: keeps cookies, does not follow redirects, asks for HTML.
pub fn browser() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::ACCEPT, "text/html".parse().unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .expect("client")
}

impl TestApp {
    /// POSTs a form as a browser would (same-origin).
    pub async fn post_form(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(format!("{}{path}", self.base))
            .header("Origin", &self.base)
            .header("Sec-Fetch-Site", "same-origin")
            .form(form)
            .send()
            .await
            .expect("post")
    }

    /// A raw form body posted as a browser would, with a `Referer` (a path on this site, or a
    /// full URL).
    pub async fn browser_post(
        &self,
        client: &reqwest::Client,
        path: &str,
        body: &str,
        referer: Option<&str>,
    ) -> reqwest::Response {
        let mut request = client
            .post(format!("{}{path}", self.base))
            .header("Origin", &self.base)
            .header("Sec-Fetch-Site", "same-origin")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_string());
        if let Some(r) = referer {
            let r = if r.starts_with('/') {
                format!("{}{r}", self.base)
            } else {
                r.to_string()
            };
            request = request.header("Referer", r);
        }
        request.send().await.expect("post")
    }

    pub async fn get_with(&self, client: &reqwest::Client, path: &str) -> reqwest::Response {
        client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("get")
    }

    /// Signs in with password and the current code; returns where the server sent them.
    pub async fn sign_in(&self, client: &reqwest::Client, email: &str, secret: &str) -> String {
        let r = self
            .post_form(
                client,
                "/fn/sign_in",
                &[("email", email), ("password", PASSWORD)],
            )
            .await;
        let to = location(&r);
        if to != "/sign-in/code" {
            return to;
        }
        let code = app::identity::mfa::code_at(secret, chrono::Utc::now().timestamp() as u64);
        let r = self
            .post_form(client, "/fn/verify_sign_in_code", &[("code", &code)])
            .await;
        location(&r)
    }
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Audit entries with this action, newest first: (outcome, actor_email, subject).
pub async fn audited(pool: &PgPool, action: &str) -> Vec<(String, Option<String>, Option<String>)> {
    sqlx::query_as(
        "SELECT outcome, actor_email, subject FROM audit_log WHERE action = $1 ORDER BY seq DESC",
    )
    .bind(action)
    .fetch_all(pool)
    .await
    .expect("audit")
}

/// How many times the residents gate opened someone's data showing `shown` ("profile", "first
/// name and contact", ...), for `purpose` when given.
pub async fn openings(pool: &PgPool, shown: &str, purpose: Option<&str>) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'resident.open' AND details->>'shown' = $1
            AND ($2::text IS NULL OR details->>'purpose' = $2)",
    )
    .bind(shown)
    .bind(purpose)
    .fetch_one(pool)
    .await
    .expect("audit")
}

/// A child process (the real server binary) that does not outlive its test, whatever happens.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until the connections of a killed process (found by `application_name`) are gone.
/// Postgres rolls their transactions back when it notices the client is gone: at once for an
/// idle connection, after the statement for a busy one. After a minute, what is left is ended
/// the way an operator would, so a slow machine cannot hang the suite; either way the
/// transactions must leave nothing behind, which is what the callers check.
pub async fn until_backends_are_gone(pool: &PgPool, application_name: &str) {
    let started = std::time::Instant::now();
    loop {
        let left: Vec<(Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT state, wait_event, left(query, 80) FROM pg_stat_activity
             WHERE application_name = $1",
        )
        .bind(application_name)
        .fetch_all(pool)
        .await
        .expect("pg_stat_activity");
        if left.is_empty() {
            return;
        }
        if started.elapsed().as_secs() >= 60 {
            eprintln!("{application_name}: connections still there after 60 s: {left:?}");
            sqlx::query(
                "SELECT pg_terminate_backend(pid, 30000) FROM pg_stat_activity
                 WHERE application_name = $1",
            )
            .bind(application_name)
            .execute(pool)
            .await
            .expect("pg_terminate_backend");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The URL of this test's database as `user` (with `application_name` set, so a test can find
/// the connections of a process it killed).
pub fn url_as(pool: &PgPool, user: &str, application_name: &str) -> String {
    let db = pool.connect_options().get_database().unwrap().to_string();
    let base = std::env::var("DATABASE_URL").unwrap();
    let (head, query) = match base.split_once('?') {
        Some((h, q)) => (h.to_string(), format!("?{q}&")),
        None => (base.clone(), "?".to_string()),
    };
    let (server, _) = head.rsplit_once('/').unwrap();
    let server = match server.split_once("://") {
        // postgres://someone@host → postgres://user@host
        Some((scheme, rest)) => {
            let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
            format!("{scheme}://{user}@{host}")
        }
        None => server.to_string(),
    };
    format!("{server}/{db}{query}application_name={application_name}")
}

/// The role `server serve` runs as in tests (it refuses a superuser): made once per cluster,
/// granted on this test's database the way `server migrate` grants it.
pub const RUNTIME_ROLE: &str = "wraparound_test_runtime";

pub async fn runtime_role(pool: &PgPool) -> &'static str {
    // Tests run at once: creating the role twice is fine, one of them just loses the race.
    let _ = sqlx::query(&format!(
        "DO $$ BEGIN CREATE ROLE {RUNTIME_ROLE} LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    ))
    .execute(pool)
    .await;
    server::db::grant_runtime(pool, RUNTIME_ROLE)
        .await
        .expect("grant the runtime role");
    RUNTIME_ROLE
}
