"""What the deploy/bench_*.py benchmarks share: a wrk run and its figures, the MariaDB command
line for DCP_TEST_MYSQL_URL, and free loopback ports. Standard library only."""
import os
import re
import socket
import subprocess
import sys
import urllib.parse
from typing import NamedTuple


class WrkRun(NamedTuple):
    rps: float
    p50_ms: float
    p99_ms: float
    # Answers that were not 2xx or 3xx.
    non_2xx: int
    # Requests that got no answer (connect, read, write errors and timeouts).
    unanswered: int


def wrk(url, connections, seconds, script=None, timeout=None):
    """One wrk run (one thread, latency distribution) against url."""
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if timeout:
        args += ["--timeout", timeout]
    if script:
        args += ["-s", script]
    out = subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def percentile_ms(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return WrkRun(
        rps=rps,
        p50_ms=percentile_ms(50),
        p99_ms=percentile_ms(99),
        non_2xx=int(errors.group(1)) if errors else 0,
        unanswered=sum(int(g) for g in socket_errors.groups()) if socket_errors else 0,
    )


def mysql_command(server_url, skip_column_names=False):
    """The `mysql` command line and environment for mysql://user[:password]@host[:port]."""
    m = re.match(r"mysql://([^:@/]+)(?::([^@/]*))?@([^:/]+)(?::(\d+))?", server_url)
    if not m:
        sys.exit(f"bench: cannot read DCP_TEST_MYSQL_URL {server_url}")
    user = urllib.parse.unquote(m.group(1))
    password = urllib.parse.unquote(m.group(2) or "")
    host, port = m.group(3), m.group(4) or "3306"
    env = dict(os.environ, MYSQL_PWD=password)
    args = ["mysql", "--protocol=tcp", "-h", host, "-P", port, "-u", user]
    if skip_column_names:
        args.append("-N")
    return args, env


def mysql(server_url, sql, database=None, skip_column_names=False, check=True, timeout=None):
    """Runs sql with the mysql client; answers the finished process (stdout captured)."""
    args, env = mysql_command(server_url, skip_column_names)
    if database:
        args.append(database)
    return subprocess.run(args, input=sql.encode(), env=env, check=check,
                          capture_output=True, timeout=timeout)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
