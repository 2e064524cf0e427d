#!/usr/bin/env bash
# make bench: every service's benchmark (deploy/bench_<service>.py), one after the other, over
# loopback. Each prints a Markdown table and writes it to var/bench/<service>.md.
# BENCH_ONLY=cmdb (a service name) runs one of them.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || deploy/install-deps.sh --ci
for script in deploy/bench_*.py; do
    service=$(basename "$script" .py); service=${service#bench_}
    if [[ -n "${BENCH_ONLY:-}" && "${BENCH_ONLY//-/_}" != "$service" ]]; then
        continue
    fi
    echo "== $service"
    python3 "$script"
done
