//! `server bench`: a fixed, seeded mix of 1,000 directory searches run against a running
//! server, with the same searches run straight through the search code as the floor, plus the bytes a
//! phone downloads. Prints Markdown (what `make bench` collects into bench/results.md).

use app::config::Deployment;
use app::directory::query::SearchParams;
use app::directory::store;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sqlx::PgPool;
use std::fmt::Write;
use std::path::Path;
use std::time::{Duration, Instant};

pub mod metrics;
pub mod relevance;
pub mod residents;

const KEYWORDS: &[&str] = &[
    "food",
    "food pantry",
    "rent help",
    "baby formula",
    "diapers",
    "dentist",
    "utility bill",
    "GED",
    "child care",
    "counseling",
    "clothing",
    "job training",
    "legal aid",
    "shelter",
    "senior meals",
    "rides to the doctor",
    "prescriptions",
    "eviction",
    "tax help",
    "formla",
    "mental health",
    "housing",
    "after school",
    "health insurance",
    "furniture",
    "veterans",
    "domestic violence",
    "english classes",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Keyword,
    Category,
    ZipRadius,
    KeywordZip,
    CategoryZipFilters,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Keyword => "keyword only",
            Kind::Category => "category only",
            Kind::ZipRadius => "ZIP + radius",
            Kind::KeywordZip => "keyword + ZIP",
            Kind::CategoryZipFilters => "category + ZIP + filters",
        }
    }
}

