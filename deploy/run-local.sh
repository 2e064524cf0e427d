#!/usr/bin/env bash
# Starts every DCP service that exists in this checkout, each on its default port, on SQLite
# files under ./var; prints where each listens; Ctrl-C (or SIGTERM) stops them all.
set -uo pipefail
cd "$(dirname "$0")/.."

target_dir=${TARGET_DIR:-target}
profile=${PROFILE:-release}
# name and default port, in the order they depend on each other.
services=("cloud-portal 8005" "resource-pool 8001" "cmdb 8004" "soa-registry 8006" "task-engine 8003" "orchestrator 8002")

# var/ holds the services' SQLite files (api secrets, password hashes, session keys), their
# logs and the platform's credentials: the account running them only. Everything this script
# and the services create below it is private too (the services set umask 077 themselves).
umask 077
mkdir -p var/log
chmod 700 var var/log

# The platform's secrets, made once per ./var (they live as long as the SQLite files that hold
# the accounts), 0600: the portal admin's password (no default password, even here), the
# service identities' client secrets (the task-engine's and the orchestrator's), and cmdb's
# admin api key and secret.
secrets=var/platform.env
random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
if [[ ! -s $secrets ]]; then
    {
        echo "CMDB_KEY=$(random_hex 16)"
        echo "CMDB_SECRET=$(random_hex 20)"
    } >"$secrets"
fi
# Older ./var folders lack what identity added: append it.
grep -q '^DCP_ADMIN_PASSWORD=' "$secrets" || echo "DCP_ADMIN_PASSWORD=$(random_hex 12)" >>"$secrets"
grep -q '^TASK_ENGINE_CLIENT_SECRET=' "$secrets" || echo "TASK_ENGINE_CLIENT_SECRET=$(random_hex 20)" >>"$secrets"
grep -q '^ORCHESTRATOR_CLIENT_SECRET=' "$secrets" || echo "ORCHESTRATOR_CLIENT_SECRET=$(random_hex 20)" >>"$secrets"
chmod 600 "$secrets"
# shellcheck disable=SC1090
source "$secrets"

# cloud-portal is the platform's token issuer; every service trusts it.
portal=http://127.0.0.1:8005
auth_env="DCP_AUTH__ISSUER=$portal DCP_AUTH__AUDIENCE=dcp DCP_AUTH__JWKS_URL=$portal/oauth/jwks DCP_AUTH__REVOCATION_URL=$portal/oauth/revoked"
# Settings an environment variable cannot say (lists of tables, keys with a dash) go into a
# private file per service.
cat >var/cloud-portal.toml <<TOML
[[issuer.clients]]
id = "task-engine"
secret = "$TASK_ENGINE_CLIENT_SECRET"

[[issuer.clients]]
id = "orchestrator"
secret = "$ORCHESTRATOR_CLIENT_SECRET"
TOML
cat >var/soa-registry.toml <<TOML
# The task-engine's register/unregister steps may use these zkidcs.
[service_zkidcs]
"task-engine" = ["qa", "yz", "g1"]
TOML
identity_env() {
    echo "DCP_IDENTITY__TOKEN_URL=$portal/oauth/token DCP_IDENTITY__CLIENT_ID=$1 DCP_IDENTITY__CLIENT_SECRET=$2"
}

# Each service gets only its own settings. The task-engine calls its peers as its own
# identity (no peer secrets), and sends task events only to the orchestrator (on
# 127.0.0.1:8002, its notify_url): events.allowed_urls.
service_env() {
    case $1 in
    cloud-portal) echo "DCP_CONFIG=var/cloud-portal.toml DCP_ADMIN__PASSWORD=$DCP_ADMIN_PASSWORD" ;;
    resource-pool) echo "$auth_env" ;;
    soa-registry) echo "$auth_env DCP_CONFIG=var/soa-registry.toml" ;;
    cmdb) echo "$auth_env DCP_API_KEYS__ADMIN_KEY=$CMDB_KEY DCP_API_KEYS__ADMIN_SECRET=$CMDB_SECRET" ;;
    task-engine)
        echo "$auth_env $(identity_env task-engine "$TASK_ENGINE_CLIENT_SECRET")" \
            "DCP_PEERS__CLOUD_PORTAL__URL=$portal" \
            "DCP_PEERS__SOA_REGISTRY__URL=http://127.0.0.1:8006 DCP_PEERS__SOA_REGISTRY__ZKIDC=qa" \
            "DCP_PEERS__CMDB__URL=http://127.0.0.1:8004" \
            "DCP_EVENTS__ALLOWED_URLS=http://127.0.0.1:8002/internal/task_event"
        ;;
    orchestrator) echo "$auth_env $(identity_env orchestrator "$ORCHESTRATOR_CLIENT_SECRET")" ;;
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
    # The service writes its log itself, rotated at 64 MB with 4 old files kept (a disk cannot
    # fill); stderr keeps what comes before logging starts (a bad setting) and panics.
    # shellcheck disable=SC2046
    env $(service_env "$name") DCP_LOG__FORMAT="${DCP_LOG__FORMAT:-pretty}" \
        DCP_LOG__FILE="var/log/$name.log" \
        "$binary" >"var/log/$name.out" 2>"var/log/$name.err" &
    pids+=($!)
    for _ in $(seq 1 100); do
        grep -q "listening on" "var/log/$name.out" 2>/dev/null && break
        if ! kill -0 "${pids[-1]}" 2>/dev/null; then
            echo "run-local: $name did not start:" >&2
            tail -n 20 "var/log/$name.err" "var/log/$name.log" >&2 2>/dev/null
            stop
        fi
        sleep 0.1
    done
    printf '  %-14s %s   (log: var/log/%s.log)\n' "$name" "$(sed -n 's/.*listening on //p' "var/log/$name.out")" "$name"
done

# The first run also makes the admin an API token (for scripts and curl), kept beside the
# password: DCP_ADMIN_TOKEN in var/platform.env.
if ! grep -q '^DCP_ADMIN_TOKEN=' "$secrets" && command -v python3 >/dev/null; then
    token=$(DCP_ADMIN_PASSWORD="$DCP_ADMIN_PASSWORD" python3 - "$portal" <<'PY'
import json, os, sys, urllib.parse, urllib.request
portal = sys.argv[1]
def post(path, fields, token=None):
    request = urllib.request.Request(portal + path, data=urllib.parse.urlencode(fields).encode())
    if token:
        request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.load(reply)
access = post("/oauth/token", {"grant_type": "password", "username": "admin",
                               "password": os.environ["DCP_ADMIN_PASSWORD"]})["access_token"]
print(post("/api/token/create", {"name": "make run admin", "expires_days": "365"}, access)["token"])
PY
    ) && echo "DCP_ADMIN_TOKEN=$token" >>"$secrets"
fi

echo "DCP is running. Ctrl-C stops it."
echo "  sign in: admin / DCP_ADMIN_PASSWORD; an admin API token: DCP_ADMIN_TOKEN (var/platform.env, 0600):"
echo "    source var/platform.env"
echo "    curl -H \"Authorization: Bearer \$DCP_ADMIN_TOKEN\" http://127.0.0.1:8002/cluster/list"
wait
