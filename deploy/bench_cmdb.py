#!/usr/bin/env python3
"""Benchmark of cmdb's search over loopback (issue 3's figures), modelled on deploy/bench.py.

For each backend (SQLite, then MariaDB): starts the release binary, creates the `server` CI
type with ten attributes through the signed API, measures CI creation throughput through the
signed API on BENCH_API_CIS CIs (one client, sequential requests), then loads the rest of
BENCH_CIS CIs straight into the service's schema with SQL (the API would take minutes) and
writes a rebuild entry into the change log (`ci_changes` with ci_id 0, as any writer outside
the API must: the service keeps its search index in memory), lets the first search rebuild
the index (timed, with the process's resident memory before and after), and drives three
searches with wrk from a second process:

    q=hostname:web-12*
    q=idc:(IDC-A;IDC-B),cpu_core_num:>=16,~status:offline&count=50
    the same with facet=idc,os

and, after relating the CIs into a tree (the first CI the root of 100 CIs, each of which is
the root of about 1,000 of the rest; rows written with SQL like the CIs, then the rebuild
entry), two searches under the root with veops CMDB's `/ci_relations/s` (walk and search on
the index):

    root_id=R&level=2&q=idc:(IDC-A;IDC-B),cpu_core_num:>=16,~status:offline&count=50
    root_id=R&level=1,2&q=cpu_core_num:>=16&facet=idc,os&count=50

Reads are benchmarked with the admin's bearer token (benchlib's issuer), as every client now
calls: the figures include verifying it. Prints a Markdown table and writes var/bench/cmdb.md.

Environment: TARGET_DIR (cargo target dir holding release/cmdb), DCP_TEST_MYSQL_URL
(MariaDB server URL; database dcp_bench_cmdb is dropped and re-created), BENCH_SECONDS (per
wrk run, default 5), BENCH_CONNECTIONS (default "1,8"), BENCH_BACKENDS (default
"sqlite,mysql"), BENCH_CIS (default 100000), BENCH_API_CIS (default 2000), BENCH_KEEP_DB=1
(leave dcp_bench_cmdb in place afterwards, to EXPLAIN the search's statements on it).
"""
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
import json
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
import cmdb  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (deploy/benchlib.py)

BINARY = benchlib.release_binary("cmdb")
# The framework's ceiling, when built (`cargo build --release -p kit --example bare_actix`): a
# bare actix-web handler, measured at the same connection counts before each backend's searches.
BARE = os.path.join(benchlib.TARGET_DIR, "release", "examples", "bare_actix")
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
CONNECTIONS = [int(c) for c in os.environ.get("BENCH_CONNECTIONS", "1,8").split(",")]
TOTAL_CIS = int(os.environ.get("BENCH_CIS", "100000"))
API_CIS = int(os.environ.get("BENCH_API_CIS", "2000"))
# CIs after the API's through /ci/batch (the rest, up to BENCH_CIS, with SQL).
BATCH_CIS = min(int(os.environ.get("BENCH_BATCH_CIS", str(TOTAL_CIS - API_CIS))),
                TOTAL_CIS - API_CIS)
MYSQL_URL = benchlib.MYSQL_URL
MYSQL_DB = "dcp_bench_cmdb"
KEY, SECRET = "bench-key", "bench-secret"

ATTRIBUTES = [
    ("hostname", "text", True),
    ("private_ip", "text", False),
    ("idc", "text", False),
    ("cpu_core_num", "int", False),
    ("ram", "float", False),
    ("os", "text", False),
    ("status", "text", False),
    ("owner", "text", False),
    ("sn", "text", False),
    ("env", "text", False),
]
IDCS = ["IDC-A", "IDC-B", "IDC-C", "IDC-D", "IDC-E"]
CPUS = [4, 8, 16, 32, 64]
RAMS = [8.0, 16.0, 32.0, 64.0, 128.0]
OSES = ["centos7", "ubuntu22", "debian12", "rhel9"]
ENVS = ["prod", "test", "dev"]

QUERIES = [
    ("q=hostname:web-12*", {"q": "hostname:web-12*"}),
    ("q=idc:(IDC-A;IDC-B),cpu_core_num:>=16,~status:offline&count=50",
     {"q": "idc:(IDC-A;IDC-B),cpu_core_num:>=16,~status:offline", "count": "50"}),
    ("same + facet=idc,os",
     {"q": "idc:(IDC-A;IDC-B),cpu_core_num:>=16,~status:offline", "count": "50", "facet": "idc,os"}),
]


