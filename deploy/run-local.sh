#!/usr/bin/env bash
# Starts every DCP service that exists in this checkout, each on its default port, on SQLite
# files under ./var; prints where each listens; Ctrl-C (or SIGTERM) stops them all.
set -uo pipefail
cd "$(dirname "$0")/.."

target_dir=${TARGET_DIR:-target}
profile=${PROFILE:-release}
# name and default port, in the order they depend on each other.
services=("resource-pool 8001" "cmdb 8004" "soa-registry 8006" "cloud-portal 8005" "task-engine 8003" "orchestrator 8002")

# var/ holds the services' SQLite files (api secrets, password hashes, session keys), their
# logs and the platform's credentials: the account running them only. Everything this script
# and the services create below it is private too (the services set umask 077 themselves).
umask 077
mkdir -p var/log
chmod 700 var var/log

# The credentials the task-engine's built-in steps use to reach cloud-portal, soa-registry and
# cmdb. Made once per ./var (they live as long as the SQLite files that hold the accounts):
# cloud-portal's embedded default is the demo (admin/admin), soa-registry's the demo key, and
# cmdb's admin gets a generated key and secret.
secrets=var/platform.env
if [[ ! -s $secrets ]]; then
    random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
    {
        echo "CMDB_KEY=$(random_hex 16)"
        echo "CMDB_SECRET=$(random_hex 20)"
    } >"$secrets"
fi
# shellcheck disable=SC1090
source "$secrets"
# Each service gets only its own settings. The task-engine sends task events only to the
# orchestrator (on 127.0.0.1:8002, its notify_url): events.allowed_urls.
service_env() {
    case $1 in
    cmdb) echo "DCP_API_KEYS__ADMIN_KEY=$CMDB_KEY DCP_API_KEYS__ADMIN_SECRET=$CMDB_SECRET" ;;
    task-engine)
        echo "DCP_PEERS__CLOUD_PORTAL__URL=http://127.0.0.1:8005" \
            "DCP_PEERS__CLOUD_PORTAL__USERNAME=admin DCP_PEERS__CLOUD_PORTAL__PASSWORD=admin" \
            "DCP_PEERS__SOA_REGISTRY__URL=http://127.0.0.1:8006" \
            "DCP_PEERS__SOA_REGISTRY__KEY=demo-key DCP_PEERS__SOA_REGISTRY__ZKIDC=qa" \
            "DCP_PEERS__CMDB__URL=http://127.0.0.1:8004" \
            "DCP_PEERS__CMDB__KEY=$CMDB_KEY DCP_PEERS__CMDB__SECRET=$CMDB_SECRET" \
            "DCP_EVENTS__ALLOWED_URLS=http://127.0.0.1:8002/internal/task_event"
        ;;
    esac
}

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
    # shellcheck disable=SC2046
    env $(service_env "$name") DCP_LOG__FORMAT="${DCP_LOG__FORMAT:-pretty}" "$binary" >"var/log/$name.out" 2>"var/log/$name.log" &
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
