#!/usr/bin/env python3
"""Benchmark of cloud-portal over loopback.

The caller builds the release binary first (cargo build --release -p cloud-portal); this
script starts $TARGET_DIR/release/cloud-portal on SQLite, and on MariaDB when
DCP_TEST_MYSQL_URL answers, with the embedded default configuration (so the production
argon2id cost: 19 MiB, 2 passes), and drives it with wrk from a second process:

- POST /api/login: bounded by argon2id by design (each login hashes the password on purpose);
- POST /api/myun/instance for a user with 1,000 instances: a random page of 10 (the default
  `sepa`), and the whole list in one page (`sepa=1000`);

each at 1 and 64 connections. Prints a Markdown table and writes it to var/bench/cloud-portal.md.
Figures from a shared 2-core machine are noisy: compare runs on one machine only.

Environment: TARGET_DIR (cargo target dir, default ./target), DCP_TEST_MYSQL_URL (MariaDB
server URL, default mysql://root@127.0.0.1:3306), BENCH_SECONDS (per run, default 8),
BENCH_BACKENDS (default "sqlite,mysql"; mysql is left out, with a note, when it does not answer).
Standard library only.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (deploy/benchlib.py)

BINARY = benchlib.release_binary("cloud-portal")
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
MYSQL_URL = benchlib.MYSQL_URL
MYSQL_DATABASE = "dcp_bench_cloud_portal"
INSTANCES = 1000
PAGE = 10
CONNECTIONS = (1, 64)
USER, PASSWORD = "bench", "bench-password"
# The admin the benchmark configures (there is no built-in admin password).
ADMIN, ADMIN_PASSWORD = "admin", "bench-admin-password"
# Where the benchmark's instances are placed: addresses only, never contacted.
HOST_ADDRESS = "127.0.9.1"
START_TIMEOUT = 30


def post(base, path, **params):
    """A form POST; returns the JSON envelope whatever the HTTP status."""
    request = urllib.request.Request(base + path, data=urllib.parse.urlencode(params).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read().decode())
    except urllib.error.HTTPError as e:
        return json.loads(e.read().decode())


def expect_ok(answer, what):
    if answer.get("code") != 0:
        sys.exit(f"bench: {what} failed: {answer}")
    return answer


def mysql(sql):
    return benchlib.mysql(MYSQL_URL, sql, check=False, timeout=60)


def mysql_answers():
    if not shutil.which("mysql"):
        return False
    try:
        return mysql("SELECT 1;").returncode == 0
    except subprocess.TimeoutExpired:
        return False


def start_service(database_url, workdir):
    env = dict(benchlib.database_env(database_url), DCP_ADMIN__PASSWORD=ADMIN_PASSWORD)
    proc, base = benchlib.start_service(BINARY, env, cwd=workdir)
    return proc, base.rstrip("/")


def prepare(base):
    """The user with 1,000 instances, and a session of theirs; returns the session key."""
    admin = expect_ok(post(base, "/api/login", username=ADMIN, password=ADMIN_PASSWORD),
                      "admin login")["session_key"]
    expect_ok(post(base, "/api/admin/user/add", session_key=admin, username=USER, password=PASSWORD),
              "add user")
    expect_ok(post(base, "/api/admin/host/add", session_key=admin, address=HOST_ADDRESS, capacity=INSTANCES),
              "add host")
    image = expect_ok(post(base, "/api/admin/image/add", session_key=admin, name="bench image"), "add image")
    image_id = image["image"]["id"]
    key = expect_ok(post(base, "/api/login", username=USER, password=PASSWORD), "user login")["session_key"]
    started = time.monotonic()
    for n in range(1, INSTANCES + 1):
        expect_ok(post(base, "/api/instance/create", session_key=key, image_id=image_id, name=f"vm-{n}"),
                  f"create instance {n}")
    listed = expect_ok(post(base, "/api/myun/instance", session_key=key, sepa=INSTANCES), "list")
    if len(listed["list"]) != INSTANCES:
        sys.exit(f"bench: the user has {len(listed['list'])} instances, not {INSTANCES}")
    print(f"created {INSTANCES} instances in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return key


def lua_post(path, body, random_page=False):
    """A wrk script POSTing a form; with random_page, `p` is drawn per request."""
    head = (
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
    )
    if not random_page:
        return head + f'wrk.body = "{body}"\n'
    pages = INSTANCES // PAGE
    return head + (
        "math.randomseed(os.time())\n"
        "request = function()\n"
        f'  return wrk.format("POST", "{path}", nil, "{body}&p=" .. math.random(1, {pages}))\n'
        "end\n"
    )


def settle(base):
    """Waits until the service answers quickly again: when wrk stops, up to 64 logins may still
    be hashing, and the next run must not pay for them."""
    deadline = time.monotonic() + 60
    quick = 0
    while quick < 3 and time.monotonic() < deadline:
        started = time.monotonic()
        urllib.request.urlopen(base + "/healthz", timeout=60).read()
        quick = quick + 1 if time.monotonic() - started < 0.02 else 0
        time.sleep(0.2)


def wrk(url, connections, script):
    # A login takes tens of ms of argon2 work; at 64 connections a request waits for many
    # others, so the timeout is well above wrk's default 2 s (a timeout would count as an error).
    run = benchlib.wrk(url, connections, SECONDS, script, timeout="30s")
    return run.rps, run.p50_ms, run.p99_ms, run.non_2xx + run.unanswered


def main():
    benchlib.require_wrk()
    benchlib.require_binary(BINARY, "cloud-portal")
    backends = [b.strip() for b in os.environ.get("BENCH_BACKENDS", "sqlite,mysql").split(",") if b.strip()]
    notes = []
    if "mysql" in backends and not mysql_answers():
        backends.remove("mysql")
        notes.append(f"MariaDB left out: {MYSQL_URL} does not answer.")
    results = []
    tmp = tempfile.mkdtemp(prefix="dcp-bench-cp-")
    try:
        for backend in backends:
            if backend == "sqlite":
                url = "sqlite://" + os.path.join(tmp, "cloud-portal.db")
            elif backend == "mysql":
                done = mysql(benchlib.recreate_database_sql(MYSQL_DATABASE))
                if done.returncode != 0:
                    sys.exit(f"bench: cannot create {MYSQL_DATABASE}: {done.stderr.decode()}")
                url = f"{MYSQL_URL}/{MYSQL_DATABASE}"
            else:
                sys.exit(f"bench: unknown backend {backend!r} (sqlite, mysql)")
            proc, base = start_service(url, tmp)
            try:
                key = prepare(base)
                mine = "/api/myun/instance"
                # (what, route, wrk script). Logins last: the hashing they leave behind when wrk
                # stops is the slowest to drain.
                runs = [
                    (f"myun/instance sepa={PAGE}, random page", mine,
                     lua_post(mine, f"session_key={key}&sepa={PAGE}", random_page=True)),
                    (f"myun/instance sepa={INSTANCES} (all)", mine,
                     lua_post(mine, f"session_key={key}&sepa={INSTANCES}")),
                    ("login", "/api/login", lua_post("/api/login", f"username={USER}&password={PASSWORD}")),
                ]
                for call, route, text in runs:
                    script = os.path.join(tmp, "bench.lua")
                    with open(script, "w") as f:
                        f.write(text)
                    for connections in CONNECTIONS:
                        settle(base)
                        rps, p50, p99, errors = wrk(base + route, connections, script)
                        results.append((backend, call, connections, rps, p50, p99, errors))
                        print(f"{backend} {call} c={connections}: {rps:,.0f}/s", file=sys.stderr)
            finally:
                benchlib.stop(proc, timeout=30)
            if backend == "mysql":
                mysql(f"DROP DATABASE IF EXISTS {MYSQL_DATABASE};")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    lines = [
        f"cloud-portal over loopback, {os.cpu_count()} cores, {SECONDS} s per run, wrk -t1; "
        f"a user with {INSTANCES} instances; argon2id at the default cost (19456 KiB, 2 passes).",
        "",
        "| backend | call | connections | requests/s | p50 ms | p99 ms | errors |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for backend, call, connections, rps, p50, p99, errors in results:
        lines.append(f"| {backend} | {call} | {connections} | {rps:,.0f} | {p50:.2f} | {p99:.2f} "
                     f"| {errors} |")
    if notes:
        lines += [""] + notes
    benchlib.write_report("cloud-portal", "\n".join(lines))


if __name__ == "__main__":
    main()
