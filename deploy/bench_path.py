#!/usr/bin/env python3
"""The request path against the framework's ceiling (issue #16; part of make bench).

In one run, alternately, wrk (1 thread, 64 connections) against a bare actix-web handler — the
ceiling: crates/kit/examples/bare_actix.rs, the services' worker count, a JSON body the size of
get_instance's — and against resource-pool: `/healthz`, a 404 through the whole kit middleware
(request id, span, metrics, access log, guard, not-found handler), and `get_instance` on random
keys on SQLite and on MariaDB. The service runs with the default log level (info), its log
going to a file as under `make run`. Each figure is given as a share of the bare handler's
requests/s measured right before it, so drift of the machine hits both alike.

Environment: TARGET_DIR, DCP_TEST_MYSQL_URL, BENCH_SECONDS (per run, default 8),
BENCH_ROUNDS (default 2), BENCH_BACKENDS (default "sqlite,mysql").
"""
import os
import shutil
import statistics
import sys
import tempfile
import time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import bench_resource_pool as rp  # noqa: E402

SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
BARE = os.path.join(benchlib.TARGET_DIR, "release", "examples", "bare_actix")
CONNECTIONS = 64


def main():
    benchlib.require_wrk()
    benchlib.require_binary(BARE, "kit --example bare_actix")
    backends = os.environ.get("BENCH_BACKENDS", "sqlite,mysql").split(",")
    tmp = tempfile.mkdtemp(prefix="dcp-bench-path-")
    script = os.path.join(tmp, "random_instance.lua")
    with open(script, "w") as f:
        f.write(rp.LUA_RANDOM_INSTANCE)
    bare, bare_base = benchlib.start_service(BARE, {})
    pairs = {}  # case -> [(case run, bare run right before it)]

    def measure(case, url, wrk_script=None):
        ceiling = benchlib.wrk(bare_base + "/api/get_instance", CONNECTIONS, SECONDS)
        run = benchlib.wrk(url, CONNECTIONS, SECONDS, wrk_script)
        pairs.setdefault(case, []).append((run, ceiling))

    try:
        for backend in backends:
            if backend == "sqlite":
                path = os.path.join(tmp, "rp.db")
                url = f"sqlite://{path}"
            else:
                rp.mysql(benchlib.recreate_database_sql("dcp_bench_path"))
                url = f"{benchlib.MYSQL_URL}/dcp_bench_path"
            log = os.path.join(tmp, f"resource-pool-{backend}.log")
            proc, base = benchlib.start_service(rp.BINARY, benchlib.database_env(url),
                                                log_level="info", log_file=log)
            try:
                rp.load_sqlite(path) if backend == "sqlite" else rp.load_mysql("dcp_bench_path")
                for _ in range(ROUNDS):
                    if backend == backends[0]:
                        measure("/healthz", base + "/healthz")
                        measure("404 through the middleware", base + "/no/such/route")
                    measure(f"get_instance, {backend}", base, script)
            finally:
                benchlib.stop(proc)
            print(f"{backend}: {os.path.getsize(log) / 1e6:.1f} MB of log", file=sys.stderr)
        if "mysql" in backends:
            rp.mysql("DROP DATABASE IF EXISTS dcp_bench_path;")
    finally:
        benchlib.stop(bare)
        shutil.rmtree(tmp, ignore_errors=True)

    table = ["| request (64 connections, log level info) | requests/s | bare actix, same round | share of the ceiling | p50 ms | p99 ms | errors |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for case, runs in pairs.items():
        shares = [run.rps / ceiling.rps for run, ceiling in runs]
        run = max(runs, key=lambda r: r[0].rps)[0]
        ceiling = statistics.mean(c.rps for _, c in runs)
        errors = sum(r.non_2xx + r.unanswered for r, _ in runs) if not case.startswith("404") \
            else sum(r.unanswered for r, _ in runs)
        table.append(f"| {case} | {run.rps:,.0f} | {ceiling:,.0f} | "
                     f"{100 * statistics.mean(shares):.0f} % ({', '.join(f'{100 * s:.0f}' for s in shares)}) | "
                     f"{run.p50_ms:.2f} | {run.p99_ms:.2f} | {errors} |")
    benchlib.write_report("request-path", "\n".join(table))


if __name__ == "__main__":
    main()
