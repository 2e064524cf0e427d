#!/usr/bin/env bash
# make bench: see deploy/bench.py.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || deploy/install-deps.sh --ci
exec python3 deploy/bench.py
