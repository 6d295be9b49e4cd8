//! `server bench`: a fixed, seeded mix of 1,000 directory searches run against a running
//! server, with the same searches run straight against Postgres as the floor, plus the bytes a
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

const KEYWORDS: &[&str] = &[
    "food", "food pantry", "rent help", "baby formula", "diapers", "dentist", "utility bill", "GED",
    "child care", "counseling", "clothing", "job training", "legal aid", "shelter", "senior meals",
    "rides to the doctor", "prescriptions", "eviction", "tax help", "formla", "mental health", "housing",
    "after school", "health insurance", "furniture", "veterans", "domestic violence", "english classes",
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
    let categories: Vec<String> =
        tree.categories.iter().flat_map(|c| std::iter::once(c.id.clone()).chain(c.sub.iter().map(|s| s.id.clone()))).collect();
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

pub async fn run(pool: &PgPool, deployment: &Deployment, base_url: &str, label: &str, n: usize, site: &Path) -> anyhow::Result<String> {
    let zips: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT left(postal_code, 5) FROM locations WHERE active AND postal_code ~ '^[0-9]{5}'
           AND left(postal_code, 5) IN (SELECT zip FROM places) ORDER BY 1",
    )
    .fetch_all(pool)
    .await?;
    anyhow::ensure!(!zips.is_empty(), "the directory has no locations with ZIP codes to search near");
    let (services,): (i64,) = sqlx::query_as("SELECT count(*) FROM services WHERE active").fetch_one(pool).await?;
    let queries = mix(&zips, &deployment.search.radius_choices, n);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;

    // Warm up caches (both paths) so the numbers describe a server in use.
    for (_, p) in queries.iter().take(50) {
        client.get(format!("{base_url}{}", p.to_url())).send().await?.bytes().await?;
    }

    let mut page_times: Vec<(Kind, Duration)> = Vec::with_capacity(n);
    let mut failures = 0;
    for (kind, p) in &queries {
        let started = Instant::now();
        let response = client.get(format!("{base_url}{}", p.to_url())).send().await?;
        let ok = response.status().is_success();
        response.bytes().await?;
        page_times.push((*kind, started.elapsed()));
        if !ok {
            failures += 1;
        }
    }

    let mut sql_times: Vec<(Kind, Duration)> = Vec::with_capacity(n);
    let mut results = 0i64;
    for (kind, p) in &queries {
        let q = p
            .check(&deployment.search.radius_choices, deployment.search.default_radius_miles)
            .map_err(|e| anyhow::anyhow!("bench query {p:?} is invalid: {e:?}"))?;
        let started = Instant::now();
        let r = store::search(pool, &q, deployment).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        sql_times.push((*kind, started.elapsed()));
        results += r.total;
    }

    let mut out = String::new();
    let _ = writeln!(out, "### {label}: {services} active services\n");
    let _ = writeln!(
        out,
        "{n} searches, one at a time, over loopback. **Page** = full server-rendered `/search` page (HTTP, SQL, rendering). \
         **SQL floor** = the same searches through the search code straight to Postgres (place lookup, typo check, search query), \
         no HTTP or HTML. Mean results per search: {:.0}. Non-2xx pages: {failures}.\n",
        results as f64 / n.max(1) as f64
    );
    let _ = writeln!(out, "| path | n | p50 ms | p95 ms | p99 ms | mean ms | max ms |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    let all = |v: &[(Kind, Duration)]| v.iter().map(|(_, d)| *d).collect::<Vec<_>>();
    let _ = writeln!(out, "{}", stats_row("**Page, all searches**", &all(&page_times)));
    let _ = writeln!(out, "{}", stats_row("**SQL floor, all searches**", &all(&sql_times)));
    let mut kinds: Vec<Kind> = queries.iter().map(|(k, _)| *k).collect();
    kinds.sort();
    kinds.dedup();
    for k in kinds {
        let of = |v: &[(Kind, Duration)]| v.iter().filter(|(x, _)| *x == k).map(|(_, d)| *d).collect::<Vec<_>>();
        let _ = writeln!(out, "{}", stats_row(&format!("page: {}", k.label()), &of(&page_times)));
        let _ = writeln!(out, "{}", stats_row(&format!("SQL: {}", k.label()), &of(&sql_times)));
    }

    // What a phone downloads.
    let _ = writeln!(out, "\n| first HTML response | bytes | brotli bytes |\n|---|---|---|");
    let program: Option<(uuid::Uuid,)> = sqlx::query_as("SELECT id FROM search_entries ORDER BY id LIMIT 1").fetch_optional(pool).await?;
    let mut pages = vec![("home", "/".to_string()), ("results", "/search?q=food&near=".to_string() + &zips[0])];
    if let Some((id,)) = program {
        pages.push(("program", format!("/programs/{id}")));
    }
    for (name, path) in pages {
        let raw = client.get(format!("{base_url}{path}")).header("accept-encoding", "identity").send().await?.bytes().await?.len();
        let br = client.get(format!("{base_url}{path}")).header("accept-encoding", "br").send().await?.bytes().await?.len();
        let _ = writeln!(out, "| {name} (`{path}`) | {raw} | {br} |");
    }
    let mut bundle = (0u64, 0u64, 0u64);
    if let Ok(dir) = std::fs::read_dir(site.join("pkg")) {
        for e in dir.flatten() {
            let p = e.path();
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if name.ends_with(".wasm") || name.ends_with(".js") || name.ends_with(".css") {
                bundle.0 += e.metadata()?.len();
                bundle.1 += std::fs::metadata(format!("{}.br", p.display())).map(|m| m.len()).unwrap_or(0);
                bundle.2 += std::fs::metadata(format!("{}.gz", p.display())).map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    let _ = writeln!(
        out,
        "\nJS + WASM + CSS of every resident page: {} bytes raw, **{} bytes brotli**, {} bytes gzip.\n",
        bundle.0, bundle.1, bundle.2
    );
    Ok(out)
}
