//! `bench-relevance`: how often the search puts the right programs in its first ten, on the
//! relevance set in `bench/relevance/queries.toml` (queries in residents' own words, graded
//! answers written before any tuning; see its README), beside a plain baseline measured in the
//! same run: every word must match, nearest first.
//!
//! - **recall@10**: of a query's relevant answers (grade 2 or 3), the share in the first ten
//!   results, out of at most ten; averaged over queries.
//! - **nDCG@10**: graded gain 2^grade − 1, discounted by log2(position + 1), over the ideal
//!   order of the query's answers; averaged over queries.
//!
//! A program shown twice in the first ten (two locations of one service) counts once: the
//! second card takes a place and earns nothing, as a resident would see it.

use app::config::Deployment;
use app::directory::query::Place;
use app::directory::query::SearchParams;
use app::directory::store;
use serde::Deserialize;
use sqlx::PgPool;
use std::collections::HashSet;
use std::fmt::Write;
use std::path::Path;
use std::time::Instant;
use uuid::Uuid;

#[derive(Deserialize)]
struct Set {
    query: Vec<Query>,
}

#[derive(Deserialize)]
struct Query {
    dataset: String,
    q: String,
    near: Option<String>,
    expect: Vec<Expect>,
}

#[derive(Deserialize)]
struct Expect {
    id: String,
    grade: u8,
}

/// One system's figures over a set of queries.
#[derive(Default)]
struct Scores {
    recall: Vec<f64>,
    ndcg: Vec<f64>,
    millis: Vec<f64>,
}

impl Scores {
    fn mean(v: &[f64]) -> f64 {
        if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    }
    fn median(v: &[f64]) -> f64 {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or_default()
    }
}

/// recall@10 and nDCG@10 of a ranked list of source ids against the graded answers.
fn score(ranked: &[String], expect: &[Expect]) -> (f64, f64) {
    let grade = |id: &str| expect.iter().find(|e| e.id == id).map_or(0, |e| e.grade);
    let relevant = expect.iter().filter(|e| e.grade >= 2).count();
    let mut seen = HashSet::new();
    let (mut found, mut dcg) = (0usize, 0.0);
    for (i, id) in ranked.iter().take(10).enumerate() {
        if !seen.insert(id.as_str()) {
            continue;
        }
        let g = grade(id);
        if g >= 2 {
            found += 1;
        }
        dcg += (2f64.powi(g as i32) - 1.0) / ((i + 2) as f64).log2();
    }
    let mut ideal: Vec<u8> = expect.iter().map(|e| e.grade).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(10)
        .enumerate()
        .map(|(i, g)| (2f64.powi(*g as i32) - 1.0) / ((i + 2) as f64).log2())
        .sum();
    let recall = if relevant == 0 {
        1.0
    } else {
        found as f64 / relevant.min(10) as f64
    };
    (recall, if idcg > 0.0 { dcg / idcg } else { 0.0 })
}

/// The feed's ids of programs (search entries), in the order given.
async fn source_ids(pool: &PgPool, programs: &[Uuid]) -> anyhow::Result<Vec<String>> {
    let rows: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT e.id, s.source_id FROM search_entries e JOIN services s ON s.id = e.service_id WHERE e.id = ANY($1)",
    )
    .bind(programs)
    .fetch_all(pool)
    .await?;
    Ok(programs
        .iter()
        .filter_map(|p| rows.iter().find(|(id, _)| id == p).map(|(_, s)| s.clone()))
        .collect())
}

/// What the detail says of a card besides its name: how far, and whether it is related help.
fn card_note(c: &app::directory::model::ServiceCard) -> String {
    let miles = c
        .distance_miles
        .map_or("-".to_string(), |m| format!("{m:.1} mi"));
    format!("{miles}{}", if c.related { ", related" } else { "" })
}

/// Where the expected answers rank past the first page (feed id → rank), in the first 100.
async fn later_ranks(
    pool: &PgPool,
    query: &app::directory::query::SearchQuery,
    d: &Deployment,
    expect: &[Expect],
) -> anyhow::Result<Vec<(String, usize)>> {
    let mut ranks = Vec::new();
    let mut rank = 0;
    for page in 1..=100 / d.search.page_size.max(1) {
        let found = store::search(
            pool,
            &app::directory::query::SearchQuery {
                page,
                ..query.clone()
            },
            d,
        )
        .await?;
        let ids: Vec<Uuid> = found.cards.iter().map(|c| c.id).collect();
        for id in source_ids(pool, &ids).await? {
            rank += 1;
            if expect.iter().any(|e| e.id == id) {
                ranks.push((id, rank));
            }
        }
        if found.cards.is_empty() {
            break;
        }
    }
    Ok(ranks)
}

