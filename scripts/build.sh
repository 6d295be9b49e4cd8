#!/usr/bin/env bash
# The release build: server + WASM islands + Tailwind CSS (cargo-leptos), then brotli/gzip
# copies of the bundle so it is served precompressed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
cargo leptos build --release
target/release/server precompress target/site >/dev/null