/// The fixed mix: 15% keyword, 15% category, 20% ZIP + radius, 25% keyword + ZIP, 25% category
/// + ZIP + filters; ZIP codes drawn from the places that have services.
fn mix(zips: &[String], radii: &[u32], n: usize) -> Vec<(Kind, SearchParams)> {
    let mut rng = SmallRng::seed_from_u64(211);
    let tree = app::directory::categories::CategoryTree::get();
    let categories: Vec<String> = tree
        .categories
        .iter()
        .flat_map(|c| std::iter::once(c.id.clone()).chain(c.sub.iter().map(|s| s.id.clone())))
        .collect();
    (0..n)
        .map(|i| {
            let kind = match i * 100 / n {
                0..15 => Kind::Keyword,
                15..30 => Kind::Category,
                30..50 => Kind::ZipRadius,
                50..75 => Kind::KeywordZip,
                _ => Kind::CategoryZipFilters,
            };
            let mut p = SearchParams::default();
            let zip = zips[rng.random_range(0..zips.len())].clone();
            let keyword = KEYWORDS[rng.random_range(0..KEYWORDS.len())].to_string();
            let category = categories[rng.random_range(0..categories.len())].clone();
            match kind {
                Kind::Keyword => p.q = Some(keyword),
                Kind::Category => p.category = Some(category),
                Kind::ZipRadius => {
                    p.near = Some(zip);
                    p.radius = Some(radii[rng.random_range(0..radii.len())].to_string());
                }
                Kind::KeywordZip => {
                    p.q = Some(keyword);
                    p.near = Some(zip);
                }
                Kind::CategoryZipFilters => {
                    p.category = Some(category);
                    p.near = Some(zip);
                    match rng.random_range(0..4) {
                        0 => p.free = Some("1".into()),
                        1 => p.open_now = Some("1".into()),
                        2 => p.age = Some(rng.random_range(1..90).to_string()),
                        _ => p.language = Some("es".into()),
                    }
                }
            }
            (kind, p)
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

const PARTNER_PASSWORD: &str = "bench passphrase for partners";
const PARTNER_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXZ";

/// A bench partner (made by [`referrals`]) signed in as a browser would: password, then code.
async fn sign_in_partner(base_url: &str, email: &str) -> anyhow::Result<reqwest::Client> {
    sign_in(base_url, email).await
}

/// A bench person (the bench password and code) signed in as a browser would.
async fn sign_in(base_url: &str, email: &str) -> anyhow::Result<reqwest::Client> {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?;
    let post = |path: &str, form: Vec<(&str, String)>| {
        client
            .post(format!("{base_url}{path}"))
            .header("accept", "text/html")
            .form(&form)
            .send()
    };
    post(
        "/fn/sign_in",
        vec![
            ("email", email.into()),
            ("password", PARTNER_PASSWORD.into()),
        ],
    )
    .await?;
    let code = app::identity::mfa::code_at(PARTNER_SECRET, chrono::Utc::now().timestamp() as u64);
    let r = post("/fn/verify_sign_in_code", vec![("code", code)]).await?;
    let to = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    anyhow::ensure!(
        to.starts_with('/') && !to.starts_with("/sign-in"),
        "bench sign-in failed: {to}"
    );
    Ok(client)
}

fn stats_row(name: &str, times: &[Duration]) -> String {
    let mut t = times.to_vec();
    t.sort();
    let mean = t.iter().map(|d| d.as_secs_f64()).sum::<f64>() / t.len().max(1) as f64 * 1000.0;
    format!(
        "| {name} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
        t.len(),
        percentile(&t, 0.5),
        percentile(&t, 0.95),
        percentile(&t, 0.99),
        mean,
        t.last().map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
    )
}

/// What a load run measured: requests per second over the run, latency percentiles, and where
/// the machine's CPU went meanwhile.
pub struct Load {
    pub requests: usize,
    pub errors: usize,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub cpu: Cpu,
}

/// CPU seconds (user + system) used by the app server (its pid from
/// `$WRAPAROUND_BENCH_SERVER_PID`, set by scripts/bench.sh), by every Postgres process, and by
/// this load generator.
#[derive(Clone, Copy, Default)]
pub struct Cpu {
    pub server: f64,
    pub postgres: f64,
    pub generator: f64,
}

impl Cpu {
    pub fn now() -> Cpu {
        // Linux counts CPU time in clock ticks of 1/100 s (USER_HZ).
        const TICK: f64 = 0.01;
        let read = |path: &std::path::Path| -> Option<(String, f64)> {
            let stat = std::fs::read_to_string(path).ok()?;
            let (head, tail) = stat.rsplit_once(')')?;
            let comm = head.split_once('(')?.1.to_string();
            let fields: Vec<&str> = tail.split_whitespace().collect();
            let ticks =
                fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
            Some((comm, ticks as f64 * TICK))
        };
        let mut cpu = Cpu::default();
        if let Some(pid) = std::env::var("WRAPAROUND_BENCH_SERVER_PID").ok() {
            cpu.server =
                read(&std::path::Path::new("/proc").join(pid).join("stat")).map_or(0.0, |(_, t)| t);
        }
        cpu.generator = read(std::path::Path::new("/proc/self/stat")).map_or(0.0, |(_, t)| t);
        if let Ok(dir) = std::fs::read_dir("/proc") {
            for e in dir.flatten() {
                if let Some((comm, t)) = read(&e.path().join("stat")) {
                    if comm == "postgres" {
                        cpu.postgres += t;
                    }
                }
            }
        }
        cpu
    }

    fn since(self, before: Cpu) -> Cpu {
        Cpu {
            server: (self.server - before.server).max(0.0),
            postgres: (self.postgres - before.postgres).max(0.0),
            generator: (self.generator - before.generator).max(0.0),
        }
    }

    /// "server 41 % · Postgres 38 % · load generator 21 %" of the CPU time used.
    fn split(self) -> String {
        let total = self.server + self.postgres + self.generator;
        if total <= 0.0 {
            return String::new();
        }
        format!(
            "{:.0} / {:.0} / {:.0} %",
            100.0 * self.server / total,
            100.0 * self.postgres / total,
            100.0 * self.generator / total
        )
    }
}

/// `clients` concurrent clients, each on its own keep-alive connection, request `paths` in
/// turn (each client starting at its own offset) for `seconds`.
pub async fn load(base_url: &str, paths: &[String], clients: usize, seconds: f64) -> Load {
    load_with(base_url, paths, clients, seconds, &[]).await
}

/// [`load`] with request headers (`Cache-Control: no-cache` asks for a fresh search).
pub async fn load_with(
    base_url: &str,
    paths: &[String],
    clients: usize,
    seconds: f64,
    headers: &[(&'static str, &'static str)],
) -> Load {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let cpu_before = Cpu::now();
    let mut workers = Vec::new();
    for c in 0..clients {
        let urls: Vec<String> = paths.iter().map(|p| format!("{base_url}{p}")).collect();
        let mut header_map = reqwest::header::HeaderMap::new();
        for (k, v) in headers {
            header_map.insert(*k, reqwest::header::HeaderValue::from_static(v));
        }
        workers.push(tokio::spawn(async move {
            // One connection per client, kept alive: what a browser or a proxy does.
            let client = reqwest::Client::builder()
                .default_headers(header_map)
                .pool_max_idle_per_host(1)
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client");
            let mut times = Vec::new();
            let mut errors = 0;
            let mut i = c * 7919;
            while Instant::now() < deadline {
                let url = &urls[i % urls.len()];
                i += 1;
                let t = Instant::now();
                match client.get(url).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                    }
                    _ => errors += 1,
                }
                times.push(t.elapsed());
            }
            (times, errors)
        }));
    }
    let mut times = Vec::new();
    let mut errors = 0;
    for w in workers {
        if let Ok((t, e)) = w.await {
            times.extend(t);
            errors += e;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = Cpu::now().since(cpu_before);
    times.sort();
    Load {
        cpu,
        requests: times.len(),
        errors,
        per_second: times.len() as f64 / elapsed,
        p50_ms: percentile(&times, 0.5),
        p95_ms: percentile(&times, 0.95),
    }
}

/// A Markdown row for a load run.
pub fn load_row(name: &str, clients: usize, l: &Load) -> String {
    format!(
        "| {name} | {clients} | {:.0} | {:.1} | {:.1} | {} / {} | {} |",
        l.per_second,
        l.p50_ms,
        l.p95_ms,
        l.errors,
        l.requests,
        l.cpu.split()
    )
}

pub async fn run(
    pool: &PgPool,
    deployment: &Deployment,
    base_url: &str,
    label: &str,
    n: usize,
    site: &Path,
) -> anyhow::Result<String> {
    let zips: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT left(postal_code, 5) FROM locations WHERE active AND postal_code ~ '^[0-9]{5}'
           AND left(postal_code, 5) IN (SELECT zip FROM places) ORDER BY 1",
    )
    .fetch_all(pool)
    .await?;
    anyhow::ensure!(
        !zips.is_empty(),
        "the directory has no locations with ZIP codes to search near"
    );
    let (services,): (i64,) = sqlx::query_as("SELECT count(*) FROM services WHERE active")
        .fetch_one(pool)
        .await?;
    let queries = mix(&zips, &deployment.search.radius_choices, n);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;

    // Warm up Postgres's and the OS's caches (both paths) so the numbers describe a server in
    // use. The one-at-a-time pass asks every search afresh (`no-cache`): it measures searching,
    // not the minute's kept answers (measured under load below).
    for (_, p) in queries.iter().take(50) {
        client
            .get(format!("{base_url}{}", p.to_url()))
            .header("cache-control", "no-cache")
            .send()
            .await?
            .bytes()
            .await?;
    }

    let mut page_times: Vec<(Kind, Duration)> = Vec::with_capacity(n);
    let mut failures = 0;
    for (kind, p) in &queries {
        let started = Instant::now();
        let response = client
            .get(format!("{base_url}{}", p.to_url()))
            .header("cache-control", "no-cache")
            .send()
            .await?;
        let ok = response.status().is_success();
        response.bytes().await?;
        page_times.push((*kind, started.elapsed()));
        if !ok {
            failures += 1;
        }
    }

    // This process reads its own copy of the index first, as a server does when it starts.
    app::directory::held::warm(pool).await;
    let mut sql_times: Vec<(Kind, Duration)> = Vec::with_capacity(n);
    let mut results = 0i64;
    for (kind, p) in &queries {
        let q = p
            .check(
                &deployment.search.radius_choices,
                deployment.search.default_radius_miles,
            )
            .map_err(|e| anyhow::anyhow!("bench query {p:?} is invalid: {e:?}"))?;
        let started = Instant::now();
        let r = store::search(pool, &q, deployment)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        sql_times.push((*kind, started.elapsed()));
        results += r.total;
    }

    if let Ok(dir) = std::env::var("WRAPAROUND_BENCH_PEER_DIR") {
        write_for_peer(pool, deployment, &queries, Path::new(&dir)).await?;
    }
    let search_paths: Vec<String> = queries.iter().map(|(_, p)| p.to_url()).collect();
    let distinct = search_paths
        .iter()
        .collect::<std::collections::HashSet<_>>()
        .len();
    let mut out = String::new();
    let _ = writeln!(out, "### {label}: {services} active services\n");
    let _ = writeln!(
        out,
        "{n} searches, one at a time, over loopback. **Page** = full server-rendered `/search` page (HTTP, SQL, rendering). \
         **Search floor** = the same searches through the search code, no HTTP or HTML: place and words from Postgres, matching and ranking in the server's held index, the page's cards from Postgres unless shown already this minute. Mean results per search: {:.0}. Non-2xx pages: {failures}.\n",
        results as f64 / n.max(1) as f64
    );
    let _ = writeln!(
        out,
        "| path | n | p50 ms | p95 ms | p99 ms | mean ms | max ms |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    let all = |v: &[(Kind, Duration)]| v.iter().map(|(_, d)| *d).collect::<Vec<_>>();
    let _ = writeln!(
        out,
        "{}",
        stats_row("**Page, all searches**", &all(&page_times))
    );
    let _ = writeln!(
        out,
        "{}",
        stats_row("**Search floor, all searches**", &all(&sql_times))
    );
    let mut kinds: Vec<Kind> = queries.iter().map(|(k, _)| *k).collect();
    kinds.sort();
    kinds.dedup();
    for k in kinds {
        let of = |v: &[(Kind, Duration)]| {
            v.iter()
                .filter(|(x, _)| *x == k)
                .map(|(_, d)| *d)
                .collect::<Vec<_>>()
        };
        let _ = writeln!(
            out,
            "{}",
            stats_row(&format!("page: {}", k.label()), &of(&page_times))
        );
        let _ = writeln!(
            out,
            "{}",
            stats_row(&format!("floor: {}", k.label()), &of(&sql_times))
        );
    }

    // What a phone downloads.
    let _ = writeln!(
        out,
        "\n| first HTML response | bytes | brotli bytes |\n|---|---|---|"
    );
    let program: Option<(uuid::Uuid,)> =
        sqlx::query_as("SELECT id FROM search_entries ORDER BY id LIMIT 1")
            .fetch_optional(pool)
            .await?;
    let mut pages = vec![
        ("home", "/".to_string()),
        ("results", "/search?q=food&near=".to_string() + &zips[0]),
    ];
    if let Some((id,)) = program {
        pages.push(("program", format!("/programs/{id}")));
    }
    for (name, path) in pages {
        let raw = client
            .get(format!("{base_url}{path}"))
            .header("accept-encoding", "identity")
            .send()
            .await?
            .bytes()
            .await?
            .len();
        let br = client
            .get(format!("{base_url}{path}"))
            .header("accept-encoding", "br")
            .send()
            .await?
            .bytes()
            .await?
            .len();
        let _ = writeln!(out, "| {name} (`{path}`) | {raw} | {br} |");
    }
    let mut bundle = (0u64, 0u64, 0u64);
    if let Ok(dir) = std::fs::read_dir(site.join("pkg")) {
        for e in dir.flatten() {
            let p = e.path();
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.ends_with(".wasm") || name.ends_with(".js") || name.ends_with(".css") {
                bundle.0 += e.metadata()?.len();
                bundle.1 += std::fs::metadata(format!("{}.br", p.display()))
                    .map(|m| m.len())
                    .unwrap_or(0);
                bundle.2 += std::fs::metadata(format!("{}.gz", p.display()))
                    .map(|m| m.len())
                    .unwrap_or(0);
            }
        }
    }
    let _ = writeln!(
        out,
        "\nJS + WASM + CSS of every resident page: {} bytes raw, **{} bytes brotli**, {} bytes gzip.\n",
        bundle.0, bundle.1, bundle.2
    );

    // Small responses on keep-alive connections: without TCP_NODELAY each second response on a
    // connection waited ~40 ms for the client's delayed ACK.
    let css = std::fs::read_dir(site.join("pkg"))
        .ok()
        .and_then(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .find(|n| n.ends_with(".css"))
        })
        .map(|n| format!("/pkg/{n}"));
    let _ = writeln!(
        out,
        "Throughput under load: each client on its own keep-alive connection, asking the fixed mix in turn \
         ({} searches, {} distinct), for 8 s per row; the load generator runs on the same 2 cores. \
         **Asked afresh** sends `Cache-Control: no-cache`: every search runs. **Kept for the minute** is what \
         residents get: a search asked already this minute is answered from its results. CPU is the share of \
         the CPU time used during the row by the app server / every Postgres process / the load generator.\n\n\
         | what | clients | requests/s | p50 ms | p95 ms | errors / requests | CPU server / Postgres / load generator |\n\
         |---|---|---|---|---|---|---|",
        search_paths.len(),
        distinct
    );
    for clients in [8, 32] {
        let l = load_with(
            base_url,
            &search_paths,
            clients,
            8.0,
            &[("cache-control", "no-cache")],
        )
        .await;
        let _ = writeln!(
            out,
            "{}",
            load_row("search page, asked afresh", clients, &l)
        );
    }
    for clients in [8, 32] {
        let l = load(base_url, &search_paths, clients, 8.0).await;
        let _ = writeln!(
            out,
            "{}",
            load_row("**search page, kept for the minute**", clients, &l)
        );
    }
    let mut targets = vec![
        ("home page `/`", "/".to_string()),
        ("static `/favicon.svg`", "/favicon.svg".to_string()),
    ];
    if let Some(css) = css {
        targets.push(("static CSS bundle", css));
    }
    for (name, path) in targets {
        for clients in [8, 32] {
            let l = load(base_url, std::slice::from_ref(&path), clients, 5.0).await;
            let _ = writeln!(out, "{}", load_row(name, clients, &l));
        }
    }
    let _ = writeln!(out);
    Ok(out)
}

/// The directory's programs and the query mix as JSON lines for the search peer
/// (`bench/peer`, tantivy): the same data and the same searches, places already resolved.
async fn write_for_peer(
    pool: &PgPool,
    deployment: &Deployment,
    queries: &[(Kind, SearchParams)],
    dir: &Path,
) -> anyhow::Result<()> {
    use futures::TryStreamExt;
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let mut docs = std::io::BufWriter::new(std::fs::File::create(dir.join("search-docs.jsonl"))?);
    let mut rows = sqlx::query_as::<_, (String, String, String, String, Vec<String>, Option<f64>, Option<f64>, bool)>(
        "SELECT e.id::text, s.name, coalesce(s.description, ''), o.name, e.category_ids, l.latitude, l.longitude, e.is_free
         FROM search_entries e JOIN services s ON s.id = e.service_id
         JOIN organizations o ON o.id = e.organization_id LEFT JOIN locations l ON l.id = e.location_id",
    )
    .fetch(pool);
    while let Some((id, name, description, organization, categories, latitude, longitude, free)) =
        rows.try_next().await?
    {
        serde_json::to_writer(
            &mut docs,
            &serde_json::json!({
                "id": id, "name": name, "description": description, "organization": organization,
                "categories": categories, "latitude": latitude, "longitude": longitude, "free": free,
            }),
        )?;
        docs.write_all(b"\n")?;
    }
    docs.flush()?;
    let mut mix = std::io::BufWriter::new(std::fs::File::create(dir.join("search-mix.jsonl"))?);
    for (kind, p) in queries {
        let centre: Option<(f64, f64)> = match &p.near {
            Some(zip) => {
                sqlx::query_as("SELECT latitude, longitude FROM places WHERE zip = $1")
                    .bind(zip)
                    .fetch_optional(pool)
                    .await?
            }
            None => None,
        };
        let radius = centre.map(|_| {
            p.radius
                .as_deref()
                .and_then(|r| r.parse::<f64>().ok())
                .unwrap_or(deployment.search.default_radius_miles as f64)
        });
        serde_json::to_writer(
            &mut mix,
            &serde_json::json!({
                "kind": kind.label(), "keywords": p.q, "category": p.category,
                "latitude": centre.map(|c| c.0), "longitude": centre.map(|c| c.1),
                "radius_miles": radius, "free": p.free.is_some(),
            }),
        )?;
        mix.write_all(b"\n")?;
    }
    mix.flush()?;
    Ok(())
}

/// The partner side at scale: a directory with 1 million referrals among 200 partner
/// organizations; referral creation throughput, the inbox page and the dashboard through the
/// running server, with the same queries straight to Postgres as the floor.
pub async fn referrals(
    pool: &PgPool,
    base_url: &str,
    n: usize,
    key: &app::identity::sealed::SealingKey,
) -> anyhow::Result<String> {
    const TOTAL: i64 = 1_000_000;
    let hash = app::identity::passwords::hash(PARTNER_PASSWORD);
    // 200 onboarded partner organizations, each with programs, and two bench people.
    sqlx::query(
        "INSERT INTO partner_organizations (organization_id, org_type, chapter, onboarded_at)
         SELECT o.id, 'nonprofit', 'uw-kentucky', now() - interval '2 years' FROM organizations o
          WHERE EXISTS (SELECT 1 FROM service_at_locations sal JOIN services s ON s.id = sal.service_id
                         WHERE s.organization_id = o.id AND s.active)
          ORDER BY o.id LIMIT 200
         ON CONFLICT DO NOTHING",
    )
    .execute(pool)
    .await?;
    let orgs: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT organization_id FROM partner_organizations ORDER BY organization_id LIMIT 200",
    )
    .fetch_all(pool)
    .await?;
    anyhow::ensure!(
        orgs.len() >= 2,
        "the bench directory needs partner organizations"
    );
    for (email, org) in [
        ("bench.receiver@bench.example", orgs[0]),
        ("bench.sender@bench.example", orgs[1]),
    ] {
        sqlx::query(
            "INSERT INTO users (email, name, role, organization_id, password_hash, totp_secret, mfa_enrolled_at, training_passed_at)
             VALUES ($1, 'Bench Partner', 'partner_staff', $2, $3, $4, now(), now())
             ON CONFLICT (lower(email)) WHERE role <> 'resident' DO UPDATE SET password_hash = $3, totp_secret = $4, last_totp_step = NULL",
        )
        .bind(email)
        .bind(org)
        .bind(&hash)
        .bind(key.seal(PARTNER_SECRET))
        .execute(pool)
        .await?;
        sqlx::query(
            "INSERT INTO agreement_acceptances (user_id, version) SELECT id, $2 FROM users WHERE email = $1 ON CONFLICT DO NOTHING",
        )
        .bind(email)
        .bind(app::partners::onboarding::AGREEMENT_VERSION)
        .execute(pool)
        .await?;
    }
    let have: i64 = sqlx::query_scalar("SELECT count(*) FROM referrals")
        .fetch_one(pool)
        .await?;
    let mut load_note = String::new();
    if have < TOTAL {
        let started = Instant::now();
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO residents (name, phone, preferred_contact, created_by_organization)
             SELECT 'Resident ' || g, '(502) 555-' || lpad((g % 10000)::text, 4, '0'), 'phone',
                    (SELECT organization_id FROM partner_organizations ORDER BY organization_id OFFSET (g % 200) LIMIT 1)
               FROM generate_series(1, 250000) g",
        )
        .execute(&mut *tx)
        .await?;
        // Every referral goes from one partner to a program of another, at a time in the last
        // two years; four in five are closed, with outcomes and reasons in realistic shares.
        sqlx::query(
            "WITH programs AS (
                 SELECT row_number() OVER (ORDER BY sal.id) AS n, sal.id AS program_id, s.id AS service_id,
                        s.organization_id, (s.category_ids)[1] AS need
                   FROM service_at_locations sal JOIN services s ON s.id = sal.service_id
                   JOIN partner_organizations p ON p.organization_id = s.organization_id
                  WHERE s.active),
             counts AS (SELECT count(*) AS total FROM programs),
             people AS (SELECT array_agg(id ORDER BY id) AS ids FROM residents),
             sender AS (SELECT id FROM users WHERE email = 'bench.sender@bench.example'),
             raw AS (
                 SELECT g, 1 + (hashint8(g) & 2147483647) % (SELECT total FROM counts) AS pick,
                        now() - make_interval(secs => ((hashint8(g * 7) & 2147483647) % (730 * 86400))::float8) AS created,
                        (hashint8(g * 13) & 2147483647) % 100 AS roll
                   FROM generate_series(1, $1) g)
             INSERT INTO referrals (batch_id, resident_id, from_organization, from_user, service_id, program_id,
                                    to_organization, need, status, outcome_reason, created_at, updated_at, closed_at)
             SELECT gen_random_uuid(), (SELECT ids FROM people)[1 + raw.g % 250000],
                    (SELECT organization_id FROM partner_organizations ORDER BY organization_id OFFSET (raw.g % 200) LIMIT 1),
                    (SELECT id FROM sender), p.service_id, p.program_id, p.organization_id, coalesce(p.need, 'food'),
                    CASE WHEN roll < 8 THEN 'sent' WHEN roll < 14 THEN 'accepted' WHEN roll < 20 THEN 'in_progress'
                         WHEN roll < 62 THEN 'resource_provided' WHEN roll < 95 THEN 'resource_not_provided'
                         WHEN roll < 98 THEN 'declined' ELSE 'cancelled' END,
                    CASE WHEN roll BETWEEN 62 AND 94 THEN (ARRAY['unable_to_reach','got_help_elsewhere','not_eligible','no_capacity','resident_declined'])[1 + roll % 5] END,
                    created, created,
                    CASE WHEN roll >= 20 THEN created + make_interval(days => (roll % 30)::int) END
               FROM raw JOIN programs p ON p.n = raw.pick",
        )
        .bind(TOTAL - have)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        sqlx::query("VACUUM ANALYZE residents")
            .execute(pool)
            .await?;
        sqlx::query("VACUUM ANALYZE referrals")
            .execute(pool)
            .await?;
        load_note = format!(
            " (generated in this run in {:.0} s)",
            started.elapsed().as_secs_f64()
        );
    }
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM referrals")
        .fetch_one(pool)
        .await?;
    let receiver_org = orgs[0];
    let inbox_size: i64 =
        sqlx::query_scalar("SELECT count(*) FROM referrals WHERE to_organization = $1")
            .bind(receiver_org)
            .fetch_one(pool)
            .await?;

    let receiver = sign_in_partner(base_url, "bench.receiver@bench.example").await?;
    let sender = sign_in_partner(base_url, "bench.sender@bench.example").await?;

    // Creation: add a program to the referral, then send it for a new resident.
    let programs: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT sal.id FROM service_at_locations sal JOIN services s ON s.id = sal.service_id
          WHERE s.organization_id = $1 AND s.active LIMIT 5",
    )
    .bind(receiver_org)
    .fetch_all(pool)
    .await?;
    let mut create_times = Vec::new();
    let creations = 200;
    let started_all = Instant::now();
    for i in 0..creations {
        let program = programs[i % programs.len()].to_string();
        let started = Instant::now();
        sender
            .post(format!("{base_url}/fn/add_to_referral"))
            .header("accept", "text/html")
            .form(&[("program_id", program.as_str())])
            .send()
            .await?;
        let r = sender
            .post(format!("{base_url}/fn/send_referrals"))
            .header("accept", "text/html")
            .form(&[
                ("name", format!("Bench Resident {i}")),
                ("phone", "502-555-0100".into()),
                ("preferred_contact", "phone".into()),
                ("needs[0]", "food-pantries".into()),
                ("consent", "yes".into()),
            ])
            .send()
            .await?;
        let to = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        anyhow::ensure!(
            to.starts_with("/referrals/batch/"),
            "bench referral failed: {to}"
        );
        create_times.push(started.elapsed());
    }
    let throughput = creations as f64 / started_all.elapsed().as_secs_f64();

    // The inbox (each tab, some filtered by need or age) and the dashboard, through the server...
    let tabs = ["new", "in_progress", "closed"];
    let inbox_paths: Vec<String> = (0..n)
        .map(|i| match i % 4 {
            3 => format!("/referrals/inbox?status={}&older_than=30", tabs[i % 3]),
            _ => format!("/referrals/inbox?status={}", tabs[i % 3]),
        })
        .collect();
    for p in inbox_paths.iter().take(20) {
        receiver
            .get(format!("{base_url}{p}"))
            .send()
            .await?
            .bytes()
            .await?;
    }
    let mut inbox_times = Vec::new();
    for p in &inbox_paths {
        let started = Instant::now();
        let r = receiver.get(format!("{base_url}{p}")).send().await?;
        anyhow::ensure!(r.status().is_success(), "inbox answered {}", r.status());
        r.bytes().await?;
        inbox_times.push(started.elapsed());
    }
    let mut dashboard_times = Vec::new();
    for _ in 0..n {
        let started = Instant::now();
        let r = receiver.get(format!("{base_url}/partner")).send().await?;
        anyhow::ensure!(r.status().is_success(), "dashboard answered {}", r.status());
        r.bytes().await?;
        dashboard_times.push(started.elapsed());
    }
    // ...and the same queries straight to Postgres.
    use app::referrals::store::{list, tab_counts, Tab};
    let mut inbox_sql = Vec::new();
    for (i, _) in inbox_paths.iter().enumerate() {
        let tab = Tab::parse(tabs[i % 3]);
        let age = (i % 4 == 3).then_some(30);
        let started = Instant::now();
        let (counts, rows) = tokio::join!(
            tab_counts(pool, receiver_org, true, None, age),
            list(pool, receiver_org, true, Some(tab), None, age, 0)
        );
        counts?;
        rows?;
        inbox_sql.push(started.elapsed());
    }
    let mut dashboard_sql = Vec::new();
    for _ in 0..n {
        let now = chrono::Utc::now();
        let started = Instant::now();
        // What the dashboard asks: the metrics over what it received and what it sent.
        let tz = app::metrics::Tz::America__New_York;
        let over = |scope| app::metrics::Filters {
            scope,
            org_type: None,
            year: app::metrics::this_year(tz, now),
        };
        let (received, sent) = (
            over(app::metrics::Scope::Received(receiver_org)),
            over(app::metrics::Scope::Sent(receiver_org)),
        );
        let (f, sent, c) = tokio::join!(
            app::metrics::compute_for_dashboard(pool, &received, tz, now),
            app::metrics::compute_for_dashboard(pool, &sent, tz, now),
            tab_counts(pool, receiver_org, true, None, None),
        );
        f?;
        sent?;
        c?;
        dashboard_sql.push(started.elapsed());
    }

    let mut out = String::new();
    let _ = writeln!(out, "### Referrals: {total} in the database{load_note}\n");
    let _ = writeln!(
        out,
        "200 partner organizations; the measured organization's inbox holds {inbox_size} referrals. One request at a time over \
         loopback, signed in. **SQL floor** = the page's queries straight to Postgres run as the page runs them (the inbox counts its tabs while it reads the page of rows; the dashboard reads its five aggregates at once).\n"
    );
    let _ = writeln!(
        out,
        "| path | n | p50 ms | p95 ms | p99 ms | mean ms | max ms |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    let _ = writeln!(
        out,
        "{}",
        stats_row(
            "create a referral (add program + send, 2 requests)",
            &create_times
        )
    );
    let _ = writeln!(
        out,
        "{}",
        stats_row(
            "**Inbox page** (`/referrals/inbox`, tabs and age filter)",
            &inbox_times
        )
    );
    let _ = writeln!(out, "{}", stats_row("SQL floor: inbox queries", &inbox_sql));
    let _ = writeln!(
        out,
        "{}",
        stats_row("**Dashboard page** (`/partner`)", &dashboard_times)
    );
    let _ = writeln!(
        out,
        "{}",
        stats_row("SQL floor: dashboard queries", &dashboard_sql)
    );
    let _ = writeln!(
        out,
        "\nReferral creation throughput, one partner at a time: **{throughput:.0} referrals/s**.\n"
    );
    Ok(out)
}
