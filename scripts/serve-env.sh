# Environment for running the release binary outside cargo-leptos (sourced).
export LEPTOS_OUTPUT_NAME=wraparound
export LEPTOS_SITE_ROOT=target/site
export LEPTOS_SITE_PKG_DIR=pkg
export LEPTOS_HASH_FILES=true
export LEPTOS_ENV=PROD
