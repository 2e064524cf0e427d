#!/usr/bin/env bash
# Validates docker-compose.yml offline: no Docker engine is needed or contacted.
#
#   deploy/check-compose.sh [COMPOSE_FILE]     (default: docker-compose.yml at the repo root)
#
# 1. The compose file itself: `docker-compose -f FILE config -q` (the standalone tool,
#    e.g. Debian's 1.29.2) if installed, else `docker compose -f FILE config -q` (plugin).
# 2. Every service built from deploy/Dockerfile: its SERVICE build argument names a
#    workspace package services/<SERVICE> and a config deploy/config/<SERVICE>.toml.
# Exits non-zero with a message on the first problem.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
file="${1:-docker-compose.yml}"

if [[ ! -f "$file" ]]; then
    echo "check-compose: $root/$file not found" >&2
    exit 1
fi

if command -v docker-compose >/dev/null 2>&1; then
    compose=(docker-compose)
elif command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
else
    echo "check-compose: cannot validate $file: neither \`docker-compose\` nor the \`docker compose\` plugin is installed" >&2
    echo "check-compose: install one of them (Debian: apt-get install docker-compose) and run this again" >&2
    exit 1
fi

# Every secret compose needs, set to stand-ins for the validation; without them compose must
# refuse (no default passwords).
secrets=(MYSQL_ROOT_PASSWORD DCP_MYSQL_PASSWORD DCP_PORTAL_ADMIN_PASSWORD
    DCP_CMDB_ADMIN_KEY DCP_CMDB_ADMIN_SECRET DCP_TASK_ENGINE_CLIENT_SECRET
    DCP_ORCHESTRATOR_CLIENT_SECRET)
for name in "${secrets[@]}"; do
    export "$name=${!name:-check-compose-stand-in-secret}"
done
for name in "${secrets[@]}"; do
    if env -u "$name" "${compose[@]}" -f "$file" config -q >/dev/null 2>&1; then
        echo "check-compose: $file is valid without $name: it must refuse (\${$name:?...})" >&2
        exit 1
    fi
done

echo "check-compose: ${compose[*]} -f $file config -q"
"${compose[@]}" -f "$file" config -q

# The normalised config (both tools) lists build args as a map: "args:" then
# more-indented "SERVICE: name" lines. Collect SERVICE from args blocks only.
resolved="$("${compose[@]}" -f "$file" config)"
mapfile -t built < <(awk '
    { match($0, /^ */); indent = RLENGTH }
    in_args && indent <= args_indent { in_args = 0 }
    in_args && $1 == "SERVICE:" { v = $2; gsub(/["\047]/, "", v); print v }
    $1 == "args:" && NF == 1 { in_args = 1; args_indent = indent }
' <<<"$resolved")
status=0
for service in "${built[@]}"; do
    if [[ ! -f "services/$service/Cargo.toml" ]]; then
        echo "check-compose: build arg SERVICE=$service: no package services/$service/Cargo.toml" >&2
        status=1
    fi
    if [[ ! -f "deploy/config/$service.toml" ]]; then
        echo "check-compose: build arg SERVICE=$service: no config deploy/config/$service.toml" >&2
        status=1
    fi
done
if [[ ! -f deploy/Dockerfile ]]; then
    echo "check-compose: deploy/Dockerfile not found" >&2
    status=1
fi
if (( status != 0 )); then
    exit "$status"
fi

echo "check-compose: $file is valid (built services: ${built[*]:-none})"
