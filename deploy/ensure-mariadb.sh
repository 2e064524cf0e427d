#!/usr/bin/env bash
# Makes sure the MariaDB the tests use answers at DCP_TEST_MYSQL_URL (default root@127.0.0.1:3306,
# empty password): starts it if it is installed and down, installs it if it is missing.
set -euo pipefail

url=${DCP_TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306}
hostport=${url##*@}; hostport=${hostport%%/*}
host=${hostport%%:*}; port=${hostport##*:}; [[ "$port" == "$host" ]] && port=3306
creds=${url#*://}; creds=${creds%@*}; user=${creds%%:*}
password=""; [[ "$creds" == *:* ]] && password=${creds#*:}

answers() {
    MYSQL_PWD="$password" mysql --protocol=tcp -h "$host" -P "$port" -u "$user" -e "SELECT 1" >/dev/null 2>&1
}

if command -v mysql >/dev/null && answers; then
    exit 0
fi

if ! command -v mariadbd >/dev/null && ! [[ -x /usr/sbin/mariadbd ]]; then
    echo "ensure-mariadb: MariaDB is not installed; installing it"
    deploy/install-deps.sh --ci
fi

if ! mysqladmin ping --silent >/dev/null 2>&1; then
    echo "ensure-mariadb: starting MariaDB"
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
    for _ in $(seq 1 60); do
        mysqladmin ping --silent >/dev/null 2>&1 && break
        sleep 0.5
    done
fi

# A fresh Debian install lets root in through the socket only; the tests log in over TCP.
if ! answers && [[ "$user" == "root" && -z "$password" ]]; then
    echo "ensure-mariadb: allowing root over TCP from 127.0.0.1 (empty password, test machine)"
    mysql -u root -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''; \
        GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;" || true
fi

if answers; then
    exit 0
fi
echo "ensure-mariadb: MariaDB does not answer at $host:$port as $user (set DCP_TEST_MYSQL_URL)" >&2
exit 1