/// A query's first ten (grade, feed id, name, distance) and the relevant answers not among
/// them, with their rank in the first hundred.
async fn explain(
    pool: &PgPool,
    q: &Query,
    ranked: &[String],
    shown: &[String],
    later: &[(String, usize)],
    recall: f64,
    ndcg: f64,
) -> anyhow::Result<String> {
    let grade = |id: &str| q.expect.iter().find(|e| e.id == id).map_or(0, |e| e.grade);
    let all: Vec<String> = ranked
        .iter()
        .cloned()
        .chain(q.expect.iter().map(|e| e.id.clone()))
        .collect();
    let names: Vec<(String, String)> =
        sqlx::query_as("SELECT source_id, name FROM services WHERE source_id = ANY($1)")
            .bind(&all)
            .fetch_all(pool)
            .await?;
    let name = |id: &str| {
        names
            .iter()
            .find(|(s, _)| s == id)
            .map_or("?", |(_, n)| n.as_str())
            .to_string()
    };
    let mut out = format!(
        "== {:?} near {:?}: recall {recall:.2}, nDCG {ndcg:.2}\n",
        q.q, q.near
    );
    for (i, id) in ranked.iter().enumerate() {
        let note = shown.get(i).map_or("", String::as_str);
        let _ = writeln!(
            out,
            "  {:>2}. [{}] {id} {} ({note})",
            i + 1,
            grade(id),
            name(id)
        );
    }
    for e in q
        .expect
        .iter()
        .filter(|e| e.grade >= 2 && !ranked.contains(&e.id))
    {
        let rank = later
            .iter()
            .find(|(id, _)| *id == e.id)
            .map_or("not in the first 100".to_string(), |(_, r)| {
                format!("rank {r}")
            });
        let _ = writeln!(
            out,
            "  missed [{}] {} {} ({rank})",
            e.grade,
            e.id,
            name(&e.id)
        );
    }
    Ok(out)
}

/// The baseline: every word must match (English stemming), nearest first within the search
/// radius when a place is given, by name otherwise.
async fn baseline(pool: &PgPool, q: &Query, d: &Deployment) -> anyhow::Result<Vec<Uuid>> {
    let origin = match &q.near {
        Some(zip) => Some(store::resolve_place(pool, &Place::Zip(zip.clone()), d).await?),
        None => None,
    };
    let radius_m = d.search.default_radius_miles as f64 * 1609.344;
    let ids: Vec<Uuid> = match origin {
        Some(o) => {
            sqlx::query_scalar(
                "SELECT e.id FROM search_entries e
              WHERE e.document @@ websearch_to_tsquery('english', unaccent($1))
                AND earth_box(ll_to_earth($2, $3), $4) @> e.earth
                AND earth_distance(e.earth, ll_to_earth($2, $3)) <= $4
              ORDER BY earth_distance(e.earth, ll_to_earth($2, $3)), e.name, e.id LIMIT 10",
            )
            .bind(&q.q)
            .bind(o.latitude)
            .bind(o.longitude)
            .bind(radius_m)
            .fetch_all(pool)
            .await?
        }
        None => {
            sqlx::query_scalar(
                "SELECT e.id FROM search_entries e
              WHERE e.document @@ websearch_to_tsquery('english', unaccent($1))
              ORDER BY e.name, e.id LIMIT 10",
            )
            .bind(&q.q)
            .fetch_all(pool)
            .await?
        }
    };
    Ok(ids)
}

