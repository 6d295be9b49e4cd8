# Wraparound developer commands. `make run` and `make test` work on a fresh machine: they
# install what is missing and start a private Postgres unless DATABASE_URL is set.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

.PHONY: run dev test test-rust test-e2e bench setup build db stop-db fmt

## Serve the release build with the Kentucky demo directory on http://127.0.0.1:3000
run: setup build
	@scripts/run.sh

## cargo leptos watch (rebuilds on change)
dev: setup
	@cargo leptos --version 2>/dev/null | grep -q '0\.3\.10' || \
	  { echo "Installing cargo-leptos 0.3.10 for 'make dev' (once, about 20 minutes)" >&2; \
	    cargo install cargo-leptos --version 0.3.10 --locked; }
	@eval "$$(scripts/db.sh)"; target/release/server seed-demo 2>/dev/null || true; \
	 WRAPAROUND_DEV_MAILBOX=1 cargo leptos watch

## Every Rust test, then the Playwright suite in Debian's Chromium
test: setup
	scripts/test.sh

test-rust: setup
	scripts/test.sh rust

test-e2e: setup
	scripts/test.sh e2e

## Benchmarks (12k and 1.1M services); writes bench/results.md
bench: setup build
	scripts/bench.sh

setup:
	@scripts/setup.sh

build: setup
	@scripts/build.sh

db:
	@scripts/db.sh

stop-db:
	@if [[ -f target/pg/data/PG_VERSION ]]; then \
	   if [[ $$(id -u) -eq 0 ]]; then runuser -u postgres -- $$(ls -d /usr/lib/postgresql/*/bin | head -1)/pg_ctl -D target/pg/data stop; \
	   else pg_ctl -D target/pg/data stop; fi; fi

fmt:
	cargo fmt --all
