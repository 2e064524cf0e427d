#!/usr/bin/env python3
"""Benchmark of soa-registry over loopback (modelled on deploy/bench.py).

The caller builds the release binary first (cargo build --release -p soa-registry). For each
store (a ZooKeeper this script starts itself, as the test harness does: Debian's jar, a temp
dataDir, a free port; and the embedded store), it starts $TARGET_DIR/release/soa-registry,
registers 1,000 servers in one service with sequential addserver calls (timed), then drives
the service with wrk from a second process:

- serverlist of the 1,000-server service (answered from the watched view on ZooKeeper), at 1
  and 64 connections;
- addserver of new host:port pairs, round robin over 16 other services, at 1 and 64
  connections (each request creates a member).

Prints a Markdown table and writes it to var/bench/soa-registry.md. Its errors column counts
answers that were not 2xx, then requests without an answer (wrk's socket errors, including
its 2 s timeout).

Environment: TARGET_DIR (cargo target dir), BENCH_SECONDS (per wrk run, default 5),
BENCH_STORES (default "zookeeper,embedded"), ZOOKEEPER_JAR (default Debian's).
"""
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (deploy/benchlib.py)

BINARY = benchlib.release_binary("soa-registry")
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
ZOOKEEPER_JAR = os.environ.get("ZOOKEEPER_JAR", "/usr/share/java/zookeeper.jar")
SERVERS = 1_000
KEY = "demo-key"  # the default configuration's key
SERVICE = "bench.http"
ADD_SERVICES = 16


def four_letters(port, command):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(command.encode())
            chunks = []
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks).decode(errors="replace")
    except OSError:
        return ""


def start_zookeeper(tmp):
    """A standalone ZooKeeper on a free port; returns (process, port)."""
    if not os.path.exists(ZOOKEEPER_JAR):
        sys.exit(f"bench: {ZOOKEEPER_JAR} is missing (apt-get install zookeeper)")
    port = benchlib.free_port()
    data = os.path.join(tmp, "zk-data")
    os.makedirs(data)
    cfg = os.path.join(tmp, "zoo.cfg")
    with open(cfg, "w") as f:
        f.write(f"tickTime=2000\ndataDir={data}\nclientPort={port}\nclientPortAddress=127.0.0.1\n"
                "admin.enableServer=false\n4lw.commands.whitelist=ruok,srvr\nmaxClientCnxns=0\n")
    log = open(os.path.join(tmp, "zookeeper.log"), "w")
    proc = subprocess.Popen(["java", "-Xmx512m", "-cp", ZOOKEEPER_JAR,
                             "org.apache.zookeeper.server.ZooKeeperServerMain", cfg],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        # `imok` only says the port is open; `srvr` says when sessions are served.
        if four_letters(port, "ruok") == "imok" and "Mode:" in four_letters(port, "srvr"):
            return proc, port
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    sys.exit(f"bench: ZooKeeper did not start; see {log.name}")


def start_service(tmp, qa):
    env = {"DCP_ZKIDCS__QA": qa, "DCP_STORE__DATA_DIR": os.path.join(tmp, "var")}
    proc, base = benchlib.start_service(BINARY, env)
    deadline = time.time() + 30
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    while time.time() < deadline:
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        conn.request("GET", "/readyz")
        if conn.getresponse().status == 200:
            return proc, base
        time.sleep(0.1)
    proc.kill()
    sys.exit("bench: the service never got ready")


class Client:
    """One keep-alive connection, as a caller doing one request at a time would use."""

    def __init__(self, base):
        host, port = urllib.parse.urlsplit(base).netloc.split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=10)

    def post(self, route, **params):
        body = urllib.parse.urlencode(dict(key=KEY, zkidc="qa", **params))
        self.conn.request("POST", f"/{route}/", body,
                          {"Content-Type": "application/x-www-form-urlencoded"})
        reply = self.conn.getresponse().read()
        if b'"code":1' not in reply:
            sys.exit(f"bench: {route} failed: {reply[:300]!r}")
        return reply


