#!/usr/bin/env bash
# Debian's Chromium for the end-to-end suite (Playwright must not download its own browser:
# this network only reaches package registries).
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then exit 0; fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "Installing Debian's chromium for the end-to-end tests..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "The end-to-end tests need Debian's chromium (/usr/bin/chromium): apt-get install chromium" >&2
  exit 1
fi
