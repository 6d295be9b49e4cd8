#!/usr/bin/env bash
# The release build, with plain cargo (no cargo-leptos: installing it alone took 18 minutes on a
# fresh machine). The same steps cargo-leptos takes for `[[workspace.metadata.leptos]]`:
#   1. the browser bundle: the `frontend` crate for wasm32 in the `wasm-release` profile,
#      wasm-bindgen (--target web), wasm-opt -Oz;
#   2. the CSS: Tailwind from style/tailwind.css, minified;
#   3. content-hashed file names (target/site/pkg/wraparound.<hash>.{js,wasm,css}) and the
#      `hash.txt` beside the server binary that Leptos reads to link them (LEPTOS_HASH_FILES);
#   4. public/ copied to the site root; 5. the server binary; 6. brotli/gzip copies.
# Each step says what it is doing and how long it took.
#
# `scripts/build.sh` builds the release server (`make run`, `make bench`). `scripts/build.sh
# target/debug/server` builds the site for that server binary, already built: the end-to-end
# run uses the one the Rust tests built, as the release build of the server alone took 21 of a
# cold `make test`'s 66 minutes on a slow machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"

SERVER=${1:-target/release/server}
NAME=wraparound
SITE=target/site
PKG=$SITE/pkg
STAGE=target/site-stage

step_started=0
step() { step_started=$SECONDS; printf '==> %s\n' "$1" >&2; }
done_step() { printf '    done in %d s\n' $((SECONDS - step_started)) >&2; }

step "Browser bundle: compiling the islands to WebAssembly (a first build takes ~2 minutes)"
cargo build --package frontend --lib --target wasm32-unknown-unknown --profile wasm-release --quiet
done_step

step "Browser bundle: wasm-bindgen and wasm-opt"
rm -rf "$STAGE"
mkdir -p "$STAGE"
wasm-bindgen target/wasm32-unknown-unknown/wasm-release/frontend.wasm \
  --target web --no-typescript --out-dir "$STAGE" --out-name "$NAME"
# The features current rustc emits and every browser we support runs.
wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$STAGE/${NAME}_bg.wasm" -o "$STAGE/$NAME.wasm"
done_step

step "Styles: Tailwind"
tailwindcss --input style/tailwind.css --output "$STAGE/$NAME.css" --minify 2>/dev/null
done_step

step "Site: hashed file names, public assets"
hash_of() { sha256sum "$1" | cut -c1-20; }
js_hash=$(hash_of "$STAGE/$NAME.js")
wasm_hash=$(hash_of "$STAGE/$NAME.wasm")
css_hash=$(hash_of "$STAGE/$NAME.css")
rm -rf "$SITE"
mkdir -p "$PKG"
cp -R public/. "$SITE/"
cp "$STAGE/$NAME.js" "$PKG/$NAME.$js_hash.js"
cp "$STAGE/$NAME.wasm" "$PKG/$NAME.$wasm_hash.wasm"
cp "$STAGE/$NAME.css" "$PKG/$NAME.$css_hash.css"
# Leptos reads it beside the server binary.
mkdir -p "$(dirname "$SERVER")"
printf 'js: %s\nwasm: %s\ncss: %s\n' "$js_hash" "$wasm_hash" "$css_hash" > "$(dirname "$SERVER")/hash.txt"
done_step

if [[ $SERVER == target/release/server ]]; then
  step "Server: compiling (a first build takes 12-20 minutes on 2 cores)"
  cargo build --package server --bin server --release --quiet
  done_step
fi

step "Site: brotli and gzip copies"
"$SERVER" precompress "$SITE" >/dev/null
done_step
