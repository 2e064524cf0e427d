#!/usr/bin/env python3
"""Benchmark of the orchestrator's read paths over loopback, modelled on deploy/bench_cmdb.py.

For each backend (SQLite, then MariaDB): starts the release binary (no task-engine), creates
BENCH_CLUSTERS clusters, one service and one pool holding BENCH_NODES manual nodes (one
`add_nodes` request per 1,000 IPs), and drives with wrk from a second process:

    GET /cluster/list                          (the default page of 10)
    GET /pool/:id/list_nodes?page_size=1000    (every node of the pool in one page)
    GET /pool/search_by_ip/<100 IPs>           (100 comma-separated IPs, all in the pool)

Prints a Markdown table and writes var/bench/orchestrator.md. `make bench BENCH_ONLY=orchestrator`
runs it alone.

Environment: TARGET_DIR (cargo target dir holding release/orchestrator), DCP_TEST_MYSQL_URL
(MariaDB server URL; database dcp_bench_orchestrator is dropped and re-created),
BENCH_SECONDS (per wrk run, default 5), BENCH_CONNECTIONS (default "1,16"), BENCH_BACKENDS
(default "sqlite,mysql"), BENCH_NODES (default 1000), BENCH_CLUSTERS (default 50).
"""
import json
import os
import shutil
import sys
import tempfile
import urllib.request
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (deploy/benchlib.py)

BINARY = benchlib.release_binary("orchestrator")
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
CONNECTIONS = [int(c) for c in os.environ.get("BENCH_CONNECTIONS", "1,16").split(",")]
NODES = int(os.environ.get("BENCH_NODES", "1000"))
CLUSTERS = int(os.environ.get("BENCH_CLUSTERS", "50"))
MYSQL_URL = benchlib.MYSQL_URL
MYSQL_DB = "dcp_bench_orchestrator"


def start_service(database_url):
    env = dict(benchlib.database_env(database_url), DCP_TASK_ENGINE__URL="")
    return benchlib.start_service(BINARY, env)


def call(base, path, params):
    """POSTs JSON and returns `data` of a successful answer."""
    request = urllib.request.Request(base + path, data=json.dumps(params).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.loads(response.read())
    if body.get("code") != 0:
        sys.exit(f"bench: {path} answered {body}")
    return body["data"]


def ip(i):
    return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


def load(base):
    """Clusters, a service, a pool of NODES nodes; returns the pool id."""
    for i in range(CLUSTERS):
        cluster = call(base, "/cluster/create", {"name": f"cluster-{i}", "desc": "bench", "biz": "1"})
    service = call(base, "/service/create", {"name": "web", "docker_image": "web:1",
                                             "cluster_id": cluster})["id"]
    pool = call(base, "/pool/create", {"name": "web_pool", "vm_type": 1, "sd_id": 0,
                                       "service_id": service})["id"]
    for start in range(0, NODES, 1000):
        ips = [ip(i) for i in range(start + 1, min(start + 1000, NODES) + 1)]
        call(base, f"/pool/{pool}/add_nodes", {"nodes": ips})
    return pool


def mysql(sql):
    benchlib.mysql(MYSQL_URL, sql, skip_column_names=True)


def main():
    benchlib.require_wrk()
    benchlib.require_binary(BINARY, "orchestrator")
    backends = os.environ.get("BENCH_BACKENDS", "sqlite,mysql").split(",")
    results = []
    tmp = tempfile.mkdtemp(prefix="dcp-bench-orchestrator-")
    for backend in backends:
        if backend == "sqlite":
            url = f"sqlite://{os.path.join(tmp, 'orchestrator.db')}"
        else:
            mysql(benchlib.recreate_database_sql(MYSQL_DB))
            url = f"{MYSQL_URL}/{MYSQL_DB}"
        proc, base = start_service(url)
        try:
            pool = load(base)
            hundred = ",".join([ip(i) for i in range(1, NODES + 1, max(1, NODES // 100))][:100])
            found = call(base, f"/pool/search_by_ip/{hundred}", {})
            assert len(found) == min(100, NODES), len(found)
            listed = call(base, f"/pool/{pool}/list_nodes?page_size=1000", {})
            assert len(listed) == min(1000, NODES), len(listed)
            targets = [
                ("GET /cluster/list", f"{base}/cluster/list"),
                (f"GET /pool/:id/list_nodes?page_size=1000 ({NODES} nodes)",
                 f"{base}/pool/{pool}/list_nodes?page_size=1000"),
                ("GET /pool/search_by_ip/<100 IPs>", f"{base}/pool/search_by_ip/{hundred}"),
            ]
            for name, target in targets:
                for connections in CONNECTIONS:
                    # A 10 s timeout, so slow answers are measured rather than dropped as
                    # socket errors.
                    run = benchlib.wrk(target, connections, SECONDS, timeout="10s")
                    results.append((backend, name, connections, run.rps, run.p50_ms, run.p99_ms,
                                    run.non_2xx))
                    print(f"{backend}: {name} c={connections}: {run.rps:,.0f} req/s, "
                          f"p50 {run.p50_ms:.2f} ms, p99 {run.p99_ms:.2f} ms", file=sys.stderr)
        finally:
            benchlib.stop(proc)
    if "mysql" in backends:
        mysql(f"DROP DATABASE IF EXISTS {MYSQL_DB};")
    shutil.rmtree(tmp, ignore_errors=True)

    table = [f"{CLUSTERS} clusters, one pool of {NODES:,} manual nodes; wrk -t1, {SECONDS} s per run, "
             "over loopback on the same cores.", "",
             "| backend | request | connections | requests/s | p50 ms | p99 ms | errors |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for backend, name, connections, rps, p50, p99, errors in results:
        table.append(f"| {backend} | `{name}` | {connections} | {rps:,.1f} | "
                     f"{p50:.2f} | {p99:.2f} | {errors} |")
    benchlib.write_report("orchestrator", "\n".join(table))


if __name__ == "__main__":
    main()
