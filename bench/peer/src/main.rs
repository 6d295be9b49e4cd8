//! `search-peer DOCS MIX LABEL`: indexes the directory's programs (one JSON document per line,
//! written by `server bench`) in RAM with tantivy and runs the same query mix: BM25 over name,
//! categories, description and organization with our field weights, a category term, a box
//! around the place, the free filter, and our distance decay (score / (1 + miles / 5)) as a
//! score tweak. It returns the top 20 ids, no page, no count of distinct programs: a floor for
//! what a dedicated engine costs per search. Prints Markdown rows for bench/results.md.

use serde::Deserialize;
use std::io::BufRead;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::{NumericOptions, Schema, Value, STORED, STRING, TEXT};
use tantivy::{doc, DocId, Index, Score, SegmentReader, TantivyDocument};

#[derive(Deserialize)]
struct Program {
    id: String,
    name: String,
    description: String,
    organization: String,
    categories: Vec<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    free: bool,
}

#[derive(Deserialize, Clone)]
struct Search {
    kind: String,
    keywords: Option<String>,
    category: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    radius_miles: Option<f64>,
    free: bool,
}

fn miles(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 3958.8 * h.sqrt().asin()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0
}

struct Engine {
    index: Index,
    reader: tantivy::IndexReader,
    parser: QueryParser,
}

impl Engine {
    /// The query as tantivy's query language: words (any may match), then required filters.
    fn query_text(s: &Search) -> String {
        let mut parts = Vec::new();
        if let Some(k) = &s.keywords {
            let words: String = k
                .chars()
                .map(|c| if c.is_alphanumeric() { c } else { ' ' })
                .collect();
            parts.push(format!("+({words})"));
        }
        if let Some(c) = &s.category {
            parts.push(format!("+categories:\"{c}\""));
        }
        if let (Some(lat), Some(lon), Some(r)) = (s.latitude, s.longitude, s.radius_miles) {
            let dlat = r / 69.0;
            let dlon = r / (69.0 * lat.to_radians().cos().max(0.1));
            parts.push(format!(
                "+latitude:[{} TO {}] +longitude:[{} TO {}]",
                lat - dlat,
                lat + dlat,
                lon - dlon,
                lon + dlon
            ));
        }
        if s.free {
            parts.push("+free:1".into());
        }
        if parts.is_empty() {
            "*".into()
        } else {
            parts.join(" ")
        }
    }

