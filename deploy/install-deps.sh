#!/usr/bin/env bash
# Installs the system packages DCP needs on Debian, only those missing.
#   deploy/install-deps.sh        what building and running needs (MySQL client library, pkg-config)
#   deploy/install-deps.sh --ci   plus what the tests and CI need (MariaDB, ZooKeeper, sshd, wrk,
#                                 docker-compose, pip, Chromium); `make test` runs it too
set -euo pipefail

packages=(pkg-config default-libmysqlclient-dev)
if [[ "${1:-}" == "--ci" ]]; then
    packages+=(mariadb-server mariadb-client zookeeper openssh-server wrk docker-compose python3 python3-pip curl chromium chromium-driver)
fi

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if ! command -v apt-get >/dev/null; then
    echo "install-deps: missing ${missing[*]}, and this is not a Debian-like system: install them by hand" >&2
    exit 1
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