LUA_ADDSERVER = """
counter = 0
request = function()
  counter = counter + 1
  local host = string.format("10.%%d.%%d.%%d", math.floor(counter / 65536) %% 256,
                             math.floor(counter / 256) %% 256, counter %% 256)
  local body = "key=%s&zkidc=qa&destName=adds-" .. (counter %% %d) .. ".http&serverHost=" .. host ..
               "&serverPort=" .. (1000 + math.floor(counter / 16777216))
  return wrk.format("POST", "/addserver/",
                    {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
""" % (KEY, ADD_SERVICES)


def wrk(url, connections, script=None):
    run = benchlib.wrk(url, connections, SECONDS, script)
    # Answers that were not 2xx, and requests that got no answer (wrk gives up after 2 s).
    return run.rps, run.p50_ms, run.p99_ms, f"{run.non_2xx} / {run.unanswered}"


def bench_store(store, tmp, qa, results):
    proc, base = start_service(tmp, qa)
    try:
        client = Client(base)
        client.post("addservice", destName=SERVICE)
        for i in range(ADD_SERVICES):
            client.post("addservice", destName=f"adds-{i}.http")
        started = time.perf_counter()
        for i in range(SERVERS):
            client.post("addserver", destName=SERVICE, serverHost=f"10.1.{i // 256}.{i % 256}",
                        serverPort="8080")
        elapsed = time.perf_counter() - started
        results.append((store, f"addserver, sequential (Python, building the {SERVERS:,}-server service)",
                        1, SERVERS / elapsed, elapsed / SERVERS * 1000, None, "0 / 0"))
        listing = client.post("serverlist", destName=SERVICE)
        found = listing.count(b'"key":')
        if found != SERVERS:
            sys.exit(f"bench: serverlist shows {found} servers, not {SERVERS}")
        print(f"{store}: {SERVERS} servers registered in {elapsed:.1f} s; serverlist answers "
              f"{len(listing):,} bytes", file=sys.stderr)
        url = f"{base}/serverlist/?key={KEY}&zkidc=qa&destName={SERVICE}"
        for connections in (1, 64):
            rps, p50, p99, errors = wrk(url, connections)
            results.append((store, f"serverlist ({SERVERS:,} servers)", connections, rps, p50, p99, errors))
        script = os.path.join(tmp, "addserver.lua")
        with open(script, "w") as f:
            f.write(LUA_ADDSERVER)
        for connections in (1, 64):
            rps, p50, p99, errors = wrk(base, connections, script)
            results.append((store, f"addserver (new host:port, {ADD_SERVICES} services)", connections,
                            rps, p50, p99, errors))
    finally:
        benchlib.stop(proc)


def main():
    benchlib.require_wrk()
    benchlib.require_binary(BINARY, "soa-registry")
    stores = os.environ.get("BENCH_STORES", "zookeeper,embedded").split(",")
    results = []
    for store in stores:
        tmp = tempfile.mkdtemp(prefix="dcp-bench-soa-")
        zookeeper = None
        try:
            if store == "zookeeper":
                zookeeper, port = start_zookeeper(tmp)
                bench_store(store, tmp, f"127.0.0.1:{port}/bench", results)
            elif store == "embedded":
                bench_store(store, tmp, "embedded", results)
            else:
                sys.exit(f"bench: unknown store {store!r} (zookeeper, embedded)")
        finally:
            if zookeeper:
                benchlib.stop(zookeeper)
            shutil.rmtree(tmp, ignore_errors=True)

    table = ["| store | call | connections | requests/s | p50 ms | p99 ms | errors: non-2xx / socket (timeout > 2 s) |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for store, call, connections, rps, p50, p99, errors in results:
        p99_text = "—" if p99 is None else f"{p99:.2f}"
        p50_label = f"{p50:.2f}" if p99 is not None else f"{p50:.2f} (mean)"
        table.append(f"| {store} | {call} | {connections} | {rps:,.0f} | {p50_label} | {p99_text} | {errors} |")
    benchlib.write_report("soa-registry", "\n".join(table))


if __name__ == "__main__":
    main()