    fn search(&self, s: &Search) -> Vec<String> {
        let searcher = self.reader.searcher();
        let query = self
            .parser
            .parse_query(&Self::query_text(s))
            .expect("a query");
        let centre = s.latitude.zip(s.longitude);
        let top = TopDocs::with_limit(20).tweak_score(move |segment: &SegmentReader| {
            let lat = segment.fast_fields().f64("latitude").expect("latitude");
            let lon = segment.fast_fields().f64("longitude").expect("longitude");
            move |doc: DocId, score: Score| match (centre, lat.first(doc), lon.first(doc)) {
                (Some(c), Some(a), Some(b)) => score / (1.0 + miles(c, (a, b)) as f32 / 5.0),
                _ => score,
            }
        });
        let hits = searcher.search(&query, &top).expect("search");
        let id = self.index.schema().get_field("id").expect("id");
        hits.into_iter()
            .filter_map(|(_, address)| {
                let d: TantivyDocument = searcher.doc(address).ok()?;
                d.get_first(id).and_then(|v| v.as_str()).map(String::from)
            })
            .collect()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (docs, mix, label) = (&args[1], &args[2], &args[3]);
    let mut schema = Schema::builder();
    let id = schema.add_text_field("id", STRING | STORED);
    let name = schema.add_text_field("name", TEXT);
    let description = schema.add_text_field("description", TEXT);
    let organization = schema.add_text_field("organization", TEXT);
    let categories = schema.add_text_field("categories", STRING);
    let coordinate = NumericOptions::default().set_indexed().set_fast();
    let latitude = schema.add_f64_field("latitude", coordinate.clone());
    let longitude = schema.add_f64_field("longitude", coordinate);
    let free = schema.add_u64_field("free", NumericOptions::default().set_indexed());
    let index = Index::create_in_ram(schema.build());

    let started = Instant::now();
    let mut writer = index
        .writer_with_num_threads(2, 400_000_000)
        .expect("a writer");
    let mut n = 0usize;
    for line in std::io::BufReader::new(std::fs::File::open(docs).expect("docs")).lines() {
        let p: Program = serde_json::from_str(&line.expect("a line")).expect("a program");
        let mut d = doc!(
            id => p.id, name => p.name, description => p.description,
            organization => p.organization, free => u64::from(p.free),
        );
        for c in p.categories {
            d.add_text(categories, c);
        }
        if let (Some(a), Some(b)) = (p.latitude, p.longitude) {
            d.add_f64(latitude, a);
            d.add_f64(longitude, b);
        }
        writer.add_document(d).expect("add");
        n += 1;
    }
    writer.commit().expect("commit");
    let built = started.elapsed();
    let reader = index.reader().expect("a reader");
    let mut parser =
        QueryParser::for_index(&index, vec![name, categories, description, organization]);
    // Our weights: name 1.0, categories 0.9, description 0.6, organization 0.1.
    parser.set_field_boost(name, 1.0);
    parser.set_field_boost(categories, 0.9);
    parser.set_field_boost(description, 0.6);
    parser.set_field_boost(organization, 0.1);
    let engine = Arc::new(Engine {
        index,
        reader,
        parser,
    });

    let searches: Vec<Search> = std::io::BufReader::new(std::fs::File::open(mix).expect("mix"))
        .lines()
        .map(|l| serde_json::from_str(&l.expect("a line")).expect("a search"))
        .collect();
    for s in searches.iter().take(50) {
        engine.search(s);
    }
    let mut times: Vec<(String, Duration)> = Vec::new();
    let mut found = 0usize;
    for s in &searches {
        let t = Instant::now();
        found += engine.search(s).len();
        times.push((s.kind.clone(), t.elapsed()));
    }
    let mut all: Vec<Duration> = times.iter().map(|(_, d)| *d).collect();
    all.sort();
    println!(
        "**Peer: tantivy 0.24** on the same {n} programs (indexed in RAM in {:.1} s) and the same {} searches \
         (mean {:.1} results of at most 20):\n",
        built.as_secs_f64(),
        searches.len(),
        found as f64 / searches.len().max(1) as f64
    );
    println!("| {label}: tantivy | n | p50 ms | p95 ms |\n|---|---|---|---|");
    println!(
        "| all searches, one at a time | {} | {:.2} | {:.2} |",
        all.len(),
        percentile(&all, 0.5),
        percentile(&all, 0.95)
    );
    let mut kinds: Vec<String> = times.iter().map(|(k, _)| k.clone()).collect();
    kinds.sort();
    kinds.dedup();
    for k in kinds {
        let mut of: Vec<Duration> = times
            .iter()
            .filter(|(x, _)| *x == k)
            .map(|(_, d)| *d)
            .collect();
        of.sort();
        println!(
            "| {k} | {} | {:.2} | {:.2} |",
            of.len(),
            percentile(&of, 0.5),
            percentile(&of, 0.95)
        );
    }
    println!("\n| {label}: tantivy under load | threads | searches/s | p50 ms | p95 ms |\n|---|---|---|---|---|");
    for threads in [2usize, 32] {
        let deadline = Instant::now() + Duration::from_secs(5);
        let begun = Instant::now();
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let engine = engine.clone();
                let searches = searches.clone();
                std::thread::spawn(move || {
                    let mut times = Vec::new();
                    let mut i = t * 7919;
                    while Instant::now() < deadline {
                        let s = &searches[i % searches.len()];
                        i += 1;
                        let started = Instant::now();
                        engine.search(s);
                        times.push(started.elapsed());
                    }
                    times
                })
            })
            .collect();
        let mut times: Vec<Duration> = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect();
        times.sort();
        println!(
            "| searches, in process | {threads} | {:.0} | {:.2} | {:.2} |",
            times.len() as f64 / begun.elapsed().as_secs_f64(),
            percentile(&times, 0.5),
            percentile(&times, 0.95)
        );
    }
    println!();
}