def server(i, rnd):
    """The attributes of server number i (deterministic: the same on every run)."""
    return {
        "hostname": f"web-{i}",
        "private_ip": f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}",
        "idc": IDCS[i % len(IDCS)],
        "cpu_core_num": rnd.choice(CPUS),
        "ram": rnd.choice(RAMS),
        "os": rnd.choice(OSES),
        "status": "offline" if i % 10 == 0 else ("maintenance" if i % 10 == 1 else "online"),
        "owner": f"user{rnd.randrange(50)}",
        "sn": f"SN{i:08d}",
        "env": ENVS[i % len(ENVS)],
    }


RELATION_FANOUT = 100


def relation_rows(ids):
    """ci_relations rows relating `ids` (sorted) into a tree: ids[0] -> the next
    RELATION_FANOUT, each of those -> every RELATION_FANOUT-th CI of the rest."""
    root, middle, rest = ids[0], ids[1:1 + RELATION_FANOUT], ids[1 + RELATION_FANOUT:]
    rows = [(root, m, "contain") for m in middle]
    rows += [(middle[n % len(middle)], ci, "contain") for n, ci in enumerate(rest)]
    return root, rows


def relation_queries(root):
    """The /ci_relations/s searches, as (name, path with query)."""
    return [
        ("ci_relations/s level=2, q=idc:(IDC-A;IDC-B),cpu_core_num:>=16,~status:offline&count=50",
         "/api/v0.1/ci_relations/s?" + urllib.parse.urlencode(
             {"root_id": root, "level": "2", "q": "idc:(IDC-A;IDC-B),cpu_core_num:>=16,~status:offline",
              "count": "50"})),
        ("ci_relations/s level=1,2, q=cpu_core_num:>=16&facet=idc,os&count=50",
         "/api/v0.1/ci_relations/s?" + urllib.parse.urlencode(
             {"root_id": root, "level": "1,2", "q": "cpu_core_num:>=16", "facet": "idc,os",
              "count": "50"})),
    ]


def relate_sqlite(path):
    conn = sqlite3.connect(path, timeout=30)
    ids = [row[0] for row in conn.execute("SELECT id FROM cis ORDER BY id")]
    root, rows = relation_rows(ids)
    conn.executemany("INSERT INTO ci_relations (first_ci_id, second_ci_id, relation_type) VALUES (?, ?, ?)",
                     rows)
    # The index keeps the relations too: a writer outside the API tells it, as for CIs.
    for statement in REBUILD_SQL:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return root, len(rows)


def relate_mysql():
    ids = [int(line) for line in mysql("SELECT id FROM cis ORDER BY id;", MYSQL_DB).split()]
    root, rows = relation_rows(ids)
    chunks = ["SET autocommit=0;"]
    for start in range(0, len(rows), 5000):
        batch = ",".join("(%d,%d,'%s')" % row for row in rows[start:start + 5000])
        chunks.append(f"INSERT INTO ci_relations (first_ci_id, second_ci_id, relation_type) VALUES {batch};")
    chunks += [statement + ";" for statement in REBUILD_SQL]
    chunks += ["COMMIT;", "ANALYZE TABLE ci_relations;"]
    mysql("\n".join(chunks), MYSQL_DB)
    return root, len(rows)


def start_service(database_url, workdir):
    env = dict(benchlib.database_env(database_url),
               DCP_API_KEYS__ADMIN_KEY=KEY, DCP_API_KEYS__ADMIN_SECRET=SECRET,
               DCP_API_KEYS__CREDENTIALS_FILE=os.path.join(workdir, "admin.json"))
    return benchlib.start_service(BINARY, env)


def create_model(client):
    """The ten attributes and the `server` type; returns {name: (attr_id, value_type)}."""
    attrs = {}
    for name, value_type, unique in ATTRIBUTES:
        made = client.add_attribute(name, value_type=value_type, is_uniq=unique)
        attrs[name] = (made["attr_id"], value_type)
    made = client.add_citype("server", unique="hostname")
    type_id = made["type_id"]
    client.bind_attributes(type_id, [a for a, _ in attrs.values()])
    return type_id, attrs


BATCH_ROWS = 1000
_BULK = []


def bulk_server(i):
    """The attributes of CI number i > API_CIS: one random stream from API_CIS+1 on, so the
    data is the same whichever part goes through /ci/batch and which through SQL."""
    if not _BULK:
        rnd = random.Random(2)
        _BULK.extend(server(n, rnd) for n in range(API_CIS + 1, TOTAL_CIS + 1))
    return _BULK[i - API_CIS - 1]


