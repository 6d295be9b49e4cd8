//! Precompressed static assets: the JS, WASM and CSS bundles are compressed once at build time
//! (brotli and gzip) and served as they are, so a phone on a slow network downloads the
//! smallest file with no CPU spent per request.

use anyhow::Context;
use std::io::Write;
use std::path::Path;

const COMPRESSIBLE: &[&str] = &["js", "wasm", "css", "svg", "html", "json", "txt"];

/// Writes `<file>.br` and `<file>.gz` beside every compressible file under `dir`. Returns the
/// (path, raw bytes, brotli bytes, gzip bytes) of each.
pub fn precompress(dir: &Path) -> anyhow::Result<Vec<(String, usize, usize, usize)>> {
    let mut done = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in
            std::fs::read_dir(&d).with_context(|| format!("cannot read {}", d.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !COMPRESSIBLE.contains(&ext) {
                continue;
            }
            let raw = std::fs::read(&path)?;
            let mut br = Vec::new();
            {
                let mut w = brotli::CompressorWriter::new(&mut br, 4096, 11, 22);
                w.write_all(&raw)?;
            }
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(&raw)?;
            let gz = gz.finish()?;
            std::fs::write(path.with_extension(format!("{ext}.br")), &br)?;
            std::fs::write(path.with_extension(format!("{ext}.gz")), &gz)?;
            done.push((path.display().to_string(), raw.len(), br.len(), gz.len()));
        }
    }
    done.sort();
    Ok(done)
}
