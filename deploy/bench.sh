#!/usr/bin/env bash
# make bench: every service's benchmark (deploy/bench_<service>.py), one after the other, over
# loopback. Each prints a Markdown table and writes it to var/bench/<service>.md
# (bench_path.py: the request path as a share of a bare actix handler, BENCH_ONLY=path).
# BENCH_ONLY=cmdb (a service name) runs one of them; BENCH_ONLY=platform runs only the
# end-to-end expand (tests/e2e/tests/bench_expand.rs, release binaries, MariaDB).
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
if [[ -z "${BENCH_ONLY:-}" || "${BENCH_ONLY}" == "platform" ]]; then
    echo "== platform (expand by ${BENCH_EXPAND_NODES:-100}, end to end)"
    DCP_E2E_BIN_DIR="${TARGET_DIR:-target}/release" \
        cargo test --release -p dcp-e2e --test bench_expand -- --ignored --nocapture
fi
