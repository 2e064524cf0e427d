#!/usr/bin/env python3
"""Benchmark of resource-pool over loopback (make bench).

Loads 10k servers / 30k instances / 100k databases straight into the service's schema
(after the service has run its migrations), then drives the running release binary with wrk
from a second process: get_instance on random keys and get_all_instance?count=100, at 1 and
64 connections, on SQLite and on MariaDB. Prints a Markdown table (and writes it to
var/bench/resource-pool.md) for BENCHMARKS.md.

Environment: TARGET_DIR (cargo target dir), DCP_TEST_MYSQL_URL (MariaDB server URL),
BENCH_SECONDS (per run, default 8), BENCH_BACKENDS (default "sqlite,mysql").
"""
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import urllib.request
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (deploy/benchlib.py)

SERVERS, INSTANCES_PER_SERVER, DATABASES = 10_000, 3, 100_000
BINARY = benchlib.release_binary("resource-pool")
UNAUTHENTICATED = os.path.join(benchlib.TARGET_DIR, "bench", "resource-pool-unauthenticated")
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
MYSQL_URL = benchlib.MYSQL_URL


def ip_of(i):
    return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


def rows():
    """(table, columns, list of value tuples) in insertion order."""
    date = "2024-01-01 00:00:00"
    servers = [(i, ip_of(i), f"srv{i}", "debian", 1 + (i % 5 == 0), None, "", date) for i in range(1, SERVERS + 1)]
    instances = []
    for s in range(1, SERVERS + 1):
        for k in range(INSTANCES_PER_SERVER):
            iid = (s - 1) * INSTANCES_PER_SERVER + k + 1
            instances.append((iid, s, 3306 + k, f"inst{iid}", "A", 1 + (iid % 4 == 0), None, "", None, "", "mysql", "", date))
    total_instances = SERVERS * INSTANCES_PER_SERVER
    dbs = [(d, (d % total_instances) + 1, f"db{d}", "A", 1, None, "", None, "", date) for d in range(1, DATABASES + 1)]
    return [
        ("servers", "id, ip, name, os, stat, owner_id, owner_name, online_date", servers),
        ("instances", "id, server_id, port, name, level, stat, business_id, business, owner_id, owner, db_type, ha_type, online_date", instances),
        ("dbs", "id, instance_id, name, level, stat, business_id, business, owner_id, owner_name, online_date", dbs),
    ]


def sql_literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, (int, bool)):
        return str(int(v))
    return "'" + str(v).replace("'", "''") + "'"


def load_sqlite(path):
    conn = sqlite3.connect(path)
    for table, columns, values in rows():
        marks = ",".join("?" * len(values[0]))
        conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)
    conn.commit()
    conn.close()


def mysql(sql, database=None):
    benchlib.mysql(MYSQL_URL, sql, database)


def load_mysql(database):
    chunks = ["SET autocommit=0;"]
    for table, columns, values in rows():
        for start in range(0, len(values), 5000):
            batch = ",".join("(" + ",".join(sql_literal(v) for v in row) + ")" for row in values[start:start + 5000])
            chunks.append(f"INSERT INTO {table} ({columns}) VALUES {batch};")
    chunks.append("COMMIT;")
    mysql("\n".join(chunks), database)


LUA_RANDOM_INSTANCE = """
math.randomseed(os.time())
request = function()
  local s = math.random(1, %d)
  local ip = string.format("10.%%d.%%d.%%d", math.floor(s / 65536) %% 256, math.floor(s / 256) %% 256, s %% 256)
  local port = 3306 + math.random(0, %d)
  return wrk.format("GET", "/api/get_instance?ip=" .. ip .. "&port=" .. port)
end
""" % (SERVERS, INSTANCES_PER_SERVER - 1)


def wrk(url, connections, script=None):
    run = benchlib.wrk(url, connections, SECONDS, script)
    return run.rps, run.p50_ms, run.p99_ms, run.non_2xx


