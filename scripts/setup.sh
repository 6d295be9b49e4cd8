#!/usr/bin/env bash
# Installs what building Wraparound needs and a fresh machine lacks (idempotent, fast when
# everything is there): the WASM target, wasm-bindgen-cli at the version in Cargo.lock, and the
# npm tools (Tailwind, wasm-opt, Playwright, axe-core). The release build needs no cargo-leptos
# (scripts/build.sh); only `make dev` installs it, for `cargo leptos watch`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

# The CLI must match the wasm-bindgen library exactly. Not --locked: a locked dependency of
# the CLI is no longer in the registry. --force: cargo's record of installed crates can name
# a binary that is gone (deleted by hand, another CARGO_HOME), and then it installs nothing.
WBG=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WBG"; then
  echo "Installing wasm-bindgen-cli $WBG (first time only, about 3 minutes)..." >&2
  cargo install --force wasm-bindgen-cli --version "$WBG"
fi

if [[ ! -x node_modules/.bin/tailwindcss || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# From PyPI, in a private virtualenv: a real SMTP server for the tests (aiosmtpd), and
# schemathesis for the HSDS API's OpenAPI contract test.
if ! target/py/bin/python -c 'import aiosmtpd' 2>/dev/null; then
  python3 -m venv target/py
  target/py/bin/pip install --quiet --disable-pip-version-check aiosmtpd==1.4.6
fi
if ! target/py/bin/schemathesis --version 2>/dev/null | grep -q '4\.32\.5'; then
  target/py/bin/pip install --quiet --disable-pip-version-check schemathesis==4.32.5
fi
