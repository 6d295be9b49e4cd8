//! Open Referral HSDS: importing 211 directory feeds (one pipeline for every format) and
//! publishing our directory as an HSDS 3.0 read API.

pub mod api;
pub mod feed;
pub mod json;
pub mod pull;
pub mod rules;
pub mod tabular;
pub mod values;
pub mod write;

use std::path::Path;
pub use write::{ImportOptions, ImportReport};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The input is not an HSDS feed at all: nothing was changed.
    #[error("{0}")]
    NotHsds(String),
    /// The feed is HSDS but storing it would do harm: nothing was changed.
    #[error("import refused: {0}")]
    Refused(String),
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Reads any supported feed: a folder of HSDS CSV files (3.0 or 1.x), a folder of HSDS JSON
/// documents, or one JSON document.
pub fn read(path: &Path) -> Result<feed::Feed, ImportError> {
    if path.is_dir() {
        let has = |ext: &str| {
            std::fs::read_dir(path)
                .map(|d| {
                    d.filter_map(Result::ok)
                        .any(|e| e.path().extension().is_some_and(|x| x == ext))
                })
                .unwrap_or(false)
        };
        if has("csv") {
            return tabular::read_dir(path);
        }
        if has("json") {
            return json::read_path(path);
        }
        return Err(ImportError::NotHsds(format!(
            "{} holds no CSV or JSON files",
            path.display()
        )));
    }
    if !path.exists() {
        return Err(ImportError::NotHsds(format!(
            "{} does not exist",
            path.display()
        )));
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => json::read_path(path),
        Some("csv") => Err(ImportError::NotHsds(format!(
            "{} is a single CSV file: give the folder that holds the feed's CSV files",
            path.display()
        ))),
        _ => Err(ImportError::NotHsds(format!(
            "{} is not an HSDS feed (expected a folder or a .json file)",
            path.display()
        ))),
    }
}

/// Reads and stores a feed.
pub async fn import(
    pool: &sqlx::PgPool,
    path: &Path,
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let feed = read(path)?;
    write::store(pool, feed, options).await
}

impl ImportReport {
    /// The report as people read it: counts per record kind, then every rejected row.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Imported {} ({}, {} feed), run #{}",
            self.source,
            self.format,
            if self.full_feed { "full" } else { "partial" },
            self.run_id
        );
        let _ = writeln!(
            out,
            "{:<22}{:>9}{:>10}{:>9}{:>11}{:>13}",
            "", "read", "inserted", "updated", "unchanged", "deactivated"
        );
        for (kind, c) in &self.counts {
            let _ = writeln!(
                out,
                "{kind:<22}{:>9}{:>10}{:>9}{:>11}{:>13}",
                c.read, c.inserted, c.updated, c.unchanged, c.deactivated
            );
        }
        match self.indexed {
            Some(n) => {
                let _ = writeln!(out, "search index: {n} programs");
            }
            None => {
                let _ = writeln!(out, "search index: unchanged");
            }
        }
        let _ = writeln!(out, "rejected rows: {}", self.rejected.len());
        for r in &self.rejected {
            let _ = writeln!(out, "  {}:{}: {}", r.file, r.line, r.reason);
        }
        let _ = writeln!(out, "warnings: {}", self.warnings.len());
        for w in &self.warnings {
            let _ = writeln!(out, "  {}:{}: {}", w.file, w.line, w.reason);
        }
        out
    }
}