def main():
    benchlib.require_wrk()
    backends = os.environ.get("BENCH_BACKENDS", "sqlite,mysql").split(",")
    results = []
    auth_runs = []
    tmp = tempfile.mkdtemp(prefix="dcp-bench-")
    script = os.path.join(tmp, "random_instance.lua")
    with open(script, "w") as f:
        f.write(LUA_RANDOM_INSTANCE)
    for backend in backends:
        if backend == "sqlite":
            path = os.path.join(tmp, "rp.db")
            url = f"sqlite://{path}"
        else:
            mysql(benchlib.recreate_database_sql("dcp_bench"))
            url = f"{MYSQL_URL}/dcp_bench"
        proc, base = benchlib.start_service(BINARY, benchlib.database_env(url))
        try:
            started = time.time()
            load_sqlite(path) if backend == "sqlite" else load_mysql("dcp_bench")
            print(f"{backend}: loaded {SERVERS} servers, {SERVERS * INSTANCES_PER_SERVER} instances, "
                  f"{DATABASES} databases in {time.time() - started:.1f} s", file=sys.stderr)
            check = urllib.request.urlopen(f"{base}/api/get_instance?ip={ip_of(1)}&port=3306").read()
            assert b'"code":0' in check, check
            for connections in (1, 64):
                rps, p50, p99, errors = wrk(base, connections, script)
                results.append((backend, "get_instance (random ip:port)", connections, rps, p50, p99, errors))
                rps, p50, p99, errors = wrk(f"{base}/api/get_all_instance?count=100", connections)
                results.append((backend, "get_all_instance?count=100", connections, rps, p50, p99, errors))
        finally:
            benchlib.stop(proc)
        # What authentication costs: the same database, the same build without it (the
        # bench-unauthenticated feature), then the real one again, alternating so that drift
        # hits both alike.
        if os.access(UNAUTHENTICATED, os.X_OK):
            env = benchlib.database_env(url)
            for label, binary in (("without auth", UNAUTHENTICATED), ("with auth", BINARY),
                                  ("without auth", UNAUTHENTICATED), ("with auth", BINARY)):
                proc, base = benchlib.start_service(binary, env)
                try:
                    rps, p50, p99, errors = wrk(base, 64, script)
                    auth_runs.append((backend, label, rps, p50, p99, errors))
                finally:
                    benchlib.stop(proc)
    if "mysql" in backends:
        mysql("DROP DATABASE IF EXISTS dcp_bench;")
    shutil.rmtree(tmp, ignore_errors=True)

    table = ["| backend | call | connections | requests/s | p50 ms | p99 ms | errors |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for backend, call, connections, rps, p50, p99, errors in results:
        table.append(f"| {backend} | {call} | {connections} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {errors} |")
    if auth_runs:
        table += ["", "What authentication and authorization cost: get_instance at 64 connections, "
                  "the same build with and without them (`--features bench-unauthenticated`), "
                  "alternated in one run.", "",
                  "| backend | build | requests/s | p50 ms | p99 ms | errors |",
                  "|---|---|---:|---:|---:|---:|"]
        for backend, label, rps, p50, p99, errors in auth_runs:
            table.append(f"| {backend} | {label} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {errors} |")
        for backend in backends:
            best = {label: max(r[2] for r in auth_runs if r[0] == backend and r[1] == label)
                    for label in ("with auth", "without auth")}
            cost = 100.0 * (1 - best["with auth"] / best["without auth"])
            table.append(f"\n{backend}: with auth at {best['with auth']:,.0f} requests/s, "
                         f"{cost:.1f} % below the build without it ({best['without auth']:,.0f}).")
    else:
        table += ["", f"({UNAUTHENTICATED} is missing: `make bench` builds it.)"]
    benchlib.write_report("resource-pool", "\n".join(table))


if __name__ == "__main__":
    main()
