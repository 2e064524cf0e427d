#!/usr/bin/env python3
"""Resident memory of every service, idle and after floods of connections (BENCHMARKS.md,
"Memory"; issue #14 item 6).

For each of the six services it starts the release binary on a fresh SQLite file (soa-registry
on its embedded store), trusting the benchmarks' issuer, and reads VmRSS from
/proc/<pid>/status: 3 s after it listens (idle), after each of BENCH_MEMORY_ROUNDS rounds of
`wrk -t2 -c2000 -d<BENCH_SECONDS>s` (connections opened at once, every request with the
admin's token), and BENCH_MEMORY_IDLE seconds after the last round. Each round's requests cycle
through `/healthz`, a path no route has (404), `/readyz` (the database, or the store) and one
authenticated read of the service (below). wrk needs 2,000 file descriptors: the script raises
its own soft limit.

Environment: TARGET_DIR (cargo target dir), BENCH_MEMORY_BIN_DIR (where the six binaries are,
default $TARGET_DIR/release: point it at a copy of older builds to compare), BENCH_ONLY_SERVICES
(comma-separated names, default all six), BENCH_MEMORY_ROUNDS (default 4), BENCH_SECONDS (per
round, default 3), BENCH_MEMORY_CONNECTIONS (default 2000), BENCH_MEMORY_IDLE (default 12: past
one `http.memory_trim_secs`). With the defaults the six take about 3 minutes. Any DCP_*
variable set outside reaches every service (e.g. DCP_HTTP__MEMORY_TRIM_SECS=0 to see the build
without trimming).
"""
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

BIN_DIR = os.environ.get("BENCH_MEMORY_BIN_DIR", os.path.join(benchlib.TARGET_DIR, "release"))
ROUNDS = int(os.environ.get("BENCH_MEMORY_ROUNDS", "4"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "3"))
CONNECTIONS = int(os.environ.get("BENCH_MEMORY_CONNECTIONS", "2000"))
IDLE = int(os.environ.get("BENCH_MEMORY_IDLE", "12"))


def service_env(name, workdir):
    """What the service needs to start on its own (no peers), beside the database."""
    db = benchlib.database_env("sqlite://" + os.path.join(workdir, name + ".db"))
    if name == "cloud-portal":
        return dict(db, DCP_ADMIN__PASSWORD="bench-" + os.urandom(6).hex(),
                    DCP_DEMO__ENABLED="false",
                    DCP_ISSUER__KEY_FILE=os.path.join(workdir, "issuer.key"))
    if name == "soa-registry":
        return {"DCP_ZKIDCS__QA": "embedded", "DCP_STORE__DATA_DIR": os.path.join(workdir, "var")}
    if name == "cmdb":
        return dict(db, DCP_API_KEYS__ADMIN_KEY="bench-key", DCP_API_KEYS__ADMIN_SECRET="bench-secret",
                    DCP_API_KEYS__CREDENTIALS_FILE=os.path.join(workdir, "admin.json"))
    if name == "orchestrator":
        return dict(db, DCP_TASK_ENGINE__URL="")
    if name == "task-engine":
        return dict(db, DCP_SSH__CONTROL_DIR=workdir,
                    DCP_SSH__KNOWN_HOSTS=os.path.join(workdir, "known_hosts"))
    return db


# One authenticated read per service (cloud-portal: a public one: it is the issuer, and its
# reads are the console's, behind a session).
READS = {
    "resource-pool": "/api/get_all_instance?count=10",
    "cloud-portal": "/oauth/jwks",
    "soa-registry": "/serverlist/?zkidc=qa&destName=bench.http",
    "cmdb": "/api/v0.1/citypes",
    "task-engine": "/action/list",
    "orchestrator": "/cluster/list",
}
SERVICES = list(READS)
NO_ROUTE = "/no/such/path"


def lua(paths):
    quoted = ", ".join(f'"{p}"' for p in paths)
    return ("local paths = {" + quoted + "}\nlocal i = 0\nrequest = function()\n"
            "  i = i + 1\n  return wrk.format(\"GET\", paths[(i % #paths) + 1])\nend\n")


def rss_mb(pid, key="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def status_of(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as e:
        return e.code


def wait_ready(base, proc):
    deadline = time.time() + 30
    while time.time() < deadline and proc.poll() is None:
        if status_of(base + "/readyz") == 200:
            return
        time.sleep(0.2)
    sys.exit(f"bench: {base} never got ready")


def flood(base, script):
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "-s", script,
            "-H", "Authorization: Bearer " + benchlib.issuer()[1], base]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(m.group(1)) if m else 0.0


def bench(name, workdir):
    binary = os.path.join(BIN_DIR, name)
    benchlib.require_binary(binary, name)
    proc, base = benchlib.start_service(binary, service_env(name, workdir))
    try:
        wait_ready(base, proc)
        if name == "soa-registry":
            # The read lists one registered service: register it first.
            req = urllib.request.Request(base + "/addservice/",
                                         data=b"zkidc=qa&destName=bench.http", method="POST")
            urllib.request.urlopen(req, timeout=10).read()
        read = READS[name]
        for path, expected in (("/healthz", 200), (NO_ROUTE, 404), ("/readyz", 200), (read, 200)):
            got = status_of(base + path)
            if got != expected:
                sys.exit(f"bench: {name} {path} answered {got}, not {expected}")
        script = os.path.join(workdir, name + ".lua")
        with open(script, "w") as f:
            f.write(lua(["/healthz", NO_ROUTE, "/readyz", read]))
        time.sleep(3)
        idle = rss_mb(proc.pid)
        rounds = []
        for _ in range(ROUNDS):
            rps = flood(base, script)
            rounds.append((rss_mb(proc.pid), rps))
            time.sleep(1)
        peak = rss_mb(proc.pid, "VmHWM")
        time.sleep(IDLE)
        rest = rss_mb(proc.pid)
        after = ", ".join(f"{r:.0f}" for r, _ in rounds)
        print(f"{name}: idle {idle:.1f} MB; after each round {after} MB; peak {peak:.1f} MB; "
              f"{IDLE} s later {rest:.1f} MB; req/s {', '.join(f'{x:,.0f}' for _, x in rounds)}",
              file=sys.stderr)
        return (name, read, idle, rounds[0][0], rounds[-1][0], peak, rest)
    finally:
        benchlib.stop(proc)


def main():
    benchlib.require_wrk()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = CONNECTIONS + 1024
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            sys.exit(f"bench: {want} open files needed, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    only = os.environ.get("BENCH_ONLY_SERVICES")
    names = only.split(",") if only else SERVICES
    rows = []
    with tempfile.TemporaryDirectory(prefix="dcp-bench-memory-") as tmp:
        for name in names:
            workdir = os.path.join(tmp, name)
            os.makedirs(workdir)
            rows.append(bench(name, workdir))
    lines = [
        f"Binaries: {BIN_DIR}; {ROUNDS} rounds of wrk -t2 -c{CONNECTIONS} -d{SECONDS}s; "
        f"VmRSS in MB.",
        "",
        "| service | authenticated read in the mix | idle after start | after round 1 "
        f"| after round {ROUNDS} | peak (VmHWM) | {IDLE} s after the last round |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, read, idle, first, last, peak, rest in rows:
        lines.append(f"| {name} | `{read}` | {idle:.1f} | {first:.1f} | {last:.1f} | {peak:.1f} "
                     f"| {rest:.1f} |")
    benchlib.write_report("memory", "\n".join(lines))


if __name__ == "__main__":
    main()