def batch_throughput(base, first, last):
    """CIs first..last through `POST /ci/batch` (BATCH_ROWS rows a request, JSON body, the
    admin's bearer token), one client; returns CIs per second (0 when there are none)."""
    if last < first:
        return 0.0
    token = benchlib.issuer()[1]
    started = time.time()
    for start in range(first, last + 1, BATCH_ROWS):
        rows = [bulk_server(i) for i in range(start, min(start + BATCH_ROWS, last + 1))]
        body = json.dumps({"ci_type": "server", "cis": rows}).encode()
        req = urllib.request.Request(base + "/api/v0.1/ci/batch", data=body, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Authorization": "Bearer " + token})
        with urllib.request.urlopen(req, timeout=600) as resp:
            done = json.loads(resp.read())
        assert done["added"] == len(rows) and done["failed"] == 0, done
    return (last - first + 1) / (time.time() - started)


def api_throughput(client):
    """CIs 1..API_CIS through the signed API; returns CIs per second."""
    rnd = random.Random(1)
    started = time.time()
    for i in range(1, API_CIS + 1):
        client.add_ci("server", **server(i, rnd))
    return API_CIS / (time.time() - started)


# Tells every cmdb process on the database to rebuild its search index (see
# proto-docs/cmdb.md, "Search"): what a writer outside the API must do.
REBUILD_SQL = [
    "UPDATE ci_change_seq SET value = value + 1 WHERE id = 1",
    "INSERT INTO ci_changes (seq, ci_id) SELECT value, 0 FROM ci_change_seq WHERE id = 1",
]


def rss_mb(proc):
    """The resident memory of a process, in MB (None where /proc is not there)."""
    try:
        with open(f"/proc/{proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def bulk_rows(type_id, attrs, first_ci_id):
    """Rows for CIs numbered API_CIS+BATCH_CIS+1..TOTAL_CIS, ids from first_ci_id on."""
    cis, texts, ints, floats, uniques = [], [], [], [], []
    for n, i in enumerate(range(API_CIS + BATCH_CIS + 1, TOTAL_CIS + 1)):
        ci_id = first_ci_id + n
        cis.append((ci_id, type_id))
        for name, value in bulk_server(i).items():
            attr_id, value_type = attrs[name]
            if value_type == "int":
                ints.append((ci_id, attr_id, value))
            elif value_type == "float":
                floats.append((ci_id, attr_id, value))
            else:
                texts.append((ci_id, attr_id, value))
            if name == "hostname":
                uniques.append((attr_id, value, ci_id))
    if not cis:
        return []
    return [
        ("cis", "id, type_id", cis),
        ("ci_values_text", "ci_id, attr_id, value", texts),
        ("ci_values_int", "ci_id, attr_id, value", ints),
        ("ci_values_float", "ci_id, attr_id, value", floats),
        ("ci_unique_values", "attr_id, value, ci_id", uniques),
    ]


def load_sqlite(path, type_id, attrs):
    conn = sqlite3.connect(path, timeout=30)
    (last,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM cis").fetchone()
    for table, columns, values in bulk_rows(type_id, attrs, last + 1):
        marks = ",".join("?" * len(values[0]))
        conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)
    for statement in REBUILD_SQL:
        conn.execute(statement)
    conn.commit()
    conn.close()


def sql_literal(v):
    if isinstance(v, (int, float)):
        return repr(v)
    return "'" + str(v).replace("\\", "\\\\").replace("'", "''") + "'"


def mysql(sql, database=None):
    return benchlib.mysql(MYSQL_URL, sql, database, skip_column_names=True).stdout.decode()


def load_mysql(type_id, attrs):
    last = int(mysql("SELECT COALESCE(MAX(id), 0) FROM cis;", MYSQL_DB).strip() or 0)
    chunks = ["SET autocommit=0;"]
    for table, columns, values in bulk_rows(type_id, attrs, last + 1):
        for start in range(0, len(values), 5000):
            batch = ",".join("(" + ",".join(sql_literal(v) for v in row) + ")"
                             for row in values[start:start + 5000])
            chunks.append(f"INSERT INTO {table} ({columns}) VALUES {batch};")
    chunks += [statement + ";" for statement in REBUILD_SQL]
    chunks.append("COMMIT;")
    # Fresh statistics, as a long-running database would have.
    chunks.append("ANALYZE TABLE cis, ci_values_text, ci_values_int, ci_values_float;")
    mysql("\n".join(chunks), MYSQL_DB)


def main():
    benchlib.require_wrk()
    benchlib.require_binary(BINARY, "cmdb")
    backends = os.environ.get("BENCH_BACKENDS", "sqlite,mysql").split(",")
    results, creation, batches, memory = [], [], [], []
    tmp = tempfile.mkdtemp(prefix="dcp-bench-cmdb-")
    for backend in backends:
        if backend == "sqlite":
            path = os.path.join(tmp, "cmdb.db")
            url = f"sqlite://{path}"
        else:
            mysql(benchlib.recreate_database_sql(MYSQL_DB))
            url = f"{MYSQL_URL}/{MYSQL_DB}"
        proc, base = start_service(url, tmp)
        try:
            client = cmdb.Client(base, KEY, SECRET, timeout=60)
            type_id, attrs = create_model(client)
            rate = api_throughput(client)
            creation.append((backend, rate))
            print(f"{backend}: {API_CIS} CIs through the signed API at {rate:,.0f} CIs/s",
                  file=sys.stderr)
            rate = batch_throughput(base, API_CIS + 1, API_CIS + BATCH_CIS)
            batches.append((backend, rate))
            print(f"{backend}: {BATCH_CIS} CIs through /ci/batch at {rate:,.0f} CIs/s",
                  file=sys.stderr)
            started = time.time()
            load_sqlite(path, type_id, attrs) if backend == "sqlite" else load_mysql(type_id, attrs)
            print(f"{backend}: loaded up to {TOTAL_CIS} CIs with SQL in {time.time() - started:.1f} s",
                  file=sys.stderr)
            before = rss_mb(proc)
            started = time.time()
            check = client.search("hostname:web-12*")
            assert check["numfound"] > 0, check
            after = rss_mb(proc)
            memory.append((backend, time.time() - started, before, after))
            print(f"{backend}: first search (index rebuild) {time.time() - started:.1f} s, "
                  f"RSS {before} -> {after} MB", file=sys.stderr)
            if os.path.exists(BARE):
                bare, bare_base = benchlib.start_service(BARE, {})
                try:
                    for connections in CONNECTIONS:
                        run = benchlib.wrk(bare_base + "/api/get_instance", connections, SECONDS)
                        results.append((backend, "bare actix handler (the ceiling)", 0, connections,
                                        run.rps, run.p50_ms, run.p99_ms, run.non_2xx))
                finally:
                    benchlib.stop(bare)
            for name, params in QUERIES:
                target = f"{base}/api/v0.1/ci/s?{urllib.parse.urlencode(params)}"
                found = client.search(**params)["numfound"]
                for connections in CONNECTIONS:
                    # A 10 s timeout, so slow answers are measured rather than dropped as
                    # socket errors.
                    run = benchlib.wrk(target, connections, SECONDS, timeout="10s")
                    results.append((backend, name, found, connections, run.rps, run.p50_ms,
                                    run.p99_ms, run.non_2xx))
                    print(f"{backend}: {name} c={connections}: p50 {run.p50_ms:.1f} ms, "
                          f"p99 {run.p99_ms:.1f} ms", file=sys.stderr)
            root, related = relate_sqlite(path) if backend == "sqlite" else relate_mysql()
            print(f"{backend}: {related} CI relations under ci {root}", file=sys.stderr)
            for name, path_query in relation_queries(root):
                reply = client.request("GET", "/ci_relations/s", dict(urllib.parse.parse_qsl(
                    path_query.split("?", 1)[1])))
                found = reply["numfound"]
                for connections in CONNECTIONS:
                    run = benchlib.wrk(base + path_query, connections, SECONDS, timeout="10s")
                    results.append((backend, name, found, connections, run.rps, run.p50_ms,
                                    run.p99_ms, run.non_2xx))
                    print(f"{backend}: {name} c={connections}: p50 {run.p50_ms:.1f} ms, "
                          f"p99 {run.p99_ms:.1f} ms", file=sys.stderr)
        finally:
            benchlib.stop(proc)
    if "mysql" in backends and os.environ.get("BENCH_KEEP_DB") != "1":
        mysql(f"DROP DATABASE IF EXISTS {MYSQL_DB};")
    shutil.rmtree(tmp, ignore_errors=True)

    table = [f"{TOTAL_CIS:,} CIs of type `server` (10 attributes); reads with a bearer "
             f"token; wrk -t1, {SECONDS} s per run.", "",
             "| backend | search | numfound | connections | requests/s | p50 ms | p99 ms | errors |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for backend, name, found, connections, rps, p50, p99, errors in results:
        table.append(f"| {backend} | `{name}` | {found:,} | {connections} | {rps:,.1f} | "
                     f"{p50:.2f} | {p99:.1f} | {errors} |")
    table += ["", "| backend | CI creation through the signed API (1 client) |", "|---|---:|"]
    for backend, rate in creation:
        table.append(f"| {backend} | {rate:,.0f} CIs/s ({API_CIS} CIs) |")
    table += ["", f"| backend | CI creation through /ci/batch ({BATCH_ROWS} rows a request, 1 client) |",
              "|---|---:|"]
    for backend, rate in batches:
        table.append(f"| {backend} | {rate:,.0f} CIs/s ({BATCH_CIS} CIs after the first {API_CIS}) |")
    table += ["", "| backend | first search after the load (index rebuild) | RSS before -> after |",
              "|---|---:|---:|"]
    for backend, seconds, before, after in memory:
        shown = f"{before:.0f} -> {after:.0f} MB" if before and after else "n/a"
        table.append(f"| {backend} | {seconds:.1f} s | {shown} |")
    benchlib.write_report("cmdb", "\n".join(table))


if __name__ == "__main__":
    main()