/// Runs the set's queries of `dataset` against this database, ours and the baseline's, and
/// returns the report's section. `state` is the state the dataset's directory serves.
pub async fn relevance(
    pool: &PgPool,
    deployment: &Deployment,
    set: &Path,
    dataset: &str,
    state: &str,
) -> anyhow::Result<String> {
    let set: Set = toml::from_str(&std::fs::read_to_string(set)?)?;
    let mut d = deployment.clone();
    d.region.state = state.to_string();
    if let Some(name) = app::us_states::name(state) {
        d.region.state_name = name.to_string();
    }
    let queries: Vec<&Query> = set.query.iter().filter(|q| q.dataset == dataset).collect();
    anyhow::ensure!(!queries.is_empty(), "no queries for dataset {dataset}");
    let (mut ours, mut base) = (Scores::default(), Scores::default());
    // For whoever works on the ranking: each query below full recall, its first ten and the
    // answers it missed, on stderr (the report is unchanged).
    let detail = std::env::var_os("WRAPAROUND_RELEVANCE_DETAIL").is_some();
    let mut worst: Vec<(f64, f64, String)> = Vec::new();
    for q in &queries {
        let mut pairs = vec![("q", q.q.as_str())];
        if let Some(near) = &q.near {
            pairs.push(("near", near));
        }
        let params = SearchParams::from_pairs(pairs);
        let query = params
            .check(&d.search.radius_choices, d.search.default_radius_miles)
            .map_err(|e| anyhow::anyhow!("query {:?}: {e:?}", q.q))?;
        let started = Instant::now();
        let found = store::search(pool, &query, &d).await?;
        ours.millis.push(started.elapsed().as_secs_f64() * 1000.0);
        let ids: Vec<Uuid> = found.cards.iter().take(10).map(|c| c.id).collect();
        let ranked = source_ids(pool, &ids).await?;
        let (recall, ndcg) = score(&ranked, &q.expect);
        ours.recall.push(recall);
        ours.ndcg.push(ndcg);
        worst.push((recall, ndcg, q.q.clone()));
        if detail && recall < 1.0 {
            let shown: Vec<String> = found.cards.iter().take(10).map(card_note).collect();
            let later = later_ranks(pool, &query, &d, &q.expect).await?;
            eprintln!(
                "{}",
                explain(pool, q, &ranked, &shown, &later, recall, ndcg).await?
            );
        }

        let started = Instant::now();
        let ids = baseline(pool, q, &d).await?;
        base.millis.push(started.elapsed().as_secs_f64() * 1000.0);
        let (recall, ndcg) = score(&source_ids(pool, &ids).await?, &q.expect);
        base.recall.push(recall);
        base.ndcg.push(ndcg);
    }
    let mut out = String::new();
    for (name, s) in [
        ("**Wraparound search**", &ours),
        ("Baseline: every word, nearest first", &base),
    ] {
        let _ = writeln!(
            out,
            "| {dataset} | {name} | {} | {:.3} | {:.3} | {:.1} |",
            queries.len(),
            Scores::mean(&s.recall),
            Scores::mean(&s.ndcg),
            Scores::median(&s.millis)
        );
    }
    worst.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let misses: Vec<String> = worst
        .iter()
        .take_while(|(r, _, _)| *r < 1.0)
        .take(12)
        .map(|(r, n, q)| format!("\"{q}\" ({r:.2} / {n:.2})"))
        .collect();
    Ok(format!(
        "{out}\nWorst {dataset} queries for our search (recall@10 / nDCG@10): {}\n",
        if misses.is_empty() {
            "none below 1.0".to_string()
        } else {
            misses.join("; ")
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(id: &str, grade: u8) -> Expect {
        Expect {
            id: id.into(),
            grade,
        }
    }

    #[test]
    fn recall_and_ndcg_count_a_program_once() {
        let expect = [e("a", 3), e("b", 2), e("c", 1)];
        let ranked: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let (r, n) = score(&ranked, &expect);
        assert_eq!(r, 1.0);
        assert!((n - 1.0).abs() < 1e-9);
        // The same program twice pushes the next one down and earns nothing.
        let ranked: Vec<String> = ["a", "a", "b"].iter().map(|s| s.to_string()).collect();
        let (r, n) = score(&ranked, &expect);
        assert_eq!(r, 1.0);
        assert!(n < 1.0);
        let (r, n) = score(&[], &expect);
        assert_eq!((r, n), (0.0, 0.0));
        // Grade 1 answers add to nDCG, not to recall.
        let ranked = vec!["c".to_string()];
        assert_eq!(score(&ranked, &expect).0, 0.0);
    }
}
