#!/usr/bin/env bash
# Starts every DCP service that exists in this checkout, each on its default port, on SQLite
# files under ./var; prints where each listens; Ctrl-C (or SIGTERM) stops them all.
set -uo pipefail
cd "$(dirname "$0")/.."

target_dir=${TARGET_DIR:-target}
profile=${PROFILE:-release}
# name and default port, in the order they depend on each other.
services=("resource-pool 8001" "cmdb 8004" "soa-registry 8006" "cloud-portal 8005" "task-engine 8003" "orchestrator 8002")

mkdir -p var/log
pids=()
stop() {
    trap - INT TERM
    echo
    echo "stopping ${#pids[@]} service(s)"
    [[ ${#pids[@]} -gt 0 ]] && kill -TERM "${pids[@]}" 2>/dev/null
    wait
    exit 0
}
trap stop INT TERM

for entry in "${services[@]}"; do
    read -r name port <<<"$entry"
    [[ -f "services/$name/Cargo.toml" ]] || continue
    binary="$target_dir/$profile/$name"
    if [[ ! -x "$binary" ]]; then
        echo "run-local: $binary is missing; build with: cargo build --release --bins" >&2
        stop
    fi
    DCP_LOG__FORMAT=${DCP_LOG__FORMAT:-pretty} "$binary" >"var/log/$name.out" 2>"var/log/$name.log" &
    pids+=($!)
    for _ in $(seq 1 100); do
        grep -q "listening on" "var/log/$name.out" 2>/dev/null && break
        if ! kill -0 "${pids[-1]}" 2>/dev/null; then
            echo "run-local: $name did not start:" >&2
            tail -n 20 "var/log/$name.log" >&2
            stop
        fi
        sleep 0.1
    done
    printf '  %-14s %s   (log: var/log/%s.log)\n' "$name" "$(sed -n 's/.*listening on //p' "var/log/$name.out")" "$name"
done

echo "DCP is running. Ctrl-C stops it."
wait
