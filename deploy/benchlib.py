"""What the deploy/bench_*.py benchmarks share: where the release binaries are, starting one
and stopping it, the platform's token issuer (a release cloud-portal) and its admin's token,
a wrk run and its figures, the MariaDB command line for DCP_TEST_MYSQL_URL, free loopback
ports, and writing the report. Standard library only.

Every service refuses a call without a token, so the first `start_service` starts an issuer,
gives every service its `[auth]`, and every request of the benchmark (urllib's and wrk's)
carries the admin's token: what is measured is the service as it runs, authentication
included."""
import atexit
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from typing import NamedTuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_DIR = os.environ.get("TARGET_DIR", os.path.join(ROOT, "target"))
MYSQL_URL = os.environ.get("DCP_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306").rstrip("/")


def release_binary(name):
    """$TARGET_DIR/release/<name>, where `cargo build --release -p <name>` puts it."""
    return os.path.join(TARGET_DIR, "release", name)


def require_wrk():
    if not shutil.which("wrk"):
        sys.exit("bench: wrk is missing (deploy/install-deps.sh --ci installs it)")


def require_binary(binary, package):
    if not os.access(binary, os.X_OK):
        sys.exit(f"bench: {binary} is missing (cargo build --release -p {package})")


def database_env(database_url):
    """The environment of a service on database_url, with a pool as large as wrk's load wants."""
    return {"DCP_DATABASE__URL": database_url, "DCP_DATABASE__POOL_SIZE": "16"}


ISSUER = "http://dcp-bench-issuer"
_issuer = {}


def issuer():
    """The benchmarks' token issuer: a release cloud-portal on a temporary SQLite file, started
    once; answers (its base URL, the admin's access token)."""
    if not _issuer:
        binary = release_binary("cloud-portal")
        require_binary(binary, "cloud-portal")
        workdir = tempfile.mkdtemp(prefix="dcp-bench-issuer-")
        password = secrets.token_hex(12)
        env = dict(os.environ, DCP_HTTP__BIND="127.0.0.1:0", DCP_LOG__LEVEL="warn",
                   DCP_DATABASE__URL="sqlite://" + os.path.join(workdir, "portal.db"),
                   DCP_DEMO__ENABLED="false", DCP_ADMIN__PASSWORD=password,
                   DCP_ISSUER__URL=ISSUER, DCP_ISSUER__TOKEN_TTL_SECS="86400",
                   DCP_ISSUER__KEY_FILE=os.path.join(workdir, "issuer.key"))
        proc = subprocess.Popen([binary], cwd=workdir, stdout=subprocess.PIPE, env=env, text=True)
        m = re.search(r"listening on (http://\S+)", proc.stdout.readline())
        if not m:
            proc.kill()
            sys.exit("bench: the token issuer (cloud-portal) did not start")
        base = m.group(1)
        atexit.register(lambda: (proc.terminate(), shutil.rmtree(workdir, ignore_errors=True)))
        form = urllib.parse.urlencode({"grant_type": "password", "username": "admin",
                                       "password": password}).encode()
        with urllib.request.urlopen(base + "/oauth/token", data=form, timeout=30) as reply:
            token = json.load(reply)["access_token"]
        # Every urllib request of the benchmark carries the token.
        opener = urllib.request.build_opener()
        opener.addheaders = [("Authorization", "Bearer " + token)]
        urllib.request.install_opener(opener)
        _issuer.update(base=base, token=token)
    return _issuer["base"], _issuer["token"]


def auth_env():
    """`[auth]` of a service that trusts the benchmarks' issuer."""
    base, _ = issuer()
    return {"DCP_AUTH__ISSUER": ISSUER, "DCP_AUTH__AUDIENCE": "dcp",
            "DCP_AUTH__JWKS_URL": base + "/oauth/jwks"}


def start_service(binary, env, cwd=None, log_level="warn", log_file=None):
    """Starts a DCP service binary on 127.0.0.1:0, logging at log_level (to log_file if given,
    as `make run` does, else to this process's stderr), trusting the benchmarks' issuer, with
    the variables of env over the caller's environment; returns (process, base URL) once it
    says where it listens."""
    full_env = dict(os.environ, DCP_HTTP__BIND="127.0.0.1:0", DCP_LOG__LEVEL=log_level)
    full_env.update(auth_env())
    full_env.update(env)
    stderr = open(log_file, "a") if log_file else None
    proc = subprocess.Popen([binary], cwd=cwd, stdout=subprocess.PIPE, stderr=stderr,
                            env=full_env, text=True)
    if stderr:
        stderr.close()
    started = time.monotonic()
    line = proc.stdout.readline()
    m = re.search(r"listening on (http://\S+)", line)
    if not m:
        proc.kill()
        sys.exit(f"bench: the service did not start within {time.monotonic() - started:.0f} s: "
                 f"{line!r}")
    return proc, m.group(1)


def stop(proc, timeout=None):
    proc.terminate()
    proc.wait(timeout)


def write_report(name, text):
    """Prints the Markdown report and writes it to var/bench/<name>.md."""
    print(text)
    os.makedirs(os.path.join(ROOT, "var", "bench"), exist_ok=True)
    with open(os.path.join(ROOT, "var", "bench", f"{name}.md"), "w") as f:
        f.write(text + "\n")


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
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
            "-H", "Authorization: Bearer " + issuer()[1]]
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


def recreate_database_sql(name):
    """SQL that drops the database name and creates it afresh, as every service expects it."""
    return (f"DROP DATABASE IF EXISTS {name}; "
            f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
